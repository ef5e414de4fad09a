"""The dashboard: tiles, today's check-ins by hour, the last 30 days, recent taps.

The page polls ``/console/dashboard/live.json`` every two seconds; the answer holds the
tiles' values and the server-rendered fragments (recent check-ins, the hourly chart),
so a tap at a door shows up without a reload.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlmodel import Session, col, select

from hub.api.deps import SessionDep
from hub.console import attendance
from hub.console.charts import bar_chart
from hub.console.deps import Dashboarder, Viewer, pick_site, sites
from hub.console.permissions import Perm
from hub.console.tiles import DashboardContext, collect
from hub.console.web import console_of, render
from hub.models import CheckIn, Door, Gate, Member

router = APIRouter(prefix="/dashboard")

RECENT = 12


def _context(request: Request, db: Session, viewer: Viewer) -> DashboardContext:
    site = pick_site(db, request.query_params.get("site"))
    timezone = site.timezone if site else "UTC"
    now = request.app.state.clock.now()
    start, end = attendance.day_bounds(attendance.local_day(now, timezone), timezone)
    return DashboardContext(
        db=db, now=now, site=site, timezone=timezone, day_start=start, day_end=end,
        t=viewer.t, viewer=viewer,
    )  # fmt: skip


def recent_checkins(db: Session, site_id: int | None, limit: int = RECENT) -> list[dict[str, Any]]:
    """The newest check-ins with member and door names."""
    q = (
        select(CheckIn, Member, Door, Gate)
        .join(Gate, col(Gate.id) == CheckIn.gate_id)
        .join(Member, col(Member.id) == CheckIn.member_id, isouter=True)
        .join(Door, col(Door.id) == CheckIn.door_id, isouter=True)
    )
    if site_id is not None:
        q = q.where(CheckIn.site_id == site_id)
    q = q.order_by(col(CheckIn.ts).desc(), col(CheckIn.id).desc()).limit(limit)
    return [
        {"checkin": c, "member": m, "door": d, "gate": g}
        for c, m, d, g in db.exec(q).all()  # type: ignore[misc]
    ]


def _grid(ctx: DashboardContext, days: int) -> tuple[attendance.Grid, date]:
    """Visits per local day and hour over the last *days* days (today included)."""
    first = attendance.local_day(ctx.now, ctx.timezone) - timedelta(days=days - 1)
    start, _ = attendance.day_bounds(first, ctx.timezone)
    grid = attendance.visit_grid(
        ctx.db, start=start, end=ctx.day_end, timezone=ctx.timezone,
        site_id=ctx.site.id if ctx.site else None,
    )  # fmt: skip
    return grid, first


def _hourly(ctx: DashboardContext, grid: attendance.Grid) -> Any:
    today = attendance.local_day(ctx.now, ctx.timezone)
    counts = attendance.by_hour(Counter({k: n for k, n in grid.items() if k[0] == today}))
    return bar_chart(
        counts, [f"{h:02d}" for h in range(24)], title=ctx.t("dashboard.by_hour"), label_every=3
    )


def _daily(ctx: DashboardContext, grid: attendance.Grid, first: date) -> Any:
    counts = attendance.by_day(grid, first, 30)
    labels = [f"{(first + timedelta(days=i)).day}" for i in range(30)]
    return bar_chart(counts, labels, title=ctx.t("dashboard.last_30_days"), label_every=5)


def _recent_html(request: Request, ctx: DashboardContext, viewer: Viewer) -> str:
    rows = recent_checkins(ctx.db, ctx.site.id if ctx.site else None)
    response = render(
        request, "dashboard_recent.html", viewer=viewer, timezone=ctx.timezone, rows=rows,
    )  # fmt: skip
    return bytes(response.body).decode()


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, db: SessionDep, viewer: Dashboarder) -> HTMLResponse:
    """The club at a glance."""
    ctx = _context(request, db, viewer)
    tiles = collect(console_of(request).tiles, ctx)
    show_checkins = viewer.can(Perm.CHECKINS_VIEW)
    grid, first = _grid(ctx, 30) if show_checkins else (attendance.Grid(), ctx.now.date())
    return render(
        request,
        "dashboard.html",
        viewer=viewer,
        timezone=ctx.timezone,
        tiles=tiles,
        site=ctx.site,
        sites=sites(db),
        show_checkins=show_checkins,
        hourly=_hourly(ctx, grid) if show_checkins else None,
        daily=_daily(ctx, grid, first) if show_checkins else None,
        recent=_recent_html(request, ctx, viewer) if show_checkins else "",
    )


@router.get("/live.json")
def dashboard_live(request: Request, db: SessionDep, viewer: Dashboarder) -> JSONResponse:
    """The tiles' values and fresh fragments, for the page's polling."""
    ctx = _context(request, db, viewer)
    tiles = collect(console_of(request).tiles, ctx)
    body: dict[str, Any] = {
        "tiles": {t.key: {"value": t.value, "detail": t.detail, "tone": t.tone} for t in tiles},
        "fragments": {},
    }
    if viewer.can(Perm.CHECKINS_VIEW):
        body["fragments"] = {
            "recent": _recent_html(request, ctx, viewer),
            "hourly": str(_hourly(ctx, _grid(ctx, 1)[0])),
        }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
