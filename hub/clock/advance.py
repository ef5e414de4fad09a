"""Moving the test clock and running what fell due, step by step.

Like a Stripe test clock: ``advance_clock(..., by=parse_span("30d"))`` moves the clock
one day at a time (so a renewal on the 15th is billed on the 15th, before the one on the
16th) and runs the due hooks (:mod:`hub.clock.hooks`) after each step::

    steps = advance_clock(engine=engine, settings=settings, clock=clock,
                          by=parse_span("30d"))
    steps[-1].at, steps[-1].results["billing"].invoices_issued

Spans: ``90s``, ``15min``, ``12h``, ``30d``, ``2w``, or calendar months ``1mo`` /
``12mo`` (a month from Jan 31 is Feb 28).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from gatehouse.clock import Clock
from hub.billing.periods import add_months
from hub.clock.hooks import DueContext, DueHook, run_due_work
from hub.clock.manual import store_time
from hub.core.config import Settings

_SPAN = re.compile(r"^\s*(\d+)\s*(s|min|h|d|w|mo)\s*$")
_UNITS = {"s": "seconds", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}

#: The longest single advance (ten years), so a typo cannot spin for hours.
MAX_SPAN = timedelta(days=3660)


class ClockRefused(ValueError):
    """The clock cannot be moved that way (or not at all, in these settings)."""


class SettableClock(Clock, Protocol):
    """A clock that can be set: :class:`~gatehouse.clock.ManualClock` or
    :class:`~hub.clock.manual.DatabaseClock`."""

    def set(self, when: datetime) -> None: ...


@dataclass(frozen=True)
class Span:
    """A span of time: a fixed duration, or whole calendar months."""

    delta: timedelta = timedelta(0)
    months: int = 0

    def after(self, start: datetime) -> datetime:
        """The time this span after *start*."""
        if self.months:
            day = add_months(start.date(), self.months)
            return datetime.combine(day, start.timetz())
        return start + self.delta


def parse_span(text: str) -> Span:
    """``'30d'`` -> 30 days; ``'12mo'`` -> 12 calendar months; else :class:`ClockRefused`."""
    match = _SPAN.match(text or "")
    if not match:
        raise ClockRefused(
            f"{text!r} is not a span of time; write e.g. 30d, 12h, 2w, 15min or 12mo"
        )
    count, unit = int(match[1]), match[2]
    if count <= 0:
        raise ClockRefused("advance by more than nothing")
    span = Span(months=count) if unit == "mo" else Span(timedelta(**{_UNITS[unit]: count}))
    if span.months > 120 or span.delta > MAX_SPAN:
        raise ClockRefused("advance by at most ten years at a time")
    return span


def check_manual(settings: Settings, clock: Clock) -> SettableClock:
    """*clock* if the settings allow moving it by hand, else :class:`ClockRefused`."""
    if settings.mode == "production":
        raise ClockRefused("the clock cannot be moved in production mode")
    if settings.clock != "manual":
        raise ClockRefused("the hub runs on the system clock; set GATEHOUSE_CLOCK=manual")
    if not hasattr(clock, "set"):
        raise ClockRefused(f"{clock!r} cannot be set")
    return clock  # type: ignore[return-value]


@dataclass(frozen=True)
class Step:
    """One step of an advance: the time reached and each due hook's result."""

    at: datetime
    results: dict[str, Any]


def advance_clock(
    *,
    engine: Engine,
    settings: Settings,
    clock: Clock,
    by: Span,
    step: timedelta = timedelta(days=1),
    hooks: Sequence[DueHook] | None = None,
    services: Any = None,
) -> list[Step]:
    """Move the manual *clock* forward by *by*, running the due hooks after each step.

    The time reached is stored in the database after every step, so another process
    (the server, the command line) reads it too.
    """
    settable = check_manual(settings, clock)
    start = settable.now()
    target = by.after(start)
    ctx = DueContext(engine=engine, settings=settings, clock=settable, services=services)
    steps: list[Step] = []
    now = start
    while now < target:
        now = min(target, now + step)
        settable.set(now)
        store_time(engine, now.astimezone(UTC))
        steps.append(Step(now, run_due_work(ctx, hooks)))
    return steps
