"""Small helpers the routes share: fetch-or-404, partial updates, paging, audit."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import HTTPException, Query, status
from sqlmodel import Session, SQLModel, select

from gatehouse.clock import Clock
from hub.api.deps import Principal
from hub.models import Entitlement
from hub.services import audit

T = TypeVar("T", bound=SQLModel)

MAX_ID = 2**31 - 1
Limit = Query(100, ge=1, le=1000)
Offset = Query(0, ge=0, le=10**9)


def get_or_404(session: Session, model: type[T], item_id: int) -> T:
    """The row *item_id* of *model*, or a 404 naming what was not found."""
    found = session.get(model, item_id) if 0 < item_id <= MAX_ID else None
    if found is None:
        name = model.__name__.lower()
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{name} {item_id} not found")
    return found


def must_exist(session: Session, model: type[T], item_id: int | None, field: str) -> None:
    """422 if a referenced row does not exist (``field`` names the body field)."""
    if item_id is None:
        return
    if not 0 < item_id <= MAX_ID or session.get(model, item_id) is None:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["body", field],
                    "msg": f"no {model.__name__.lower()} {item_id}",
                    "type": "value_error",
                }
            ],
        )


def apply_update(row: T, changes: SQLModel) -> dict[str, Any]:
    """Copy the fields set in *changes* onto *row*; returns them."""
    data = changes.model_dump(exclude_unset=True)
    for key, value in data.items():
        setattr(row, key, value)
    return data


def log(
    session: Session,
    *,
    clock: Clock,
    user: Principal,
    action: str,
    row: SQLModel,
    before: dict[str, Any] | None = None,
    site_id: int | None = None,
    deleted: bool = False,
) -> None:
    """Audit a change made through the API."""
    audit.record(
        session,
        clock=clock,
        actor=user.actor,
        action=action,
        entity=type(row).__name__.lower(),
        entity_id=getattr(row, "id", None),
        site_id=site_id if site_id is not None else getattr(row, "site_id", None),
        before=before,
        after=None if deleted else audit.snapshot_of(row),
    )


def member_sites(session: Session, member_id: int) -> list[int]:
    """Sites where *member_id* has any entitlement."""
    rows = session.exec(
        select(Entitlement.site_id).where(Entitlement.member_id == member_id).distinct()
    ).all()
    return sorted(rows)
