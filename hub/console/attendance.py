"""Attendance from check-ins: per hour, per day and per member, in the site's time zone.

A visit is an allowed check-in (the door opened for the member's card).  Days and
hours are the site's local ones, so 06:00 means 06:00 at the club, DST included.  The
database does the counting (a month of a busy club is tens of thousands of rows): each
check-in's local time is its UTC epoch plus the zone's offset in force then, written
into the query as a ``CASE`` over the offset changes of the period::

    start, end = day_bounds(date(2026, 12, 1), "Asia/Bangkok")
    grid = visit_grid(db, start=start, end=end, timezone="Asia/Bangkok", site_id=1)
    by_hour(grid)                      # 24 counts, 00:00 to 23:00
    by_day(grid, date(2026, 12, 1), 1)  # [n]

:func:`grid_of` computes the same grid in Python from a list of times (the tests'
oracle).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Integer, case, cast, literal
from sqlmodel import Session, col, func, select

from hub.models import CheckIn, Member

#: Visits per (local date, local hour).
Grid = Counter[tuple[date, int]]

_DAY = 86400
_EPOCH_DAY = date(1970, 1, 1)


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants where local *day* starts and the next one starts."""
    tz = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return start, end


def local_day(at: datetime, timezone: str) -> date:
    """The local calendar date of *at*."""
    return at.astimezone(ZoneInfo(timezone)).date()


def _epoch(db: Session) -> Any:
    """Unix seconds of ``checkin.ts`` in SQL, on SQLite and PostgreSQL."""
    if db.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", CheckIn.ts), Integer)
    return cast(func.floor(func.extract("epoch", CheckIn.ts)), BigInteger)


