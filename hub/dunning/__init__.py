"""Dunning: retries, escalating reminders, suspension at the door and collections.

The core is pure: a case, the time, a policy and the history go in; actions with stable
idempotency keys come out. Effectors (charges, messages, suspension, tasks) carry them
out through an outbox keyed on those keys, so each happens exactly once.

* :mod:`~hub.dunning.policy` — policies as YAML data (``policies/*.yaml`` ship).
* :mod:`~hub.dunning.case` — :class:`DunningCase`, :class:`PaymentMethod`,
  :class:`HistoryEntry`.
* :mod:`~hub.dunning.engine` — :func:`advance` and :func:`next_wakeup`.
* :mod:`~hub.dunning.actions` — the :data:`Action` types, keys, :func:`record`.
* :mod:`~hub.dunning.timing` — quiet hours and frequency caps.
* :mod:`~hub.dunning.segments` — which policy a member gets.
* :mod:`~hub.dunning.messages`, :mod:`~hub.dunning.compose` — Thai and English messages.
* :mod:`~hub.dunning.mailer`, :mod:`~hub.dunning.sms` — email and SMS adapters.
* :mod:`~hub.dunning.paylink`, :mod:`~hub.dunning.tracking`,
  :mod:`~hub.dunning.unsubscribe` — signed links.
* :mod:`~hub.dunning.collection_tasks`, :mod:`~hub.dunning.payment_plans`,
  :mod:`~hub.dunning.instalments` — collections, payment plans charged on their dates.
* :mod:`~hub.dunning.payments` — paying with a pay link (through :mod:`hub.billing.paying`).
* :mod:`~hub.dunning.analytics` — recovery and message metrics.
"""

from hub.dunning.actions import (
    Action,
    CancelSubscription,
    Escalate,
    RetryCharge,
    SendMessage,
    SuspendAccess,
    action_from_dict,
    action_key,
    action_to_dict,
    parse_key,
    record,
)
from hub.dunning.case import DunningCase, HistoryEntry, PaymentMethod
from hub.dunning.engine import advance, next_wakeup
from hub.dunning.kinds import ActionKind, CaseStatus, Channel, Outcome, TaskKind, Tone
from hub.dunning.policy import Policy, PolicyError, builtin_policy, load_policy_file

__all__ = [
    "Action",
    "ActionKind",
    "CancelSubscription",
    "CaseStatus",
    "Channel",
    "DunningCase",
    "Escalate",
    "HistoryEntry",
    "Outcome",
    "PaymentMethod",
    "Policy",
    "PolicyError",
    "RetryCharge",
    "SendMessage",
    "SuspendAccess",
    "TaskKind",
    "Tone",
    "action_from_dict",
    "action_key",
    "action_to_dict",
    "advance",
    "builtin_policy",
    "load_policy_file",
    "next_wakeup",
    "parse_key",
    "record",
]
