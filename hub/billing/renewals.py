"""A subscription's billing timeline as pure functions: renewals, trials, plan changes,
freezes and cancellations.

:class:`BillingState` is everything billing needs to know about one subscription (the
hub keeps these fields as columns of the subscription row). Functions take a state and
return a new one plus the invoice drafts it produced; nothing reads a clock, the caller
passes *today* (from the injected clock, as a site-local date)::

    state = start_subscription(gold, start_on=date(2026, 1, 31))
    drafts, state = bill_due(state, today=date(2026, 3, 31))
    [d.period.start for d in drafts]      # [2026-01-31, 2026-02-28, 2026-03-31]
    state, draft = change_plan(state, platinum, effective_on=date(2026, 4, 10),
                               today=date(2026, 4, 10))   # prorated credit + charge
    state = freeze(state, from_on=date(2026, 5, 1), resume_on=date(2026, 6, 1),
                   today=date(2026, 4, 20))
    state = cancel_at_period_end(state, today=date(2026, 6, 15))

Rules, in the words a club uses:

* **Billing in advance.** Period *n* is invoiced on its first day; the first invoice
  also carries the plan's setup (joining) fee.
* **Trials.** With ``trial_days`` the first paid period starts after the trial; a member
  who cancels during the trial is never invoiced.
* **Plan change** within the current period ``[S, E)`` on day *D* (``D >= today``; a
  change "into the past" is refused): a credit line for the old plan's unused days,
  ``-round_half_up(old_price x (E - D) / (E - S))``, and, if the new plan has the same
  interval, a charge for the new plan's price for the same days; with a different
  interval, the new plan's first full period starts on *D* (a new anchor). Taxes follow
  each line's plan. On ``D == E`` the plan is simply switched at renewal.
* **Freeze** from *F* to *R*: no periods are invoiced while frozen; the paid days left on
  *F* (``E - F``) are carried over, so periods continue from ``R + (E - F)`` (a new
  anchor), and a commitment is extended by the frozen days.
* **Cancel at period end**: service ends with the current period, or at the end of the
  commitment if that is later; nothing starting on or after that day is invoiced.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache

from hub.billing.invoices import InvoiceDraft, InvoiceKind, InvoiceLine, LineKind
from hub.billing.periods import BillingCycle, Period, prorate
from hub.billing.plans import IntervalUnit, PlanBase


class SubscriptionStatus(StrEnum):
    """A subscription's state; ``past_due`` and ``suspended`` are set by payments and
    dunning, the rest follow from the billing timeline (:func:`status_on`)."""

    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    SUSPENDED = "suspended"
    FROZEN = "frozen"
    CANCELLED = "cancelled"


class BillingRefused(ValueError):
    """A requested change the billing rules do not allow; the message says why."""


@dataclass(frozen=True, slots=True)
class BillingState:
    """One subscription's billing position.

    :param plan: the current plan.
    :param anchor: first day of period 0 of the current cycle.
    :param next_index: the next period of the cycle not yet invoiced.
    :param trial_ends_on: first paid day after a trial, or ``None``.
    :param setup_fee_pending: the next renewal invoice carries the setup fee.
    :param commitment_ends_on: no cancellation takes effect before this day.
    :param cancel_on: first day without service (cancel at period end), or ``None``.
    :param freeze_from: first frozen day of the latest freeze, or ``None``.
    :param resume_on: first day after that freeze.
    :param freeze_settled: whether the latest freeze has been applied to the cycle.
    """

    plan: PlanBase
    anchor: date
    next_index: int = 0
    trial_ends_on: date | None = None
    setup_fee_pending: bool = True
    commitment_ends_on: date | None = None
    cancel_on: date | None = None
    freeze_from: date | None = None
    resume_on: date | None = None
    freeze_settled: bool = True

    @property
    def cycle(self) -> BillingCycle:
        """The current cycle: the plan's interval counted from :attr:`anchor`."""
        return cycle_of(self.plan, self.anchor)

    @property
    def billed_through(self) -> date:
        """End (excluded) of the last invoiced period; the anchor if none yet."""
        return self.cycle.start(self.next_index)


