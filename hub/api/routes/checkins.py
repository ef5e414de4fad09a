"""Check-ins: every tap the gates decided, filtered by member, gate, site and time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from hub.api import crud
from hub.api.deps import CurrentUser, SessionDep
from hub.models import CheckIn
from hub.models.checkin import CheckInPublic

router = APIRouter(prefix="/checkins", tags=["checkins"])


@router.get("")
def list_checkins(
    session: SessionDep,
    _: CurrentUser,
    member_id: int | None = None,
    gate_id: int | None = None,
    site_id: int | None = None,
    allowed: bool | None = None,
    since: Annotated[datetime | None, Query(description="from this time (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="before this time")] = None,
    limit: int = crud.Limit,
    offset: int = crud.Offset,
) -> list[CheckInPublic]:
    """Newest first."""
    q = select(CheckIn)
    for column, value in (
        (CheckIn.member_id, member_id),
        (CheckIn.gate_id, gate_id),
        (CheckIn.site_id, site_id),
        (CheckIn.allowed, allowed),
    ):
        if value is not None:
            q = q.where(column == value)
    if since is not None and since.tzinfo is not None:
        q = q.where(CheckIn.ts >= since)
    if until is not None and until.tzinfo is not None:
        q = q.where(CheckIn.ts < until)
    q = q.order_by(col(CheckIn.ts).desc(), col(CheckIn.id).desc()).offset(offset).limit(limit)
    return [CheckInPublic.model_validate(c) for c in session.exec(q).all()]
