"""Billing periods: calendar arithmetic anchored on a start date, and per-day proration.

A :class:`BillingCycle` counts periods from an *anchor* date. Period *n* starts at
``anchor + n x interval``, always computed from the anchor rather than from the previous
period, so a month-end anchor keeps coming back to the month's end::

    cycle = BillingCycle(date(2026, 1, 31), "month")
    [cycle.start(n) for n in range(4)]
    # [2026-01-31, 2026-02-28, 2026-03-31, 2026-04-30]
    cycle.period(1)                     # Period(2026-02-28 .. 2026-03-31), 31 days
    BillingCycle(date(2026, 1, 1), "day", 28).start(2)   # 2026-02-26

Periods are half-open ``[start, end)`` in whole days (the site's local dates): a member
who paid the period starting 2026-01-31 may enter up to, not including, 2026-02-28.

Proration is per day: the share of a period's price for *d* of its *n* days is
``round_half_up(price * d / n)`` minor units (:func:`prorate`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from hub.billing.money import round_half_up
from hub.billing.plans import IntervalUnit

_MONTHS_PER_UNIT = {IntervalUnit.MONTH: 1, IntervalUnit.QUARTER: 3, IntervalUnit.YEAR: 12}


@dataclass(frozen=True, slots=True)
class Period:
    """Days ``start`` (included) to ``end`` (excluded)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"a period must end after it starts ({self.start} .. {self.end})")

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        """The last day the period covers (``end`` minus one day)."""
        return self.end - timedelta(days=1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end

    def label(self) -> str:
        """``'2026-01-31 to 2026-02-27'`` (both days included), for invoice lines."""
        return f"{self.start.isoformat()} to {self.last_day.isoformat()}"


def add_months(anchor: date, months: int) -> date:
    """*anchor* moved by *months* calendar months, clamped to the target month's last day.

    ``add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)``;
    ``add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)``.
    """
    year, month0 = divmod(anchor.month - 1 + months, 12)
    year += anchor.year
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(anchor.day, last))


@dataclass(frozen=True, slots=True)
class BillingCycle:
    """Periods of one length counted from an anchor date.

    :param anchor: the first day of period 0.
    :param unit: ``day``, ``month``, ``quarter`` or ``year`` (an :class:`IntervalUnit`).
    :param count: units per period (at least 1).
    """

    anchor: date
    unit: IntervalUnit
    count: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit", IntervalUnit(self.unit))
        if self.count < 1:
            raise ValueError(f"a billing interval must last at least 1 unit, not {self.count}")

    @property
    def months(self) -> int | None:
        """Calendar months per period, or ``None`` for day-counted cycles."""
        per = _MONTHS_PER_UNIT.get(self.unit)
        return None if per is None else per * self.count

    def start(self, index: int) -> date:
        """First day of period *index* (0 = the anchor)."""
        if index < 0:
            raise ValueError("period indexes start at 0")
        return _start(self, index)

    def period(self, index: int) -> Period:
        """Period *index*: from ``start(index)`` up to ``start(index + 1)``."""
        return Period(self.start(index), self.start(index + 1))

    def index_on(self, day: date) -> int:
        """Index of the period that contains *day* (which must not precede the anchor)."""
        if day < self.anchor:
            raise ValueError(f"{day} is before the cycle's anchor {self.anchor}")
        months = self.months
        if months is None:
            return (day - self.anchor).days // self.count
        elapsed = (day.year - self.anchor.year) * 12 + day.month - self.anchor.month
        index = max(0, elapsed // months)
        while self.start(index) > day:
            index -= 1
        while self.start(index + 1) <= day:
            index += 1
        return index

    def first_boundary_on_or_after(self, day: date) -> int:
        """Smallest index whose period starts on or after *day*."""
        if day <= self.anchor:
            return 0
        index = self.index_on(day)
        return index if self.start(index) == day else index + 1


@lru_cache(maxsize=65536)
def _start(cycle: BillingCycle, index: int) -> date:
    # a billing run asks for the same few period starts many times over
    months = cycle.months
    if months is None:
        return cycle.anchor + timedelta(days=cycle.count * index)
    return add_months(cycle.anchor, months * index)


def prorate(amount: int, days: int, period_days: int) -> int:
    """The share of *amount* for *days* of a *period_days*-day period, rounded half up.

    ``prorate(107000, 10, 31) == 34516`` (107000 x 10 / 31 = 34516.13).
    """
    if not 0 <= days <= period_days:
        raise ValueError(f"cannot prorate {days} days of a {period_days}-day period")
    return round_half_up(amount * days, period_days)
