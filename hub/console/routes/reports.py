"""Attendance reports (by hour, by day, per member with its trend) and their CSV files.

Every report takes the same ``from``/``to`` days (inclusive, site time) and ``site``;
each has a ``.csv`` twin with the same figures.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from hub.api.deps import SessionDep
from hub.console import attendance
from hub.console.charts import bar_chart, sparkline
from hub.console.deps import ReportViewer, pick_site, sites
from hub.console.web import render
from hub.models import Site

router = APIRouter(prefix="/reports")

MAX_DAYS = 366
TREND_WEEKS = 8


@dataclass(frozen=True)
class Period:
    """The days a report covers, in a site's time zone."""

    site: Site | None
    timezone: str
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        return attendance.day_bounds(self.first, self.timezone)[0]

    @property
    def end(self) -> datetime:
        return attendance.day_bounds(self.last, self.timezone)[1]

    @property
    def site_id(self) -> int | None:
        return self.site.id if self.site else None

    def query(self) -> str:
        q = f"from={self.first.isoformat()}&to={self.last.isoformat()}"
        return q + (f"&site={self.site.slug}" if self.site else "")


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def period_of(request: Request, db: Session, first: str, last: str, site: str) -> Period:
    """The report period asked for (default: the last 30 days up to today)."""
    chosen = pick_site(db, site[:32] or None)
    timezone = chosen.timezone if chosen else "UTC"
    today = attendance.local_day(request.app.state.clock.now(), timezone)
    end = _day(last) or today
    begin = _day(first) or end - timedelta(days=29)
    if begin > end:
        begin, end = end, begin
    if (end - begin).days >= MAX_DAYS:
        begin = end - timedelta(days=MAX_DAYS - 1)
    return Period(chosen, timezone, begin, end)


def period_grid(db: Session, p: Period) -> attendance.Grid:
    """Visits per local day and hour over the period."""
    return attendance.visit_grid(
        db, start=p.start, end=p.end, timezone=p.timezone, site_id=p.site_id
    )


From = Annotated[str, Query(alias="from")]
To = Annotated[str, Query(alias="to")]
SiteQ = str


@router.get("", response_class=HTMLResponse)
def reports(
    request: Request, db: SessionDep, viewer: ReportViewer, first: From = "", last: To = "",
    site: SiteQ = "",
) -> HTMLResponse:  # fmt: skip
    """Attendance by hour of day, by day, and per member (engagement)."""
    p = period_of(request, db, first, last, site)
    t = viewer.t
    grid = period_grid(db, p)
    hours = attendance.by_hour(grid)
    days = attendance.by_day(grid, p.first, p.days)
    day_labels = [(p.first + timedelta(days=i)) for i in range(p.days)]
    members = attendance.per_member(
        db, start=p.start, end=p.end, timezone=p.timezone, site_id=p.site_id, weeks=TREND_WEEKS
    )
    return render(
        request, "reports.html", viewer=viewer, timezone=p.timezone, period=p, sites=sites(db),
        total=attendance.total(grid), hours=hours, days=list(zip(day_labels, days, strict=True)),
        hour_chart=bar_chart(hours, [f"{h:02d}" for h in range(24)],
                             title=t("reports.by_hour"), label_every=3),
        day_chart=bar_chart(days, [str(d.day) for d in day_labels], title=t("reports.by_day"),
                            label_every=max(1, p.days // 10)),
        members=[(m, sparkline(list(m.weekly), label=t("reports.weekly_visits")))
                 for m in members],
    )  # fmt: skip


def _csv(name: str, header: list[str], rows: list[list[object]]) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return Response(
        buf.getvalue().encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _cell(value: object) -> object:
    """Neutralise spreadsheet formulas in text cells (=, +, -, @ at the start)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get("/attendance-by-hour.csv")
def by_hour_csv(
    request: Request, db: SessionDep, viewer: ReportViewer, first: From = "", last: To = "",
    site: SiteQ = "",
) -> Response:  # fmt: skip
    """Visits per hour of day over the period."""
    p = period_of(request, db, first, last, site)
    counts = attendance.by_hour(period_grid(db, p))
    rows: list[list[object]] = [[f"{h:02d}:00", n] for h, n in enumerate(counts)]
    return _csv(f"attendance-by-hour-{p.first}-{p.last}.csv", ["hour", "visits"], rows)


@router.get("/attendance-by-day.csv")
def by_day_csv(
    request: Request, db: SessionDep, viewer: ReportViewer, first: From = "", last: To = "",
    site: SiteQ = "",
) -> Response:  # fmt: skip
    """Visits per day over the period."""
    p = period_of(request, db, first, last, site)
    counts = attendance.by_day(period_grid(db, p), p.first, p.days)
    rows: list[list[object]] = [
        [(p.first + timedelta(days=i)).isoformat(), n] for i, n in enumerate(counts)
    ]
    return _csv(f"attendance-by-day-{p.first}-{p.last}.csv", ["day", "visits"], rows)


@router.get("/attendance-by-member.csv")
def by_member_csv(
    request: Request, db: SessionDep, viewer: ReportViewer, first: From = "", last: To = "",
    site: SiteQ = "",
) -> Response:  # fmt: skip
    """Visits, days and weekly trend per member over the period."""
    p = period_of(request, db, first, last, site)
    members = attendance.per_member(
        db, start=p.start, end=p.end, timezone=p.timezone, site_id=p.site_id, weeks=TREND_WEEKS
    )
    header = ["member_id", "name", "status", "visits", "days", "last_visit", "trend"]
    header += [f"week_{i + 1}" for i in range(TREND_WEEKS)]
    rows: list[list[object]] = [
        [m.member_id, m.name, m.status, m.visits, m.days,
         m.last_visit.isoformat() if m.last_visit else "", m.trend, *m.weekly]
        for m in members
    ]  # fmt: skip
    return _csv(f"attendance-by-member-{p.first}-{p.last}.csv", header, rows)
