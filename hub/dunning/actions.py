"""Actions: what :func:`~hub.dunning.engine.advance` says to do now.

Each action is a frozen dataclass carrying everything its effector needs, and a stable
idempotency :attr:`key`. The same case, step and history always give the same key, so an
outbox with a unique key column makes each action happen exactly once, even when a worker
crashes between deciding and recording, or two workers decide at the same moment.

Key format (``<step>`` is the policy step's index, or ``auth`` for the pay-link message
sent when a bank asks the member to confirm the payment)::

    dunning:<case_id>:<step>:<kind>                 # messages, suspension, tasks, cancel
    dunning:<case_id>:<step>:retry_charge:<method>  # one charge per step and method

For example ``dunning:c-41:3:send_message`` and ``dunning:c-41:1:retry_charge:pm_visa``.

After carrying one out, the effector records it with :func:`record` and passes the
entry back in the history next time::

    entry = record(action, Outcome.DECLINED, at=clock.now(),
                   decline_reason=DeclineReason.INSUFFICIENT_FUNDS)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from hub.billing.declines import DeclineReason
from hub.dunning.case import HistoryEntry
from hub.dunning.kinds import ActionKind, Channel, Outcome, TaskKind, Tone

KEY_PREFIX = "dunning"

#: The step label of the pay-link message sent when a charge needs the member (3-D Secure).
AUTH_STEP = "auth"


def action_key(case_id: str, step: str, kind: ActionKind, method_id: str | None = None) -> str:
    """The idempotency key of an action (see the module docstring for the format).

    >>> action_key("c-41", "1", ActionKind.RETRY_CHARGE, "pm_visa")
    'dunning:c-41:1:retry_charge:pm_visa'
    """
    parts = [KEY_PREFIX, case_id, step, str(kind)]
    if method_id is not None:
        parts.append(method_id)
    return ":".join(parts)


@dataclass(frozen=True)
class KeyParts:
    """The pieces of an idempotency key (see :func:`parse_key`)."""

    case_id: str
    step: str
    kind: ActionKind
    method_id: str | None = None


def parse_key(key: str) -> KeyParts:
    """Split an idempotency key into its parts; raises ``ValueError`` if it is not one.

    >>> parse_key("dunning:c-41:1:retry_charge:pm_visa").method_id
    'pm_visa'
    """
    parts = key.split(":")
    if len(parts) not in (4, 5) or parts[0] != KEY_PREFIX:
        raise ValueError(f"not a dunning key: {key!r}")
    kind = ActionKind(parts[3])
    if (len(parts) == 5) != (kind == ActionKind.RETRY_CHARGE):
        raise ValueError(f"not a dunning key: {key!r}")
    return KeyParts(parts[1], parts[2], kind, parts[4] if len(parts) == 5 else None)


@dataclass(frozen=True, kw_only=True)
class ActionBase:
    """Fields every action has.

    :param key: the idempotency key.
    :param case_id: the case it belongs to.
    :param member_id: the member it concerns.
    :param invoice_id: the open invoice.
    :param step: the policy step's index as text, or ``"auth"``.
    :param due_at: when it fell due (for messages: after any quiet-hours deferral).
    """

    kind: ClassVar[ActionKind]
    key: str
    case_id: str
    member_id: str
    invoice_id: str
    step: str
    due_at: datetime

    @property
    def step_index(self) -> int | None:
        """The policy step's index, or ``None`` for the pay-link message."""
        return int(self.step) if self.step.isascii() and self.step.isdigit() else None


@dataclass(frozen=True, kw_only=True)
class RetryCharge(ActionBase):
    """Charge the open invoice to one saved method, off-session.

    :param method_id: the method to charge.
    :param amount_minor: amount in minor units.
    :param currency: ISO currency.
    :param attempt: 1 for the case's first retry, 2 for the second, ...
    """

    kind: ClassVar[ActionKind] = ActionKind.RETRY_CHARGE
    method_id: str
    amount_minor: int
    currency: str
    attempt: int


