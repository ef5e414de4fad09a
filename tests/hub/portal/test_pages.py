"""A signed-in member's pages: invoices and receipts, paying, cards, freeze requests.

Paying goes through billing's own path: the attempt and its idempotency key are
recorded before the gateway is called, and a success settles the invoice (paid through,
access, dunning case closed).  Another member's invoice or card is a 404.
"""

from __future__ import annotations

from sqlmodel import col, select

from hub.billing.attempts import AttemptSpec, record_attempts
from hub.billing.methods import attach_payment_method
from hub.models import (
    AttemptStatus,
    ChargeAttempt,
    DunningCase,
    Entitlement,
    FreezeRequest,
    Invoice,
    Member,
    PaymentMethod,
    Subscription,
)
from tests.hub.portal.conftest import BEN, Club, pay_key


def _pay(club: Club, c, invoice_id: int, **fields: str):  # type: ignore[no-untyped-def]
    page = c.get(f"/portal/invoices/{invoice_id}")
    assert page.status_code == 200
    data = {"csrf_token": club.csrf(c), "pay_key": pay_key(page.text), **fields}
    return c.post(f"/portal/invoices/{invoice_id}/pay", data=data), data


def test_paying_with_a_test_card_settles_the_invoice_and_restores_access(club: Club) -> None:
    c = club.sign_in()
    inv = club.rows.ana_invoice
    with club.session() as s:
        assert (
            s.exec(select(DunningCase).where(DunningCase.invoice_id == inv)).one().status == "open"
        )
    answer, data = _pay(club, c, inv, method="new", number="4242 4242 4242 4242",
                        exp_month="12", exp_year="2030")  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"].endswith("?msg=paid")
    page = c.get(answer.headers["location"])
    assert "Paid. Thank you!" in page.text and "Printable receipt" in page.text
    with club.session() as s:
        invoice = s.get(Invoice, inv)
        assert invoice is not None and invoice.status == "paid"
        (attempt,) = s.exec(select(ChargeAttempt).where(ChargeAttempt.invoice_id == inv)).all()
        assert attempt.status == AttemptStatus.SUCCEEDED.value
        assert attempt.idempotency_key == f"invoice:{inv}:attempt:1"
        assert attempt.request_key == f"portal:{inv}:{data['pay_key']}"
        case = s.exec(select(DunningCase).where(DunningCase.invoice_id == inv)).one()
        assert (case.status, case.closed_reason) == ("closed", "paid")
        sub = s.get(Subscription, invoice.subscription_id)
        assert sub is not None and sub.status == "active" and sub.paid_through is not None
        ent = s.exec(select(Entitlement).where(Entitlement.member_id == club.rows.ana.id)).one()
        assert ent.valid_until is not None and ent.valid_until > club.clock.now()
        (pm,) = s.exec(select(PaymentMethod).where(PaymentMethod.member_id == club.rows.ana.id))
        assert (pm.brand, pm.last4, pm.exp_month, pm.exp_year) == ("visa", "4242", 12, 2030)
        assert "4242424242424242" not in repr(pm.model_dump())
    # The same form sent again (a double click) charges nothing more.
    again = c.post(f"/portal/invoices/{inv}/pay", data=data)
    assert again.status_code == 303 and "nothing_due" in again.headers["location"]
    assert club.gateway.charge_count(invoice_id=str(inv)) == 1
    history = c.get("/portal/payments").text
    assert "visa 4242" in history and "THB 1,070.00" in history
    home = c.get("/portal/home").text
    assert 'id="nothing-due"' in home and "Active" in home


def test_a_declined_card_says_why_and_the_invoice_stays_open(club: Club) -> None:
    c = club.sign_in()
    inv = club.rows.ana_invoice
    answer, _ = _pay(club, c, inv, method="new", number="4000000000009995",
                     exp_month="12", exp_year="2030")  # fmt: skip
    assert answer.status_code == 402
    assert "not enough funds" in answer.text and 'id="pay-form"' in answer.text
    with club.session() as s:
        assert s.get(Invoice, inv).status == "open"  # type: ignore[union-attr]
        pm = s.exec(select(PaymentMethod).where(PaymentMethod.last4 == "9995")).one()
    answer, _ = _pay(club, c, inv, method=str(pm.id))
    assert answer.status_code == 402
    answer, _ = _pay(club, c, inv, method="new", number="5555555555554444",
                     exp_month="1", exp_year="2031")  # fmt: skip
    assert answer.status_code == 303
    with club.session() as s:
        attempts = s.exec(
            select(ChargeAttempt).where(ChargeAttempt.invoice_id == inv).order_by(
                col(ChargeAttempt.attempt))
        ).all()  # fmt: skip
        assert [a.status for a in attempts] == ["declined", "declined", "succeeded"]
        default = s.exec(select(PaymentMethod).where(PaymentMethod.is_default == True)).one()  # noqa: E712
        assert default.last4 == "4444"  # the card that worked is the one renewals charge


