"""Entitlements made by hand (``source`` "manual"); billing makes its own in code."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from sqlmodel import col, select

from hub.access.changes import access_changed
from hub.api import crud
from hub.api.deps import ClockDep, CurrentUser, Manager, SessionDep
from hub.models import Entitlement, Member, Schedule, Site
from hub.models.entitlement import EntitlementCreate, EntitlementPublic, EntitlementUpdate
from hub.services.audit import snapshot_of

router = APIRouter(prefix="/entitlements", tags=["entitlements"])


def _check_schedule(session: SessionDep, schedule_id: int | None, site_id: int) -> None:
    crud.must_exist(session, Schedule, schedule_id, "schedule_id")
    if schedule_id is not None:
        sched = session.get(Schedule, schedule_id)
        if sched is not None and sched.site_id != site_id:
            raise HTTPException(
                422,
                [
                    {
                        "loc": ["body", "schedule_id"],
                        "type": "value_error",
                        "msg": "schedule belongs to another site",
                    }
                ],
            )


@router.get("")
def list_entitlements(
    session: SessionDep,
    _: CurrentUser,
    member_id: int | None = None,
    site_id: int | None = None,
    limit: int = crud.Limit,
    offset: int = crud.Offset,
) -> list[EntitlementPublic]:
    q = select(Entitlement)
    if member_id is not None:
        q = q.where(Entitlement.member_id == member_id)
    if site_id is not None:
        q = q.where(Entitlement.site_id == site_id)
    rows = session.exec(q.order_by(col(Entitlement.id)).offset(offset).limit(limit)).all()
    return [EntitlementPublic.model_validate(e) for e in rows]


@router.post("", status_code=201)
def add_entitlement(
    body: EntitlementCreate, session: SessionDep, clock: ClockDep, user: Manager
) -> EntitlementPublic:
    crud.must_exist(session, Member, body.member_id, "member_id")
    crud.must_exist(session, Site, body.site_id, "site_id")
    _check_schedule(session, body.schedule_id, body.site_id)
    now = clock.now()
    ent = Entitlement.model_validate(body, update={"created_at": now, "updated_at": now})
    session.add(ent)
    session.flush()
    crud.log(session, clock=clock, user=user, action="entitlement.create", row=ent)
    access_changed(
        session,
        site_id=ent.site_id,
        reason=f"entitlement {ent.id} added",
        clock=clock,
        member_ids=[ent.member_id],
        actor=user.actor,
    )
    session.commit()
    return EntitlementPublic.model_validate(ent)


@router.get("/{entitlement_id}")
def read_entitlement(entitlement_id: int, session: SessionDep, _: CurrentUser) -> EntitlementPublic:
    return EntitlementPublic.model_validate(crud.get_or_404(session, Entitlement, entitlement_id))


@router.patch("/{entitlement_id}")
def edit_entitlement(
    entitlement_id: int,
    body: EntitlementUpdate,
    session: SessionDep,
    clock: ClockDep,
    user: Manager,
) -> EntitlementPublic:
    ent = crud.get_or_404(session, Entitlement, entitlement_id)
    before = snapshot_of(ent)
    merged = EntitlementCreate.model_validate(
        {**ent.model_dump(), **body.model_dump(exclude_unset=True)}
    )  # re-checks the period and flags as a whole
    _check_schedule(session, merged.schedule_id, ent.site_id)
    crud.apply_update(ent, body)
    ent.updated_at = clock.now()
    session.add(ent)
    crud.log(session, clock=clock, user=user, action="entitlement.update", row=ent, before=before)
    access_changed(
        session,
        site_id=ent.site_id,
        reason=f"entitlement {ent.id} changed",
        clock=clock,
        member_ids=[ent.member_id],
        actor=user.actor,
    )
    session.commit()
    return EntitlementPublic.model_validate(ent)


@router.delete("/{entitlement_id}", status_code=204)
def delete_entitlement(
    entitlement_id: int, session: SessionDep, clock: ClockDep, user: Manager
) -> None:
    ent = crud.get_or_404(session, Entitlement, entitlement_id)
    before = snapshot_of(ent)
    session.delete(ent)
    session.flush()
    crud.log(
        session,
        clock=clock,
        user=user,
        action="entitlement.delete",
        row=ent,
        before=before,
        deleted=True,
    )
    access_changed(
        session,
        site_id=ent.site_id,
        reason=f"entitlement {entitlement_id} removed",
        clock=clock,
        member_ids=[ent.member_id],
        actor=user.actor,
    )
    session.commit()
