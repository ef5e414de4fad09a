"""Member sessions: kept on the server, named by a signed cookie apart from the console's.

The browser holds ``gh_portal=<token>.<signature>`` (HttpOnly, SameSite=Lax, path
``/portal``, Secure in production); the database holds the token's SHA-256 hash in a
:class:`~hub.models.PortalSession` row with the member, the CSRF token of the
session's forms and the expiry::

    row, token = start_session(db, member=member, clock=clock, settings=settings)
    set_cookie(response, SESSION_COOKIE, sign(token, settings, "portal"), settings,
               settings.session_ttl_s)
    found = load_session(db, request.cookies.get(SESSION_COOKIE), clock=clock,
                         settings=settings)

Pages a visitor sees before signing in (the link request form, a pay link) carry a
form token too: a random value in a signed cookie (``gh_portal_form``) that the form
sends back (:func:`anonymous_form_token`, :func:`anonymous_form_ok`).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from fastapi import Request
from sqlmodel import Session, col, delete, select
from starlette.responses import Response

from gatehouse.clock import Clock
from hub.console.sessions import sign, unsign
from hub.core.config import Settings
from hub.core.security import token_hash
from hub.models import Member, MemberStatus, PortalSession

SESSION_COOKIE = "gh_portal"
FORM_COOKIE = "gh_portal_form"
LANGUAGE_COOKIE = "gh_portal_lang"
COOKIE_PATH = "/portal"

__all__ = [
    "COOKIE_PATH",
    "FORM_COOKIE",
    "LANGUAGE_COOKIE",
    "SESSION_COOKIE",
    "anonymous_form_ok",
    "anonymous_form_token",
    "end_session",
    "load_session",
    "remember_form_token",
    "set_cookie",
    "sign",
    "start_session",
    "unsign",
]


def start_session(
    db: Session, *, member: Member, clock: Clock, settings: Settings
) -> tuple[PortalSession, str]:
    """A new session for *member*; returns ``(row, token)`` (caller commits)."""
    now = clock.now()
    token = secrets.token_urlsafe(32)
    row = PortalSession(
        token_hash=token_hash(token),
        member_id=member.id or 0,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.session_ttl_s),
        last_seen_at=now,
    )
    db.add(row)
    db.flush()
    return row, token


def load_session(
    db: Session, signed_token: str | None, *, clock: Clock, settings: Settings
) -> tuple[PortalSession, Member] | None:
    """The live session and member a cookie names (``None``: none, expired, forged, or
    the member was cancelled)."""
    token = unsign(signed_token, settings, "portal")
    if token is None:
        return None
    row = db.exec(
        select(PortalSession).where(PortalSession.token_hash == token_hash(token))
    ).first()
    if row is None or row.expires_at <= clock.now():
        return None
    member = db.get(Member, row.member_id)
    if member is None or member.status == MemberStatus.CANCELLED.value:
        return None
    return row, member


def end_session(db: Session, row: PortalSession) -> None:
    """Forget a session (sign out); caller commits."""
    db.delete(row)


def purge_expired(db: Session, *, clock: Clock) -> None:
    """Delete sessions past their expiry; caller commits."""
    db.exec(delete(PortalSession).where(col(PortalSession.expires_at) <= clock.now()))  # type: ignore[call-overload]


def set_cookie(response: Response, name: str, value: str, settings: Settings, max_age: int) -> None:
    """A portal cookie: HttpOnly, SameSite=Lax, path ``/portal``."""
    response.set_cookie(
        name, value, max_age=max_age, path=COOKIE_PATH, httponly=True, samesite="lax",
        secure=settings.mode == "production",
    )  # fmt: skip


def clear_cookie(response: Response, name: str, settings: Settings) -> None:
    """Tell the browser to drop a portal cookie."""
    response.delete_cookie(
        name, path=COOKIE_PATH, httponly=True, samesite="lax",
        secure=settings.mode == "production",
    )  # fmt: skip


def anonymous_form_token(request: Request, settings: Settings) -> tuple[str, str | None]:
    """The form token for a page shown before signing in, and the cookie value to set
    (``None`` when the visitor's form cookie already holds a good token)::

        token, cookie = anonymous_form_token(request, settings)
        response = render(..., csrf_token=token)
        remember_form_token(response, cookie, settings)
    """
    current = unsign(request.cookies.get(FORM_COOKIE), settings, "portal-form")
    if current is not None:
        return current, None
    token = secrets.token_urlsafe(24)
    return token, sign(token, settings, "portal-form")


def remember_form_token(response: Response, cookie: str | None, settings: Settings) -> None:
    """Set the form cookie :func:`anonymous_form_token` asked for (if any)."""
    if cookie is not None:
        set_cookie(response, FORM_COOKIE, cookie, settings, 3600)


def anonymous_form_ok(request: Request, given: str, settings: Settings) -> bool:
    """True if *given* matches the visitor's form cookie (constant time)."""
    expected = unsign(request.cookies.get(FORM_COOKIE), settings, "portal-form")
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), given)
