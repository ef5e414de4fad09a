"""The portal on PostgreSQL: a link signs in once and a pay form charges once."""

from __future__ import annotations

from hub.models import Invoice
from tests.hub.portal.conftest import Club, pay_key


def _pay_page(club: Club, c, invoice_id: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    page = c.get(f"/portal/invoices/{invoice_id}")
    return {"csrf_token": club.csrf(c), "pay_key": pay_key(page.text)}


def test_sign_in_and_pay_on_postgres(pg_club: Club) -> None:
    club = pg_club
    c = club.client()
    url = club.ask_link(c, "ana@example.com")
    assert club.use_link(c, url).status_code == 303
    assert club.use_link(club.client(), url).status_code == 410
    inv = club.rows.ana_invoice
    data = {**_pay_page(club, c, inv), "method": "new", "number": "4242424242424242",
            "exp_month": "12", "exp_year": "2030"}  # fmt: skip
    assert c.post(f"/portal/invoices/{inv}/pay", data=data).status_code == 303
    assert c.post(f"/portal/invoices/{inv}/pay", data=data).status_code == 303
    with club.session() as s:
        assert s.get(Invoice, inv).status == "paid"  # type: ignore[union-attr]
    assert club.gateway.charge_count(invoice_id=str(inv)) == 1