def test_bad_card_fields_get_messages_and_nothing_is_charged(club: Club) -> None:
    c = club.sign_in()
    inv = club.rows.ana_invoice
    answer, _ = _pay(club, c, inv, method="new", number="4242 4242 4242 4241",
                     exp_month="13", exp_year="2020")  # fmt: skip
    assert answer.status_code == 422
    assert 'id="e-number">Not a card number.<' in answer.text
    assert 'id="e-exp_month">A month from 1 to 12.<' in answer.text
    assert 'id="e-exp_year">A year like 2029.<' in answer.text
    assert "4242 4242 4242 4241" not in answer.text  # a typed number is never sent back
    answer, _ = _pay(club, c, inv, method="new", number="4242424242424242",
                     exp_month="1", exp_year="2026")  # fmt: skip
    assert 'id="e-exp_year">This card has expired.<' in answer.text
    answer, _ = _pay(club, c, inv, method="new", number="4111111111111111",
                     exp_month="12", exp_year="2030")  # fmt: skip
    assert 'id="e-number">This card cannot be saved.' in answer.text  # not a test card
    answer, _ = _pay(club, c, inv, method="999")
    assert 'id="e-method">Choose one of your cards.<' in answer.text
    page = c.get(f"/portal/invoices/{inv}")
    data = {"csrf_token": club.csrf(c), "pay_key": "short", "method": "new"}
    bad_key = c.post(f"/portal/invoices/{inv}/pay", data=data)
    assert bad_key.status_code == 422 and "The form expired" in bad_key.text
    assert 'id="pay-form"' in page.text
    assert club.gateway.charge_count() == 0


def test_another_members_invoice_and_card_are_not_found(club: Club) -> None:
    c = club.sign_in()
    ben_inv = club.rows.ben_invoice
    ben = club.sign_in(BEN)
    ben_token = club.csrf(ben)
    ben.post("/portal/methods", data={"csrf_token": ben_token, "number": "4242424242424242",
                                      "exp_month": "12", "exp_year": "2030"})  # fmt: skip
    with club.session() as s:
        ben_pm = s.exec(
            select(PaymentMethod).where(PaymentMethod.member_id == club.rows.ben.id)
        ).one()
    token = club.csrf(c)
    for path in (f"/portal/invoices/{ben_inv}", f"/portal/invoices/{ben_inv}/print",
                 "/portal/invoices/999999", "/portal/invoices/abc"):  # fmt: skip
        answer = c.get(path)
        assert answer.status_code == 404 and "Not found" in answer.text, path
    for path in (f"/portal/invoices/{ben_inv}/pay", f"/portal/methods/{ben_pm.id}/default",
                 f"/portal/methods/{ben_pm.id}/remove"):  # fmt: skip
        answer = c.post(path, data={"csrf_token": token, "method": str(ben_pm.id)})
        assert answer.status_code == 404, path
    answer, _ = _pay(club, c, club.rows.ana_invoice, method=str(ben_pm.id))
    assert answer.status_code == 422  # Ben's card is not one of Ana's
    assert club.gateway.charge_count() == 0
    with club.session() as s:
        assert s.get(PaymentMethod, ben_pm.id).detached_at is None  # type: ignore[union-attr]


def test_invoices_list_and_printable_copy_in_the_members_language(club: Club) -> None:
    c = club.sign_in()
    inv = club.rows.ana_invoice
    listing = c.get("/portal/invoices").text
    assert f'<a href="/portal/invoices/{inv}">CLUB1-00000' in listing
    assert (
        f'id="invoice-{inv}"' in listing and f'id="invoice-{club.rows.ben_invoice}"' not in listing
    )
    printed = c.get(f"/portal/invoices/{inv}/print")
    assert printed.status_code == 200 and "Ana Costa" in printed.text and "1,070.00" in printed.text
    c.post("/portal/language", data={"language": "th", "csrf_token": club.csrf(c)})
    assert "ใบแจ้งหนี้" in c.get(f"/portal/invoices/{inv}/print").text
    page = c.get(f"/portal/invoices/{inv}")
    assert "ชำระ THB 1,070.00 ตอนนี้" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["cache-control"] == "no-store"


