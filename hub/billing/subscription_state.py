"""A subscription row and the pure billing rules, back and forth.

The row keeps :class:`~hub.billing.renewals.BillingState`'s fields as columns;
:func:`state_of` rebuilds the state, the rules in :mod:`hub.billing.renewals` move it,
and :func:`apply_state` writes it back together with what the hub derives from it
(``next_bill_on``, the timeline's status, ``due_on``)::

    state = state_of(sub, plan.terms())
    drafts, state = bill_due(state, today=today)
    apply_state(sub, state, today=today)

Status rules: the timeline decides ``trialing``, ``frozen`` and ``cancelled``; an
otherwise active subscription stays ``past_due`` (a charge failed) or ``suspended``
(dunning stopped access) until a payment or dunning lifts it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hub.billing.plans import PlanBase
from hub.billing.renewals import (
    BillingState,
    SubscriptionStatus,
    next_bill_on,
    settle,
    status_on,
)
from hub.models import Subscription

#: Columns of the subscription row that mirror :class:`BillingState`.
STATE_COLUMNS = (
    "anchor",
    "next_index",
    "trial_ends_on",
    "setup_fee_pending",
    "commitment_ends_on",
    "cancel_on",
    "freeze_from",
    "resume_on",
    "freeze_settled",
)

#: Statuses set by payments and dunning rather than by the timeline.
PAYMENT_STATUSES = frozenset({SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED})


def state_of(sub: Subscription, plan: PlanBase) -> BillingState:
    """The :class:`BillingState` stored in *sub*, for *plan* (the subscription's plan)."""
    return BillingState(plan=plan, **{name: getattr(sub, name) for name in STATE_COLUMNS})


def state_columns(state: BillingState) -> dict[str, Any]:
    """The row values of *state* (``STATE_COLUMNS`` plus ``next_bill_on``)."""
    values = {name: getattr(state, name) for name in STATE_COLUMNS}
    values["next_bill_on"] = next_bill_on(state)
    return values


def next_status_change(state: BillingState, today: date) -> date | None:
    """The first day after *today* on which the timeline's status changes."""
    days = (state.trial_ends_on, state.freeze_from, state.resume_on, state.cancel_on)
    later = [d for d in days if d is not None and d > today]
    return min(later) if later else None


def combined_status(
    state: BillingState, today: date, current: str | None, *, unpaid: bool | None = None
) -> SubscriptionStatus:
    """The status on *today*: the timeline's, unless a payment problem holds.

    :param current: the stored status.
    :param unpaid: whether an invoice of the subscription is still open; ``None`` keeps
        a stored ``past_due``/``suspended`` as it is.
    """
    timeline = status_on(state, today)
    if timeline is not SubscriptionStatus.ACTIVE:
        return timeline
    if current == SubscriptionStatus.SUSPENDED.value:
        return SubscriptionStatus.SUSPENDED
    if unpaid is None:
        return (
            SubscriptionStatus.PAST_DUE
            if current == SubscriptionStatus.PAST_DUE.value
            else SubscriptionStatus.ACTIVE
        )
    return SubscriptionStatus.PAST_DUE if unpaid else SubscriptionStatus.ACTIVE


def due_on(state: BillingState, today: date, status: SubscriptionStatus) -> date | None:
    """The next day the billing run must look at the subscription, or ``None``."""
    if status is SubscriptionStatus.CANCELLED:
        return None
    days = [d for d in (next_bill_on(state), next_status_change(state, today)) if d is not None]
    return min(days) if days else None


def apply_state(
    sub: Subscription, state: BillingState, *, today: date, unpaid: bool | None = None
) -> dict[str, Any]:
    """Write *state* and what follows from it into *sub*; returns the changed values.

    Also moves ``paid_through`` past a freeze that starts on or before *today*: the
    paid days not used before the freeze are used after it (as :func:`settle` carries
    them), so access resumes with them.
    """
    state = settle(state)
    values = state_columns(state)
    status = combined_status(state, today, sub.status, unpaid=unpaid)
    values["status"] = status.value
    values["due_on"] = due_on(state, today, status)
    values["cancel_at_period_end"] = state.cancel_on is not None
    values["paid_through"], values["paid_through_moved"] = shifted_paid_through(sub, today)
    changed = {k: v for k, v in values.items() if getattr(sub, k) != v}
    for key, value in changed.items():
        setattr(sub, key, value)
    return changed


def frozen_days(sub: Subscription) -> int:
    """Length of the latest freeze in days (0 without one)."""
    if sub.freeze_from is None or sub.resume_on is None:
        return 0
    return (sub.resume_on - sub.freeze_from).days


def shifted_paid_through(sub: Subscription, today: date) -> tuple[date | None, bool]:
    """``(paid_through, paid_through_moved)`` once a freeze that began by *today* has
    pushed the paid days past its resume day.

    Happens once per freeze (``paid_through_moved`` records it), even when the hub was
    down for the whole freeze.
    """
    paid = sub.paid_through
    start = sub.freeze_from
    if sub.paid_through_moved or start is None or start > today:
        return paid, sub.paid_through_moved
    if paid is None or paid < start:
        return paid, True
    return paid + timedelta(days=frozen_days(sub)), True
