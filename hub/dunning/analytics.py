"""Dunning analytics: pure functions over the records dunning leaves behind.

::

    recovery_rate(cases)             # Rate(41, 50): 82.0 %
    recovered_amount(cases)          # {'THB': 6_150_000}
    median_time_to_collect(cases)    # timedelta(days=3, hours=6)
    success_per_attempt(attempts)    # {1: Rate(20, 50), 2: Rate(9, 30), ...}
    message_funnel(messages)         # {('3', 'email', 'reminder'): Funnel(sent=40, ...)}
    involuntary_churn(cases, active_at_start=1200, start=..., end=...)

Attempts and messages can be derived from the history entries the effectors store
(:func:`attempts_from_history`, :func:`messages_from_history`); open and click times
come from the tracking routes, payment times from billing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from hub.billing.declines import DeclineReason
from hub.dunning.actions import parse_key
from hub.dunning.case import HistoryEntry
from hub.dunning.kinds import ActionKind, Channel, Outcome

#: A payment within this long after a message counts toward that message's pay rate.
PAY_ATTRIBUTION_WINDOW = timedelta(days=3)


@dataclass(frozen=True)
class Rate:
    """A ratio that remembers its counts; ``value`` is ``None`` when nothing was counted."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def __str__(self) -> str:
        if not self.denominator:
            return "n/a (0/0)"
        return (
            f"{100 * self.numerator / self.denominator:.1f}% ({self.numerator}/{self.denominator})"
        )


class CaseResult(StrEnum):
    """How a dunning case ended (``open`` while it has not)."""

    OPEN = "open"
    RECOVERED = "recovered"
    CANCELLED = "cancelled"
    WRITTEN_OFF = "written_off"


#: Results that end a membership for non-payment.
CHURNED = frozenset({CaseResult.CANCELLED, CaseResult.WRITTEN_OFF})


@dataclass(frozen=True)
class CaseRecord:
    """One case's summary."""

    case_id: str
    member_id: str
    segment: str
    amount_minor: int
    currency: str
    opened_at: datetime
    result: CaseResult = CaseResult.OPEN
    closed_at: datetime | None = None
    recovered_minor: int = 0


@dataclass(frozen=True)
class AttemptRecord:
    """One retry charge: the case's *attempt*-th, and whether it succeeded."""

    case_id: str
    attempt: int
    method_id: str
    at: datetime
    succeeded: bool
    decline_reason: DeclineReason | None = None


@dataclass(frozen=True)
class MessageRecord:
    """One message sent, and what the member did after it."""

    key: str
    case_id: str
    step: str
    channel: Channel
    template: str
    sent_at: datetime
    opened_at: datetime | None = None
    clicked_at: datetime | None = None
    paid_at: datetime | None = None


class StepChannel(NamedTuple):
    """Which message a funnel row is about: policy step, channel and template."""

    step: str
    channel: str
    template: str


@dataclass(frozen=True)
class Funnel:
    """Sent, opened, clicked and paid-after counts of one message step on one channel."""

    sent: int
    opened: int
    clicked: int
    paid: int

    @property
    def open_rate(self) -> Rate:
        return Rate(self.opened, self.sent)

    @property
    def click_rate(self) -> Rate:
        return Rate(self.clicked, self.sent)

    @property
    def pay_rate(self) -> Rate:
        return Rate(self.paid, self.sent)


def recovery_rate(cases: Iterable[CaseRecord]) -> Rate:
    """Recovered cases out of cases that have ended (open cases are not counted)."""
    ended = [c for c in cases if c.result != CaseResult.OPEN]
    return Rate(sum(c.result == CaseResult.RECOVERED for c in ended), len(ended))


def recovered_amount(cases: Iterable[CaseRecord]) -> dict[str, int]:
    """Money recovered, in minor units per currency (never summed across currencies)."""
    totals: dict[str, int] = defaultdict(int)
    for case in cases:
        if case.recovered_minor:
            totals[case.currency] += case.recovered_minor
    return dict(totals)


