"""The audit log: who changed what, when, with before and after."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from hub.api import crud
from hub.api.deps import Manager, SessionDep
from hub.models import AuditLog
from hub.models.checkin import AuditLogPublic

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("")
def list_audit(
    session: SessionDep,
    _: Manager,
    entity: Annotated[str | None, Query(max_length=32)] = None,
    entity_id: int | None = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: int = crud.Limit,
    offset: int = crud.Offset,
) -> list[AuditLogPublic]:
    """Newest first."""
    q = select(AuditLog)
    if entity:
        q = q.where(AuditLog.entity == entity)
    if entity_id is not None:
        q = q.where(AuditLog.entity_id == entity_id)
    if action:
        q = q.where(AuditLog.action == action)
    q = q.order_by(col(AuditLog.id).desc()).offset(offset).limit(limit)
    return [AuditLogPublic.model_validate(a) for a in session.exec(q).all()]
