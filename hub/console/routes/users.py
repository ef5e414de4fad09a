"""Console users (owners only): add, change role, deactivate, reset two-factor."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from hub.api.deps import SessionDep
from hub.console import sessions
from hub.console.deps import FormDep, PageNotFound, UserManager, Viewer
from hub.console.forms import bad_characters, field_errors, form_fields, present
from hub.console.i18n import LANGUAGES
from hub.console.permissions import PERMISSIONS
from hub.console.web import render
from hub.models import Role, User
from hub.models.user import UserCreate
from hub.services import audit
from hub.services.users import UserExists, create_user

router = APIRouter(prefix="/users")


def _page(
    request: Request, db: Session, viewer: Viewer, values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None, status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    users = db.exec(select(User).order_by(col(User.id))).all()
    return render(
        request, "users.html", viewer=viewer, users=users, roles=[r.value for r in Role],
        permissions=PERMISSIONS, values=values or {"role": Role.FRONT_DESK.value},
        errors=errors or {}, status_code=status_code,
    )  # fmt: skip


def _user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id) if 0 < user_id < 2**31 else None
    if user is None:
        raise PageNotFound()
    return user


@router.get("", response_class=HTMLResponse)
def users(request: Request, db: SessionDep, viewer: UserManager) -> HTMLResponse:
    """Every console user, their role and whether two-factor sign-in is on."""
    return _page(request, db, viewer)


@router.post("/new", response_class=HTMLResponse)
def add_user(request: Request, db: SessionDep, form: FormDep, viewer: UserManager) -> Response:
    """Add a user with a first password (they change it from their account page)."""
    values = form_fields(form, ("email", "full_name", "role", "password", "language"))
    clock = request.app.state.clock
    errors = bad_characters({k: v for k, v in values.items() if k != "password"}, viewer.t)
    try:
        data = UserCreate.model_validate(present(values))
    except ValidationError as err:
        errors = {**field_errors(err, viewer.t), **errors}
        if "password" in errors:
            errors["password"] = viewer.t("form.password_length", min=10)
    if errors:
        values["password"] = None
        return _page(request, db, viewer, values, errors, 422)
    try:
        user = create_user(db, data=data, clock=clock)
    except UserExists:
        db.rollback()
        values["password"] = None
        return _page(request, db, viewer, values, {"email": viewer.t("users.email_taken")}, 422)
    if values["language"] in LANGUAGES:
        user.language = values["language"] or "en"
    db.add(user)
    audit.record(
        db, clock=clock, actor=viewer.actor, action="user.create", entity="user",
        entity_id=user.id, after=audit.snapshot_of(user),
    )  # fmt: skip
    db.commit()
    return RedirectResponse("/console/users?msg=user_added", status_code=303)


def _change(
    request: Request, db: Session, viewer: Viewer, user: User, action: str, **changes: Any
) -> Response:
    if user.id == viewer.user.id:
        return RedirectResponse("/console/users?msg=not_yourself", status_code=303)
    before = audit.snapshot_of(user)
    for key, value in changes.items():
        setattr(user, key, value)
    db.add(user)
    sessions.end_user_sessions(db, user.id or 0)
    audit.record(
        db, clock=request.app.state.clock, actor=viewer.actor, action=action, entity="user",
        entity_id=user.id, before=before, after=audit.snapshot_of(user),
    )  # fmt: skip
    db.commit()
    return RedirectResponse("/console/users?msg=user_saved", status_code=303)


@router.post("/{user_id}/role")
def set_role(
    request: Request, user_id: int, db: SessionDep, form: FormDep, viewer: UserManager
) -> Response:
    """Give a user another role (their sessions end)."""
    user = _user(db, user_id)
    role = form.get("role")
    if role not in {r.value for r in Role}:
        return RedirectResponse("/console/users?msg=bad_role", status_code=303)
    return _change(request, db, viewer, user, "user.role", role=role)


@router.post("/{user_id}/active")
def set_active(
    request: Request, user_id: int, db: SessionDep, form: FormDep, viewer: UserManager
) -> Response:
    """Deactivate a user (they are signed out everywhere) or let them back in."""
    user = _user(db, user_id)
    active = form.get("active") == "1"
    return _change(request, db, viewer, user, "user.active", active=active)


@router.post("/{user_id}/totp-reset")
def reset_totp(request: Request, user_id: int, db: SessionDep, viewer: UserManager) -> Response:
    """Turn off a user's two-factor sign-in (a lost phone); they can enrol again."""
    user = _user(db, user_id)
    return _change(
        request, db, viewer, user, "user.totp_reset", totp_enabled=False, totp_secret_enc=None
    )