def median_time_to_collect(cases: Iterable[CaseRecord]) -> timedelta | None:
    """The median time from failure to payment over recovered cases."""
    spans = sorted(
        c.closed_at - c.opened_at
        for c in cases
        if c.result == CaseResult.RECOVERED and c.closed_at is not None
    )
    if not spans:
        return None
    middle = len(spans) // 2
    if len(spans) % 2:
        return spans[middle]
    return (spans[middle - 1] + spans[middle]) / 2


def success_per_attempt(attempts: Iterable[AttemptRecord]) -> dict[int, Rate]:
    """For each attempt number: how many of the charges made as that attempt succeeded."""
    tried: dict[int, int] = defaultdict(int)
    won: dict[int, int] = defaultdict(int)
    for attempt in attempts:
        tried[attempt.attempt] += 1
        won[attempt.attempt] += attempt.succeeded
    return {n: Rate(won[n], tried[n]) for n in sorted(tried)}


def message_funnel(
    messages: Iterable[MessageRecord], *, window: timedelta = PAY_ATTRIBUTION_WINDOW
) -> dict[StepChannel, Funnel]:
    """Open, click and pay counts per policy step and channel.

    A message counts as paid when the invoice was paid within *window* after it was sent.
    """
    counts: dict[StepChannel, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for m in messages:
        row = counts[StepChannel(m.step, str(m.channel), m.template)]
        row[0] += 1
        row[1] += m.opened_at is not None or m.clicked_at is not None  # a click implies an open
        row[2] += m.clicked_at is not None
        row[3] += m.paid_at is not None and m.sent_at <= m.paid_at <= m.sent_at + window
    return {key: Funnel(*row) for key, row in sorted(counts.items())}


def involuntary_churn(
    cases: Iterable[CaseRecord], *, active_at_start: int, start: datetime, end: datetime
) -> Rate:
    """Members lost to non-payment in ``[start, end)`` out of those active at *start*."""
    lost = {
        c.member_id
        for c in cases
        if c.result in CHURNED and c.closed_at is not None and start <= c.closed_at < end
    }
    return Rate(len(lost), active_at_start)


def attempts_from_history(history: Iterable[HistoryEntry]) -> list[AttemptRecord]:
    """Retry charges in *history* with a result, numbered per case in time order (charges
    recorded in the same second keep the order they were recorded in)."""
    charges = sorted(
        (
            e
            for e in history
            if e.kind == ActionKind.RETRY_CHARGE
            and e.outcome in (Outcome.SUCCEEDED, Outcome.DECLINED, Outcome.FAILED)
        ),
        key=lambda e: e.at,  # stable: charges made in the same second keep their order
    )
    numbers: dict[str, int] = defaultdict(int)
    records = []
    for entry in charges:
        case_id = parse_key(entry.key).case_id
        numbers[case_id] += 1
        records.append(
            AttemptRecord(
                case_id=case_id,
                attempt=numbers[case_id],
                method_id=entry.method_id or "",
                at=entry.at,
                succeeded=entry.outcome == Outcome.SUCCEEDED,
                decline_reason=entry.decline_reason,
            )
        )
    return records


def messages_from_history(
    history: Iterable[HistoryEntry],
    *,
    templates: Mapping[str, str],
    opens: Mapping[str, datetime] | None = None,
    clicks: Mapping[str, datetime] | None = None,
    paid: Mapping[str, datetime] | None = None,
) -> list[MessageRecord]:
    """Sent messages in *history*, joined with tracking and payment times.

    :param templates: message key → template name (from the outbox payload).
    :param opens: message key → first open.
    :param clicks: message key → first click.
    :param paid: case id → when the invoice was paid.
    """
    opens, clicks, paid = opens or {}, clicks or {}, paid or {}
    records = []
    for entry in history:
        if entry.kind != ActionKind.SEND_MESSAGE or entry.outcome != Outcome.SENT:
            continue
        parts = parse_key(entry.key)
        records.append(
            MessageRecord(
                key=entry.key,
                case_id=parts.case_id,
                step=parts.step,
                channel=entry.channel or Channel.EMAIL,
                template=templates.get(entry.key, "?"),
                sent_at=entry.at,
                opened_at=opens.get(entry.key),
                clicked_at=clicks.get(entry.key),
                paid_at=paid.get(parts.case_id),
            )
        )
    return records