def cycle_of(plan: PlanBase, anchor: date) -> BillingCycle:
    """The billing cycle of *plan* counted from *anchor*."""
    return _cycle(anchor, IntervalUnit(plan.interval_unit), plan.interval_count)


@lru_cache(maxsize=8192)
def _cycle(anchor: date, unit: IntervalUnit, count: int) -> BillingCycle:
    # cycles are immutable; a billing run asks for the same few thousands again and again
    return BillingCycle(anchor, unit, count)


def start_subscription(plan: PlanBase, *, start_on: date) -> BillingState:
    """A new subscription to *plan* starting on *start_on* (after its trial, if any)."""
    anchor = start_on + timedelta(days=plan.trial_days)
    commitment = None
    if plan.commitment_periods:
        commitment = cycle_of(plan, anchor).start(plan.commitment_periods)
    return BillingState(
        plan=plan,
        anchor=anchor,
        trial_ends_on=anchor if plan.trial_days else None,
        setup_fee_pending=plan.setup_fee_minor > 0,
        commitment_ends_on=commitment,
    )


def _align_to_cycle(cycle: BillingCycle, day: date) -> date:
    return cycle.start(cycle.first_boundary_on_or_after(day))


def settle(state: BillingState) -> BillingState:
    """Apply a freeze to the cycle once the next period would start on or after it."""
    if state.freeze_settled or state.freeze_from is None or state.resume_on is None:
        return state
    frozen_from, resume_on = state.freeze_from, state.resume_on
    if state.cancel_on is not None and state.cancel_on <= frozen_from:
        return replace(state, freeze_settled=True)  # membership ends before the freeze
    next_start = state.billed_through
    if next_start < frozen_from:
        return state  # the freeze starts in a later period
    carried = next_start - frozen_from  # paid (or trial) days not used yet
    in_trial = state.trial_ends_on is not None and state.next_index == 0
    if in_trial:
        carried = min(carried, timedelta(days=state.plan.trial_days))
    if state.next_index == 0 and not in_trial:
        carried = timedelta(0)  # nothing paid yet: the membership simply starts later
    anchor = max(resume_on + carried, next_start if state.next_index == 0 else resume_on)
    cancel_on = state.cancel_on
    if cancel_on is not None:
        shifted = cancel_on + (resume_on - frozen_from)
        cancel_on = _align_to_cycle(cycle_of(state.plan, anchor), shifted)
    return replace(
        state,
        anchor=anchor,
        next_index=0,
        trial_ends_on=anchor if in_trial else state.trial_ends_on,
        cancel_on=cancel_on,
        freeze_settled=True,
    )


def next_bill_on(state: BillingState) -> date | None:
    """The day the next renewal invoice is due to be issued, or ``None`` when the
    subscription ends before another period starts."""
    state = settle(state)
    start = state.billed_through
    if state.cancel_on is not None and start >= state.cancel_on:
        return None
    return start


def bill_next(
    state: BillingState, *, due_days: int = 0
) -> tuple[InvoiceDraft | None, BillingState]:
    """Invoice the next period, whatever the date; ``(None, state)`` if there is none."""
    state = settle(state)
    if next_bill_on(state) is None:
        return None, state
    plan = state.plan
    period = state.cycle.period(state.next_index)
    lines = [
        InvoiceLine.priced(
            f"{plan.name}, {period.label()}",
            unit_amount=plan.price_minor,
            tax_rate_bp=plan.tax_rate_bp,
            tax_inclusive=plan.tax_inclusive,
            kind=LineKind.PLAN,
            period=period,
        )
    ]
    if state.setup_fee_pending and plan.setup_fee_minor:
        lines.append(
            InvoiceLine.priced(
                f"{plan.name} joining fee",
                unit_amount=plan.setup_fee_minor,
                tax_rate_bp=plan.tax_rate_bp,
                tax_inclusive=plan.tax_inclusive,
                kind=LineKind.SETUP_FEE,
            )
        )
    draft = InvoiceDraft(
        currency=plan.currency,
        lines=tuple(lines),
        issued_on=period.start,
        due_on=period.start + timedelta(days=due_days),
        kind=InvoiceKind.RENEWAL,
        period=period,
    )
    return draft, replace(state, next_index=state.next_index + 1, setup_fee_pending=False)


