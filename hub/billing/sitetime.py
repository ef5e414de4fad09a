"""Billing days are a site's local calendar days.

A period ``[2026-01-31, 2026-02-28)`` in Bangkok starts and ends at Bangkok midnight; the
clock gives UTC instants, these helpers turn one into the other::

    site_today(datetime(2026, 1, 30, 18, 0, tzinfo=UTC), "Asia/Bangkok")   # 2026-01-31
    local_midnight(date(2026, 2, 28), "Asia/Bangkok")   # 2026-02-27 17:00 UTC
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def site_today(now: datetime, timezone: str) -> date:
    """The calendar day it is at *now* in *timezone*."""
    return now.astimezone(_zone(timezone)).date()


@lru_cache(maxsize=4096)
def local_midnight(day: date, timezone: str) -> datetime:
    """The UTC instant *day* starts in *timezone* (an aware datetime)."""
    return datetime.combine(day, time(0), tzinfo=_zone(timezone)).astimezone(UTC)
