"""Asking the club to freeze a membership between two dates."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from hub.api.deps import SessionDep
from hub.billing.renewals import SubscriptionStatus
from hub.billing.sitetime import site_today
from hub.console.deps import FormDep
from hub.console.forms import text_field
from hub.portal import account
from hub.portal.deps import MemberDep, MemberView
from hub.portal.freeze import FreezeForm, overlaps_pending, pending_requests, record_request
from hub.portal.web import render
from hub.services import audit

router = APIRouter()

_FREEZABLE = (
    SubscriptionStatus.ACTIVE.value,
    SubscriptionStatus.TRIALING.value,
    SubscriptionStatus.PAST_DUE.value,
)


def _page(
    request: Request,
    db: Session,
    viewer: MemberView,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    subs = [m for m in account.memberships(db, viewer.member.id or 0)
            if m.subscription.status in _FREEZABLE]  # fmt: skip
    return render(
        request, "freeze.html", t=viewer.t, member=viewer.member,
        csrf_token=viewer.csrf_token, timezone=viewer.timezone, memberships=subs,
        requests=pending_requests(db, viewer.member.id or 0),
        errors={k: viewer.t(v) for k, v in (errors or {}).items()}, values=values or {},
        status_code=status_code,
    )  # fmt: skip


@router.get("/freeze", response_class=HTMLResponse)
def freeze_page(request: Request, db: SessionDep, viewer: MemberDep) -> Response:
    """The freeze request form and the member's earlier requests."""
    return _page(request, db, viewer)


@router.post("/freeze", response_class=HTMLResponse)
def ask_freeze(request: Request, db: SessionDep, viewer: MemberDep, form: FormDep) -> Response:
    """Record a checked freeze request for staff."""
    values = {name: text_field(form, name, 600) for name in ("from_on", "resume_on", "reason")}
    subs = [m for m in account.memberships(db, viewer.member.id or 0)
            if m.subscription.status in _FREEZABLE]  # fmt: skip
    today = request.app.state.clock.now().date()
    if subs:
        today = site_today(request.app.state.clock.now(), viewer.timezone)
    checked = FreezeForm.read(**values, today=today)
    errors = dict(checked.errors)
    if not subs:
        errors[""] = "portal.freeze.no_membership"
    elif (
        not errors
        and checked.from_on is not None
        and checked.resume_on is not None
        and overlaps_pending(db, viewer.member.id or 0, checked.from_on, checked.resume_on)
    ):
        errors["from_on"] = "portal.freeze.overlaps"
    if errors:
        return _page(request, db, viewer, errors=errors, values=values, status_code=422)
    row = record_request(db, member_id=viewer.member.id or 0,
                         subscription_id=subs[0].subscription.id, form=checked,
                         clock=request.app.state.clock)  # fmt: skip
    audit.record(db, clock=request.app.state.clock, actor=viewer.actor,
                 action="portal.freeze.requested", entity="freezerequest", entity_id=row.id,
                 site_id=subs[0].subscription.site_id,
                 after={"from_on": str(row.from_on), "resume_on": str(row.resume_on)})  # fmt: skip
    db.commit()
    return RedirectResponse("/portal/freeze?msg=freeze_requested", status_code=303)