@dataclass(frozen=True, kw_only=True)
class SendMessage(ActionBase):
    """Send the member a message rendered from a template.

    :param channel: email or SMS.
    :param template: template name, e.g. ``"reminder"``.
    :param tone: polite, firm or final.
    :param language: the member's language.
    :param legal_notice: a legally required notice (sent despite a marketing opt-out).
    :param amount_minor: amount due, minor units.
    :param currency: ISO currency.
    :param deadline: when the next consequence (suspension, cancellation) takes effect.
    :param timezone: the member's timezone, for dates in the message.
    """

    kind: ClassVar[ActionKind] = ActionKind.SEND_MESSAGE
    channel: Channel
    template: str
    tone: Tone
    language: str
    legal_notice: bool
    amount_minor: int
    currency: str
    deadline: datetime | None
    timezone: str


@dataclass(frozen=True, kw_only=True)
class SuspendAccess(ActionBase):
    """Suspend the subscription and shrink the member's door access to now."""

    kind: ClassVar[ActionKind] = ActionKind.SUSPEND_ACCESS


@dataclass(frozen=True, kw_only=True)
class Escalate(ActionBase):
    """Open a staff task: a personal call or a collections case.

    :param task: :attr:`TaskKind.CALL` or :attr:`TaskKind.COLLECTIONS`.
    :param amount_minor: amount due, minor units.
    :param currency: ISO currency.
    :param note: what the policy tells staff.
    """

    kind: ClassVar[ActionKind] = ActionKind.ESCALATE
    task: TaskKind
    amount_minor: int
    currency: str
    note: str


@dataclass(frozen=True, kw_only=True)
class CancelSubscription(ActionBase):
    """Cancel the subscription; optionally mark the invoice uncollectible."""

    kind: ClassVar[ActionKind] = ActionKind.CANCEL_SUBSCRIPTION
    mark_uncollectible: bool


Action = RetryCharge | SendMessage | SuspendAccess | Escalate | CancelSubscription

ACTION_TYPES: dict[ActionKind, type[ActionBase]] = {
    ActionKind.RETRY_CHARGE: RetryCharge,
    ActionKind.SEND_MESSAGE: SendMessage,
    ActionKind.SUSPEND_ACCESS: SuspendAccess,
    ActionKind.ESCALATE: Escalate,
    ActionKind.CANCEL_SUBSCRIPTION: CancelSubscription,
}

_DATETIME_FIELDS = {"due_at", "deadline"}
_ENUM_FIELDS: dict[str, type[StrEnum]] = {"channel": Channel, "tone": Tone, "task": TaskKind}


def action_to_dict(action: Action) -> dict[str, object]:
    """A JSON-ready dict of *action* (for an outbox row's payload), with its ``kind``.

    ``action_from_dict(action_to_dict(a)) == a`` for every action.
    """
    data: dict[str, object] = {"kind": str(action.kind)}
    for name, value in asdict(action).items():
        if isinstance(value, datetime):
            data[name] = value.isoformat()
        elif isinstance(value, StrEnum):
            data[name] = str(value)
        else:
            data[name] = value
    return data


def action_from_dict(data: dict[str, object]) -> Action:
    """Rebuild an action from :func:`action_to_dict`'s output.

    :raises ValueError: on an unknown kind or missing/extra fields.
    """
    try:
        cls = ACTION_TYPES[ActionKind(str(data["kind"]))]
    except (KeyError, ValueError) as err:
        raise ValueError(f"not a dunning action: kind={data.get('kind')!r}") from err
    names = {f.name for f in fields(cls)}
    extra = set(data) - names - {"kind"}
    if extra:
        raise ValueError(f"unexpected fields for {cls.__name__}: {sorted(extra)}")
    values: dict[str, object] = {}
    for name in names:
        if name not in data:
            raise ValueError(f"{cls.__name__} is missing {name!r}")
        value = data[name]
        if name in _DATETIME_FIELDS and value is not None:
            value = datetime.fromisoformat(str(value))
        elif name in _ENUM_FIELDS:
            value = _ENUM_FIELDS[name](str(value))
        values[name] = value
    return cls(**values)  # type: ignore[return-value]


def record(
    action: Action,
    outcome: Outcome,
    *,
    at: datetime,
    decline_reason: DeclineReason | None = None,
) -> HistoryEntry:
    """The history entry for *action* carried out at *at* with *outcome*."""
    return HistoryEntry(
        key=action.key,
        kind=action.kind,
        at=at,
        outcome=outcome,
        method_id=getattr(action, "method_id", None),
        decline_reason=decline_reason,
        channel=getattr(action, "channel", None),
        legal_notice=getattr(action, "legal_notice", False),
    )
