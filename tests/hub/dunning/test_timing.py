"""Quiet hours in the member's timezone (DST included) and rolling frequency caps."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.dunning.policy import FrequencyCap, QuietHours
from hub.dunning.timing import (
    cap_allows,
    cap_frees_at,
    end_of_quiet_hours,
    in_quiet_hours,
    messages_in_window,
)

BANGKOK = ZoneInfo("Asia/Bangkok")
NEW_YORK = ZoneInfo("America/New_York")
QUIET = QuietHours()


def bkk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=BANGKOK)


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (bkk(1, 20, 59), False),
        (bkk(1, 21, 0), True),
        (bkk(1, 23, 30), True),
        (bkk(2, 0, 0), True),
        (bkk(2, 7, 59), True),
        (bkk(2, 8, 0), False),
        (bkk(2, 12, 0), False),
    ],
)
def test_quiet_hours_in_local_time(local: datetime, quiet: bool) -> None:
    assert in_quiet_hours(local.astimezone(UTC), BANGKOK, QUIET) is quiet


def test_evening_message_waits_for_next_morning() -> None:
    deferred = end_of_quiet_hours(bkk(1, 22, 15).astimezone(UTC), BANGKOK, QUIET)
    assert deferred == bkk(2, 8, 0)
    assert deferred.tzinfo is UTC


def test_early_morning_message_waits_for_same_morning() -> None:
    assert end_of_quiet_hours(bkk(2, 2, 0), BANGKOK, QUIET) == bkk(2, 8, 0)


def test_daytime_is_not_moved() -> None:
    at = bkk(2, 9, 0).astimezone(UTC)
    assert end_of_quiet_hours(at, BANGKOK, QUIET) is at


def test_same_instant_differs_by_member_timezone() -> None:
    at = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)  # 20:00 Bangkok, 08:00 New York
    assert not in_quiet_hours(at, BANGKOK, QUIET)
    assert not in_quiet_hours(at, NEW_YORK, QUIET)
    at = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 22:00 Bangkok, 10:00 New York
    assert in_quiet_hours(at, BANGKOK, QUIET)
    assert not in_quiet_hours(at, NEW_YORK, QUIET)


def test_daytime_window_that_does_not_wrap() -> None:
    lunch = QuietHours(start=time(12), end=time(13))
    assert in_quiet_hours(bkk(1, 12, 30), BANGKOK, lunch)
    assert not in_quiet_hours(bkk(1, 13, 0), BANGKOK, lunch)
    assert end_of_quiet_hours(bkk(1, 12, 30), BANGKOK, lunch) == bkk(1, 13, 0)


def test_spring_forward_gap_still_lands_outside_quiet_hours() -> None:
    # New York skips 02:00-03:00 on 8 March 2026; quiet hours ending at 02:30 must not
    # resolve to a time that is still quiet.
    quiet = QuietHours(start=time(1), end=time(2, 30))
    at = datetime(2026, 3, 8, 1, 15, tzinfo=NEW_YORK)
    end = end_of_quiet_hours(at.astimezone(UTC), NEW_YORK, quiet)
    assert not in_quiet_hours(end, NEW_YORK, quiet)
    assert end - at.astimezone(UTC) < timedelta(hours=2)


def test_frequency_cap_rolls() -> None:
    cap = FrequencyCap(max_messages=2, per_days=7)
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    sent = [start, start + timedelta(days=2)]
    assert messages_in_window(sent, start + timedelta(days=3), cap) == 2
    assert not cap_allows(sent, start + timedelta(days=3), cap)
    frees = cap_frees_at(sent, start + timedelta(days=3), cap)
    assert frees == start + timedelta(days=7)
    assert cap_allows(sent, frees, cap)
    assert not cap_allows(sent, frees - timedelta(seconds=1), cap)


def test_cap_free_time_with_surplus() -> None:
    cap = FrequencyCap(max_messages=1, per_days=7)
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    sent = [start, start + timedelta(days=1), start + timedelta(days=2)]  # legal ones overshoot
    frees = cap_frees_at(sent, start + timedelta(days=3), cap)
    assert frees == start + timedelta(days=9)
    assert cap_allows(sent, frees, cap)
