"""The pay form, shared by a signed-in member's invoice page and by pay links.

The form names a saved method (``method=<id>``) or a new test card (``method=new``
with ``number``, ``exp_month``, ``exp_year``), and carries ``pay_key``, a one-time key
made when the page was shown: it becomes the charge's ``request_key``, so the same form
sent twice never charges twice.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from fastapi import Request
from sqlmodel import Session
from starlette.datastructures import FormData

from hub.billing.gateway import PaymentGateway, PaymentMethodRefused
from hub.billing.services import billing_services
from hub.console.forms import int_param, text_field
from hub.console.i18n import Translator
from hub.models import Invoice, Member, PaymentMethod
from hub.portal import account
from hub.portal.cards import CardForm, save_card
from hub.portal.payments import PayOutcome, pay_open_invoice
from hub.services import audit

_PAY_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_pay_key() -> str:
    """A fresh one-time key for a pay form."""
    return secrets.token_urlsafe(24)


def gateway_of(request: Request) -> PaymentGateway:
    """The hub's payment gateway."""
    return billing_services(request.app.state).gateway


def takes_test_cards(request: Request) -> bool:
    """True when cards are typed into the portal's own form (the simulated gateway)."""
    return bool(gateway_of(request).name == "simulated")


@dataclass
class PayAttempt:
    """What became of a submitted pay form: field errors, or an outcome."""

    errors: dict[str, str] = field(default_factory=dict)
    outcome: PayOutcome | None = None
    values: dict[str, str] = field(default_factory=dict)

    def alert(self, t: Translator) -> str:
        """The message shown above the form for an outcome other than ``paid``."""
        if self.outcome is None or self.outcome.paid:
            return ""
        if self.outcome.status == "declined":
            key = f"portal.pay.declined.{self.outcome.decline_reason}"
            return t(key) if t.has(key) else t("portal.pay.declined.other")
        return t(f"portal.pay.{self.outcome.status}")


def read_card(form: FormData, request: Request) -> CardForm:
    """The card fields of a form, checked against today's date."""
    return CardForm.read(
        number=text_field(form, "number", 40),
        exp_month=text_field(form, "exp_month", 4),
        exp_year=text_field(form, "exp_year", 6),
        today=request.app.state.clock.now().date(),
    )


def add_card(
    request: Request,
    db: Session,
    member: Member,
    card: CardForm,
    *,
    make_default: bool,
    actor: str,
) -> tuple[PaymentMethod | None, dict[str, str]]:
    """Save a checked card for *member*: ``(method, {})`` or ``(None, field errors)``."""
    if card.errors:
        return None, dict(card.errors)
    clock = request.app.state.clock
    try:
        pm = save_card(db, member=member, gateway=gateway_of(request), form=card, clock=clock,
                       make_default=make_default)  # fmt: skip
    except PaymentMethodRefused:
        db.rollback()
        return None, {"number": "portal.card.refused"}
    audit.record(db, clock=clock, actor=actor, action="portal.method.added",
                 entity="paymentmethod", entity_id=pm.id,
                 after={"brand": pm.brand, "last4": pm.last4})  # fmt: skip
    db.commit()
    return pm, {}


def pay(
    request: Request,
    db: Session,
    *,
    member: Member,
    invoice: Invoice,
    form: FormData,
    actor: str,
) -> PayAttempt:
    """Check the pay form, save a new card if one was typed, and charge the invoice.

    A new card that pays becomes the member's default, so renewals charge it too.
    """
    choice = text_field(form, "method", 24)
    pay_key = text_field(form, "pay_key", 80)
    values = {"method": choice, "number": "", "exp_month": text_field(form, "exp_month", 4),
              "exp_year": text_field(form, "exp_year", 6)}  # fmt: skip
    if not _PAY_KEY.match(pay_key):
        return PayAttempt(errors={"": "portal.pay.form_expired"}, values=values)
    gateway = gateway_of(request)
    if choice == "new":
        if not takes_test_cards(request):
            return PayAttempt(errors={"method": "portal.pay.add_card_first"}, values=values)
        pm, errors = add_card(request, db, member, read_card(form, request), make_default=False,
                              actor=actor)  # fmt: skip
        if pm is None:
            return PayAttempt(errors=errors, values=values)
    else:
        method_id = int_param(choice, default=0)
        pm = account.own_method(db, member_id=member.id or 0, method_id=method_id)
        if pm is None or pm.gateway != gateway.name:
            return PayAttempt(errors={"method": "portal.pay.choose_method"}, values=values)
    app = request.app
    outcome = pay_open_invoice(
        engine=app.state.engine, settings=app.state.settings, clock=app.state.clock,
        gateway=gateway, invoice_id=invoice.id or 0, payment_method_id=pm.id or 0,
        request_key=f"portal:{invoice.id}:{pay_key}", actor=actor, member_id=member.id,
        default_if_paid=choice == "new",  # the card that just worked is the one to renew with
    )  # fmt: skip
    return PayAttempt(outcome=outcome, values=values)
