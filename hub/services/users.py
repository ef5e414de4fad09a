"""Console users: created with an argon2 hash (``gatehouse hub create-user``, the API)."""

from __future__ import annotations

from sqlmodel import Session, select

from gatehouse.clock import Clock
from hub.core.security import hash_password, new_token, token_hash
from hub.models import APIToken, User
from hub.models.user import UserCreate


class UserExists(ValueError):
    """A user with this email already exists."""


def create_user(session: Session, *, data: UserCreate, clock: Clock) -> User:
    """Add a user (flushed, not committed)."""
    if session.exec(select(User).where(User.email == data.email)).first() is not None:
        raise UserExists(f"a user with email {data.email} already exists")
    user = User(
        email=data.email,
        full_name=data.full_name,
        role=data.role.value,
        password_hash=hash_password(data.password),
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    return user


def issue_api_token(
    session: Session, *, name: str, role: str, clock: Clock, user_id: int | None = None
) -> tuple[APIToken, str]:
    """Make an integration token; returns ``(row, token)`` — the token is shown once."""
    token = new_token("gha")
    row = APIToken(
        name=name,
        kind="api",
        token_hash=token_hash(token),
        user_id=user_id,
        role=role,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row, token
