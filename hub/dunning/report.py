"""Dunning analytics over the hub's tables: the figures of :mod:`hub.dunning.analytics`
computed from ``dunningcase``, ``dunningaction`` and ``dunningmessage``::

    summary = dunning_summary(session)
    summary.recovery_rate, summary.recovered, summary.median_time_to_collect
    summary.per_attempt[1], summary.funnel[StepChannel("0", "email", "payment_failed")]

A case closed as ``paid`` is recovered (its amount counted); ``uncollectible`` or
``void`` ends written off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from hub.dunning.analytics import (
    CaseRecord,
    CaseResult,
    Funnel,
    Rate,
    StepChannel,
    attempts_from_history,
    median_time_to_collect,
    message_funnel,
    messages_from_history,
    recovered_amount,
    recovery_rate,
    success_per_attempt,
)
from hub.dunning.store import entry_of
from hub.models import DunningAction, DunningCase, DunningMessage

_RESULTS = {"paid": CaseResult.RECOVERED, "uncollectible": CaseResult.WRITTEN_OFF,
            "void": CaseResult.WRITTEN_OFF}  # fmt: skip


@dataclass(frozen=True)
class DunningSummary:
    """The headline dunning figures."""

    cases: int
    recovery_rate: Rate
    recovered: dict[str, int]
    median_time_to_collect: timedelta | None
    per_attempt: dict[int, Rate]
    funnel: dict[StepChannel, Funnel]


def dunning_summary(session: Session, *, limit: int = 10_000) -> DunningSummary:
    """The figures over the newest *limit* cases."""
    rows = session.exec(select(DunningCase).order_by(col(DunningCase.id).desc()).limit(limit)).all()
    cases = [
        CaseRecord(
            case_id=str(r.id), member_id=str(r.member_id), segment=r.segment or "standard",
            amount_minor=r.amount_minor, currency=r.currency, opened_at=r.failed_at,
            result=_RESULTS.get(r.closed_reason or "", CaseResult.OPEN)
            if r.status == "closed" else CaseResult.OPEN,
            closed_at=r.closed_at,
            recovered_minor=r.amount_minor if r.closed_reason == "paid" else 0,
        )
        for r in rows
    ]  # fmt: skip
    ids = [r.id for r in rows]
    actions = session.exec(
        select(DunningAction).where(col(DunningAction.case_id).in_(ids))
    ).all() if ids else []  # fmt: skip
    history = [entry_of(a) for a in actions]
    sent = session.exec(
        select(DunningMessage).where(col(DunningMessage.case_id).in_(ids))
    ).all() if ids else []  # fmt: skip
    paid = {str(r.id): r.closed_at for r in rows if r.closed_reason == "paid" and r.closed_at}
    messages = messages_from_history(
        history,
        templates={m.key: m.template for m in sent},
        opens={m.key: m.opened_at for m in sent if m.opened_at},
        clicks={m.key: m.clicked_at for m in sent if m.clicked_at},
        paid=paid,  # type: ignore[arg-type]
    )
    return DunningSummary(
        cases=len(cases),
        recovery_rate=recovery_rate(cases),
        recovered=recovered_amount(cases),
        median_time_to_collect=median_time_to_collect(cases),
        per_attempt=success_per_attempt(attempts_from_history(history)),
        funnel=message_funnel(messages),
    )
