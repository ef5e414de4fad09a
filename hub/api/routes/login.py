"""Logging in: email and password for a session token (12 h by default).

Guessing is slowed exactly as on the console's sign-in page (:mod:`hub.console.throttle`,
the same counters): five failures for one email within 15 minutes lock that email, thirty
from one address lock the address, both for 15 minutes.  A locked sign-in is answered
``429`` before the password is even checked, and an unknown email is counted and answered
like a wrong password (after hashing a dummy one, so it takes as long): no answer tells
which emails have an account.  A successful sign-in clears the email's count.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from sqlmodel import select

from hub.api.deps import ClockDep, SessionDep, SettingsDep
from hub.console import throttle
from hub.core.security import hash_password, new_token, token_hash, verify_password
from hub.models import APIToken, User
from hub.models.user import AccessToken

router = APIRouter(prefix="/login", tags=["login"])

WRONG = "wrong email or password"
LOCKED = "too many failed sign-ins; try again in 15 minutes"


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked when the email is unknown, so both answers take as long."""
    return hash_password("gatehouse-not-a-password")


@router.post(
    "/access-token",
    responses={401: {"description": WRONG}, 429: {"description": LOCKED}},
)
def login(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=200)],
) -> AccessToken:
    """Exchange a user's email and password for a bearer token (throttled)."""
    now = clock.now()
    keys = throttle.throttle_keys(username, request.client.host if request.client else None)
    if throttle.is_locked(session, keys, now):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, LOCKED)
    user = session.exec(select(User).where(User.email == username.strip())).first()
    good = verify_password(password, user.password_hash if user else _dummy_hash())
    if user is None or not user.active or not good:
        throttle.purge(session, now)
        locked = throttle.record_failure(session, keys, now)
        session.commit()
        if locked:
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, LOCKED)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, WRONG)
    throttle.clear(session, keys[0])
    token = new_token("ghs")
    expires = now + timedelta(seconds=settings.session_ttl_s)
    session.add(
        APIToken(
            name="login",
            kind="session",
            token_hash=token_hash(token),
            user_id=user.id,
            role=user.role,
            created_at=now,
            expires_at=expires,
        )
    )
    session.commit()
    return AccessToken(access_token=token, expires_at=expires)
