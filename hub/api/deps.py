"""Dependencies every route uses, as ``Annotated`` aliases so signatures stay flat::

    @router.get("/{member_id}")
    def read_member(member_id: int, session: SessionDep, user: CurrentUser) -> MemberPublic:
        ...

Who may do what: ``owner`` everything; ``manager`` everything but users;
``front_desk`` members, cards, check-ins and unlocking doors; ``installer`` sites'
zones, doors and gates.  Every principal may read members, gates and check-ins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session, select

from gatehouse.clock import Clock
from hub.core.config import Settings
from hub.core.security import token_hash
from hub.models import APIToken, Role, User


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        session.info["settings"] = request.app.state.settings
        yield session


def get_mqtt(request: Request) -> Any:
    return getattr(request.app.state, "mqtt", None)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SessionDep = Annotated[Session, Depends(get_session)]
MqttDep = Annotated[Any, Depends(get_mqtt)]

_bearer = HTTPBearer(auto_error=False, description="a session token (login) or an API token")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a logged-in user or an integration's API token."""

    actor: str
    role: Role
    user_id: int | None
    token_id: int


def get_current_user(
    session: SessionDep,
    clock: ClockDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "missing, unknown, revoked or expired bearer token",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if creds is None:
        raise unauthorized
    token = session.exec(
        select(APIToken).where(APIToken.token_hash == token_hash(creds.credentials))
    ).first()
    now = clock.now()
    if token is None or token.revoked or (token.expires_at and token.expires_at <= now):
        raise unauthorized
    if token.user_id is not None:
        user = session.get(User, token.user_id)
        if user is None or not user.active:
            raise unauthorized
    token.last_used_at = now
    session.add(token)
    session.commit()
    kind = "user" if token.kind == "session" else "token"
    ident = token.user_id if token.kind == "session" else token.id
    return Principal(f"{kind}:{ident}", Role(token.role), token.user_id, token.id or 0)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets through only *roles* (the owner always)."""
    allowed = {Role.OWNER, *roles}

    def check(user: CurrentUser) -> Principal:
        if user.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {user.role.value} may not do this (needs {', '.join(sorted(allowed))})",
            )
        return user

    return check


Manager = Annotated[Principal, Depends(require(Role.MANAGER))]
Staff = Annotated[Principal, Depends(require(Role.MANAGER, Role.FRONT_DESK))]
Installer = Annotated[Principal, Depends(require(Role.MANAGER, Role.INSTALLER))]
Owner = Annotated[Principal, Depends(require())]
