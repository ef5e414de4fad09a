"""Console users (owners manage them)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlmodel import select

from hub.api import crud
from hub.api.deps import ClockDep, CurrentUser, Owner, SessionDep
from hub.models import User
from hub.models.user import UserCreate, UserPublic
from hub.services.users import UserExists, create_user

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me")
def read_me(session: SessionDep, user: CurrentUser) -> UserPublic:
    """The logged-in user (API tokens without a user get 404)."""
    if user.user_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this token belongs to no user")
    return UserPublic.model_validate(crud.get_or_404(session, User, user.user_id))


@router.get("")
def list_users(session: SessionDep, _: Owner) -> list[UserPublic]:
    return [UserPublic.model_validate(u) for u in session.exec(select(User)).all()]


@router.post("", status_code=201)
def add_user(body: UserCreate, session: SessionDep, clock: ClockDep, user: Owner) -> UserPublic:
    try:
        row = create_user(session, data=body, clock=clock)
    except UserExists as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from None
    crud.log(session, clock=clock, user=user, action="user.create", row=row)
    session.commit()
    return UserPublic.model_validate(row)
