"""Recording what the gateway answered: attempts, payments, and what follows.

One conditional update (``... WHERE status = 'pending'``) decides who records an
attempt's answer -- the billing run that sent it, another run that sent it again after a
crash, or a webhook that brought the answer first -- so each answer is applied once.
Succeeded charges become :class:`~hub.models.Payment` rows and paid invoices
(:func:`~hub.billing.outcomes.settle_paid`); declines open dunning cases
(:func:`~hub.billing.outcomes.settle_failed`); an ``error`` answer (outcome unknown)
leaves the attempt pending, to be sent again with the same key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.bulk import insert_rows, update_rows
from hub.billing.gateway import ChargeResult, ChargeStatus
from hub.billing.outcomes import Failure, lock_subscriptions_of, settle_failed, settle_paid
from hub.models import AttemptStatus, ChargeAttempt, Invoice, Payment, PaymentMethod


@dataclass(frozen=True)
class ChargeRequest:
    """One charge to send: the attempt's recorded key and what to charge."""

    attempt_id: int
    invoice_id: int
    amount: int
    currency: str
    customer: str
    method: str
    idempotency_key: str


@dataclass(frozen=True)
class ChargeOutcome:
    """The gateway's answer to a :class:`ChargeRequest`, or why it refused the request."""

    request: ChargeRequest
    result: ChargeResult | None = None
    error: str | None = None


@dataclass
class CollectReport:
    """What one :func:`collect_pending` call did."""

    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    unknown: int = 0
    cases_opened: int = 0
    last_attempt_id: int = 0
    paid_invoice_ids: list[int] = field(default_factory=list)


_FINAL = {
    ChargeStatus.SUCCEEDED: AttemptStatus.SUCCEEDED,
    ChargeStatus.DECLINED: AttemptStatus.DECLINED,
    ChargeStatus.REQUIRES_ACTION: AttemptStatus.REQUIRES_ACTION,
}


