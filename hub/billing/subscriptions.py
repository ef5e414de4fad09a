"""Subscription changes a member or the front desk asks for: sign up, change plan,
freeze, cancel. Each runs in the caller's transaction (commit afterwards) and returns
what it did; charging what they invoice is the billing run's job
(:func:`hub.billing.run.run_billing` with ``subscription_ids``, or
:func:`hub.billing.run.collect_all`)::

    sub = subscribe(session, member=member, plan=plan, start_on=today, clock=clock)
    session.commit()
    run_billing(..., subscription_ids=[sub.id])      # first invoice issued and charged

    change = change_subscription_plan(session, sub=sub, new_plan=gold,
                                      effective_on=today, clock=clock)
    change.invoice_id       # the proration invoice (or credit note), if any

Refusals raise :class:`~hub.billing.renewals.BillingRefused` with the reason (a change
"into the past", a freeze that overlaps another, another currency, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlmodel import Session

from gatehouse.clock import Clock
from hub.billing.access import sync_subscription_access
from hub.billing.issuing import ToIssue, issue_invoices
from hub.billing.renewals import (
    BillingRefused,
    SubscriptionStatus,
    cancel_at_period_end,
    change_plan,
    freeze,
    start_subscription,
    undo_cancel,
)
from hub.billing.sitetime import site_today
from hub.billing.subscription_state import apply_state, state_of
from hub.models import BillingProfile, Member, MemberStatus, Plan, Site, Subscription


@dataclass(frozen=True)
class PlanChange:
    """The outcome of a plan change: the invoice it issued, if any."""

    subscription: Subscription
    invoice_id: int | None
    total: int


def today_at(session: Session, site_id: int, clock: Clock) -> date:
    """The site's local date now."""
    site = session.get(Site, site_id)
    if site is None:
        raise LookupError(f"no site {site_id}")
    return site_today(clock.now(), site.timezone)


def _due_days(session: Session, site_id: int) -> int:
    profile = session.get(BillingProfile, site_id)
    return profile.due_days if profile else 0


def subscribe(
    session: Session,
    *,
    member: Member,
    plan: Plan,
    start_on: date,
    clock: Clock,
    payment_method_id: int | None = None,
) -> Subscription:
    """A new subscription of *member* to *plan* from *start_on* (not in the past).

    A trial gives access at once (``paid_through`` is the trial's last day); otherwise
    access starts when the first invoice is paid. Flushed, not committed.
    """
    if not plan.active:
        raise BillingRefused(f"plan {plan.name!r} is no longer sold")
    if member.status == MemberStatus.CANCELLED.value:
        raise BillingRefused("the member is cancelled; reactivate them first")
    today = today_at(session, plan.site_id, clock)
    if start_on < today:
        raise BillingRefused(f"a subscription cannot start in the past ({start_on} < {today})")
    now = clock.now()
    state = start_subscription(plan.terms(), start_on=start_on)
    sub = Subscription(
        member_id=member.id or 0,
        plan_id=plan.id or 0,
        site_id=plan.site_id,
        status=SubscriptionStatus.ACTIVE.value,
        started_on=start_on,
        anchor=state.anchor,
        payment_method_id=payment_method_id,
        paid_through=(
            date.fromordinal(state.trial_ends_on.toordinal() - 1) if state.trial_ends_on else None
        ),
        created_at=now,
        updated_at=now,
    )
    apply_state(sub, state, today=today)
    session.add(sub)
    session.flush()
    if sub.paid_through is not None:
        sync_subscription_access(
            session, [(sub, plan)], clock=clock, reason=f"subscription:{sub.id} trial"
        )
    return sub


