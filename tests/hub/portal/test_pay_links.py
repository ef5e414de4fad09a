"""``/portal/pay/<token>``: a dunning email's link pays the invoice (or updates the card)
without signing in; expired, tampered and mismatched links get a clear page."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from hub.dunning.paylink import PayLinks
from hub.models import DunningCase, Invoice, PaymentMethod
from hub.portal.paylinks import pay_links
from tests.hub.portal.conftest import Club, form_token, pay_key


def _link(club: Club, member_id: str, invoice_id: str, **kw: object) -> str:
    links = pay_links(club.settings)
    expires = club.clock.now() + timedelta(days=14)
    url = links.url(member_id, invoice_id, expires_at=expires, **kw)  # type: ignore[arg-type]
    assert url.startswith("http://testserver/portal/pay/")
    return url.removeprefix("http://testserver")


def test_a_pay_link_pays_the_invoice_without_signing_in(club: Club) -> None:
    inv = club.rows.ana_invoice
    path = _link(club, f"m-{club.rows.ana.id}", f"inv-{inv}")
    c = club.client()
    page = c.get(path)
    assert page.status_code == 200
    assert "Invoice for Ana" in page.text and "THB 1,070.00" in page.text
    assert c.post(path, data={"pay_key": pay_key(page.text), "method": "new"}).status_code == 403
    answer = c.post(path, data={
        "csrf_token": form_token(page.text), "pay_key": pay_key(page.text), "method": "new",
        "number": "4242424242424242", "exp_month": "12", "exp_year": "2030",
    })  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"].endswith("?msg=paid")
    done = c.get(answer.headers["location"])
    assert "Paid. Thank you!" in done.text and 'id="pay-form"' not in done.text
    with club.session() as s:
        assert s.get(Invoice, inv).status == "paid"  # type: ignore[union-attr]
        case = s.exec(select(DunningCase).where(DunningCase.invoice_id == inv)).one()
        assert case.closed_reason == "paid"
    assert c.get("/portal/home").status_code == 303  # the link did not sign anyone in


def test_an_update_card_link_saves_a_new_default_card_then_offers_to_pay(club: Club) -> None:
    path = _link(club, str(club.rows.ana.id), str(club.rows.ana_invoice), purpose="update_card")
    c = club.client()
    page = c.get(path)
    assert 'id="update-card"' in page.text
    bad = c.post(path, data={"csrf_token": form_token(page.text), "action": "card",
                             "number": "1234", "exp_month": "12", "exp_year": "2030"})  # fmt: skip
    assert bad.status_code == 422 and 'id="e-number">Not a card number.<' in bad.text
    answer = c.post(path, data={"csrf_token": form_token(page.text), "action": "card",
                                "number": "5555555555554444", "exp_month": "3",
                                "exp_year": "2031"})  # fmt: skip
    assert answer.status_code == 303 and "card_saved" in answer.headers["location"]
    with club.session() as s:
        pm = s.exec(select(PaymentMethod).where(PaymentMethod.member_id == club.rows.ana.id)).one()
    assert pm.is_default and (pm.brand, pm.last4) == ("mastercard", "4444")
    page = c.get(answer.headers["location"])
    assert "Card saved." in page.text and f'id="method-{pm.id}"' in page.text
    assert club.gateway.charge_count() == 0


def test_expired_tampered_and_mismatched_links_get_clear_pages(club: Club) -> None:
    c = club.client()
    path = _link(club, str(club.rows.ana.id), str(club.rows.ana_invoice))
    club.clock.advance(timedelta(days=15))
    expired = c.get(path)
    assert expired.status_code == 410 and "This payment link has expired" in expired.text
    tampered = c.get(path[:-4] + ("AAAA" if not path.endswith("AAAA") else "BBBB"))
    assert tampered.status_code == 400 and "This payment link is not valid" in tampered.text
    foreign = PayLinks(b"another-secret-of-32-bytes......", base_url="http://testserver/portal/pay")
    token = foreign.token(str(club.rows.ana.id), str(club.rows.ana_invoice),
                          expires_at=club.clock.now() + timedelta(days=1))  # fmt: skip
    assert c.get(f"/portal/pay/{token}").status_code == 400
    assert c.post(f"/portal/pay/{token}", data={}).status_code == 400
    mismatched = _link(club, str(club.rows.ana.id), str(club.rows.ben_invoice))
    assert c.get(mismatched).status_code == 404
    nonsense = _link(club, "someone", "something")
    assert c.get(nonsense).status_code == 400
    assert c.get("/portal/pay/" + "x" * 5000).status_code == 400
