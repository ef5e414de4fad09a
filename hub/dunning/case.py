"""What dunning knows about one unpaid invoice, and what it has already done about it.

A :class:`DunningCase` is opened when a renewal charge fails and closed when the invoice
is paid (or written off).  Its :class:`HistoryEntry` rows are the actions already carried
out, with their times and outcomes; :func:`hub.dunning.engine.advance` reads both and
says what is due next::

    case = DunningCase(
        case_id="c-41", member_id="m-7", invoice_id="inv-2026-12-7",
        amount_minor=150000, currency="THB",
        failed_at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
        timezone="Asia/Bangkok", language="th",
        payment_methods=(PaymentMethod("pm_visa", is_default=True), PaymentMethod("pm_mc")),
        last_decline=DeclineReason.INSUFFICIENT_FUNDS, declined_method_id="pm_visa",
    )

Both are plain frozen dataclasses shaped like the rows they will be stored as.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.billing.declines import DeclineReason
from hub.dunning.kinds import ActionKind, CaseStatus, Channel, Outcome

_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class CaseError(ValueError):
    """A case or history entry that cannot be right (caught at construction)."""


def check_id(name: str, value: str) -> str:
    """Return *value* if it is a usable id (1-64 of ``A-Za-z0-9_.-``), else raise.

    Ids end up inside idempotency keys such as ``dunning:c-41:3:send_message``, so they
    may not contain ``:`` or spaces.
    """
    if not isinstance(value, str) or not _ID.match(value):
        raise CaseError(f"{name} must be 1-64 characters of A-Z a-z 0-9 _ . - (got {value!r})")
    return value


def check_aware(name: str, value: datetime) -> datetime:
    """Return *value* if it is a timezone-aware datetime, else raise :class:`CaseError`."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise CaseError(f"{name} must be a timezone-aware datetime (got {value!r})")
    return value


@dataclass(frozen=True)
class PaymentMethod:
    """A saved payment method: a gateway token, never a card number.

    :param method_id: the gateway's token (``pm_...``).
    :param label: what a person sees, e.g. ``"Visa •••• 4242"``.
    :param is_default: the method renewals charge first.
    """

    method_id: str
    label: str = ""
    is_default: bool = False

    def __post_init__(self) -> None:
        check_id("method_id", self.method_id)


@dataclass(frozen=True)
class DunningCase:
    """One failed invoice being recovered.

    :param case_id: stable id; part of every idempotency key.
    :param member_id: the member who owes.
    :param invoice_id: the open invoice.
    :param amount_minor: amount due in minor units (satang, cents).
    :param currency: ISO 4217 code, e.g. ``"THB"``.
    :param failed_at: when the charge that opened the case failed (aware).
    :param timezone: the member's IANA timezone; quiet hours are kept in it.
    :param language: ``"th"`` or ``"en"``; messages are written in it.
    :param payment_methods: saved methods in the member's order.
    :param last_decline: why the opening charge was declined.
    :param declined_method_id: which method that was (default: the default method).
    :param status: :attr:`CaseStatus.CLOSED` once paid; a closed case yields no actions.
    :param segment: the segment whose policy runs the case (see :mod:`hub.dunning.segments`).
    :param contact_channels: channels the member can be reached on.
    :param marketing_opt_out: the member unsubscribed; only legally required notices go.
    """

    case_id: str
    member_id: str
    invoice_id: str
    amount_minor: int
    currency: str
    failed_at: datetime
    timezone: str = "Asia/Bangkok"
    language: str = "th"
    payment_methods: tuple[PaymentMethod, ...] = ()
    last_decline: DeclineReason | None = None
    declined_method_id: str | None = None
    status: CaseStatus = CaseStatus.OPEN
    segment: str = "standard"
    contact_channels: frozenset[Channel] = field(
        default_factory=lambda: frozenset({Channel.EMAIL, Channel.SMS})
    )
    marketing_opt_out: bool = False

    def __post_init__(self) -> None:
        check_id("case_id", self.case_id)
        check_id("member_id", self.member_id)
        check_id("invoice_id", self.invoice_id)
        if not isinstance(self.amount_minor, int) or self.amount_minor <= 0:
            raise CaseError(f"amount_minor must be a positive integer (got {self.amount_minor!r})")
        if not _CURRENCY.match(self.currency):
            raise CaseError(f"currency must be an ISO 4217 code like THB (got {self.currency!r})")
        check_aware("failed_at", self.failed_at)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise CaseError(f"unknown timezone {self.timezone!r}") from err
        ids = [m.method_id for m in self.payment_methods]
        if len(ids) != len(set(ids)):
            raise CaseError(f"payment method ids repeat: {ids}")
        if sum(m.is_default for m in self.payment_methods) > 1:
            raise CaseError("at most one payment method can be the default")
        if self.declined_method_id is not None and self.declined_method_id not in ids:
            raise CaseError(f"declined_method_id {self.declined_method_id!r} is not saved")

    @property
    def zone(self) -> ZoneInfo:
        """The member's timezone."""
        return ZoneInfo(self.timezone)

    @property
    def default_method(self) -> PaymentMethod | None:
        """The default method, or the first saved one when none is marked default."""
        for method in self.payment_methods:
            if method.is_default:
                return method
        return self.payment_methods[0] if self.payment_methods else None

    def methods_in_retry_order(self) -> list[PaymentMethod]:
        """The default method first, then the others in saved order."""
        first = self.default_method
        if first is None:
            return []
        return [first] + [m for m in self.payment_methods if m is not first]


@dataclass(frozen=True)
class HistoryEntry:
    """An action already handed to its effector, and what came of it.

    :param key: the action's idempotency key (see :mod:`hub.dunning.actions`).
    :param kind: the action's kind.
    :param at: when it was carried out (or handed over, while ``pending``).
    :param outcome: its result; ``pending`` while unknown.
    :param method_id: for charges, the method charged.
    :param decline_reason: for declined charges, why.
    :param channel: for messages, the channel used.
    :param legal_notice: for messages, whether it was a legally required notice.
    """

    key: str
    kind: ActionKind
    at: datetime
    outcome: Outcome
    method_id: str | None = None
    decline_reason: DeclineReason | None = None
    channel: Channel | None = None
    legal_notice: bool = False

    def __post_init__(self) -> None:
        check_aware("at", self.at)


def keys_done(history: Iterable[HistoryEntry]) -> frozenset[str]:
    """The idempotency keys *history* already holds."""
    return frozenset(entry.key for entry in history)
