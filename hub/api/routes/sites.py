"""Sites and their zones, doors and schedules.

Editing a schedule or a site's time zone changes what every list means, so it moves the
site's list to a new version that gates receive as a snapshot.
"""

from typing import Any

from fastapi import APIRouter, HTTPException, status
from sqlmodel import Session, SQLModel, select

from hub.access.changes import access_changed
from hub.api import crud
from hub.api.deps import ClockDep, CurrentUser, Installer, Manager, SessionDep
from hub.models import Door, Gate, Schedule, Site, Zone
from hub.models.site import (
    DoorCreate,
    DoorPublic,
    DoorUpdate,
    ScheduleCreate,
    SchedulePublic,
    ScheduleUpdate,
    SiteCreate,
    SitePublic,
    SiteUpdate,
    ZoneCreate,
    ZonePublic,
    ZoneUpdate,
)
from hub.services.audit import snapshot_of
from hub.services.sites import create_site

router = APIRouter(tags=["sites"])


@router.get("/sites")
def list_sites(session: SessionDep, _: CurrentUser) -> list[SitePublic]:
    return [SitePublic.model_validate(s) for s in session.exec(select(Site)).all()]


@router.post("/sites", status_code=201)
def add_site(body: SiteCreate, session: SessionDep, clock: ClockDep, user: Manager) -> SitePublic:
    if session.exec(select(Site).where(Site.slug == body.slug)).first():
        raise HTTPException(status.HTTP_409_CONFLICT, f"site {body.slug!r} already exists")
    site = create_site(session, data=body, clock=clock)
    crud.log(session, clock=clock, user=user, action="site.create", row=site, site_id=site.id)
    session.commit()
    return SitePublic.model_validate(site)


@router.get("/sites/{site_id}")
def read_site(site_id: int, session: SessionDep, _: CurrentUser) -> SitePublic:
    return SitePublic.model_validate(crud.get_or_404(session, Site, site_id))


@router.patch("/sites/{site_id}")
def edit_site(
    site_id: int, body: SiteUpdate, session: SessionDep, clock: ClockDep, user: Manager
) -> SitePublic:
    site = crud.get_or_404(session, Site, site_id)
    before = snapshot_of(site)
    changed = crud.apply_update(site, body)
    session.add(site)
    crud.log(
        session,
        clock=clock,
        user=user,
        action="site.update",
        row=site,
        before=before,
        site_id=site.id,
    )
    if "timezone" in changed:
        access_changed(
            session,
            site_id=site_id,
            reason="time zone changed",
            clock=clock,
            schedules_changed=True,
            actor=user.actor,
        )
    session.commit()
    return SitePublic.model_validate(site)


def _children(
    name: str,
    model: type[SQLModel],
    create: type[SQLModel],
    update: type[SQLModel],
    public: type[SQLModel],
    who: Any,
    affects_lists: bool = False,
) -> None:
    """Register list/create/read/update/delete routes of a site's child resource."""
    path = f"/{name}s"

    def changed(session: Session, row: Any, clock: Any, user: Any) -> None:
        if affects_lists:
            access_changed(
                session,
                site_id=row.site_id,
                reason=f"{name} changed",
                clock=clock,
                schedules_changed=True,
                actor=user.actor,
            )

    def list_rows(session: SessionDep, _: CurrentUser, site_id: int | None = None) -> Any:
        q = select(model)
        if site_id is not None:
            q = q.where(model.site_id == site_id)  # type: ignore[attr-defined]
        return [public.model_validate(r) for r in session.exec(q).all()]

    def add_row(body: create, session: SessionDep, clock: ClockDep, user: who) -> Any:  # type: ignore[valid-type]
        crud.must_exist(session, Site, body.site_id, "site_id")  # type: ignore[attr-defined]
        row = model.model_validate(body)
        session.add(row)
        try:
            session.flush()
        except Exception:
            session.rollback()
            raise HTTPException(status.HTTP_409_CONFLICT, f"that {name} already exists") from None
        crud.log(session, clock=clock, user=user, action=f"{name}.create", row=row)
        changed(session, row, clock, user)
        session.commit()
        return public.model_validate(row)

    def read_row(item_id: int, session: SessionDep, _: CurrentUser) -> Any:
        return public.model_validate(crud.get_or_404(session, model, item_id))

    def edit_row(
        item_id: int, body: update, session: SessionDep, clock: ClockDep, user: who
    ) -> Any:  # type: ignore[valid-type]
        row = crud.get_or_404(session, model, item_id)
        before = snapshot_of(row)
        crud.apply_update(row, body)
        session.add(row)
        try:
            session.flush()
        except Exception:
            session.rollback()
            raise HTTPException(status.HTTP_409_CONFLICT, f"that {name} already exists") from None
        crud.log(session, clock=clock, user=user, action=f"{name}.update", row=row, before=before)
        changed(session, row, clock, user)
        session.commit()
        return public.model_validate(row)

    def delete_row(item_id: int, session: SessionDep, clock: ClockDep, user: who) -> None:
        row = crud.get_or_404(session, model, item_id)
        if model is Door and session.exec(select(Gate).where(Gate.door_id == item_id)).first():
            raise HTTPException(status.HTTP_409_CONFLICT, "a gate is installed at this door")
        before = snapshot_of(row)
        session.delete(row)
        try:
            session.flush()
        except Exception:
            session.rollback()
            raise HTTPException(status.HTTP_409_CONFLICT, f"this {name} is in use") from None
        crud.log(
            session,
            clock=clock,
            user=user,
            action=f"{name}.delete",
            row=row,
            before=before,
            deleted=True,
        )
        changed(session, row, clock, user)
        session.commit()

    tag = [f"{name}s"]
    router.add_api_route(
        path,
        list_rows,
        methods=["GET"],
        response_model=list[public],
        tags=tag,
        name=f"list_{name}s",
    )
    router.add_api_route(
        path,
        add_row,
        methods=["POST"],
        response_model=public,
        status_code=201,
        tags=tag,
        name=f"add_{name}",
    )
    item = path + "/{item_id}"
    router.add_api_route(
        item, read_row, methods=["GET"], response_model=public, tags=tag, name=f"read_{name}"
    )
    router.add_api_route(
        item, edit_row, methods=["PATCH"], response_model=public, tags=tag, name=f"edit_{name}"
    )
    router.add_api_route(
        item, delete_row, methods=["DELETE"], status_code=204, tags=tag, name=f"delete_{name}"
    )


_children("zone", Zone, ZoneCreate, ZoneUpdate, ZonePublic, Installer)
_children("door", Door, DoorCreate, DoorUpdate, DoorPublic, Installer)
_children("schedule", Schedule, ScheduleCreate, ScheduleUpdate, SchedulePublic, Manager, True)
