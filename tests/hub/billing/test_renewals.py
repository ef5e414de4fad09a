"""A subscription's billing timeline: renewals, trials, plan changes, freezes, cancels."""

from __future__ import annotations

from datetime import date

import pytest

from hub.billing.invoices import InvoiceKind, LineKind
from hub.billing.periods import Period
from hub.billing.plans import PlanBase
from hub.billing.renewals import (
    BillingRefused,
    SubscriptionStatus,
    bill_due,
    cancel_at_period_end,
    change_plan,
    freeze,
    next_bill_on,
    start_subscription,
    status_on,
    undo_cancel,
)

GOLD = PlanBase(
    name="Gold",
    price_minor=107000,
    currency="THB",
    tax_rate_bp=700,
    tax_inclusive=True,
    setup_fee_minor=50000,
)
PLATINUM = PlanBase(
    name="Platinum", price_minor=160500, currency="THB", tax_rate_bp=700, tax_inclusive=True
)
GOLD_QUARTERLY = PlanBase(
    name="Gold quarterly",
    price_minor=300000,
    currency="THB",
    tax_rate_bp=700,
    tax_inclusive=True,
    interval_unit="quarter",
)
USD_MONTHLY = PlanBase(name="Basic", price_minor=4999, currency="USD")


def starts(drafts: list) -> list[date]:
    return [d.period.start for d in drafts]


def test_first_invoice_carries_the_setup_fee_and_later_ones_do_not() -> None:
    state = start_subscription(GOLD, start_on=date(2026, 1, 31))
    drafts, state = bill_due(state, today=date(2026, 3, 31))
    assert starts(drafts) == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    first, second, _ = drafts
    assert [line.kind for line in first.lines] == [LineKind.PLAN, LineKind.SETUP_FEE]
    assert (first.subtotal, first.tax, first.total) == (100000 + 46729, 7000 + 3271, 157000)
    assert first.lines[0].description == "Gold, 2026-01-31 to 2026-02-27"
    assert [line.kind for line in second.lines] == [LineKind.PLAN]
    assert second.total == 107000 and second.tax == 7000
    assert second.kind is InvoiceKind.RENEWAL
    assert second.issued_on == second.due_on == date(2026, 2, 28)
    assert next_bill_on(state) == date(2026, 4, 30)


def test_nothing_is_billed_twice_or_early() -> None:
    state = start_subscription(GOLD, start_on=date(2026, 1, 1))
    drafts, state = bill_due(state, today=date(2026, 1, 15))
    assert len(drafts) == 1
    again, state = bill_due(state, today=date(2026, 1, 31))
    assert again == []
    later, _ = bill_due(state, today=date(2026, 2, 1), due_days=7)
    assert starts(later) == [date(2026, 2, 1)]
    assert later[0].due_on == date(2026, 2, 8)


def test_trial_delays_the_first_invoice_and_a_trial_cancel_is_never_billed() -> None:
    trial = GOLD.model_copy(update={"trial_days": 14})
    state = start_subscription(trial, start_on=date(2026, 3, 1))
    assert status_on(state, date(2026, 3, 1)) is SubscriptionStatus.TRIALING
    assert next_bill_on(state) == date(2026, 3, 15)
    drafts, _ = bill_due(state, today=date(2026, 3, 14))
    assert drafts == []
    cancelled = cancel_at_period_end(state, today=date(2026, 3, 10))
    assert cancelled.cancel_on == date(2026, 3, 15)
    drafts, _ = bill_due(cancelled, today=date(2027, 3, 1))
    assert drafts == []
    assert status_on(cancelled, date(2026, 3, 15)) is SubscriptionStatus.CANCELLED


def test_upgrade_mid_period_credits_unused_days_and_charges_the_new_plan() -> None:
    state = start_subscription(
        GOLD.model_copy(update={"setup_fee_minor": 0}), start_on=date(2026, 4, 1)
    )
    _, state = bill_due(state, today=date(2026, 4, 1))
    state, draft = change_plan(
        state, PLATINUM, effective_on=date(2026, 4, 21), today=date(2026, 4, 21)
    )
    assert draft is not None and draft.kind is InvoiceKind.PLAN_CHANGE
    credit, charge = draft.lines
    # 10 of April's 30 days are left: 107000 x 10/30 = 35666.67 -> 35667.
    assert credit.kind is LineKind.PRORATION_CREDIT
    assert (credit.unit_amount, credit.net, credit.tax) == (-35667, -33334, -2333)
    assert credit.period == Period(date(2026, 4, 21), date(2026, 5, 1))
    # 160500 x 10/30 = 53500 incl. VAT: 53500 x 7/107 = 3500.
    assert (charge.unit_amount, charge.net, charge.tax) == (53500, 50000, 3500)
    assert (draft.subtotal, draft.tax, draft.total) == (16666, 1167, 17833)
    drafts, _ = bill_due(state, today=date(2026, 5, 1))
    assert starts(drafts) == [date(2026, 5, 1)] and drafts[0].total == 160500


