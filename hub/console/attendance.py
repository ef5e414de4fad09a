"""Attendance from check-ins: per hour, per day and per member, in the site's time zone.

A visit is an allowed check-in (the door opened for the member's card).  Days and
hours are the site's local ones, so 06:00 means 06:00 at the club, DST included::

    start, end = day_bounds(date(2026, 12, 1), "Asia/Bangkok")
    times = visit_times(db, start=start, end=end, site_id=1)
    by_hour(times, "Asia/Bangkok")          # 24 counts, 00:00 to 23:00
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from hub.models import CheckIn, Member


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants where local *day* starts and the next one starts."""
    tz = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return start, end


def local_day(at: datetime, timezone: str) -> date:
    """The local calendar date of *at*."""
    return at.astimezone(ZoneInfo(timezone)).date()


def _filtered(query, site_id: int | None, start: datetime, end: datetime, allowed: bool | None):  # type: ignore[no-untyped-def]
    query = query.where(CheckIn.ts >= start, CheckIn.ts < end)
    if site_id is not None:
        query = query.where(CheckIn.site_id == site_id)
    if allowed is not None:
        query = query.where(CheckIn.allowed == allowed)
    return query


def count_checkins(
    db: Session, *, start: datetime, end: datetime, site_id: int | None, allowed: bool | None
) -> int:
    """How many check-ins (allowed ones, denied ones or all) in ``[start, end)``."""
    q = _filtered(select(func.count()).select_from(CheckIn), site_id, start, end, allowed)
    return int(db.exec(q).one())


def visit_times(
    db: Session, *, start: datetime, end: datetime, site_id: int | None = None
) -> list[datetime]:
    """When each visit in ``[start, end)`` happened."""
    q = _filtered(select(CheckIn.ts), site_id, start, end, True)
    return list(db.exec(q).all())


def by_hour(times: Sequence[datetime], timezone: str) -> list[int]:
    """Visits per local hour of day (24 counts)."""
    tz = ZoneInfo(timezone)
    counts = [0] * 24
    for ts in times:
        counts[ts.astimezone(tz).hour] += 1
    return counts


def by_day(times: Sequence[datetime], timezone: str, first: date, days: int) -> list[int]:
    """Visits per local day for *days* days from *first*."""
    tz = ZoneInfo(timezone)
    per_day = Counter(ts.astimezone(tz).date() for ts in times)
    return [per_day.get(first + timedelta(days=i), 0) for i in range(days)]


@dataclass(frozen=True)
class MemberAttendance:
    """One member's visits over a period and their weekly trend.

    :param weekly: visits per week, oldest first (the last entry ends on the last day).
    :param trend: visits in the later half of the weeks minus the earlier half.
    """

    member_id: int
    name: str
    status: str
    visits: int
    days: int
    last_visit: datetime | None
    weekly: tuple[int, ...]

    @property
    def trend(self) -> int:
        half = len(self.weekly) // 2
        return sum(self.weekly[half:]) - sum(self.weekly[:half])


def per_member(
    db: Session,
    *,
    start: datetime,
    end: datetime,
    timezone: str,
    site_id: int | None = None,
    weeks: int = 8,
    limit: int = 500,
) -> list[MemberAttendance]:
    """Visits per member in ``[start, end)``, most visits first, with weekly counts over
    the *weeks* weeks that end at *end* (members who came only in those weeks are
    listed too, with no visits in the period: the ones drifting away)."""
    trend_start = min(start, end - timedelta(weeks=weeks))
    q = _filtered(
        select(CheckIn.member_id, CheckIn.ts).where(col(CheckIn.member_id).is_not(None)),
        site_id,
        trend_start,
        end,
        True,
    )
    tz = ZoneInfo(timezone)
    visits: Counter[int] = Counter()
    days: dict[int, set[date]] = defaultdict(set)
    last: dict[int, datetime] = {}
    weekly: dict[int, list[int]] = defaultdict(lambda: [0] * weeks)
    for member_id, ts in db.exec(q).all():
        week = int((end - ts).total_seconds() // (7 * 86400))
        if 0 <= week < weeks:
            weekly[member_id][weeks - 1 - week] += 1
        if ts >= start:
            visits[member_id] += 1
            days[member_id].add(ts.astimezone(tz).date())
            if member_id not in last or ts > last[member_id]:
                last[member_id] = ts
    seen = set(visits) | set(weekly)
    ids = sorted(seen, key=lambda m: (-visits[m], -sum(weekly[m]), m))[:limit]
    members = {
        m.id: m for m in db.exec(select(Member).where(col(Member.id).in_(ids))).all()
    } if ids else {}  # fmt: skip
    rows = []
    for member_id in ids:
        m = members.get(member_id)
        rows.append(
            MemberAttendance(
                member_id=member_id,
                name=f"{m.first_name} {m.last_name}" if m else f"#{member_id}",
                status=m.status if m else "",
                visits=visits[member_id],
                days=len(days[member_id]),
                last_visit=last.get(member_id),
                weekly=tuple(weekly[member_id]),
            )
        )
    return rows
