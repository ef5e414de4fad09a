"""The portal with StripeGateway (against a localstripe process): card numbers never
reach the hub -- adding a card starts a SetupIntent whose client secret the page hands
to Stripe's form -- and a saved Stripe card pays an open invoice."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlmodel import select

from hub.billing.methods import attach_payment_method
from hub.billing.services import BillingServices
from hub.billing.stripe_gateway import StripeGateway
from hub.dunning.mailer import FolderMailer
from hub.models import GatewayCustomer, Invoice, Member
from tests.hub.billing.conftest import localstripe  # noqa: F401  (the fixture)
from tests.hub.portal.conftest import Club, pay_key

_SECRET = re.compile(r'data-setup-intent="(seti_[^"]+)" data-client-secret="([^"]+)"')


@pytest.fixture
def stripe_club(club: Club, localstripe: str) -> Iterator[tuple[Club, StripeGateway]]:  # noqa: F811
    """The club, its hub now charging through Stripe (localstripe)."""
    gateway = StripeGateway.connect(
        "sk_test_portal", api_base=localstripe, webhook_secret="whsec_portal",
        max_network_retries=0,
    )  # fmt: skip
    club.app.state.billing = BillingServices(  # type: ignore[attr-defined]
        gateway, FolderMailer(club.outbox, sender=club.settings.mail_from)
    )
    yield club, gateway


def test_adding_a_card_starts_a_setup_intent_for_the_member(
    stripe_club: tuple[Club, StripeGateway],
) -> None:
    club, gateway = stripe_club
    c = club.sign_in()
    page = c.get("/portal/methods").text
    assert 'id="stripe-add"' in page and 'name="number"' not in page
    answer = c.post("/portal/methods/stripe", data={"csrf_token": club.csrf(c)})
    assert answer.status_code == 200
    found = _SECRET.search(answer.text)
    assert found, answer.text[:500]
    intent_id, secret = found.groups()
    assert secret.startswith(intent_id)
    with club.session() as s:
        customer = s.exec(
            select(GatewayCustomer).where(GatewayCustomer.member_id == club.rows.ana.id)
        ).one()
    intent = gateway.client.v1.setup_intents.retrieve(intent_id)
    assert intent.customer == customer.customer_ref
    unconfirmed = c.get(f"/portal/methods/stripe/return?setup_intent={intent_id}")
    assert unconfirmed.status_code == 400 and "The card was not saved" in unconfirmed.text
    assert c.get("/portal/methods/stripe/return?setup_intent=nonsense").status_code == 400
    pay_page = c.get(f"/portal/invoices/{club.rows.ana_invoice}")
    assert "Add a card first, then pay." in pay_page.text and 'name="number"' not in pay_page.text
    typed = c.post(f"/portal/invoices/{club.rows.ana_invoice}/pay", data={
        "csrf_token": club.csrf(c), "pay_key": pay_key(pay_page.text), "method": "new",
        "number": "4242424242424242", "exp_month": "12", "exp_year": "2030",
    })  # fmt: skip
    assert typed.status_code == 422 and 'id="e-method">Add a card first' in typed.text


def test_a_saved_stripe_card_pays_the_open_invoice(
    stripe_club: tuple[Club, StripeGateway],
) -> None:
    club, gateway = stripe_club
    with club.session() as s:
        ana = s.get(Member, club.rows.ana.id)
        assert ana is not None
        pm = attach_payment_method(s, member=ana, gateway=gateway, source="pm_card_visa",
                                   clock=club.clock)  # fmt: skip
        s.commit()
    c = club.sign_in()
    inv = club.rows.ana_invoice
    page = c.get(f"/portal/invoices/{inv}")
    answer = c.post(f"/portal/invoices/{inv}/pay", data={
        "csrf_token": club.csrf(c), "pay_key": pay_key(page.text), "method": str(pm.id),
    })  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"].endswith("?msg=paid")
    with club.session() as s:
        assert s.get(Invoice, inv).status == "paid"  # type: ignore[union-attr]