def record_outcomes(
    session: Session,
    outcomes: Sequence[ChargeOutcome],
    attempts: Sequence[Any],
    *,
    gateway: str,
    clock: Clock,
    report: CollectReport,
) -> None:
    now = clock.now()
    by_id = {a.id: a for a in attempts}
    unknown = [
        o for o in outcomes if o.result is not None and o.result.status is ChargeStatus.ERROR
    ]
    if unknown:
        update_rows(
            session,
            ChargeAttempt,
            [
                {
                    "id": o.request.attempt_id,
                    "tries": by_id[o.request.attempt_id].tries + 1,
                    "raw_code": _clip(o.result.raw_code if o.result else None, 64),
                    "raw_message": _clip(o.result.raw_message if o.result else None, 500),
                }
                for o in unknown
            ],
        )
        report.unknown = len(unknown)
    unknown_ids = {o.request.attempt_id for o in unknown}
    final = [o for o in outcomes if o.request.attempt_id not in unknown_ids]
    if not final:
        return
    owned = set(
        session.execute(
            update(ChargeAttempt)
            .where(
                col(ChargeAttempt.id).in_([o.request.attempt_id for o in final]),
                ChargeAttempt.status == AttemptStatus.PENDING.value,
            )
            .values(finished_at=now)
            .returning(ChargeAttempt.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    final = [o for o in final if o.request.attempt_id in owned]
    if not final:
        return
    lock_subscriptions_of(session, sorted({o.request.invoice_id for o in final}))
    rows = []
    for o in final:
        attempt = by_id[o.request.attempt_id]
        r = o.result
        status = _FINAL[r.status] if r is not None else AttemptStatus.FAILED
        rows.append(
            {
                "id": attempt.id,
                "status": status.value,
                "tries": attempt.tries + 1,
                "decline_reason": r.decline_reason.value if r and r.decline_reason else None,
                "raw_code": _clip(r.raw_code if r else "gateway_error", 64),
                "raw_message": _clip(r.raw_message if r else o.error, 500),
                "gateway_charge_id": r.charge_id if r else None,
            }
        )
    update_rows(session, ChargeAttempt, rows)
    succeeded = [
        o for o in final if o.result is not None and o.result.status is ChargeStatus.SUCCEEDED
    ]
    succeeded_ids = {o.request.attempt_id for o in succeeded}
    if succeeded:
        record_card_payments(session, succeeded, attempts=by_id, gateway=gateway, now=now)
        report.paid_invoice_ids = settle_paid(
            session,
            covered_invoices(session, [o.request.invoice_id for o in succeeded]),
            clock=clock,
            reason="renewal paid",
        )
    report.succeeded = len(succeeded)
    failures = [
        Failure(
            invoice_id=o.request.invoice_id,
            decline_reason=(
                o.result.decline_reason.value if o.result and o.result.decline_reason else None
            ),
            method_id=by_id[o.request.attempt_id].payment_method_id,
        )
        for o in final
        if o.request.attempt_id not in succeeded_ids
    ]
    report.failed = len(failures)
    report.cases_opened = settle_failed(session, failures, clock=clock)


def covered_invoices(session: Session, invoice_ids: Sequence[int]) -> list[int]:
    """Those of *invoice_ids* whose payments add up to their total (a charge of one
    instalment of a payment plan leaves its invoice open until the last one)."""
    if not invoice_ids:
        return []
    paid = (
        select(func.coalesce(func.sum(Payment.amount), 0))
        .where(col(Payment.invoice_id) == col(Invoice.id))
        .scalar_subquery()
    )
    found = session.connection().execute(
        select(Invoice.id).where(col(Invoice.id).in_(list(invoice_ids)), paid >= Invoice.total)
    )
    return [int(i) for i in found.scalars()]


def _clip(text: str | None, size: int) -> str | None:
    return text[:size] if text else None


def record_card_payments(
    session: Session,
    succeeded: Sequence[ChargeOutcome],
    *,
    attempts: dict[Any, Any],
    gateway: str,
    now: object,
) -> None:
    """A :class:`~hub.models.Payment` per succeeded charge (money moved, so always)."""
    first = attempts[succeeded[0].request.attempt_id]
    if hasattr(first, "site_id"):  # claimed with its invoice and method (the run)
        info = {
            attempts[o.request.attempt_id].invoice_id: (
                attempts[o.request.attempt_id].member_id,
                attempts[o.request.attempt_id].site_id,
            )
            for o in succeeded
        }
        labels = {
            a.payment_method_id: f"{a.brand} {a.last4}"
            for a in (attempts[o.request.attempt_id] for o in succeeded)
            if a.brand
        }
    else:
        info, labels = _payment_context(session, succeeded, attempts)
    rows = []
    for o in succeeded:
        assert o.result is not None
        member_id, site_id = info[o.request.invoice_id]
        attempt = attempts[o.request.attempt_id]
        rows.append(
            {
                "invoice_id": o.request.invoice_id,
                "member_id": member_id,
                "site_id": site_id,
                "amount": o.result.amount,
                "currency": o.result.currency,
                "method": "card",
                "method_label": labels.get(attempt.payment_method_id, "card"),
                "gateway": gateway,
                "gateway_charge_id": o.result.charge_id,
                "charge_attempt_id": attempt.id,
                "paid_at": now,
                "recorded_by": "billing",
            }
        )
    insert_rows(session, Payment, rows)


def _payment_context(
    session: Session, succeeded: Sequence[ChargeOutcome], attempts: dict[Any, Any]
) -> tuple[dict[int, tuple[int, int]], dict[Any, str]]:
    invoice_ids = [o.request.invoice_id for o in succeeded]
    info = {
        i: (m, s)
        for i, m, s in session.connection().execute(
            select(Invoice.id, Invoice.member_id, Invoice.site_id).where(
                col(Invoice.id).in_(invoice_ids)
            )
        )
    }
    method_ids = [attempts[o.request.attempt_id].payment_method_id for o in succeeded]
    labels = {
        pm_id: f"{brand} {last4}"
        for pm_id, brand, last4 in session.connection().execute(
            select(PaymentMethod.id, PaymentMethod.brand, PaymentMethod.last4).where(
                col(PaymentMethod.id).in_([m for m in method_ids if m])
            )
        )
    }
    return info, labels


def record_answer(
    session: Session,
    attempt: Any,
    result: ChargeResult,
    *,
    gateway: str,
    clock: Clock,
) -> CollectReport:
    """Record an answer for one pending attempt that arrived another way (a webhook).

    The same conditional update as :func:`collect_pending` decides: if the run already
    recorded the attempt, this changes nothing.
    """
    report = CollectReport(claimed=1, last_attempt_id=attempt.id or 0)
    request = ChargeRequest(
        attempt_id=attempt.id or 0,
        invoice_id=attempt.invoice_id,
        amount=attempt.amount,
        currency=attempt.currency,
        customer="",
        method="",
        idempotency_key=attempt.idempotency_key,
    )
    record_outcomes(
        session,
        [ChargeOutcome(request, result)],
        [attempt],
        gateway=gateway,
        clock=clock,
        report=report,
    )
    return report
