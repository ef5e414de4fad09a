"""The gate's clock: list issue time as a floor, counted forward; the hub's time."""

from __future__ import annotations

from edge.gate.timekeeping import GateClock
from edge.gate.timers import ManualTimers
from gatehouse.clock import ManualClock
from tests.edge.gate.helpers import T0


def test_a_clock_behind_the_list_is_untrusted_and_the_floor_counts_forward() -> None:
    wall = ManualClock(T0 - 3600)  # booted an hour in the past (no RTC, no NTP yet)
    ticks = ManualTimers(ManualClock(0))  # the monotonic clock
    gc = GateClock(wall, ticks.monotonic)
    assert gc.now() == (T0 - 3600, True)  # nothing known yet
    gc.raise_floor(T0)
    assert gc.now() == (T0, False)
    ticks.advance(seconds=90)
    assert gc.now() == (T0 + 90, False)  # issue time + elapsed, still flagged
    wall.set(T0 + 200)  # NTP answered
    assert gc.now() == (T0 + 200, True)


def test_a_lower_floor_never_lowers_it() -> None:
    gc = GateClock(ManualClock(0), ManualTimers(ManualClock(0)).monotonic)
    gc.raise_floor(T0)
    gc.raise_floor(T0 - 100)
    assert gc.floor() == T0


def test_hub_time_overrides_a_wall_clock_that_is_far_off() -> None:
    wall = ManualClock(T0 - 86400)
    ticks = ManualTimers(ManualClock(0))
    gc = GateClock(wall, ticks.monotonic)
    gc.set_hub_time(T0)
    ticks.advance(seconds=10)
    assert gc.wall() == T0 + 10
    assert gc.now() == (T0 + 10, True)
    wall.set(T0 + 12)  # within tolerance of the hub's time: the wall clock is used
    assert gc.wall() == T0 + 12
