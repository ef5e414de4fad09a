"""Members: profiles and status.  Suspending, reinstating or cancelling a member changes
their records on every site where they hold entitlements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlmodel import col, or_, select

from hub.access.changes import access_changed
from hub.api import crud
from hub.api.deps import ClockDep, CurrentUser, SessionDep, Staff
from hub.models import Card, CheckIn, Entitlement, Member
from hub.models.member import MemberCreate, MemberPublic, MemberUpdate
from hub.services.audit import snapshot_of

router = APIRouter(prefix="/members", tags=["members"])


@router.get("")
def list_members(
    session: SessionDep,
    _: CurrentUser,
    q: Annotated[str | None, Query(max_length=100, description="name or email contains")] = None,
    member_status: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    limit: int = crud.Limit,
    offset: int = crud.Offset,
) -> list[MemberPublic]:
    query = select(Member)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(
            or_(
                col(Member.first_name).ilike(like),
                col(Member.last_name).ilike(like),
                col(Member.email).ilike(like),
            )
        )
    if member_status:
        query = query.where(Member.status == member_status)
    rows = session.exec(query.order_by(col(Member.id)).offset(offset).limit(limit)).all()
    return [MemberPublic.model_validate(m) for m in rows]


def _email_taken(session: SessionDep, email: str, other_than: int | None = None) -> bool:
    found = session.exec(select(Member.id).where(Member.email == email)).first()
    return found is not None and found != other_than


@router.post("", status_code=201)
def add_member(
    body: MemberCreate, session: SessionDep, clock: ClockDep, user: Staff
) -> MemberPublic:
    if _email_taken(session, body.email):
        raise HTTPException(status.HTTP_409_CONFLICT, f"a member with {body.email} exists")
    now = clock.now()
    member = Member.model_validate(body, update={"created_at": now, "updated_at": now})
    session.add(member)
    session.flush()
    crud.log(session, clock=clock, user=user, action="member.create", row=member)
    session.commit()
    return MemberPublic.model_validate(member)


@router.get("/{member_id}")
def read_member(member_id: int, session: SessionDep, _: CurrentUser) -> MemberPublic:
    return MemberPublic.model_validate(crud.get_or_404(session, Member, member_id))


@router.patch("/{member_id}")
def edit_member(
    member_id: int, body: MemberUpdate, session: SessionDep, clock: ClockDep, user: Staff
) -> MemberPublic:
    member = crud.get_or_404(session, Member, member_id)
    if body.email and _email_taken(session, body.email, member_id):
        raise HTTPException(status.HTTP_409_CONFLICT, f"a member with {body.email} exists")
    before = snapshot_of(member)
    changed = crud.apply_update(member, body)
    if "status" in changed and body.status is not None:
        member.status = body.status.value
    member.updated_at = clock.now()
    session.add(member)
    crud.log(session, clock=clock, user=user, action="member.update", row=member, before=before)
    if before and before["status"] != member.status:
        for site_id in crud.member_sites(session, member_id):
            access_changed(
                session,
                site_id=site_id,
                reason=f"member {member_id} {member.status}",
                clock=clock,
                member_ids=[member_id],
                actor=user.actor,
            )
    session.commit()
    return MemberPublic.model_validate(member)


@router.delete("/{member_id}", status_code=204)
def delete_member(member_id: int, session: SessionDep, clock: ClockDep, user: Staff) -> None:
    """Delete a member who has no cards, entitlements or check-ins (else cancel them)."""
    member = crud.get_or_404(session, Member, member_id)
    for model in (Card, Entitlement, CheckIn):
        if session.exec(select(model.id).where(model.member_id == member_id)).first():
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"member has {model.__name__.lower()} rows: set status 'cancelled' instead",
            )
    before = snapshot_of(member)
    session.delete(member)
    crud.log(
        session,
        clock=clock,
        user=user,
        action="member.delete",
        row=member,
        before=before,
        deleted=True,
    )
    session.commit()
