"""The member's home page, payment history and language choice."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.api.deps import SessionDep
from hub.console.deps import FormDep
from hub.console.forms import text_field
from hub.console.i18n import LANGUAGES
from hub.portal import account, sessions
from hub.portal.deps import MemberDep
from hub.portal.web import render

router = APIRouter()


@router.get("/home", response_class=HTMLResponse)
def home(request: Request, db: SessionDep, viewer: MemberDep) -> Response:
    """Membership status, paid-through day, what is due and the next bill."""
    view = account.overview(db, member_id=viewer.member.id or 0)
    return render(
        request, "home.html", t=viewer.t, member=viewer.member, csrf_token=viewer.csrf_token,
        timezone=viewer.timezone, view=view, labels=account.labels(db, view.open_invoices),
    )  # fmt: skip


@router.get("/payments", response_class=HTMLResponse)
def payments(request: Request, db: SessionDep, viewer: MemberDep) -> Response:
    """Payments received and refunds given."""
    entries = account.history(db, viewer.member.id or 0)
    return render(
        request, "payments.html", t=viewer.t, member=viewer.member,
        csrf_token=viewer.csrf_token, timezone=viewer.timezone, entries=entries,
    )  # fmt: skip


def _safe_next(value: str) -> str:
    if value.startswith("/portal/") and not value.startswith("//") and "\\" not in value:
        return value[:500]
    return "/portal/home"


@router.post("/language")
def set_language(request: Request, db: SessionDep, viewer: MemberDep, form: FormDep) -> Response:
    """Keep the member's language (pages and emails) on their record."""
    language = text_field(form, "language", 8)
    target = _safe_next(text_field(form, "next", 600))
    if language in LANGUAGES:
        viewer.member.language = language
        db.add(viewer.member)
        db.commit()
    response = RedirectResponse(target, status_code=303)
    if language in LANGUAGES:
        settings = request.app.state.settings
        sessions.set_cookie(response, sessions.LANGUAGE_COOKIE, language, settings, 365 * 86400)
    return response
