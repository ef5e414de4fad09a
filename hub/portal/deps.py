"""Who is looking at a portal page.

Every signed-in page takes its member through :data:`MemberDep`, which

1. finds the session named by the signed ``gh_portal`` cookie (none:
   :class:`SignInRequired`, a redirect to ``/portal/login`` for a page);
2. on POST, checks the form's ``csrf_token`` against the session's
   (:class:`PortalForbidden`, 403).

A page about something that is not the member's own (another member's invoice or
card) raises :class:`PortalNotFound` (404): it does not say whether it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, select

from hub.api.deps import SessionDep
from hub.console.deps import UNSAFE_METHODS, csrf_ok, read_form
from hub.console.forms import text_field
from hub.console.i18n import Translator, normalise_language
from hub.models import Member, PortalSession, Site, Subscription
from hub.portal import sessions
from hub.portal.web import portal_of, render

__all__ = [
    "MemberDep",
    "MemberView",
    "PortalForbidden",
    "PortalNotFound",
    "SignInRequired",
    "error_page",
    "language_of",
    "load_member",
    "member_site",
    "portal_of",
    "visitor_translator",
]

_TOUCH_EVERY = timedelta(minutes=1)


class SignInRequired(Exception):
    """No (valid) member session."""


class PortalForbidden(Exception):
    """The form's CSRF token is missing or wrong."""


class PortalNotFound(Exception):
    """Not found, or not the member's own."""


@dataclass
class MemberView:
    """The signed-in member looking at a page.

    :param member: their row.
    :param session: their portal session.
    :param t: a translator in their language.
    :param timezone: their club's time zone.
    """

    member: Member
    session: PortalSession
    t: Translator
    timezone: str

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    @property
    def actor(self) -> str:
        """How the audit log names them: ``member:<id>``."""
        return f"member:{self.member.id}"


def member_site(db: Session, member_id: int) -> Site | None:
    """The club a member belongs to: the site of their newest subscription, else the
    first site."""
    site_id = db.exec(
        select(Subscription.site_id)
        .where(Subscription.member_id == member_id)
        .order_by(col(Subscription.id).desc())
    ).first()
    if site_id is not None:
        return db.get(Site, site_id)
    return db.exec(select(Site).order_by(col(Site.id))).first()


def language_of(request: Request, member: Member | None = None) -> str:
    """The language to answer in: the member's choice, else ``?lang=``, else the
    visitor's language cookie, else English."""
    if member is not None and member.language:
        return normalise_language(member.language)
    lang = request.query_params.get("lang") or request.cookies.get(sessions.LANGUAGE_COOKIE)
    return normalise_language(lang)


def visitor_translator(request: Request) -> Translator:
    """A translator for someone not signed in."""
    return portal_of(request).catalog.translator(language_of(request))


async def load_member(request: Request, db: SessionDep) -> MemberView:
    """The signed-in member of *request* (CSRF checked on POST)."""
    app = request.app
    found = sessions.load_session(
        db, request.cookies.get(sessions.SESSION_COOKIE), clock=app.state.clock,
        settings=app.state.settings,
    )  # fmt: skip
    if found is None:
        raise SignInRequired()
    row, member = found
    if request.method in UNSAFE_METHODS:
        given = request.headers.get("x-csrf-token") or text_field(
            await read_form(request), "csrf_token", 200
        )
        if not csrf_ok(row.csrf_token, given):
            raise PortalForbidden()
    now = app.state.clock.now()
    if now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
        db.add(row)
        db.commit()
    site = member_site(db, member.id or 0)
    t = portal_of(request).catalog.translator(language_of(request, member))
    return MemberView(member, row, t, site.timezone if site else "UTC")


MemberDep = Annotated[MemberView, Depends(load_member)]


def error_page(request: Request, status_code: int, kind: str) -> HTMLResponse:
    """A portal error page in the visitor's language (``kind``: ``csrf``,
    ``not_found``, ``link_expired``, ``link_used``, ``link_invalid``, ...)."""
    return render(
        request, "error.html", t=visitor_translator(request), status_code=status_code, kind=kind
    )
