"""Signing in with an emailed link, and signing out.

Whatever email is typed, the answer is the same page ("if it is a member's, a link is
on its way"), and requests are counted per email typed and per address
(:mod:`hub.portal.throttle`), so the form tells nobody which emails are members'.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import select

from hub.api.deps import SessionDep
from hub.billing.services import billing_services
from hub.console.deps import FormDep, client_address
from hub.console.forms import text_field
from hub.console.i18n import LANGUAGES
from hub.dunning.mailer import MailDeliveryError, OutgoingEmail
from hub.models import Member, MemberStatus
from hub.models.checks import check_email
from hub.portal import links, sessions, throttle
from hub.portal.deps import (
    MemberDep,
    error_page,
    language_of,
    member_site,
    visitor_translator,
)
from hub.portal.mail import sign_in_email
from hub.portal.web import render
from hub.services import audit

log = logging.getLogger(__name__)
router = APIRouter()


def _signed_in(request: Request, db: SessionDep) -> bool:
    app = request.app
    return (
        sessions.load_session(
            db,
            request.cookies.get(sessions.SESSION_COOKIE),
            clock=app.state.clock,
            settings=app.state.settings,
        )  # fmt: skip
        is not None
    )


def portal_home(request: Request, db: SessionDep) -> Response:
    """``/portal``: the member's home page, or the sign-in form."""
    target = "/portal/home" if _signed_in(request, db) else "/portal/login"
    return RedirectResponse(target, status_code=303)


def _anonymous_page(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    settings = request.app.state.settings
    token, cookie = sessions.anonymous_form_token(request, settings)
    t = visitor_translator(request)
    response = render(request, template, t=t, csrf_token=token, status_code=status_code, **context)
    sessions.remember_form_token(response, cookie, settings)
    lang = request.query_params.get("lang")
    if lang in LANGUAGES:
        sessions.set_cookie(response, sessions.LANGUAGE_COOKIE, lang, settings, 365 * 86400)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, db: SessionDep) -> Response:
    """The form that asks for a sign-in link."""
    if _signed_in(request, db):
        return RedirectResponse("/portal/home", status_code=303)
    return _anonymous_page(request, "login.html", email="", errors={})


@router.post("/login", response_class=HTMLResponse)
def request_link(
    request: Request, db: SessionDep, form: FormDep, background: BackgroundTasks
) -> Response:
    """Email a sign-in link if the email is a member's; the same answer either way.

    The email goes out after the answer is sent, so a known email is not answered more
    slowly than an unknown one.
    """
    app = request.app
    settings, clock = app.state.settings, app.state.clock
    if not sessions.anonymous_form_ok(request, text_field(form, "csrf_token", 200), settings):
        return error_page(request, 403, "csrf")
    typed = text_field(form, "email", 400).strip()
    t = visitor_translator(request)
    try:
        email = check_email(typed) if typed else None
    except ValueError:
        email = None
    if email is None:
        message = t("form.required") if not typed else t("form.invalid_email")
        return _anonymous_page(
            request, "login.html", email=typed[:254], errors={"email": message}, status_code=422
        )
    now = clock.now()
    if not throttle.allow_request(db, throttle.request_keys(email, client_address(request)), now):
        db.commit()
        return _anonymous_page(
            request, "login.html", email=email, errors={}, status_code=429,
            alert=t("portal.login.too_many"),
        )  # fmt: skip
    links.purge_expired(db, clock=clock)
    member = db.exec(select(Member).where(func.lower(Member.email) == email.lower())).first()
    if member is not None and member.status != MemberStatus.CANCELLED.value:
        background.add_task(_send, app.state, _link_email(request, db, member), member.id)
    db.commit()
    return _anonymous_page(request, "login_sent.html", email=email)


def _link_email(request: Request, db: SessionDep, member: Member) -> OutgoingEmail:
    """A new sign-in link for *member* (committed) and the email that carries it."""
    app = request.app
    settings, clock = app.state.settings, app.state.clock
    link = links.issue_link(
        db, member=member, clock=clock, settings=settings, client=client_address(request)
    )
    db.commit()
    site = member_site(db, member.id or 0)
    lang = language_of(request, member)
    club = site.name if site else "Gatehouse"
    return sign_in_email(
        member.email, link.url, name=member.first_name, club_name=club, language=lang,
        key=f"portal-link:{link.row.id}",
        minutes=int(links.LINK_TTL.total_seconds() // 60),
    )  # fmt: skip


def _send(state: object, mail: OutgoingEmail, member_id: int | None) -> None:
    try:
        billing_services(state).mailer.send(mail)
    except (MailDeliveryError, OSError) as err:  # the answer was the same either way
        log.warning("sign-in link for member %s not sent: %s", member_id, err)


@router.get("/login/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, db: SessionDep, token: str) -> Response:
    """The page an emailed link opens: a button that signs in (a GET never uses the
    link, so mail scanners that open links do not spend it)."""
    app = request.app
    try:
        member = links.peek_link(db, token, clock=app.state.clock, settings=app.state.settings)
    except links.LinkRefused as err:
        return error_page(request, 410 if err.reason != "invalid" else 400, f"link_{err.reason}")
    return _anonymous_page(request, "login_confirm.html", token=token, name=member.first_name)


@router.post("/login/{token}", response_class=HTMLResponse)
def sign_in(request: Request, db: SessionDep, form: FormDep, token: str) -> Response:
    """Use the link: start a member session."""
    app = request.app
    settings, clock = app.state.settings, app.state.clock
    if not sessions.anonymous_form_ok(request, text_field(form, "csrf_token", 200), settings):
        return error_page(request, 403, "csrf")
    try:
        member = links.redeem_link(db, token, clock=clock, settings=settings)
    except links.LinkRefused as err:
        db.rollback()
        return error_page(request, 410 if err.reason != "invalid" else 400, f"link_{err.reason}")
    chosen = request.cookies.get(sessions.LANGUAGE_COOKIE)
    if member.language is None and chosen in LANGUAGES:
        member.language = chosen
        db.add(member)
    sessions.purge_expired(db, clock=clock)
    _, session_token = sessions.start_session(db, member=member, clock=clock, settings=settings)
    audit.record(db, clock=clock, actor=f"member:{member.id}", action="portal.sign_in",
                 entity="member", entity_id=member.id)  # fmt: skip
    db.commit()
    response = RedirectResponse("/portal/home", status_code=303)
    sessions.set_cookie(
        response, sessions.SESSION_COOKIE, sessions.sign(session_token, settings, "portal"),
        settings, settings.session_ttl_s,
    )  # fmt: skip
    return response


@router.post("/logout")
def logout(request: Request, db: SessionDep, viewer: MemberDep) -> Response:
    """End the session and go back to the sign-in form."""
    sessions.end_session(db, viewer.session)
    db.commit()
    response = RedirectResponse("/portal/login?msg=signed_out", status_code=303)
    sessions.clear_cookie(response, sessions.SESSION_COOKIE, request.app.state.settings)
    return response
