"""Money at the front desk: front desk staff see a member's open invoices on the member
page and take cash or a transfer for them -- all or part of the balance -- and nothing
else of billing.  Through signed-in ``TestClient``s on a real (SQLite) database."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import col, select

from hub.models import (
    AuditLog,
    DunningCase,
    Entitlement,
    Invoice,
    Payment,
    Role,
    Subscription,
)
from tests.hub.console.billing_rows import Billed, bill_a_month
from tests.hub.console.conftest import Console

_KEY = re.compile(r'name="form_key" value="([^"]+)"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_AMOUNT = re.compile(r'id="f-amount" name="amount" inputmode="decimal" value="([^"]*)"')


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'<div class="field-error" id="e-{name}">([^<]*)</div>', html)
    return found.group(1) if found else ""


def _pay_url(invoice: Invoice) -> str:
    return f"/console/members/{invoice.member_id}/invoices/{invoice.id}/pay"


def _form(client: TestClient, invoice: Invoice) -> dict[str, str]:
    """The desk form as shown: its tokens and the amount it suggests."""
    page = client.get(_pay_url(invoice))
    assert page.status_code == 200, page.text[:300]
    key, csrf, amount = _KEY.search(page.text), _CSRF.search(page.text), _AMOUNT.search(page.text)
    assert key and csrf and amount, page.text[:500]
    return {"form_key": key.group(1), "csrf_token": csrf.group(1), "amount": amount.group(1)}


def _desk(console: Console) -> tuple[TestClient, Billed]:
    return console.client(Role.FRONT_DESK), bill_a_month(console)


def _payments(console: Console, invoice: Invoice) -> list[Payment]:
    with console.session() as s:
        return list(
            s.exec(
                select(Payment).where(Payment.invoice_id == invoice.id).order_by(col(Payment.id))
            )
        )


def test_front_desk_takes_a_part_payment_then_the_rest(console: Console) -> None:
    client, billed = _desk(console)
    failed = billed.failed  # a declined card: open, with a dunning case, access on hold
    with console.session() as s:
        sub = s.get(Subscription, failed.subscription_id)
        assert sub is not None and sub.status == "past_due"
        before = {e.id: e.valid_until for e in s.exec(
            select(Entitlement).where(Entitlement.member_id == failed.member_id))}  # fmt: skip

    member_page = client.get(f"/console/members/{failed.member_id}").text
    assert 'id="desk-invoices"' in member_page and f'id="take-payment-{failed.id}"' in member_page
    assert "THB 1,070.00" in member_page and 'id="member-payments"' not in member_page

    form = _form(client, failed)
    assert form["amount"] == "1070.00"  # the balance, ready to take
    part = client.post(_pay_url(failed), data={**form, "method": "cash", "amount": "500",
                                               "reference": "R-2001"})  # fmt: skip
    assert part.status_code == 303, part.text[:500]
    assert part.headers["location"].endswith(
        f"/console/members/{failed.member_id}?msg=desk_part_paid"
    )
    with console.session() as s:
        assert s.get(Invoice, failed.id).status == "open"  # type: ignore[union-attr]
        case = s.exec(select(DunningCase).where(DunningCase.invoice_id == failed.id)).one()
        assert case.status == "open"
    assert "Part payment recorded" in client.get(part.headers["location"]).text

    rest = _form(client, failed)
    assert rest["amount"] == "570.00"
    answer = client.post(_pay_url(failed), data={**rest, "method": "transfer",
                                                 "reference": "TR-77"})  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"].endswith("msg=desk_paid")

    assert [(p.amount, p.method, p.reference) for p in _payments(console, failed)] == [
        (50000, "cash", "R-2001"), (57000, "transfer", "TR-77"),
    ]  # fmt: skip
    desk_user = f"user:{console.users[Role.FRONT_DESK].id}"
    assert {p.recorded_by for p in _payments(console, failed)} == {desk_user}
    with console.session() as s:
        invoice = s.get(Invoice, failed.id)
        assert invoice is not None and invoice.status == "paid"
        case = s.exec(select(DunningCase).where(DunningCase.invoice_id == failed.id)).one()
        assert (case.status, case.closed_reason) == ("closed", "paid")
        sub = s.get(Subscription, failed.subscription_id)
        assert sub is not None and sub.status == "active"
        assert sub.paid_through == invoice.period_end - timedelta(days=1)  # its last day
        after = list(s.exec(select(Entitlement).where(Entitlement.member_id == failed.member_id)))
        audit = list(s.exec(select(AuditLog).where(AuditLog.action == "invoice.pay")))
    assert before == {}  # the declined card left no access
    assert len(after) == 1, "paying the balance gives access back"
    # ...to the end of the paid period: midnight at the club after its last day
    assert after[0].valid_until is not None
    assert after[0].valid_until >= console.clock.now() + timedelta(days=29)
    assert [a.actor for a in audit] == [desk_user, desk_user]
    assert [a.after["payment"]["amount"] for a in audit] == [50000, 57000]  # type: ignore[index]

    page = client.get(f"/console/members/{failed.member_id}").text
    assert f'id="take-payment-{failed.id}"' not in page and 'id="desk-nothing-due"' in page
    done = client.get(_pay_url(failed)).text
    assert 'id="desk-pay-form"' not in done and 'id="desk-nothing-due"' in done


def test_the_same_form_sent_twice_records_one_payment(console: Console) -> None:
    client, billed = _desk(console)
    form = {**_form(client, billed.unpaid), "method": "cash", "amount": "100"}
    first = client.post(_pay_url(billed.unpaid), data=form)
    again = client.post(_pay_url(billed.unpaid), data=form)  # a double click
    assert first.status_code == again.status_code == 303
    assert [p.amount for p in _payments(console, billed.unpaid)] == [10000]
    whole = {**_form(client, billed.unpaid), "method": "cash", "amount": ""}  # the balance
    assert client.post(_pay_url(billed.unpaid), data=whole).status_code == 303
    reload = client.post(_pay_url(billed.unpaid), data=whole)  # paid now: still no 2nd
    assert reload.status_code == 303 and reload.headers["location"].endswith("msg=desk_paid")
    assert [p.amount for p in _payments(console, billed.unpaid)] == [10000, 97000]
    with console.session() as s:
        n = len(list(s.exec(select(AuditLog).where(AuditLog.action == "invoice.pay"))))
    assert n == 2
    no_key = {k: v for k, v in form.items() if k != "form_key"}
    stale = client.post(_pay_url(billed.unpaid), data=no_key)
    assert stale.status_code == 422 and 'id="error-pay"' in stale.text


def test_bad_amounts_come_back_with_a_message_beside_the_field(console: Console) -> None:
    client, billed = _desk(console)
    cases = {
        "0": "above zero",
        "0.00": "above zero",
        "-100": "above zero",
        "1070.01": "take at most THB 1,070.00",
        "5000": "take at most THB 1,070.00",
        "abc": "Type an amount",
        "12.345": "Type an amount",
        "1e3": "Type an amount",
    }
    for typed, words in cases.items():
        form = {**_form(client, billed.failed), "method": "cash", "amount": typed}
        answer = client.post(_pay_url(billed.failed), data=form)
        assert answer.status_code == 422, typed
        assert words in _field_error(answer.text, "amount"), (typed, answer.text[:300])
        assert f'value="{typed}"' in answer.text  # what was typed is kept
    bad_method = {**_form(client, billed.failed), "method": "cheque", "reference": "x" * 121}
    answer = client.post(_pay_url(billed.failed), data=bad_method)
    assert answer.status_code == 422
    assert _field_error(answer.text, "method") and _field_error(answer.text, "reference")
    assert _payments(console, billed.failed) == []

    client.post(  # the messages follow the user's language
        "/console/account/language",
        data={"csrf_token": _form(client, billed.failed)["csrf_token"], "language": "th",
              "next": "/console/members"},
    )  # fmt: skip
    for typed, words in {"0": "มากกว่าศูนย์", "5000": "รับได้ไม่เกิน THB 1,070.00",
                         "abc": "กรอกจำนวนเงิน"}.items():  # fmt: skip
        form = {**_form(client, billed.failed), "method": "cash", "amount": typed}
        answer = client.post(_pay_url(billed.failed), data=form)
        assert answer.status_code == 422 and words in _field_error(answer.text, "amount"), typed


def test_front_desk_sees_no_other_billing(console: Console) -> None:
    client, billed = _desk(console)
    csrf = _form(client, billed.failed)["csrf_token"]
    for path in (
        "/console/invoices", f"/console/invoices/{billed.failed.id}", "/console/plans",
        "/console/plans/new", "/console/reports/billing", "/console/dunning",
    ):  # fmt: skip
        assert client.get(path).status_code == 403, path
    for action in ("void", "refund", "uncollectible", "pay"):
        url = f"/console/invoices/{billed.failed.id}/{action}"
        assert client.post(url, data={"csrf_token": csrf}).status_code == 403, action
    assert client.post("/console/plans/new", data={"csrf_token": csrf}).status_code == 403
    dashboard = client.get("/console/dashboard").text
    for tile in ("mrr", "failed_open", "recovered_month"):
        assert f'id="tile-{tile}"' not in dashboard, tile
    live = client.get("/console/dashboard/live.json").json()["tiles"]
    assert not {"mrr", "failed_open", "recovered_month"} & set(live)
    assert "/console/invoices" not in dashboard and "/console/reports" not in dashboard
    # an invoice of another member is not reachable through this member's page
    other = f"/console/members/{billed.paid.member_id}/invoices/{billed.failed.id}/pay"
    assert client.get(other).status_code == 404
    # a signed-out client is sent away, and a wrong form token is refused
    assert console.anonymous().post(_pay_url(billed.failed), data={}).status_code == 401
    wrong = {**_form(client, billed.failed), "csrf_token": "x" * 20, "method": "cash"}
    assert client.post(_pay_url(billed.failed), data=wrong).status_code == 403


def test_managers_take_part_payments_on_the_invoice_page_too(console: Console) -> None:
    billed = bill_a_month(console)
    client = console.client(Role.MANAGER)
    page = client.get(f"/console/invoices/{billed.failed.id}").text
    key = _KEY.search(page)
    csrf = _CSRF.search(page)
    assert key and csrf
    url = f"/console/invoices/{billed.failed.id}/pay"
    data = {"csrf_token": csrf.group(1), "form_key": key.group(1), "method": "cash",
            "amount": "70"}  # fmt: skip
    assert client.post(url, data=data).headers["location"].endswith("desk_part_paid")
    assert client.post(url, data=data).status_code == 303  # sent twice: one payment
    too_much = client.post(url, data={**data, "form_key": "k" * 20, "amount": "1000.01"})
    assert too_much.status_code == 422 and "at most THB 1,000.00" in _field_error(
        too_much.text, "amount"
    )
    assert [p.amount for p in _payments(console, billed.failed)] == [7000]
    member_page = client.get(f"/console/members/{billed.failed.member_id}").text
    assert f'id="take-payment-{billed.failed.id}"' in member_page  # and from the member page
