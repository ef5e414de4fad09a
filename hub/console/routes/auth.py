"""Signing in and out: password, optional TOTP code, throttled, telling nothing away.

Wrong email and wrong password get the same answer; after five failures for one
email (known or not) the answer for that email is "too many attempts" for 15 minutes.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import select

from hub.api.deps import SessionDep
from hub.console import sessions, throttle, totp
from hub.console.deps import AnyViewer, FormDep, client_address, csrf_ok
from hub.console.forms import text_field
from hub.console.i18n import LANGUAGES, Translator, normalise_language
from hub.console.permissions import Perm, permissions_of
from hub.console.web import console_of, render
from hub.core.security import hash_password, token_hash, verify_password
from hub.models import User

router = APIRouter()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked when the email is unknown, so both answers take as long."""
    return hash_password("gatehouse-not-a-password")


def landing_for(role: str) -> str:
    """Where a role starts: the dashboard, else the gates, else their account."""
    perms = permissions_of(role)
    if Perm.DASHBOARD in perms:
        return "/console/dashboard"
    if Perm.GATES_VIEW in perms:
        return "/console/gates"
    return "/console/account"


def safe_next(value: str | None) -> str | None:
    """*value* if it is a console path of this hub, else ``None``."""
    if not value or len(value) > 500:
        return None
    if not value.startswith("/console/") or value.startswith("//") or "\\" in value:
        return None
    if value.startswith(("/console/login", "/console/logout", "/console/static")):
        return None
    return value


def _anon_translator(request: Request) -> Translator:
    lang = request.query_params.get("lang") or request.cookies.get(sessions.LANGUAGE_COOKIE)
    return console_of(request).catalog.translator(normalise_language(lang))


def _login_page(
    request: Request,
    t: Translator,
    *,
    error: str = "",
    email: str = "",
    next_path: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    settings = request.app.state.settings
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        t=t,
        status_code=status_code,
        csrf_token=token,
        error=error,
        email=email,
        next_path=next_path or "",
    )
    sessions.set_plain_cookie(
        response, sessions.LOGIN_COOKIE, sessions.sign(token, settings, "login"), settings, 3600
    )
    lang = request.query_params.get("lang")
    if lang in LANGUAGES:
        sessions.set_plain_cookie(response, sessions.LANGUAGE_COOKIE, lang, settings, 365 * 86400)
    return response


@router.get("/", response_class=HTMLResponse)
def console_home(request: Request, db: SessionDep) -> Response:
    """``/console``: the viewer's start page, or the login page."""
    app = request.app
    found = sessions.load_session(
        db, request.cookies.get(sessions.SESSION_COOKIE), clock=app.state.clock,
        settings=app.state.settings,
    )  # fmt: skip
    if found is None or not found[0].second_factor_ok:
        return RedirectResponse("/console/login", status_code=303)
    return RedirectResponse(landing_for(found[1].role), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, db: SessionDep, next: str | None = None) -> Response:
    """The sign-in form."""
    app = request.app
    found = sessions.load_session(
        db, request.cookies.get(sessions.SESSION_COOKIE), clock=app.state.clock,
        settings=app.state.settings,
    )  # fmt: skip
    if found is not None and found[0].second_factor_ok:
        return RedirectResponse(safe_next(next) or landing_for(found[1].role), status_code=303)
    return _login_page(request, _anon_translator(request), next_path=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    db: SessionDep,
    form: FormDep,
) -> Response:
    """Check the password (and throttle); start a session or ask for the TOTP code."""
    email, password = text_field(form, "email"), text_field(form, "password")
    csrf_token, next = text_field(form, "csrf_token", 200), text_field(form, "next", 600)
    app = request.app
    settings, clock = app.state.settings, app.state.clock
    t = _anon_translator(request)
    next_path = safe_next(next)
    expected = sessions.unsign(request.cookies.get(sessions.LOGIN_COOKIE), settings, "login")
    if expected is None or not csrf_ok(expected, csrf_token):
        return _login_page(
            request, t, error=t("login.expired"), email=email, next_path=next_path,
            status_code=400,
        )  # fmt: skip
    now = clock.now()
    keys = throttle.throttle_keys(email, client_address(request))
    if throttle.is_locked(db, keys, now):
        return _login_page(
            request, t, error=t("login.locked"), email=email, next_path=next_path,
            status_code=429,
        )  # fmt: skip
    user = db.exec(select(User).where(User.email == email.strip())).first() if email else None
    good = verify_password(password, user.password_hash if user else _dummy_hash())
    if user is None or not user.active or not good:
        throttle.purge(db, now)
        locked = throttle.record_failure(db, keys, now)
        db.commit()
        message = t("login.locked") if locked else t("login.failed")
        return _login_page(
            request, t, error=message, email=email, next_path=next_path,
            status_code=429 if locked else 401,
        )  # fmt: skip
    throttle.clear(db, keys[0])
    sessions.purge_expired(db, clock=clock)
    chosen = request.cookies.get(sessions.LANGUAGE_COOKIE)
    if chosen in LANGUAGES and chosen != user.language:
        user.language = chosen
        db.add(user)
    row, token = sessions.start_session(
        db, user=user, clock=clock, settings=settings,
        second_factor_ok=not user.totp_enabled, client=client_address(request),
    )  # fmt: skip
    db.commit()
    if user.totp_enabled:
        target = "/console/login/totp"
        if next_path:
            target += "?next=" + quote(next_path, safe="/")
    else:
        target = next_path or landing_for(user.role)
    response = RedirectResponse(target, status_code=303)
    sessions.set_session_cookie(response, token, settings)
    response.delete_cookie(sessions.LOGIN_COOKIE, path=sessions.COOKIE_PATH)
    return response


