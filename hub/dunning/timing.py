"""When a message may go out: quiet hours in the member's timezone and frequency caps.

::

    quiet = QuietHours(start=time(21), end=time(8))
    bangkok = ZoneInfo("Asia/Bangkok")
    in_quiet_hours(datetime(2026, 12, 1, 15, 30, tzinfo=UTC), bangkok, quiet)   # 22:30 local: True
    end_of_quiet_hours(datetime(2026, 12, 1, 15, 30, tzinfo=UTC), bangkok, quiet)
    # -> 2026-12-02 08:00 Bangkok (01:00 UTC)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hub.dunning.policy import FrequencyCap, QuietHours

_NUDGE = timedelta(minutes=15)


def _in_window(local: time, start: time, end: time) -> bool:
    if start < end:
        return start <= local < end
    return local >= start or local < end


def in_quiet_hours(at: datetime, zone: ZoneInfo, quiet: QuietHours) -> bool:
    """True when *at* falls in the quiet hours of *zone* (``start`` inclusive, ``end`` not)."""
    return _in_window(at.astimezone(zone).time(), quiet.start, quiet.end)


def end_of_quiet_hours(at: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime:
    """*at* itself when it is outside quiet hours, else the moment they end (in UTC).

    Daylight-saving jumps are handled: the result is always outside the quiet hours.
    """
    if not in_quiet_hours(at, zone, quiet):
        return at
    local = at.astimezone(zone)
    day = local.date()
    candidate = datetime.combine(day, quiet.end, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(day + timedelta(days=1), quiet.end, tzinfo=zone)
    result = candidate.astimezone(UTC)
    # A wall-clock end time that a DST jump skips lands inside the window: step out of it.
    for _ in range(200):
        if not in_quiet_hours(result, zone, quiet):
            return result
        result += _NUDGE
    raise ValueError(f"quiet hours {quiet.start}-{quiet.end} never end in {zone}")


def messages_in_window(sent_at: Iterable[datetime], at: datetime, cap: FrequencyCap) -> int:
    """How many of the times *sent_at* fall in the rolling window ``(at - per_days, at]``."""
    window_start = at - timedelta(days=cap.per_days)
    return sum(window_start < t <= at for t in sent_at)


def cap_allows(sent_at: Iterable[datetime], at: datetime, cap: FrequencyCap) -> bool:
    """True when one more message at *at* stays within the frequency cap."""
    return messages_in_window(sent_at, at, cap) < cap.max_messages


def cap_frees_at(sent_at: Iterable[datetime], at: datetime, cap: FrequencyCap) -> datetime:
    """The first moment after *at* when the cap allows one more message.

    The oldest messages in the window age out one by one; this is when enough of them have.
    """
    window = sorted(t for t in sent_at if at - timedelta(days=cap.per_days) < t <= at)
    surplus = len(window) - cap.max_messages
    if surplus < 0:
        return at
    return window[surplus] + timedelta(days=cap.per_days)
