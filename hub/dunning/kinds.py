"""The small vocabularies dunning speaks: channels, tones, step kinds, outcomes.

They are :class:`~enum.StrEnum` members, so they compare equal to the plain strings a
policy file, a database column or a JSON outbox row holds::

    Channel("sms") is Channel.SMS      # True
    ActionKind.SUSPEND_ACCESS == "suspend_access"   # True
"""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """How a message reaches a member."""

    EMAIL = "email"
    SMS = "sms"


class Tone(StrEnum):
    """How urgent a message sounds; reminders grow from polite to firm to final."""

    POLITE = "polite"
    FIRM = "firm"
    FINAL = "final"


class ActionKind(StrEnum):
    """What a policy step (and the action it yields) does."""

    RETRY_CHARGE = "retry_charge"
    SEND_MESSAGE = "send_message"
    SUSPEND_ACCESS = "suspend_access"
    ESCALATE = "escalate"
    CANCEL_SUBSCRIPTION = "cancel_subscription"


class RetryMethods(StrEnum):
    """Which saved payment methods a retry step may charge.

    ``default`` charges only the member's default method (what Stripe's Smart Retries
    do); ``default_then_others`` moves on to their other saved methods, in saved order,
    when the default one is declined.
    """

    DEFAULT = "default"
    DEFAULT_THEN_OTHERS = "default_then_others"


class TaskKind(StrEnum):
    """The kind of staff task an escalation step opens."""

    CALL = "call"
    COLLECTIONS = "collections"


class CaseStatus(StrEnum):
    """A dunning case is open until the invoice is paid, written off or cancelled."""

    OPEN = "open"
    CLOSED = "closed"


class Outcome(StrEnum):
    """What became of an action, as the history records it.

    ``pending`` means the action was handed to its effector and no result is known yet
    (it is neither repeated nor assumed to have failed).
    """

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    FAILED = "failed"
    SENT = "sent"
    SKIPPED = "skipped"
