"""The audit log: who changed what and when, with the record before and after."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import col, func, select

from hub.api.deps import SessionDep
from hub.console.deps import AuditViewer, pick_site
from hub.console.forms import int_param
from hub.console.web import render
from hub.models import AuditLog, User

router = APIRouter(prefix="/audit")

PAGE_SIZE = 100


@router.get("", response_class=HTMLResponse)
def audit_log(
    request: Request,
    db: SessionDep,
    viewer: AuditViewer,
    action: str = "",
    entity: str = "",
    actor: str = "",
    offset: str = "",
) -> HTMLResponse:
    """Newest first; filter by action (prefix), entity and actor."""
    action, entity, actor = action[:64], entity[:32], actor[:80]
    start = int_param(offset, 0, 0, 10**7)
    q = select(AuditLog)
    count = select(func.count()).select_from(AuditLog)
    filters = []
    if action:
        filters.append(col(AuditLog.action).startswith(action, autoescape=True))
    if entity:
        filters.append(col(AuditLog.entity) == entity)
    if actor:
        filters.append(col(AuditLog.actor) == actor)
    for f in filters:
        q = q.where(f)
        count = count.where(f)
    rows = db.exec(q.order_by(col(AuditLog.id).desc()).offset(start).limit(PAGE_SIZE)).all()
    users = {f"user:{u.id}": u.full_name for u in db.exec(select(User)).all()}
    site = pick_site(db, None)
    return render(
        request, "audit.html", viewer=viewer, timezone=site.timezone if site else "UTC",
        rows=rows, total=int(db.exec(count).one()), users=users, action=action, entity=entity,
        actor=actor, offset=start, page_size=PAGE_SIZE,
    )  # fmt: skip