def change_subscription_plan(
    session: Session, *, sub: Subscription, new_plan: Plan, effective_on: date, clock: Clock
) -> PlanChange:
    """Move *sub* to *new_plan* on *effective_on* with per-day proration.

    Issues the plan-change invoice (or credit note) when money is owed either way.
    """
    if not new_plan.active:
        raise BillingRefused(f"plan {new_plan.name!r} is no longer sold")
    if new_plan.site_id != sub.site_id:
        raise BillingRefused("the new plan is sold at another site")
    if sub.status == SubscriptionStatus.CANCELLED.value:
        raise BillingRefused("the subscription is cancelled")
    old_plan = session.get(Plan, sub.plan_id)
    assert old_plan is not None
    today = today_at(session, sub.site_id, clock)
    state, draft = change_plan(
        state_of(sub, old_plan.terms()),
        new_plan.terms(),
        effective_on=effective_on,
        today=today,
        due_days=_due_days(session, sub.site_id),
    )
    sub.plan_id = new_plan.id or 0
    apply_state(sub, state, today=today)
    if draft is not None and draft.period is not None:
        sub.current_period_start, sub.current_period_end = draft.period.start, draft.period.end
    sub.updated_at = clock.now()
    session.add(sub)
    session.flush()
    invoice_id = None
    if draft is not None:
        (invoice_id,) = issue_invoices(
            session,
            [ToIssue(draft, site_id=sub.site_id, member_id=sub.member_id, subscription_id=sub.id)],
            now=clock.now(),
        )
    sync_subscription_access(
        session, [(sub, new_plan)], clock=clock, reason=f"subscription:{sub.id} plan changed"
    )
    return PlanChange(sub, invoice_id, draft.total if draft else 0)


def freeze_subscription(
    session: Session, *, sub: Subscription, from_on: date, resume_on: date, clock: Clock
) -> Subscription:
    """Freeze *sub* from *from_on* until *resume_on* (excluded): nothing is billed, and
    the paid days left on *from_on* are used after the resume."""
    if sub.status == SubscriptionStatus.CANCELLED.value:
        raise BillingRefused("the subscription is cancelled")
    plan = session.get(Plan, sub.plan_id)
    assert plan is not None
    today = today_at(session, sub.site_id, clock)
    state = freeze(state_of(sub, plan.terms()), from_on=from_on, resume_on=resume_on, today=today)
    sub.paid_through_moved = False
    apply_state(sub, state, today=today)
    sub.updated_at = clock.now()
    session.add(sub)
    session.flush()
    sync_subscription_access(
        session, [(sub, plan)], clock=clock, reason=f"subscription:{sub.id} frozen"
    )
    return sub


def cancel_subscription(
    session: Session, *, sub: Subscription, clock: Clock, at_period_end: bool = True
) -> Subscription:
    """Cancel *sub*: at the end of the paid period (or commitment), or right now.

    Cancelling now ends access now; nothing is refunded here (refund an invoice if due).
    """
    if sub.status == SubscriptionStatus.CANCELLED.value:
        raise BillingRefused("the subscription is already cancelled")
    plan = session.get(Plan, sub.plan_id)
    assert plan is not None
    today = today_at(session, sub.site_id, clock)
    state = state_of(sub, plan.terms())
    if at_period_end:
        state = cancel_at_period_end(state, today=today)
    else:
        state = replace(state, cancel_on=today)
        sub.cancelled_at = clock.now()
    apply_state(sub, state, today=today)
    if sub.status == SubscriptionStatus.CANCELLED.value and sub.cancelled_at is None:
        sub.cancelled_at = clock.now()
    sub.updated_at = clock.now()
    session.add(sub)
    session.flush()
    sync_subscription_access(
        session, [(sub, plan)], clock=clock, reason=f"subscription:{sub.id} cancelled"
    )
    return sub


def resume_renewals(session: Session, *, sub: Subscription, clock: Clock) -> Subscription:
    """Take back a cancellation at period end that has not taken effect yet."""
    if sub.status == SubscriptionStatus.CANCELLED.value:
        raise BillingRefused("the cancellation has already taken effect")
    plan = session.get(Plan, sub.plan_id)
    assert plan is not None
    today = today_at(session, sub.site_id, clock)
    apply_state(sub, undo_cancel(state_of(sub, plan.terms())), today=today)
    sub.updated_at = clock.now()
    session.add(sub)
    session.flush()
    return sub
