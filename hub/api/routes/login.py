"""Logging in: email and password for a session token (12 h by default)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, status
from sqlmodel import select

from hub.api.deps import ClockDep, SessionDep, SettingsDep
from hub.core.security import new_token, token_hash, verify_password
from hub.models import APIToken, User
from hub.models.user import AccessToken

router = APIRouter(prefix="/login", tags=["login"])


@router.post("/access-token")
def login(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=200)],
) -> AccessToken:
    """Exchange a user's email and password for a bearer token."""
    user = session.exec(select(User).where(User.email == username.strip())).first()
    if user is None or not user.active or not verify_password(password, user.password_hash):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    token = new_token("ghs")
    expires = clock.now() + timedelta(seconds=settings.session_ttl_s)
    session.add(
        APIToken(
            name="login",
            kind="session",
            token_hash=token_hash(token),
            user_id=user.id,
            role=user.role,
            created_at=clock.now(),
            expires_at=expires,
        )
    )
    session.commit()
    return AccessToken(access_token=token, expires_at=expires)
