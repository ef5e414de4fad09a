"""Billing in the console: plans and prices, invoices and what staff do with them, the
member page's invoices, the dashboard's money tiles and the money reports with their
CSV files -- through signed-in ``TestClient``s on a real (SQLite) database."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from sqlmodel import col, select

from hub.models import AuditLog, DunningCase, Invoice, Payment, Plan, Refund, Role, User
from tests.hub.console.billing_rows import Billed, bill_a_month
from tests.hub.console.conftest import Console


def _manager(console: Console) -> tuple[TestClient, str]:
    client = console.client(Role.MANAGER)
    return client, console.csrf(client)


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'<div class="field-error" id="e-{name}">([^<]*)</div>', html)
    return found.group(1) if found else ""


def _plan_form(**fields: str) -> dict[str, str]:
    return {
        "name": "Off-peak", "price": "890.00", "currency": "THB", "interval_unit": "month",
        "interval_count": "1", "setup_fee": "0", "tax_rate": "7", "tax_inclusive": "on",
        "grace_days": "3", "commitment_periods": "0", "trial_days": "0", **fields,
    }  # fmt: skip


def _audit(console: Console, action: str) -> list[AuditLog]:
    with console.session() as s:
        return list(s.exec(select(AuditLog).where(AuditLog.action == action)))


def _tile(html: str, key: str) -> str:
    found = re.search(rf'id="tile-{key}".*?class="value">([^<]*)<', html, re.S)
    assert found, key
    return found.group(1)


def test_bad_plan_terms_come_back_with_a_message_beside_each_field(console: Console) -> None:
    client, csrf = _manager(console)
    site = str(console.site.id)
    data = _plan_form(price="-10", currency="BAHT", interval_count="0", site_id=site)
    answer = client.post("/console/plans/new", data={**data, "csrf_token": csrf})
    assert answer.status_code == 422
    assert _field_error(answer.text, "price") == "A price cannot be negative"
    assert _field_error(answer.text, "currency").startswith("Not a currency code")
    assert _field_error(answer.text, "interval_count") == "A billing interval lasts at least 1"
    assert 'value="BAHT"' in answer.text  # what was typed stays in the form
    more = _plan_form(price="12.345", tax_rate="abc", name=" ", site_id="999")
    answer = client.post("/console/plans/new", data={**more, "csrf_token": csrf})
    assert answer.status_code == 422
    assert "decimals" in _field_error(answer.text, "price")
    assert _field_error(answer.text, "tax_rate") and _field_error(answer.text, "site_id")
    assert _field_error(answer.text, "name")
    with console.session() as s:
        assert s.exec(select(Plan)).first() is None
        user = s.get(User, console.users[Role.MANAGER].id)
        assert user is not None
        user.language = "th"
        s.add(user)
        s.commit()
    answer = client.post("/console/plans/new", data={**data, "csrf_token": csrf})
    assert _field_error(answer.text, "price") == "ราคาติดลบไม่ได้"
    assert _field_error(answer.text, "interval_count") == "รอบการเรียกเก็บต้องอย่างน้อย 1"


def test_plans_are_created_edited_and_archived_with_an_audit_trail(console: Console) -> None:
    client, csrf = _manager(console)
    form = _plan_form(site_id=str(console.site.id), setup_fee="500", tax_rate="7.5")
    answer = client.post("/console/plans/new", data={**form, "csrf_token": csrf})
    assert answer.status_code == 303 and "plan_created" in answer.headers["location"]
    with console.session() as s:
        plan = s.exec(select(Plan)).one()
    assert (plan.price_minor, plan.setup_fee_minor, plan.tax_rate_bp) == (89000, 50000, 750)
    assert plan.tax_inclusive and plan.grace_days == 3
    page = client.get("/console/plans?msg=plan_created")
    assert "Plan added." in page.text and "THB 890.00" in page.text
    assert "7.5 % included" in page.text
    edit = client.get(f"/console/plans/{plan.id}/edit")
    assert 'value="890.00"' in edit.text and 'value="7.50"' in edit.text
    form = _plan_form(site_id=str(console.site.id), price="950", name="Off-peak 2027")
    answer = client.post(f"/console/plans/{plan.id}/edit", data={**form, "csrf_token": csrf})
    assert answer.status_code == 303
    with console.session() as s:
        plan = s.get(Plan, plan.id)  # type: ignore[assignment]
    assert plan.price_minor == 95000 and plan.name == "Off-peak 2027"
    (update,) = _audit(console, "plan.update")
    assert update.before["price_minor"] == 89000 and update.after["price_minor"] == 95000  # type: ignore[index]
    answer = client.post(
        f"/console/plans/{plan.id}/archive", data={"active": "0", "csrf_token": csrf}
    )
    assert answer.status_code == 303
    assert f'id="plan-{plan.id}"' not in client.get("/console/plans").text
    assert "Archived" in client.get("/console/plans?archived=1").text
    client.post(f"/console/plans/{plan.id}/archive", data={"active": "1", "csrf_token": csrf})
    assert f'id="plan-{plan.id}"' in client.get("/console/plans").text
    assert [len(_audit(console, a)) for a in ("plan.create", "plan.archive", "plan.restore")] == [
        1, 1, 1,
    ]  # fmt: skip


def test_a_sold_plan_keeps_its_price_and_only_changes_its_name(console: Console) -> None:
    billed = bill_a_month(console)
    client, csrf = _manager(console)
    page = client.get(f"/console/plans/{billed.plan.id}/edit")
    assert 'id="plan-sold"' in page.text
    form = _plan_form(site_id=str(console.site.id), price="1", name="Gold (2026)")
    answer = client.post(f"/console/plans/{billed.plan.id}/edit", data={**form, "csrf_token": csrf})
    assert answer.status_code == 303
    with console.session() as s:
        plan = s.get(Plan, billed.plan.id)
    assert plan is not None and (plan.name, plan.price_minor) == ("Gold (2026)", 107000)


def test_invoice_list_filters_by_status_member_and_period(console: Console) -> None:
    billed = bill_a_month(console)
    client, _ = _manager(console)
    page = client.get("/console/invoices")
    assert page.text.count('<tr id="invoice-') == 3
    paid = client.get("/console/invoices?status=paid").text
    assert f'id="invoice-{billed.paid.id}"' in paid and paid.count('<tr id="invoice-') == 1
    dan = client.get("/console/invoices?member=dan").text
    assert f'id="invoice-{billed.failed.id}"' in dan and dan.count('<tr id="invoice-') == 1
    by_id = client.get(f"/console/invoices?member={billed.unpaid.member_id}").text
    assert by_id.count('<tr id="invoice-') == 1
    assert "No invoices." in client.get("/console/invoices?first=2027-01-01").text
    assert "3 invoices" in client.get("/console/invoices?first=2026-12-01&last=2026-12-01").text
    odd = client.get("/console/invoices?status=<x>&first=nope&offset=-3&member=%00")
    assert odd.status_code == 200 and "3 invoices" in odd.text


def test_invoice_detail_shows_lines_tax_payments_and_attempts(console: Console) -> None:
    billed = bill_a_month(console)
    client, _ = _manager(console)
    page = client.get(f"/console/invoices/{billed.failed.id}").text
    assert "Gold monthly" in page and "THB 70.00" in page  # VAT inside 1,070.00
    assert "Declined" in page and 'id="void-invoice"' in page and 'id="mark-paid"' in page
    assert "being recovered" in page
    paid = client.get(f"/console/invoices/{billed.paid.id}").text
    assert "visa 4242" in paid and 'id="refund"' in paid and 'id="void-invoice"' not in paid
    printed = client.get(f"/console/invoices/{billed.paid.id}/print?lang=th")
    assert printed.status_code == 200 and "1,070.00" in printed.text
    assert client.get("/console/invoices/999999").status_code == 404


def test_void_pay_at_desk_refund_and_write_off(console: Console) -> None:
    billed = bill_a_month(console)
    client, csrf = _manager(console)
    before = client.get("/console/dashboard").text
    assert _tile(before, "failed_open") == "2" and _tile(before, "recovered_month") == "0"

    answer = client.post(f"/console/invoices/{billed.unpaid.id}/void", data={"csrf_token": csrf})
    assert answer.status_code == 303 and answer.headers["location"].endswith("invoice_voided")
    again = client.post(f"/console/invoices/{billed.unpaid.id}/void", data={"csrf_token": csrf})
    assert again.status_code == 409 and "cannot be voided" in again.text

    bad = client.post(
        f"/console/invoices/{billed.failed.id}/pay",
        data={"csrf_token": csrf, "method": "cheque", "reference": "x" * 121},
    )
    assert bad.status_code == 422
    assert _field_error(bad.text, "method") and _field_error(bad.text, "reference")
    answer = client.post(
        f"/console/invoices/{billed.failed.id}/pay",
        data={"csrf_token": csrf, "method": "cash", "reference": "R-1009"},
    )
    assert answer.status_code == 303
    after = client.get("/console/dashboard").text
    assert _tile(after, "failed_open") == "0"
    assert _tile(after, "recovered_month") == "THB 1,070.00"
    live = client.get("/console/dashboard/live.json").json()["tiles"]  # the page's polling
    assert live["recovered_month"]["value"] == "THB 1,070.00"
    assert live["failed_open"]["tone"] == "good" and live["mrr"]["value"] == "THB 3,210.00"
    desk = console.client(Role.FRONT_DESK).get("/console/dashboard/live.json").json()
    assert "mrr" not in desk["tiles"]  # money is for owners and managers

    too_much = client.post(
        f"/console/invoices/{billed.paid.id}/refund",
        data={"csrf_token": csrf, "amount": "2000", "reason": "moved away"},
    )
    assert too_much.status_code == 422 and "at most THB 1,070.00" in _field_error(
        too_much.text, "amount"
    )
    part = client.post(
        f"/console/invoices/{billed.paid.id}/refund",
        data={"csrf_token": csrf, "amount": "100.00", "reason": "broken locker"},
    )
    assert part.status_code == 303
    rest = client.post(f"/console/invoices/{billed.paid.id}/refund", data={"csrf_token": csrf})
    assert rest.status_code == 303
    with console.session() as s:
        refunds = s.exec(select(Refund).order_by(col(Refund.id))).all()
        assert [r.amount for r in refunds] == [10000, 97000]
        assert all(r.gateway == "simulated" for r in refunds)
        notes = s.exec(select(Invoice).where(Invoice.credit_for_id == billed.paid.id)).all()
        assert sorted(n.total for n in notes) == [-97000, -10000]
        assert all(n.status == "paid" for n in notes)
        cash = s.exec(select(Payment).where(Payment.invoice_id == billed.failed.id)).one()
        assert (cash.method, cash.reference, cash.recorded_by) == (
            "cash", "R-1009", f"user:{console.users[Role.MANAGER].id}",
        )  # fmt: skip
        cases = {c.invoice_id: c for c in s.exec(select(DunningCase))}
        assert cases[billed.failed.id].closed_reason == "paid"
        assert cases[billed.unpaid.id].closed_reason == "void"
    page = client.get(f"/console/invoices/{billed.paid.id}").text
    assert "Refunds" in page and "broken locker" in page and 'id="refund"' not in page
    for action in ("invoice.void", "invoice.pay"):
        assert len(_audit(console, action)) == 1, action
    assert len(_audit(console, "invoice.refund")) == 2


def test_an_open_invoice_can_be_written_off_then_still_paid(console: Console) -> None:
    billed = bill_a_month(console)
    client, csrf = _manager(console)
    url = f"/console/invoices/{billed.unpaid.id}"
    assert client.post(url + "/uncollectible", data={"csrf_token": csrf}).status_code == 303
    page = client.get(url).text
    assert "Uncollectible" in page and 'id="mark-uncollectible"' not in page
    answer = client.post(url + "/pay", data={"csrf_token": csrf, "method": "transfer"})
    assert answer.status_code == 303
    assert "Paid" in client.get(url).text
    assert len(_audit(console, "invoice.uncollectible")) == 1


def test_the_member_page_lists_invoices_and_payments(console: Console) -> None:
    billed = bill_a_month(console)
    client, _ = _manager(console)
    page = client.get(f"/console/members/{billed.paid.member_id}").text
    assert 'id="member-invoices"' in page and f"/console/invoices/{billed.paid.id}" in page
    assert 'id="member-payments"' in page and "THB 1,070.00" in page
    desk = console.client(Role.FRONT_DESK)
    assert 'id="member-invoices"' not in desk.get(f"/console/members/{billed.paid.member_id}").text


def _rows(client: TestClient, url: str) -> list[dict[str, str]]:
    answer = client.get(url)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


def test_money_reports_and_their_csv_files(console: Console) -> None:
    billed: Billed = bill_a_month(console)
    client, csrf = _manager(console)
    client.post(
        f"/console/invoices/{billed.failed.id}/pay", data={"csrf_token": csrf, "method": "cash"}
    )
    client.post(f"/console/invoices/{billed.unpaid.id}/void", data={"csrf_token": csrf})
    client.post(
        f"/console/invoices/{billed.paid.id}/refund", data={"csrf_token": csrf, "amount": "70"}
    )
    page = client.get("/console/reports/billing")
    assert page.status_code == 200 and page.text.count("<svg") >= 3
    assert "Revenue by month" in page.text and "50 %" in page.text
    revenue = _rows(client, "/console/reports/revenue-by-month.csv?months=3")
    assert [r["month"] for r in revenue] == ["2026-10", "2026-11", "2026-12"]
    december = revenue[-1]
    assert (december["invoiced"], december["received"], december["refunded"], december["net"]) == (
        "2140.00", "2140.00", "70.00", "2070.00",
    )  # fmt: skip
    failed = _rows(client, "/console/reports/failed-payments.csv?months=1")
    assert len(failed) == 1
    row = failed[0]
    assert (row["failed"], row["recovered"], row["written_off"]) == ("2", "1", "1")
    assert failed[0]["recovery_rate_percent"] == "50"
    collect = _rows(client, "/console/reports/time-to-collect.csv")
    assert sorted((r["days"], r["after_failure"]) for r in collect) == [("0", "no"), ("0", "yes")]
    thai = console.client(Role.OWNER)
    language = {"csrf_token": console.csrf(thai), "language": "th", "next": "/console"}
    thai.post("/console/account/language", data=language)
    assert "รายได้รายเดือน" in thai.get("/console/reports/billing?months=999").text


def test_a_refund_the_gateway_cannot_pay_out_is_retried_from_its_credit_note(
    console: Console,
) -> None:
    billed = bill_a_month(console)
    client, csrf = _manager(console)

    def set_gateway(name: str) -> None:
        with console.session() as s:
            payment = s.exec(select(Payment).where(Payment.invoice_id == billed.paid.id)).one()
            payment.gateway = name
            s.add(payment)
            s.commit()

    set_gateway("stripe")  # taken by a processor this hub cannot reach now
    answer = client.post(f"/console/invoices/{billed.paid.id}/refund", data={"csrf_token": csrf})
    assert answer.status_code == 303 and answer.headers["location"].endswith("refund_pending")
    with console.session() as s:
        note = s.exec(select(Invoice).where(Invoice.credit_for_id == billed.paid.id)).one()
        assert note.status == "open" and s.exec(select(Refund)).first() is None
    page = client.get(f"/console/invoices/{note.id}").text
    assert 'id="pay-out"' in page and "THB 1,070.00" in page
    set_gateway("simulated")
    answer = client.post(f"/console/invoices/{note.id}/refund", data={"csrf_token": csrf})
    assert answer.headers["location"].endswith(f"/console/invoices/{note.id}?msg=refund_paid_out")
    with console.session() as s:
        assert s.get(Invoice, note.id).status == "paid"  # type: ignore[union-attr]
        assert [r.amount for r in s.exec(select(Refund))] == [107000]
    again = client.post(f"/console/invoices/{note.id}/refund", data={"csrf_token": csrf})
    assert again.status_code == 409 and "is paid" in again.text
