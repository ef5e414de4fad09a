"""One pay path: a pay link from a dunning message and the member portal's pay form both
settle an invoice through :func:`hub.billing.paying.pay_invoice`, with the same rules --
a repeated request charges once, nothing is sent while another charge is in flight, and
a new card becomes the default only once it pays."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from hub.dunning import payments as link_payments
from hub.dunning.links import pay_links
from hub.models import DunningCase, Invoice, PaymentMethod
from hub.portal import payments as portal_payments
from tests.hub.dunning.club import DECLINES, PAYS, PAYS_TOO
from tests.hub.dunning.test_worker_db import make_club


def test_pay_link_and_portal_share_one_pay_path(db_url: str, tmp_path: Path) -> None:
    club = make_club(db_url, tmp_path)
    member, _ = club.failing_member()
    club.advance(days=31)  # the renewal declines: a case is open
    with club.session() as s:
        case = s.exec(select(DunningCase)).one()
    invoice_id = case.invoice_id
    token = pay_links(club.settings).token(
        str(member.id), str(invoice_id), expires_at=club.clock.now() + timedelta(days=1)
    )
    common = {"engine": club.engine, "settings": club.settings, "clock": club.clock,
              "gateway": club.gateway}  # fmt: skip

    # A card typed into the pay link's form that declines is saved, but not made the
    # default: renewals keep charging the card they had.
    declined = link_payments.pay_open_invoice(**common, token=token, card_source=DECLINES,
                                              request_key="link-declines")  # fmt: skip
    assert declined.status == "declined" and not declined.paid
    with club.session() as s:
        cards = s.exec(select(PaymentMethod).where(PaymentMethod.member_id == member.id)).all()
    new = max(cards, key=lambda m: m.id or 0)
    assert not new.is_default

    # The portal's charge is sent but its answer is lost: it is in flight.
    good = club.add_card(member, PAYS)
    club.gateway.fault = "lost_response"
    first = portal_payments.pay_open_invoice(**common, invoice_id=invoice_id,
                                             payment_method_id=good.id or 0,
                                             request_key="portal:form-1",
                                             member_id=member.id)  # fmt: skip
    club.gateway.fault = None
    assert first.status == "pending"
    charges = club.gateway.charge_count(invoice_id=str(invoice_id))
    # Meanwhile the member tries the pay link with yet another card: nothing is sent.
    meanwhile = link_payments.pay_open_invoice(**common, token=token, card_source=PAYS_TOO,
                                               request_key="link-2")  # fmt: skip
    assert meanwhile.status == "pending"
    assert club.gateway.charge_count(invoice_id=str(invoice_id)) == charges

    # The portal form is sent again (a reload): the same attempt goes out, once.
    again = portal_payments.pay_open_invoice(**common, invoice_id=invoice_id,
                                             payment_method_id=good.id or 0,
                                             request_key="portal:form-1",
                                             member_id=member.id)  # fmt: skip
    assert again.status == "paid" and again.paid
    assert club.gateway.charge_count(invoice_id=str(invoice_id), succeeded_only=True) == 1
    assert club.get(Invoice, invoice_id).status == "paid"
    with club.session() as s:
        assert s.get(DunningCase, case.id).closed_reason == "paid"  # type: ignore[union-attr]
    # The pay link now finds nothing to pay, and charges nothing.
    late = link_payments.pay_open_invoice(**common, token=token, card_source=PAYS_TOO)
    assert late.status == "already_paid" and late.paid
    assert club.gateway.charge_count(invoice_id=str(invoice_id), succeeded_only=True) == 1
    club.gateway.close()


def test_a_new_card_that_pays_through_the_pay_link_becomes_the_default(
    db_url: str, tmp_path: Path
) -> None:
    club = make_club(db_url, tmp_path)
    member, _ = club.failing_member()
    club.advance(days=31)
    with club.session() as s:
        case = s.exec(select(DunningCase)).one()
    token = pay_links(club.settings).token(
        str(member.id), str(case.invoice_id), expires_at=club.clock.now() + timedelta(days=1)
    )
    paid = link_payments.pay_open_invoice(engine=club.engine, settings=club.settings,
                                          clock=club.clock, gateway=club.gateway, token=token,
                                          card_source=PAYS_TOO, request_key="k1")  # fmt: skip
    assert paid.status == "paid"
    with club.session() as s:
        (default,) = s.exec(
            select(PaymentMethod).where(
                PaymentMethod.member_id == member.id,
                PaymentMethod.is_default == True,  # noqa: E712
            )
        ).all()
    assert default.last4 == PAYS_TOO[-4:]
    club.gateway.close()