def bill_due(
    state: BillingState, *, today: date, due_days: int = 0
) -> tuple[list[InvoiceDraft], BillingState]:
    """Invoice every period that has started by *today* (catching up after downtime)."""
    drafts: list[InvoiceDraft] = []
    while (when := next_bill_on(state)) is not None and when <= today:
        draft, state = bill_next(state, due_days=due_days)
        if draft is None:
            break
        drafts.append(draft)
    return drafts, settle(state)


def _not_in_past(day: date, today: date, what: str) -> None:
    if day < today:
        raise BillingRefused(f"{what} cannot take effect in the past ({day} is before {today})")


def change_plan(
    state: BillingState,
    new_plan: PlanBase,
    *,
    effective_on: date,
    today: date,
    due_days: int = 0,
) -> tuple[BillingState, InvoiceDraft | None]:
    """Move to *new_plan* on *effective_on*, with per-day proration (see module rules).

    Returns the new state and the plan-change invoice (``None`` when nothing is owed
    either way: during a trial, before the first invoice, or at a period boundary).
    """
    _not_in_past(effective_on, today, "a plan change")
    state = settle(state)
    old = state.plan
    if new_plan.currency != old.currency:
        raise BillingRefused(
            f"a plan change keeps the currency ({old.currency}); {new_plan.name} is billed "
            f"in {new_plan.currency}"
        )
    window = freeze_window(state)
    if window is not None and (not state.freeze_settled or window[1] > effective_on):
        raise BillingRefused("the subscription is frozen then; change the plan after it resumes")
    same_interval = (old.interval_unit, old.interval_count) == (
        new_plan.interval_unit,
        new_plan.interval_count,
    )
    if state.next_index == 0:  # nothing invoiced yet (trial or start ahead)
        if effective_on > state.anchor:
            raise BillingRefused(
                f"before the first invoice a plan change takes effect by {state.anchor}"
            )
        commitment = None
        if new_plan.commitment_periods:
            commitment = cycle_of(new_plan, state.anchor).start(new_plan.commitment_periods)
        switched = replace(
            _switch(state, new_plan, anchor=state.anchor),
            setup_fee_pending=new_plan.setup_fee_minor > 0,
            commitment_ends_on=commitment,
        )
        return _with_cancel_realigned(switched), None
    current = state.cycle.period(state.next_index - 1)
    if effective_on < current.start or effective_on > current.end:
        raise BillingRefused(
            f"a plan change takes effect within the current period ({current.label()}) "
            f"or on its end {current.end}, not on {effective_on}"
        )
    if effective_on == current.end:
        anchor = state.anchor if same_interval else current.end
        switched = _switch(state, new_plan, anchor=anchor, next_index=None if same_interval else 0)
        return _with_cancel_realigned(switched), None
    remaining = (current.end - effective_on).days
    unused = Period(effective_on, current.end)
    credit = InvoiceLine.priced(
        f"Unused time on {old.name}, {unused.label()}",
        unit_amount=-prorate(old.price_minor, remaining, current.days),
        tax_rate_bp=old.tax_rate_bp,
        tax_inclusive=old.tax_inclusive,
        kind=LineKind.PRORATION_CREDIT,
        period=unused,
    )
    if same_interval:
        charged = unused
        amount = prorate(new_plan.price_minor, remaining, current.days)
        new_state = _switch(state, new_plan, anchor=state.anchor)
    else:
        charged = cycle_of(new_plan, effective_on).period(0)
        amount = new_plan.price_minor
        new_state = _switch(state, new_plan, anchor=effective_on, next_index=1)
    charge = InvoiceLine.priced(
        f"{new_plan.name}, {charged.label()}",
        unit_amount=amount,
        tax_rate_bp=new_plan.tax_rate_bp,
        tax_inclusive=new_plan.tax_inclusive,
        kind=LineKind.PRORATION_CHARGE,
        period=charged,
    )
    draft = InvoiceDraft(
        currency=new_plan.currency,
        lines=(credit, charge),
        issued_on=effective_on,
        due_on=effective_on + timedelta(days=due_days),
        kind=InvoiceKind.PLAN_CHANGE,
        period=charged,
    )
    return _with_cancel_realigned(new_state), draft


