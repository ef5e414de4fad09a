"""Check-ins: every tap of a day, filtered by gate and result, newest first."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import col, func, select

from hub.api.deps import SessionDep
from hub.console.attendance import day_bounds, local_day
from hub.console.deps import CheckinViewer, pick_site, sites
from hub.console.forms import int_param
from hub.console.web import render
from hub.models import CheckIn, Door, Gate, Member

router = APIRouter(prefix="/checkins")

PAGE_SIZE = 100


@router.get("", response_class=HTMLResponse)
def checkins(
    request: Request,
    db: SessionDep,
    viewer: CheckinViewer,
    day: str = "",
    result: str = "",
    gate: str = "",
    site: str = "",
    offset: str = "",
) -> HTMLResponse:
    """The taps of one day at the club (today by default)."""
    gate_id, start_at = int_param(gate), int_param(offset, 0, 0, 10**7)
    result = result if result in ("allowed", "denied") else ""
    chosen = pick_site(db, site[:32] or None)
    timezone = chosen.timezone if chosen else "UTC"
    try:
        the_day = date.fromisoformat(day) if day and len(day) == 10 else None
    except ValueError:
        the_day = None
    the_day = the_day or local_day(request.app.state.clock.now(), timezone)
    start, end = day_bounds(the_day, timezone)
    q = (
        select(CheckIn, Member, Door, Gate)
        .join(Gate, col(Gate.id) == CheckIn.gate_id)
        .join(Member, col(Member.id) == CheckIn.member_id, isouter=True)
        .join(Door, col(Door.id) == CheckIn.door_id, isouter=True)
        .where(CheckIn.ts >= start, CheckIn.ts < end)
    )
    count = select(func.count()).select_from(CheckIn).where(CheckIn.ts >= start, CheckIn.ts < end)
    filters = []
    if chosen is not None:
        filters.append(CheckIn.site_id == chosen.id)
    if result in ("allowed", "denied"):
        filters.append(CheckIn.allowed == (result == "allowed"))
    if gate_id:
        filters.append(CheckIn.gate_id == gate_id)
    for f in filters:
        q = q.where(f)
        count = count.where(f)
    rows = db.exec(
        q.order_by(col(CheckIn.ts).desc(), col(CheckIn.id).desc()).offset(start_at).limit(PAGE_SIZE)
    ).all()
    gate_rows = db.exec(
        select(Gate, Door).join(Door, col(Door.id) == Gate.door_id).order_by(col(Gate.id))
    ).all()
    return render(
        request, "checkins.html", viewer=viewer, timezone=timezone,
        rows=[{"checkin": c, "member": m, "door": d, "gate": g} for c, m, d, g in rows],  # type: ignore[misc]
        total=int(db.exec(count).one()), day=the_day.isoformat(), result=result, gate=gate_id,
        gates=gate_rows, site=chosen, sites=sites(db), offset=start_at, page_size=PAGE_SIZE,
    )  # fmt: skip
