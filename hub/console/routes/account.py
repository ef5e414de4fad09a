"""The signed-in user's own settings: language, password, two-factor sign-in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.api.deps import SessionDep
from hub.console import sessions, totp
from hub.console.deps import AnyViewer, FormDep, Viewer
from hub.console.forms import text_field
from hub.console.i18n import LANGUAGES
from hub.console.qr import qr_svg
from hub.console.routes.auth import safe_next
from hub.console.web import render
from hub.core.security import hash_password, verify_password
from hub.services import audit

router = APIRouter(prefix="/account")

MIN_PASSWORD = 10


def _page(request: Request, viewer: Viewer, status_code: int = 200, **context: Any) -> HTMLResponse:
    enrolling = viewer.user.totp_secret_enc and not viewer.user.totp_enabled
    qr = uri = secret = None
    if enrolling:
        secret = totp.unseal(viewer.user.totp_secret_enc or "", request.app.state.settings)
        uri = totp.provisioning_uri(secret, viewer.user.email)
        qr = qr_svg(uri)
    context.setdefault("errors", {})
    return render(
        request, "account.html", viewer=viewer, status_code=status_code, enrolling=enrolling,
        totp_qr=qr, totp_secret=secret, **context,
    )  # fmt: skip


@router.get("", response_class=HTMLResponse)
def account(request: Request, viewer: AnyViewer) -> HTMLResponse:
    """Language, password and two-factor settings."""
    return _page(request, viewer)


@router.post("/language")
def set_language(
    request: Request,
    db: SessionDep,
    form: FormDep,
    viewer: AnyViewer,
) -> Response:
    """Switch the console's language for this user (kept for their next sign-in)."""
    language, next = text_field(form, "language", 8), text_field(form, "next", 600)
    if language in LANGUAGES:
        viewer.user.language = language
        db.add(viewer.user)
        db.commit()
    response = RedirectResponse(safe_next(next) or "/console/account", status_code=303)
    if language in LANGUAGES:
        settings = request.app.state.settings
        sessions.set_plain_cookie(
            response, sessions.LANGUAGE_COOKIE, language, settings, 365 * 86400
        )
    return response


@router.post("/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    db: SessionDep,
    form: FormDep,
    viewer: AnyViewer,
) -> Response:
    """Change the password; every other session of this user ends."""
    current, new, repeat = (text_field(form, n) for n in ("current", "new", "repeat"))
    t = viewer.t
    errors = {}
    if not verify_password(current, viewer.user.password_hash):
        errors["current"] = t("account.wrong_password")
    if len(new) < MIN_PASSWORD or len(new) > 200:
        errors["new"] = t("form.password_length", min=MIN_PASSWORD)
    elif new != repeat:
        errors["repeat"] = t("account.passwords_differ")
    if errors:
        return _page(request, viewer, status_code=422, errors=errors)
    viewer.user.password_hash = hash_password(new)
    db.add(viewer.user)
    sessions.end_user_sessions(db, viewer.user.id or 0)
    clock, settings = request.app.state.clock, request.app.state.settings
    row, token = sessions.start_session(db, user=viewer.user, clock=clock, settings=settings)
    audit.record(
        db, clock=clock, actor=viewer.actor, action="user.password", entity="user",
        entity_id=viewer.user.id,
    )  # fmt: skip
    db.commit()
    response = RedirectResponse("/console/account?msg=password_changed", status_code=303)
    sessions.set_session_cookie(response, token, settings)
    return response


@router.post("/totp/start")
def totp_start(request: Request, db: SessionDep, viewer: AnyViewer) -> Response:
    """Make a new secret and show its QR code (the factor is off until confirmed)."""
    if not viewer.user.totp_enabled:
        viewer.user.totp_secret_enc = totp.seal(totp.new_secret(), request.app.state.settings)
        db.add(viewer.user)
        db.commit()
    return RedirectResponse("/console/account#totp", status_code=303)


@router.post("/totp/confirm", response_class=HTMLResponse)
def totp_confirm(
    request: Request,
    db: SessionDep,
    form: FormDep,
    viewer: AnyViewer,
) -> Response:
    """Turn two-factor sign-in on once a code from the app matches."""
    code = text_field(form, "code", 50)
    user = viewer.user
    clock, settings = request.app.state.clock, request.app.state.settings
    if user.totp_enabled or not user.totp_secret_enc:
        return RedirectResponse("/console/account", status_code=303)
    secret = totp.unseal(user.totp_secret_enc, settings)
    step = totp.verify(secret, code, now=clock.now(), last_step=user.totp_last_step)
    if step is None:
        return _page(request, viewer, status_code=422, errors={"code": viewer.t("login.bad_code")})
    user.totp_enabled = True
    user.totp_last_step = step
    db.add(user)
    audit.record(
        db, clock=clock, actor=viewer.actor, action="user.totp_on", entity="user",
        entity_id=user.id,
    )  # fmt: skip
    db.commit()
    return RedirectResponse("/console/account?msg=totp_on", status_code=303)


@router.post("/totp/disable", response_class=HTMLResponse)
def totp_disable(
    request: Request,
    db: SessionDep,
    form: FormDep,
    viewer: AnyViewer,
) -> Response:
    """Turn two-factor sign-in off (needs the password)."""
    password = text_field(form, "password")
    user = viewer.user
    if not verify_password(password, user.password_hash):
        return _page(
            request, viewer, status_code=422,
            errors={"password": viewer.t("account.wrong_password")},
        )  # fmt: skip
    user.totp_enabled = False
    user.totp_secret_enc = None
    db.add(user)
    audit.record(
        db, clock=request.app.state.clock, actor=viewer.actor, action="user.totp_off",
        entity="user", entity_id=user.id,
    )  # fmt: skip
    db.commit()
    return RedirectResponse("/console/account?msg=totp_off", status_code=303)