def _switch(
    state: BillingState, plan: PlanBase, *, anchor: date, next_index: int | None = None
) -> BillingState:
    return replace(
        state,
        plan=plan,
        anchor=anchor,
        next_index=state.next_index if next_index is None else next_index,
    )


def _with_cancel_realigned(state: BillingState) -> BillingState:
    if state.cancel_on is None:
        return state
    return replace(state, cancel_on=_align_to_cycle(state.cycle, state.cancel_on))


def freeze(state: BillingState, *, from_on: date, resume_on: date, today: date) -> BillingState:
    """Freeze the membership from *from_on* until *resume_on* (excluded)."""
    _not_in_past(from_on, today, "a freeze")
    if resume_on <= from_on:
        raise BillingRefused(f"a freeze must resume after it starts ({from_on} .. {resume_on})")
    state = settle(state)
    window = freeze_window(state)
    if window is not None and (not state.freeze_settled or window[1] > today):
        raise BillingRefused(
            f"already frozen from {state.freeze_from} to {state.resume_on}; one freeze at a time"
        )
    if state.cancel_on is not None and from_on >= state.cancel_on:
        raise BillingRefused(f"the membership ends on {state.cancel_on}, before the freeze")
    commitment = state.commitment_ends_on
    if commitment is not None and commitment > from_on:
        commitment += resume_on - from_on
    return settle(
        replace(
            state,
            freeze_from=from_on,
            resume_on=resume_on,
            freeze_settled=False,
            commitment_ends_on=commitment,
        )
    )


def cancel_at_period_end(state: BillingState, *, today: date) -> BillingState:
    """Stop renewing: service ends with the current period (or trial, or commitment)."""
    state = settle(state)
    if state.next_index == 0 and state.trial_ends_on is not None and today < state.trial_ends_on:
        return replace(state, cancel_on=state.trial_ends_on)
    cycle = state.cycle
    index = state.next_index
    if today >= cycle.anchor:
        index = max(index, cycle.index_on(today) + 1)
    if state.commitment_ends_on is not None:
        index = max(index, cycle.first_boundary_on_or_after(state.commitment_ends_on))
    return replace(state, cancel_on=cycle.start(index))


def undo_cancel(state: BillingState) -> BillingState:
    """Keep renewing after all (before the cancellation took effect)."""
    return replace(state, cancel_on=None)


def freeze_window(state: BillingState) -> tuple[date, date] | None:
    """``(first frozen day, resume day)`` of the latest freeze, or ``None``."""
    if state.freeze_from is None or state.resume_on is None:
        return None
    return state.freeze_from, state.resume_on


def status_on(state: BillingState, day: date) -> SubscriptionStatus:
    """The timeline's status on *day*: cancelled, frozen, trialing or active."""
    if state.cancel_on is not None and day >= state.cancel_on:
        return SubscriptionStatus.CANCELLED
    window = freeze_window(state)
    if window is not None and window[0] <= day < window[1]:
        return SubscriptionStatus.FROZEN
    if state.trial_ends_on is not None and day < state.trial_ends_on:
        return SubscriptionStatus.TRIALING
    return SubscriptionStatus.ACTIVE
