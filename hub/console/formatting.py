"""Times and numbers as console pages show them, in the site's time zone.

English dates read ``2026-12-01 16:05``; Thai ones use Thai month abbreviations and
the Buddhist era (``1 ธ.ค. 2569 16:05``), as Thai staff read them::

    short_datetime(at, "Asia/Bangkok", "th")   # '1 ธ.ค. 2569 16:05'
    ago(at, now, t)                             # '3 min ago' / '3 นาทีที่แล้ว'
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from hub.dunning.formatting import BUDDHIST_ERA_OFFSET

_TH_MONTHS_SHORT = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)  # fmt: skip


def local(at: datetime, timezone: str) -> datetime:
    """*at* in *timezone*."""
    return at.astimezone(ZoneInfo(timezone))


def short_date(day: date | datetime | None, timezone: str, language: str) -> str:
    """A calendar date (``2026-12-01`` or ``1 ธ.ค. 2569``); ``""`` for none."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = local(day, timezone).date()
    if language == "th":
        return f"{day.day} {_TH_MONTHS_SHORT[day.month - 1]} {day.year + BUDDHIST_ERA_OFFSET}"
    return day.isoformat()


def short_datetime(at: datetime | None, timezone: str, language: str) -> str:
    """Date and minute in *timezone*; ``""`` for none."""
    if at is None:
        return ""
    when = local(at, timezone)
    return f"{short_date(when.date(), timezone, language)} {when:%H:%M}"


def clock_time(at: datetime | None, timezone: str) -> str:
    """``16:05:09`` in *timezone*; ``""`` for none."""
    return "" if at is None else f"{local(at, timezone):%H:%M:%S}"


def ago(at: datetime | None, now: datetime, t: Callable[..., str]) -> str:
    """How long ago *at* was, in words of translator *t* (``"never"`` for none)."""
    if at is None:
        return t("time.never")
    seconds = max(0, int((now - at).total_seconds()))
    if seconds < 60:
        return t("time.seconds_ago", n=seconds)
    if seconds < 3600:
        return t("time.minutes_ago", n=seconds // 60)
    if seconds < 86400:
        return t("time.hours_ago", n=seconds // 3600)
    return t("time.days_ago", n=seconds // 86400)


def number(value: int) -> str:
    """``12345`` → ``'12,345'``."""
    return f"{value:,}"
