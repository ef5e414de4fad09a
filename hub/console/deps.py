"""Who is looking at a console page, and whether they may.

Every console route takes its viewer through :func:`need`, which

1. finds the session named by the signed cookie (none: :class:`LoginRequired`, a
   redirect to the login page for a page, 401 otherwise);
2. on POST, PUT, PATCH and DELETE, checks the form's ``csrf_token`` (or the
   ``X-CSRF-Token`` header) against the session's (:class:`Forbidden`, 403);
3. checks the role has the permission (:class:`Forbidden`, 403)::

    @router.get("/members")
    def members(viewer: Annotated[Viewer, Depends(need(Perm.MEMBERS_VIEW))]) -> ...

The dependency carries its permission as ``.perm``, so tests can walk every route.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from hub.api.deps import SessionDep
from hub.console import sessions
from hub.console.i18n import Translator
from hub.console.permissions import Perm, permissions_of
from hub.console.web import console_of
from hub.models import ConsoleSession, Role, Site, User

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_TOUCH_EVERY = timedelta(minutes=1)


class LoginRequired(Exception):
    """No (valid) session; ``second_factor`` when only the TOTP code is missing."""

    def __init__(self, second_factor: bool = False) -> None:
        super().__init__("sign in first")
        self.second_factor = second_factor


class Forbidden(Exception):
    """Signed in, but not allowed (role) or the form's CSRF token is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PageNotFound(Exception):
    """The page's subject (a member, a gate) does not exist."""


@dataclass
class Viewer:
    """The signed-in user looking at a page.

    :param user: their row.
    :param session: their console session.
    :param t: a translator in their language.
    """

    user: User
    session: ConsoleSession
    t: Translator

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def perms(self) -> frozenset[Perm]:
        return permissions_of(self.user.role)

    @property
    def actor(self) -> str:
        """How the audit log names them: ``user:<id>``."""
        return f"user:{self.user.id}"

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    def can(self, perm: Perm) -> bool:
        """True if their role has *perm*."""
        return perm in self.perms


def client_address(request: Request) -> str | None:
    """The client's address as the server sees it."""
    return request.client.host if request.client else None


def load_viewer(request: Request, db: SessionDep) -> Viewer:
    """The viewer of *request* (raises :class:`LoginRequired`)."""
    app = request.app
    found = sessions.load_session(
        db,
        request.cookies.get(sessions.SESSION_COOKIE),
        clock=app.state.clock,
        settings=app.state.settings,
    )
    if found is None:
        raise LoginRequired()
    row, user = found
    if not row.second_factor_ok:
        raise LoginRequired(second_factor=True)
    now = app.state.clock.now()
    if now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
        db.add(row)
        db.commit()
    return Viewer(user=user, session=row, t=console_of(request).catalog.translator(user.language))


async def _form_token(request: Request) -> str:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if "form" not in content_type:
        return ""
    try:
        form = await request.form()
    except Exception:  # unreadable body: no token
        return ""
    value = form.get("csrf_token")
    return value if isinstance(value, str) else ""


def csrf_ok(expected: str, given: str) -> bool:
    """Constant-time comparison of CSRF tokens (an empty one never matches)."""
    return bool(expected) and bool(given) and hmac.compare_digest(expected, given)


def need(perm: Perm) -> Callable[..., Awaitable[Viewer]]:
    """A dependency that lets through a signed-in viewer with *perm* (and a valid
    CSRF token on unsafe methods)."""

    async def check(request: Request, viewer: Annotated[Viewer, Depends(load_viewer)]) -> Viewer:
        if request.method in UNSAFE_METHODS and not csrf_ok(
            viewer.csrf_token, await _form_token(request)
        ):
            raise Forbidden("csrf")
        if not viewer.can(perm):
            raise Forbidden("role")
        return viewer

    check.perm = perm  # type: ignore[attr-defined]
    check.__name__ = f"need_{perm.value.replace('.', '_')}"
    return check


def pick_site(db: Session, slug: str | None) -> Site | None:
    """The site named *slug*, else the first site (``None`` if there are none)."""
    if slug:
        found = db.exec(select(Site).where(Site.slug == slug[:32])).first()
        if found is not None:
            return found
    return db.exec(select(Site).order_by(col(Site.id))).first()


def sites(db: Session) -> list[Site]:
    """Every site, in the order they were made."""
    return list(db.exec(select(Site).order_by(col(Site.id))).all())


Dashboarder = Annotated[Viewer, Depends(need(Perm.DASHBOARD))]
MemberViewer = Annotated[Viewer, Depends(need(Perm.MEMBERS_VIEW))]
MemberEditor = Annotated[Viewer, Depends(need(Perm.MEMBERS_EDIT))]
Enroller = Annotated[Viewer, Depends(need(Perm.CARDS_ENROLL))]
CheckinViewer = Annotated[Viewer, Depends(need(Perm.CHECKINS_VIEW))]
EntitlementEditor = Annotated[Viewer, Depends(need(Perm.ENTITLEMENTS_EDIT))]
GateViewer = Annotated[Viewer, Depends(need(Perm.GATES_VIEW))]
GateCommander = Annotated[Viewer, Depends(need(Perm.GATES_COMMAND))]
GateAdder = Annotated[Viewer, Depends(need(Perm.GATES_ADD))]
ReportViewer = Annotated[Viewer, Depends(need(Perm.REPORTS_VIEW))]
AuditViewer = Annotated[Viewer, Depends(need(Perm.AUDIT_VIEW))]
UserManager = Annotated[Viewer, Depends(need(Perm.USERS_MANAGE))]
AnyViewer = Annotated[Viewer, Depends(need(Perm.ACCOUNT))]


async def read_form(request: Request) -> FormData:
    """The request's form fields (empty for a body that is not a form)."""
    if "form" not in request.headers.get("content-type", ""):
        return FormData()
    try:
        return await request.form()
    except Exception:  # an unreadable body is an empty form
        return FormData()


FormDep = Annotated[FormData, Depends(read_form)]

#: A section of the member page added by another part of the hub: called with the
#: database session, the viewer and the member, it returns ``(template, data)`` -- the
#: template is included in the page with ``panel`` set to *data* -- or ``None`` to show
#: nothing (e.g. the viewer may not see it)::
#:
#:     def invoices_panel(db, viewer, member):
#:         if not viewer.can(Perm.BILLING_VIEW):
#:             return None
#:         return "billing/member_panel.html", {"invoices": invoices_of(db, member.id)}
MemberPanel = Callable[[Session, Viewer, Any], tuple[str, dict[str, Any]] | None]
