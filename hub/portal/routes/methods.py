"""The member's payment methods: add (a test-card form on the simulated gateway, a
Stripe SetupIntent on Stripe), make one the default, remove one."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from hub.api.deps import SessionDep
from hub.billing.gateway import GatewayError
from hub.billing.methods import detach_payment_method, make_default
from hub.console.deps import FormDep
from hub.console.forms import int_param, text_field
from hub.models import PaymentMethod
from hub.portal import account
from hub.portal.cards import begin_stripe_setup, finish_stripe_setup
from hub.portal.deps import MemberDep, MemberView, PortalNotFound
from hub.portal.routes.paying import add_card, gateway_of, read_card, takes_test_cards
from hub.portal.web import render
from hub.services import audit

router = APIRouter()
_SETUP_INTENT = re.compile(r"^seti_[A-Za-z0-9_]{1,200}$")


def _page(
    request: Request,
    db: Session,
    viewer: MemberView,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    setup: tuple[str, str] | None = None,
    alert: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    gateway = gateway_of(request)
    methods = account.saved_methods(db, viewer.member.id or 0)
    return render(
        request, "methods.html", t=viewer.t, member=viewer.member,
        csrf_token=viewer.csrf_token, timezone=viewer.timezone, methods=methods,
        gateway_name=gateway.name, test_cards=takes_test_cards(request),
        errors={k: viewer.t(v) for k, v in (errors or {}).items()}, values=values or {},
        setup=setup, alert=alert, status_code=status_code,
    )  # fmt: skip


def _own(db: Session, viewer: MemberView, method_id: str) -> PaymentMethod:
    pm = account.own_method(db, member_id=viewer.member.id or 0, method_id=int_param(method_id))
    if pm is None:
        raise PortalNotFound()
    return pm


@router.get("/methods", response_class=HTMLResponse)
def methods_page(request: Request, db: SessionDep, viewer: MemberDep) -> Response:
    """Saved methods and the form to add one."""
    return _page(request, db, viewer)


@router.post("/methods", response_class=HTMLResponse)
def add_method(request: Request, db: SessionDep, viewer: MemberDep, form: FormDep) -> Response:
    """Save a test card (simulated gateway): the number goes to the gateway only."""
    if not takes_test_cards(request):
        return RedirectResponse("/portal/methods", status_code=303)
    card = read_card(form, request)
    values = {
        "exp_month": text_field(form, "exp_month", 4),
        "exp_year": text_field(form, "exp_year", 6),
    }
    pm, errors = add_card(
        request, db, viewer.member, card, make_default=form.get("make_default") == "on",
        actor=viewer.actor,
    )  # fmt: skip
    if pm is None:
        return _page(request, db, viewer, errors=errors, values=values, status_code=422)
    return RedirectResponse("/portal/methods?msg=card_saved", status_code=303)


@router.post("/methods/stripe", response_class=HTMLResponse)
def stripe_setup(request: Request, db: SessionDep, viewer: MemberDep) -> Response:
    """Start saving a card with Stripe: a SetupIntent whose client secret the page hands
    to Stripe's card form; Stripe sends the browser back to ``/methods/stripe/return``."""
    gateway = gateway_of(request)
    if not hasattr(gateway, "begin_saving_method"):
        return RedirectResponse("/portal/methods", status_code=303)
    try:
        setup = begin_stripe_setup(db, member=viewer.member, gateway=gateway,
                                   clock=request.app.state.clock)  # fmt: skip
    except GatewayError:
        db.rollback()
        return _page(request, db, viewer, alert=viewer.t("portal.methods.gateway_down"),
                     status_code=502)  # fmt: skip
    db.commit()
    return _page(request, db, viewer, setup=setup)


@router.get("/methods/stripe/return", response_class=HTMLResponse)
def stripe_return(
    request: Request, db: SessionDep, viewer: MemberDep, setup_intent: str = ""
) -> Response:
    """Save the card of a SetupIntent the member's browser confirmed with Stripe."""
    gateway = gateway_of(request)
    if not _SETUP_INTENT.match(setup_intent) or not hasattr(gateway, "method_from_setup_intent"):
        return _page(request, db, viewer, alert=viewer.t("portal.methods.not_saved"),
                     status_code=400)  # fmt: skip
    try:
        pm = finish_stripe_setup(
            db, member=viewer.member, gateway=gateway, setup_intent_id=setup_intent,
            clock=request.app.state.clock,
        )  # fmt: skip
    except GatewayError:
        db.rollback()
        return _page(request, db, viewer, alert=viewer.t("portal.methods.not_saved"),
                     status_code=400)  # fmt: skip
    audit.record(db, clock=request.app.state.clock, actor=viewer.actor,
                 action="portal.method.added", entity="paymentmethod", entity_id=pm.id,
                 after={"brand": pm.brand, "last4": pm.last4})  # fmt: skip
    db.commit()
    return RedirectResponse("/portal/methods?msg=card_saved", status_code=303)


@router.post("/methods/{method_id}/default")
def set_default(request: Request, db: SessionDep, viewer: MemberDep, method_id: str) -> Response:
    """Make a saved method the one renewals charge."""
    pm = _own(db, viewer, method_id)
    make_default(db, method=pm)
    db.commit()
    return RedirectResponse("/portal/methods?msg=default_set", status_code=303)


@router.post("/methods/{method_id}/remove")
def remove(request: Request, db: SessionDep, viewer: MemberDep, method_id: str) -> Response:
    """Remove a saved method (at the gateway too); kept in the history of its charges."""
    pm = _own(db, viewer, method_id)
    clock = request.app.state.clock
    try:
        detach_payment_method(db, method=pm, gateway=gateway_of(request), clock=clock)
    except GatewayError:
        db.rollback()
        return _page(request, db, viewer, alert=viewer.t("portal.methods.gateway_down"),
                     status_code=502)  # fmt: skip
    audit.record(db, clock=clock, actor=viewer.actor, action="portal.method.removed",
                 entity="paymentmethod", entity_id=pm.id,
                 before={"brand": pm.brand, "last4": pm.last4})  # fmt: skip
    db.commit()
    return RedirectResponse("/portal/methods?msg=card_removed", status_code=303)