def test_downgrade_gives_a_credit_note() -> None:
    state = start_subscription(PLATINUM, start_on=date(2026, 4, 1))
    _, state = bill_due(state, today=date(2026, 4, 1))
    state, draft = change_plan(state, GOLD, effective_on=date(2026, 4, 16), today=date(2026, 4, 2))
    assert draft is not None and draft.is_credit_note
    # 15 of 30 days left: credit 160500 x 15/30 = 80250, charge 107000 x 15/30 = 53500.
    assert [line.unit_amount for line in draft.lines] == [-80250, 53500]
    assert [line.tax for line in draft.lines] == [-5250, 3500]
    assert (draft.subtotal, draft.tax, draft.total) == (-25000, -1750, -26750)


def test_change_to_another_interval_starts_a_new_cycle_on_the_change_day() -> None:
    state = start_subscription(
        GOLD.model_copy(update={"setup_fee_minor": 0}), start_on=date(2026, 4, 1)
    )
    _, state = bill_due(state, today=date(2026, 4, 1))
    state, draft = change_plan(
        state, GOLD_QUARTERLY, effective_on=date(2026, 4, 21), today=date(2026, 4, 20)
    )
    assert draft is not None
    assert [line.unit_amount for line in draft.lines] == [-35667, 300000]
    assert draft.period == Period(date(2026, 4, 21), date(2026, 7, 21))
    assert next_bill_on(state) == date(2026, 7, 21)


def test_change_at_the_period_end_just_switches_at_renewal() -> None:
    state = start_subscription(GOLD, start_on=date(2026, 4, 1))
    _, state = bill_due(state, today=date(2026, 4, 1))
    state, draft = change_plan(
        state, PLATINUM, effective_on=date(2026, 5, 1), today=date(2026, 4, 9)
    )
    assert draft is None
    drafts, _ = bill_due(state, today=date(2026, 5, 1))
    assert drafts[0].total == 160500


def test_plan_changes_into_the_past_or_beyond_the_period_are_refused() -> None:
    state = start_subscription(GOLD, start_on=date(2026, 4, 1))
    _, state = bill_due(state, today=date(2026, 4, 1))
    with pytest.raises(BillingRefused, match="cannot take effect in the past"):
        change_plan(state, PLATINUM, effective_on=date(2026, 4, 5), today=date(2026, 4, 6))
    with pytest.raises(BillingRefused, match="within the current period"):
        change_plan(state, PLATINUM, effective_on=date(2026, 5, 2), today=date(2026, 4, 6))
    with pytest.raises(BillingRefused, match="keeps the currency"):
        change_plan(state, USD_MONTHLY, effective_on=date(2026, 4, 6), today=date(2026, 4, 6))


def test_change_during_the_trial_switches_the_plan_without_an_invoice() -> None:
    state = start_subscription(GOLD.model_copy(update={"trial_days": 7}), start_on=date(2026, 1, 1))
    state, draft = change_plan(
        state, PLATINUM, effective_on=date(2026, 1, 3), today=date(2026, 1, 3)
    )
    assert draft is None
    drafts, _ = bill_due(state, today=date(2026, 1, 8))
    assert [d.total for d in drafts] == [160500]  # Platinum has no setup fee


def test_freeze_mid_period_carries_the_unused_days_past_the_resume_date() -> None:
    state = start_subscription(USD_MONTHLY, start_on=date(2026, 1, 1))
    _, state = bill_due(state, today=date(2026, 1, 1))
    state = freeze(
        state, from_on=date(2026, 1, 21), resume_on=date(2026, 3, 1), today=date(2026, 1, 20)
    )
    assert status_on(state, date(2026, 2, 10)) is SubscriptionStatus.FROZEN
    assert status_on(state, date(2026, 3, 1)) is SubscriptionStatus.ACTIVE
    # 11 paid days (Jan 21-31) were unused: the next period starts on Mar 1 + 11 days.
    assert next_bill_on(state) == date(2026, 3, 12)
    drafts, _ = bill_due(state, today=date(2026, 5, 31))
    assert starts(drafts) == [date(2026, 3, 12), date(2026, 4, 12), date(2026, 5, 12)]


def test_freeze_in_a_later_period_lets_the_periods_before_it_bill() -> None:
    state = start_subscription(USD_MONTHLY, start_on=date(2026, 1, 1))
    _, state = bill_due(state, today=date(2026, 1, 1))
    state = freeze(
        state, from_on=date(2026, 3, 10), resume_on=date(2026, 4, 10), today=date(2026, 1, 15)
    )
    drafts, _ = bill_due(state, today=date(2026, 6, 30))
    # Feb and Mar bill normally; Mar 10-31 (22 days) carry past Apr 10 -> May 2.
    assert starts(drafts) == [
        date(2026, 2, 1),
        date(2026, 3, 1),
        date(2026, 5, 2),
        date(2026, 6, 2),
    ]