def _pending(request: Request, db: SessionDep):  # type: ignore[no-untyped-def]
    app = request.app
    found = sessions.load_session(
        db, request.cookies.get(sessions.SESSION_COOKIE), clock=app.state.clock,
        settings=app.state.settings,
    )  # fmt: skip
    if found is None or found[0].second_factor_ok or not found[1].totp_enabled:
        return None
    return found


@router.get("/login/totp", response_class=HTMLResponse)
def totp_form(request: Request, db: SessionDep, next: str | None = None) -> Response:
    """The second step: the code from the authenticator app."""
    found = _pending(request, db)
    if found is None:
        return RedirectResponse("/console/login", status_code=303)
    row, user = found
    t = console_of(request).catalog.translator(user.language)
    return render(
        request, "login_totp.html", t=t, csrf_token=row.csrf_token, error="",
        next_path=safe_next(next) or "",
    )  # fmt: skip


@router.post("/login/totp", response_class=HTMLResponse)
def totp_check(
    request: Request,
    db: SessionDep,
    form: FormDep,
) -> Response:
    """Check the code; a good one completes the sign-in (with a fresh session token)."""
    code, csrf_token = text_field(form, "code", 50), text_field(form, "csrf_token", 200)
    next = text_field(form, "next", 600)
    app = request.app
    settings, clock = app.state.settings, app.state.clock
    found = _pending(request, db)
    if found is None:
        return RedirectResponse("/console/login", status_code=303)
    row, user = found
    t = console_of(request).catalog.translator(user.language)
    if not csrf_ok(row.csrf_token, csrf_token):
        return render(
            request, "login_totp.html", t=t, csrf_token=row.csrf_token,
            error=t("login.expired"), next_path=safe_next(next) or "", status_code=400,
        )  # fmt: skip
    now = clock.now()
    keys = throttle.throttle_keys(user.email, client_address(request))
    step = None
    if not throttle.is_locked(db, keys, now) and user.totp_secret_enc:
        secret = totp.unseal(user.totp_secret_enc, settings)
        step = totp.verify(secret, code, now=now, last_step=user.totp_last_step)
    if step is None:
        locked = throttle.is_locked(db, keys, now) or throttle.record_failure(db, keys, now)
        if locked:
            sessions.end_session(db, row)
            db.commit()
            response = _login_page(request, t, error=t("login.locked"), status_code=429)
            sessions.clear_session_cookie(response, settings)
            return response
        db.commit()
        return render(
            request, "login_totp.html", t=t, csrf_token=row.csrf_token,
            error=t("login.bad_code"), next_path=safe_next(next) or "", status_code=401,
        )  # fmt: skip
    user.totp_last_step = step
    throttle.clear(db, keys[0])
    token = secrets.token_urlsafe(32)
    row.token_hash = token_hash(token)
    row.csrf_token = secrets.token_urlsafe(32)
    row.second_factor_ok = True
    db.add(row)
    db.add(user)
    db.commit()
    done = RedirectResponse(safe_next(next) or landing_for(user.role), status_code=303)
    sessions.set_session_cookie(done, token, settings)
    return done


@router.post("/logout")
def logout(request: Request, db: SessionDep, viewer: AnyViewer) -> Response:
    """End the session and go back to the sign-in form."""
    sessions.end_session(db, viewer.session)
    db.commit()
    response = RedirectResponse("/console/login", status_code=303)
    sessions.clear_session_cookie(response, request.app.state.settings)
    return response
