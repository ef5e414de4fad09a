"""Adding a payment method from the portal.

With the simulated gateway the member types a test card (see
:mod:`hub.billing.sim_cards`) into a form; the number goes to the gateway, which keeps
a token, and is then forgotten -- the hub stores brand, last four and expiry only::

    form = CardForm.read(number="4242 4242 4242 4242", exp_month="12", exp_year="2029",
                         today=date(2026, 12, 1))
    form.errors                    # {} or {"number": "portal.card.invalid_number", ...}
    pm = save_card(db, member=m, gateway=gw, form=form, clock=clock)

With Stripe the card never touches the hub: :func:`begin_stripe_setup` creates a
SetupIntent whose client secret the page hands to Stripe's own card form, and
:func:`finish_stripe_setup` saves the method the confirmed SetupIntent holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from gatehouse.clock import Clock
from hub.billing.gateway import PaymentGateway
from hub.billing.methods import attach_payment_method, ensure_customer
from hub.models import Member, PaymentMethod


def luhn_ok(digits: str) -> bool:
    """True if *digits* pass the Luhn check every card number passes."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def _small_int(text: str, digits: int) -> int | None:
    text = text.strip()
    if not text.isascii() or not text.isdigit() or not 1 <= len(text) <= digits:
        return None
    return int(text)


@dataclass
class CardForm:
    """The test-card form, checked.  ``errors`` maps a field to a message id."""

    number: str
    exp_month: int | None
    exp_year: int | None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, *, number: str, exp_month: str, exp_year: str, today: date) -> CardForm:
        """Check the typed fields; the number keeps only its digits."""
        digits = "".join(ch for ch in number if ch not in " -")
        errors: dict[str, str] = {}
        if not digits:
            errors["number"] = "form.required"
        elif not (digits.isascii() and digits.isdigit() and 12 <= len(digits) <= 19) or not luhn_ok(
            digits
        ):
            errors["number"] = "portal.card.invalid_number"
        month = _small_int(exp_month, 2)
        if month is None or not 1 <= month <= 12:
            errors["exp_month"] = "portal.card.invalid_month"
        year = _small_int(exp_year, 4)
        if year is not None and year < 100:
            year += 2000
        if year is None or not today.year <= year <= today.year + 20:
            errors["exp_year"] = "portal.card.invalid_year"
        elif (
            month is not None
            and "exp_month" not in errors
            and (year, month)
            < (
                today.year,
                today.month,
            )
        ):
            errors["exp_year"] = "portal.card.expired"
        return cls(digits, month, year, errors)


def save_card(
    db: Session,
    *,
    member: Member,
    gateway: PaymentGateway,
    form: CardForm,
    clock: Clock,
    make_default: bool = False,
) -> PaymentMethod:
    """Save a checked test card (flushed; caller commits).  Raises
    :class:`~hub.billing.gateway.PaymentMethodRefused` if the gateway refuses it."""
    return attach_payment_method(
        db, member=member, gateway=gateway, source=form.number, clock=clock,
        make_default=make_default, exp_month=form.exp_month, exp_year=form.exp_year,
    )  # fmt: skip


def begin_stripe_setup(
    db: Session, *, member: Member, gateway: Any, clock: Clock
) -> tuple[str, str]:
    """A SetupIntent for *member*: ``(setup_intent_id, client_secret)``."""
    customer = ensure_customer(db, member=member, gateway=gateway, clock=clock)
    session = gateway.begin_saving_method(customer=customer)
    return session.setup_intent_id, session.client_secret


def finish_stripe_setup(
    db: Session, *, member: Member, gateway: Any, setup_intent_id: str, clock: Clock
) -> PaymentMethod:
    """Save the method a confirmed SetupIntent holds (it must be the member's)."""
    saved = gateway.method_from_setup_intent(setup_intent_id)
    return attach_payment_method(
        db, member=member, gateway=gateway, source=saved.token, clock=clock
    )