def test_freeze_rules() -> None:
    state = start_subscription(USD_MONTHLY, start_on=date(2026, 1, 1))
    _, state = bill_due(state, today=date(2026, 1, 1))
    with pytest.raises(BillingRefused, match="in the past"):
        freeze(state, from_on=date(2026, 1, 5), resume_on=date(2026, 2, 1), today=date(2026, 1, 6))
    with pytest.raises(BillingRefused, match="resume after it starts"):
        freeze(
            state, from_on=date(2026, 1, 10), resume_on=date(2026, 1, 10), today=date(2026, 1, 6)
        )
    frozen = freeze(
        state, from_on=date(2026, 2, 1), resume_on=date(2026, 4, 1), today=date(2026, 1, 6)
    )
    with pytest.raises(BillingRefused, match="one freeze at a time"):
        freeze(frozen, from_on=date(2026, 5, 1), resume_on=date(2026, 6, 1), today=date(2026, 1, 7))
    with pytest.raises(BillingRefused, match="frozen"):
        change_plan(frozen, USD_MONTHLY, effective_on=date(2026, 1, 9), today=date(2026, 1, 9))
    drafts, _ = bill_due(frozen, today=date(2026, 4, 1))
    assert starts(drafts) == [date(2026, 4, 1)]  # nothing while frozen


def test_cancel_at_period_end_stops_renewals() -> None:
    state = start_subscription(USD_MONTHLY, start_on=date(2026, 1, 1))
    _, state = bill_due(state, today=date(2026, 1, 1))
    cancelled = cancel_at_period_end(state, today=date(2026, 1, 15))
    assert cancelled.cancel_on == date(2026, 2, 1)
    assert status_on(cancelled, date(2026, 1, 31)) is SubscriptionStatus.ACTIVE
    assert status_on(cancelled, date(2026, 2, 1)) is SubscriptionStatus.CANCELLED
    drafts, _ = bill_due(cancelled, today=date(2026, 12, 31))
    assert drafts == []
    drafts, _ = bill_due(undo_cancel(cancelled), today=date(2026, 3, 1))
    assert starts(drafts) == [date(2026, 2, 1), date(2026, 3, 1)]


def test_commitment_holds_the_cancellation_until_the_term_ends() -> None:
    committed = USD_MONTHLY.model_copy(update={"commitment_periods": 3})
    state = start_subscription(committed, start_on=date(2026, 1, 1))
    _, state = bill_due(state, today=date(2026, 1, 1))
    cancelled = cancel_at_period_end(state, today=date(2026, 1, 15))
    assert cancelled.cancel_on == date(2026, 4, 1)
    drafts, _ = bill_due(cancelled, today=date(2026, 12, 31))
    assert starts(drafts) == [date(2026, 2, 1), date(2026, 3, 1)]


def test_a_freeze_extends_the_commitment() -> None:
    committed = USD_MONTHLY.model_copy(update={"commitment_periods": 3})
    state = start_subscription(committed, start_on=date(2026, 1, 1))
    _, state = bill_due(state, today=date(2026, 1, 1))
    state = freeze(
        state, from_on=date(2026, 2, 1), resume_on=date(2026, 3, 1), today=date(2026, 1, 10)
    )
    assert state.commitment_ends_on == date(2026, 4, 29)  # Apr 1 + 28 frozen days
    cancelled = cancel_at_period_end(state, today=date(2026, 1, 10))
    # New cycle from Mar 1: Mar 1, Apr 1, May 1 -> the first boundary after Apr 29.
    assert cancelled.cancel_on == date(2026, 5, 1)
    drafts, _ = bill_due(cancelled, today=date(2026, 12, 31))
    assert starts(drafts) == [date(2026, 3, 1), date(2026, 4, 1)]


def test_billing_catches_up_after_downtime() -> None:
    state = start_subscription(USD_MONTHLY, start_on=date(2026, 1, 1))
    drafts, state = bill_due(state, today=date(2026, 6, 15))
    assert len(drafts) == 6
    assert next_bill_on(state) == date(2026, 7, 1)


def test_a_freeze_before_the_start_only_delays_it() -> None:
    state = start_subscription(USD_MONTHLY, start_on=date(2026, 3, 1))
    state = freeze(
        state, from_on=date(2026, 2, 20), resume_on=date(2026, 3, 10), today=date(2026, 2, 1)
    )
    assert next_bill_on(state) == date(2026, 3, 10)
    early = start_subscription(USD_MONTHLY, start_on=date(2026, 3, 1))
    early = freeze(
        early, from_on=date(2026, 2, 10), resume_on=date(2026, 2, 20), today=date(2026, 2, 1)
    )
    assert next_bill_on(early) == date(2026, 3, 1)


def test_a_freeze_during_the_trial_keeps_the_trial_days_left() -> None:
    trial = USD_MONTHLY.model_copy(update={"trial_days": 10})
    state = start_subscription(trial, start_on=date(2026, 3, 1))  # trial until Mar 11
    state = freeze(
        state, from_on=date(2026, 3, 5), resume_on=date(2026, 4, 1), today=date(2026, 3, 5)
    )
    assert state.trial_ends_on == date(2026, 4, 7)  # 6 trial days left after Apr 1
    assert status_on(state, date(2026, 4, 6)) is SubscriptionStatus.TRIALING
    drafts, _ = bill_due(state, today=date(2026, 4, 7))
    assert starts(drafts) == [date(2026, 4, 7)]
