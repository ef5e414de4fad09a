"""Console sign-in sessions: kept on the server, named by a signed cookie.

The browser holds ``gh_console=<token>.<signature>``: a random token and an
HMAC-SHA256 signature under a key derived from ``GATEHOUSE_SECRET_KEY`` (a forged or
altered cookie is refused before any database read).  The database holds only the
token's SHA-256 hash in a :class:`~hub.models.ConsoleSession` row, with the user, the
CSRF token of the session's forms and the expiry::

    row, token = start_session(db, user=user, clock=clock, settings=settings)
    set_session_cookie(response, token, settings)
    ...
    found = load_session(db, cookie_value, clock=clock, settings=settings)

The cookie is HttpOnly, SameSite=Lax, limited to ``/console``, and Secure when the hub
runs with ``GATEHOUSE_MODE=production``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlmodel import Session, col, delete, select
from starlette.responses import Response

from gatehouse.clock import Clock
from hub.core.config import Settings
from hub.core.security import token_hash
from hub.models import ConsoleSession, User

SESSION_COOKIE = "gh_console"
LOGIN_COOKIE = "gh_login"
LANGUAGE_COOKIE = "gh_lang"
COOKIE_PATH = "/console"


def _key(settings: Settings, purpose: str) -> bytes:
    root = hashlib.sha256(settings.secret_key.encode()).digest()
    return hmac.digest(root, f"gatehouse-console-{purpose}".encode(), "sha256")


def sign(value: str, settings: Settings, purpose: str = "cookie") -> str:
    """``value.signature`` under the hub's secret key."""
    mac = hmac.new(_key(settings, purpose), value.encode(), "sha256").hexdigest()[:40]
    return f"{value}.{mac}"


def unsign(signed: str | None, settings: Settings, purpose: str = "cookie") -> str | None:
    """The value of a :func:`sign` result, or ``None`` if it does not verify."""
    if not signed or "." not in signed or len(signed) > 400:
        return None
    value, _, mac = signed.rpartition(".")
    good = hmac.new(_key(settings, purpose), value.encode(), "sha256").hexdigest()[:40]
    return value if hmac.compare_digest(mac.encode(), good.encode()) else None


def start_session(
    db: Session,
    *,
    user: User,
    clock: Clock,
    settings: Settings,
    second_factor_ok: bool = True,
    client: str | None = None,
) -> tuple[ConsoleSession, str]:
    """A new session for *user*; returns ``(row, token)`` (caller commits)."""
    now = clock.now()
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        token_hash=token_hash(token),
        user_id=user.id or 0,
        csrf_token=secrets.token_urlsafe(32),
        second_factor_ok=second_factor_ok,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.session_ttl_s),
        last_seen_at=now,
        client=(client or "")[:64] or None,
    )
    db.add(row)
    db.flush()
    return row, token


def load_session(
    db: Session, signed_token: str | None, *, clock: Clock, settings: Settings
) -> tuple[ConsoleSession, User] | None:
    """The live session and active user a cookie names, or ``None``."""
    token = unsign(signed_token, settings)
    if token is None:
        return None
    row = db.exec(
        select(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token))
    ).first()
    if row is None or row.expires_at <= clock.now():
        return None
    user = db.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return row, user


def end_session(db: Session, row: ConsoleSession) -> None:
    """Forget a session (logout); caller commits."""
    db.delete(row)


def end_user_sessions(db: Session, user_id: int) -> None:
    """Forget every session of a user (deactivated, role or password changed)."""
    db.exec(delete(ConsoleSession).where(col(ConsoleSession.user_id) == user_id))  # type: ignore[call-overload]


def purge_expired(db: Session, *, clock: Clock) -> None:
    """Delete sessions past their expiry; caller commits."""
    db.exec(delete(ConsoleSession).where(col(ConsoleSession.expires_at) <= clock.now()))  # type: ignore[call-overload]


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """Hand the browser its signed session cookie."""
    response.set_cookie(
        SESSION_COOKIE,
        sign(token, settings),
        max_age=settings.session_ttl_s,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.mode == "production",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Tell the browser to drop its session cookie."""
    response.delete_cookie(
        SESSION_COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.mode == "production",
    )


def set_plain_cookie(
    response: Response, name: str, value: str, settings: Settings, max_age: int
) -> None:
    """A console cookie other than the session (login form token, language)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.mode == "production",
    )