def offset_changes(timezone: str, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """``[(from unix second, UTC offset in seconds), ...]`` of *timezone* over
    ``[start, end)``, the first entry in force at *start*."""
    tz = ZoneInfo(timezone)

    def offset(at: datetime) -> int:
        delta = at.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    changes = [(int(start.timestamp()), offset(start))]
    at = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while at < end:  # offsets change on the hour or half hour: check every 15 minutes
        at += timedelta(minutes=15)
        now = offset(at)
        if now != changes[-1][1]:
            low, high = at - timedelta(minutes=15), at  # find the second it changed
            while (high - low) > timedelta(seconds=1):
                mid = low + (high - low) / 2
                low, high = (low, mid) if offset(mid) == now else (mid, high)
            changes.append((int(high.timestamp()), now))
    return changes


def _local_seconds(epoch: Any, changes: list[tuple[int, int]]) -> Any:
    if len(changes) == 1:
        return epoch + literal(changes[0][1])
    whens = [(epoch < changes[i + 1][0], literal(off)) for i, (_, off) in enumerate(changes[:-1])]
    return epoch + case(*whens, else_=literal(changes[-1][1]))


def _visits(site_id: int | None, start: datetime, end: datetime) -> list[Any]:
    conds = [CheckIn.ts >= start, CheckIn.ts < end, col(CheckIn.allowed).is_(True)]
    if site_id is not None:
        conds.append(CheckIn.site_id == site_id)
    return conds


def count_checkins(
    db: Session, *, start: datetime, end: datetime, site_id: int | None, allowed: bool | None
) -> int:
    """How many check-ins (allowed ones, denied ones or all) in ``[start, end)``."""
    q = select(func.count()).select_from(CheckIn).where(CheckIn.ts >= start, CheckIn.ts < end)
    if site_id is not None:
        q = q.where(CheckIn.site_id == site_id)
    if allowed is not None:
        q = q.where(col(CheckIn.allowed).is_(allowed))
    return int(db.exec(q).one())


def visit_grid(
    db: Session, *, start: datetime, end: datetime, timezone: str, site_id: int | None = None
) -> Grid:
    """Visits in ``[start, end)`` counted per local date and hour."""
    local = _local_seconds(_epoch(db), offset_changes(timezone, start, end))
    day = (local // _DAY).label("day")
    hour = ((local % _DAY) // 3600).label("hour")
    q = select(day, hour, func.count()).where(*_visits(site_id, start, end)).group_by(day, hour)
    grid: Grid = Counter()
    for day_number, hour_number, n in db.exec(q).all():  # type: ignore[call-overload]
        grid[(_EPOCH_DAY + timedelta(days=int(day_number)), int(hour_number))] += int(n)
    return grid


def grid_of(times: Iterable[datetime], timezone: str) -> Grid:
    """The same grid as :func:`visit_grid`, from a list of visit times."""
    tz = ZoneInfo(timezone)
    grid: Grid = Counter()
    for ts in times:
        local = ts.astimezone(tz)
        grid[(local.date(), local.hour)] += 1
    return grid


def by_hour(grid: Grid) -> list[int]:
    """Visits per local hour of day (24 counts)."""
    counts = [0] * 24
    for (_, hour), n in grid.items():
        counts[hour] += n
    return counts


def by_day(grid: Grid, first: date, days: int) -> list[int]:
    """Visits per local day for *days* days from *first*."""
    per_day: Counter[date] = Counter()
    for (day, _), n in grid.items():
        per_day[day] += n
    return [per_day.get(first + timedelta(days=i), 0) for i in range(days)]


def total(grid: Grid) -> int:
    """All visits of a grid."""
    return sum(grid.values())


@dataclass(frozen=True)
class MemberAttendance:
    """One member's visits over a period and their weekly trend.

    :param weekly: visits per week, oldest first (the last entry ends at the period's end).
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
    epoch = _epoch(db)
    member = col(CheckIn.member_id)
    local = _local_seconds(epoch, offset_changes(timezone, start, end))
    day = (local // _DAY).label("day")
    per_day = (
        select(
            member.label("member_id"), day, func.max(epoch).label("last"), func.count().label("n")
        )
        .where(*_visits(site_id, start, end), member.is_not(None))
        .group_by(member, day)
        .subquery()
    )
    summary = select(
        per_day.c.member_id, func.sum(per_day.c.n), func.count(), func.max(per_day.c.last)
    ).group_by(per_day.c.member_id)
    visits: dict[int, tuple[int, int, int]] = {
        int(m): (int(n), int(d), int(last))
        for m, n, d, last in db.exec(summary).all()  # type: ignore[call-overload]
    }
    end_s = int(end.timestamp())
    week = ((literal(end_s) - epoch) // (7 * _DAY)).label("week")
    trend_start = end - timedelta(weeks=weeks)
    q = (
        select(member, week, func.count())
        .where(*_visits(site_id, trend_start, end), member.is_not(None))
        .group_by(member, week)
    )
    weekly: dict[int, list[int]] = {}
    for member_id, week_number, n in db.exec(q).all():  # type: ignore[call-overload]
        if 0 <= int(week_number) < weeks:
            weekly.setdefault(int(member_id), [0] * weeks)[weeks - 1 - int(week_number)] += int(n)
    ids = sorted(
        set(visits) | set(weekly),
        key=lambda m: (-visits.get(m, (0, 0, 0))[0], -sum(weekly.get(m, ())), m),
    )[:limit]
    members = {m.id: m for m in db.exec(select(Member).where(col(Member.id).in_(ids))).all()}
    rows = []
    for member_id in ids:
        m = members.get(member_id)
        n, d, last = visits.get(member_id, (0, 0, 0))
        rows.append(
            MemberAttendance(
                member_id=member_id,
                name=f"{m.first_name} {m.last_name}" if m else f"#{member_id}",
                status=m.status if m else "",
                visits=n,
                days=d,
                last_visit=datetime.fromtimestamp(last, UTC) if n else None,
                weekly=tuple(weekly.get(member_id, [0] * weeks)),
            )
        )
    return rows