def test_cards_are_added_made_default_and_removed(club: Club) -> None:
    c = club.sign_in()
    token = club.csrf(c)
    for number in ("4242424242424242", "5555 5555 5555 4444"):
        card = {"number": number, "exp_month": "12", "exp_year": "2030"}
        answer = c.post("/portal/methods", data={"csrf_token": token, **card})
        assert answer.status_code == 303 and "card_saved" in answer.headers["location"]
    bad = c.post("/portal/methods", data={"csrf_token": token, "number": "12", "exp_month": "",
                                          "exp_year": "29"})  # fmt: skip
    assert bad.status_code == 422 and 'id="e-number"' in bad.text and 'id="e-exp_month"' in bad.text
    with club.session() as s:
        visa, master = s.exec(
            select(PaymentMethod).where(PaymentMethod.member_id == club.rows.ana.id).order_by(
                col(PaymentMethod.id))
        ).all()  # fmt: skip
    assert visa.is_default and not master.is_default
    assert (
        c.post(f"/portal/methods/{master.id}/default", data={"csrf_token": token}).status_code
        == 303
    )
    assert (
        c.post(f"/portal/methods/{master.id}/remove", data={"csrf_token": token}).status_code == 303
    )
    with club.session() as s:
        visa_now = s.get(PaymentMethod, visa.id)
        master_now = s.get(PaymentMethod, master.id)
    assert visa_now is not None and master_now is not None
    assert visa_now.is_default and master_now.detached_at is not None
    page = c.get("/portal/methods").text
    assert f'id="pm-{visa.id}"' in page and f'id="pm-{master.id}"' not in page


def test_freeze_requests_are_checked_and_recorded_for_staff(club: Club) -> None:
    c = club.sign_in()
    token = club.csrf(c)

    def ask(**fields: str):  # type: ignore[no-untyped-def]
        return c.post("/portal/freeze", data={"csrf_token": token, **fields})

    answer = ask(from_on="", resume_on="not a date")
    assert answer.status_code == 422
    assert 'id="e-from_on">Required.<' in answer.text
    assert 'id="e-resume_on">Not a valid date.<' in answer.text
    answer = ask(from_on="2026-11-01", resume_on="2026-11-20")
    assert 'id="e-from_on">Cannot start in the past.<' in answer.text
    answer = ask(from_on="2026-12-20", resume_on="2026-12-10")
    assert 'id="e-resume_on">Must be after the first frozen day.<' in answer.text
    answer = ask(from_on="2026-12-20", resume_on="2027-06-10")
    assert 'id="e-resume_on">A freeze lasts at most 90 days.<' in answer.text
    answer = ask(from_on="2026-12-20", resume_on="2027-01-10", reason="x" * 501)
    assert 'id="e-reason">At most 500 characters.<' in answer.text
    assert 'value="2026-12-20"' in answer.text  # what was typed stays
    answer = ask(from_on="2026-12-20", resume_on="2027-01-10", reason="Visiting family")
    assert answer.status_code == 303 and "freeze_requested" in answer.headers["location"]
    again = ask(from_on="2027-01-01", resume_on="2027-01-20")
    assert 'id="e-from_on">You already asked for a freeze over these days.<' in again.text
    with club.session() as s:
        (row,) = s.exec(select(FreezeRequest)).all()
    assert (row.member_id, str(row.from_on), str(row.resume_on), row.status) == (
        club.rows.ana.id, "2026-12-20", "2027-01-10", "pending")  # fmt: skip
    assert "Waiting for the club" in c.get("/portal/freeze").text


def test_a_charge_in_flight_is_not_doubled(club: Club) -> None:
    inv = club.rows.ana_invoice
    with club.session() as s:
        ana = s.get(Member, club.rows.ana.id)
        assert ana is not None
        pm = attach_payment_method(s, member=ana, gateway=club.gateway,
                                   source="4242424242424242", clock=club.clock)  # fmt: skip
        record_attempts(s, [AttemptSpec(inv, 107000, "THB", pm.id or 0)], gateway="simulated",
                        clock=club.clock)  # fmt: skip
        s.commit()  # e.g. the billing run recorded it and has not heard back yet
    c = club.sign_in()
    answer, _ = _pay(club, c, inv, method=str(pm.id))
    assert answer.status_code == 402 and "still waiting for the bank" in answer.text
    with club.session() as s:
        assert len(s.exec(select(ChargeAttempt).where(ChargeAttempt.invoice_id == inv)).all()) == 1
    assert club.gateway.charge_count() == 0
