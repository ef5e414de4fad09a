"""Period arithmetic anchored on a start date, and per-day proration."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.billing.periods import BillingCycle, Period, add_months, prorate
from hub.billing.plans import IntervalUnit


def test_month_end_anchor_comes_back_to_the_month_end() -> None:
    cycle = BillingCycle(date(2026, 1, 31), IntervalUnit.MONTH)
    assert [cycle.start(n) for n in range(5)] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]
    assert cycle.period(1) == Period(date(2026, 2, 28), date(2026, 3, 31))
    assert cycle.period(1).days == 31


def test_leap_years() -> None:
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    yearly = BillingCycle(date(2028, 2, 29), IntervalUnit.YEAR)
    assert [yearly.start(n) for n in range(5)] == [
        date(2028, 2, 29),
        date(2029, 2, 28),
        date(2030, 2, 28),
        date(2031, 2, 28),
        date(2032, 2, 29),
    ]


def test_quarters_and_multi_month_intervals() -> None:
    quarterly = BillingCycle(date(2026, 11, 30), IntervalUnit.QUARTER)
    assert [quarterly.start(n) for n in range(4)] == [
        date(2026, 11, 30),
        date(2027, 2, 28),
        date(2027, 5, 30),
        date(2027, 8, 30),
    ]
    bimonthly = BillingCycle(date(2026, 12, 31), IntervalUnit.MONTH, 2)
    assert bimonthly.start(1) == date(2027, 2, 28)
    assert bimonthly.start(2) == date(2027, 4, 30)


def test_n_day_intervals() -> None:
    cycle = BillingCycle(date(2026, 1, 1), IntervalUnit.DAY, 28)
    assert cycle.start(2) == date(2026, 2, 26)
    assert cycle.period(13) == Period(date(2026, 12, 31), date(2027, 1, 28))


def test_zero_length_intervals_and_empty_periods_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1 unit"):
        BillingCycle(date(2026, 1, 1), IntervalUnit.DAY, 0)
    with pytest.raises(ValueError, match="must end after it starts"):
        Period(date(2026, 1, 2), date(2026, 1, 2))


def test_index_on_and_boundaries() -> None:
    cycle = BillingCycle(date(2026, 1, 31), IntervalUnit.MONTH)
    assert cycle.index_on(date(2026, 1, 31)) == 0
    assert cycle.index_on(date(2026, 2, 27)) == 0
    assert cycle.index_on(date(2026, 2, 28)) == 1
    assert cycle.first_boundary_on_or_after(date(2026, 2, 28)) == 1
    assert cycle.first_boundary_on_or_after(date(2026, 3, 1)) == 2
    with pytest.raises(ValueError, match="before the cycle's anchor"):
        cycle.index_on(date(2026, 1, 30))


def test_period_label_names_the_last_day_included() -> None:
    assert Period(date(2026, 1, 31), date(2026, 2, 28)).label() == "2026-01-31 to 2026-02-27"


def test_prorate_per_day_rounds_half_up() -> None:
    assert prorate(107000, 10, 31) == 34516  # 34516.13
    assert prorate(107000, 10, 30) == 35667  # 35666.67
    assert prorate(3, 1, 2) == 2  # 1.5 -> 2
    assert prorate(107000, 31, 31) == 107000
    assert prorate(107000, 0, 31) == 0
    with pytest.raises(ValueError):
        prorate(100, 32, 31)


@given(
    anchor=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    unit=st.sampled_from(list(IntervalUnit)),
    count=st.integers(min_value=1, max_value=40),
    offset=st.integers(min_value=0, max_value=4000),
)
def test_every_day_falls_in_exactly_one_period(
    anchor: date, unit: IntervalUnit, count: int, offset: int
) -> None:
    cycle = BillingCycle(anchor, unit, count)
    day = anchor + timedelta(days=offset)
    index = cycle.index_on(day)
    assert cycle.start(index) <= day < cycle.start(index + 1)
    assert day in cycle.period(index)
