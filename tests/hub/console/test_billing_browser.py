"""Billing in a real browser (Debian's headless Chromium, driven by Playwright) against a
hub served over HTTP: a manager creates a plan (after a refused one), opens an invoice
and voids it, takes cash for another, and sees the dashboard's money tiles change; the
front desk takes a part payment then the rest from a member's page.  The
invoices page and the money and attendance reports are saved to ``tests/artifacts/`` in
English and in Thai.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from hub.models import Role
from tests.hub.console.billing_rows import bill_a_month, bill_one
from tests.hub.console.conftest import ARTIFACTS, PASSWORD, ServedHub, email_of


def _page(browser) -> Page:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(5000)
    page.on("dialog", lambda dialog: dialog.accept())  # the "are you sure?" of void
    return page


def _sign_in(page: Page, served_hub: ServedHub, role: Role) -> None:
    page.goto(served_hub.url + "/console/login")
    page.fill("#email", email_of(role))
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/console/dashboard"))


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_a_manager_creates_a_plan_voids_an_invoice_and_takes_cash(  # type: ignore[no-untyped-def]
    browser, served_hub: ServedHub
) -> None:
    billed = bill_a_month(served_hub.live)
    page = _page(browser)
    _sign_in(page, served_hub, Role.MANAGER)
    expect(page.locator("#tile-failed_open .value")).to_have_text("2")
    expect(page.locator("#tile-recovered_month .value")).to_have_text("0")
    expect(page.locator("#tile-mrr .value")).to_have_text("THB 3,210.00")

    page.click("nav >> text=Plans")
    page.click("#new-plan")
    page.fill("#f-name", "Student monthly")
    page.fill("#f-price", "-590")
    page.fill("#f-currency", "BAHT")
    page.click("#save-plan")
    expect(page.locator("#e-price")).to_have_text("A price cannot be negative")
    expect(page.locator("#e-currency")).to_contain_text("Not a currency code")
    expect(page.locator("#f-name")).to_have_value("Student monthly")
    page.fill("#f-price", "590")
    page.fill("#f-currency", "THB")
    page.click("#save-plan")
    expect(page.locator(".flash")).to_have_text("Plan added.")
    expect(page.locator("#plans")).to_contain_text("Student monthly")
    expect(page.locator("#plans")).to_contain_text("THB 590.00")

    page.click("nav >> text=Invoices")
    expect(page.locator("#invoices tbody tr")).to_have_count(3)
    _shot(page, "console-invoices-en.png")
    page.click(f"#invoice-{billed.unpaid.id} a >> nth=0")
    expect(page.locator("#invoice-lines")).to_contain_text("Gold monthly")
    expect(page.locator("#invoice-totals")).to_contain_text("THB 1,070.00")
    _shot(page, "console-invoice-en.png")
    page.click("#void-invoice")
    expect(page.locator(".flash")).to_have_text("Invoice voided.")
    expect(page.locator("#invoice-title")).to_contain_text("Void")

    page.goto(f"{served_hub.url}/console/invoices/{billed.failed.id}")
    expect(page.locator("#attempts")).to_contain_text("Declined")
    page.select_option("#f-method", "cash")
    page.fill("#f-reference", "R-2001")
    page.click("#mark-paid")
    expect(page.locator(".flash")).to_have_text("Payment recorded; the invoice is paid.")
    expect(page.locator("#payments")).to_contain_text("R-2001")

    page.click("nav >> text=Dashboard")
    expect(page.locator("#tile-failed_open .value")).to_have_text("0")
    expect(page.locator("#tile-recovered_month .value")).to_have_text("THB 1,070.00")
    expect(page.locator("#tile-mrr .value")).to_have_text("THB 3,210.00")

    page.click("nav >> text=Reports")
    _shot(page, "console-reports-en.png")
    page.click("#money-reports")
    expect(page.locator("#recovery-table")).to_contain_text("50 %")
    expect(page.locator("#collect svg")).to_have_count(1)
    _shot(page, "console-reports-money-en.png")

    page.select_option("#lang-switch", "th")
    expect(page.locator("h1")).to_have_text("รายงานการเงิน")
    _shot(page, "console-reports-money-th.png")
    page.click("nav >> text=ใบแจ้งหนี้")
    expect(page.locator("h1")).to_have_text("ใบแจ้งหนี้")
    expect(page.locator("#invoices")).to_contain_text("ยกเลิก")
    _shot(page, "console-invoices-th.png")
    page.click("nav >> text=รายงาน")
    _shot(page, "console-reports-th.png")
    page.context.close()


def test_the_front_desk_takes_a_part_payment_then_the_rest(  # type: ignore[no-untyped-def]
    browser, served_hub: ServedHub
) -> None:
    unpaid = bill_one(served_hub.live, "Ploy")
    page = _page(browser)
    _sign_in(page, served_hub, Role.FRONT_DESK)
    expect(page.locator("#tile-mrr")).to_have_count(0)  # no money on the desk's dashboard
    expect(page.locator("nav >> text=Invoices")).to_have_count(0)

    page.goto(f"{served_hub.url}/console/members/{unpaid.member_id}")
    expect(page.locator("#desk-invoices")).to_contain_text("THB 1,070.00")
    page.click(f"#take-payment-{unpaid.id}")
    expect(page.locator("#f-amount")).to_have_value("1070.00")
    page.fill("#f-amount", "0")
    page.click("#desk-pay")
    expect(page.locator("#e-amount")).to_have_text("Type an amount above zero.")
    page.fill("#f-amount", "400")
    page.fill("#f-reference", "R-3001")
    page.click("#desk-pay")
    expect(page.locator(".flash")).to_have_text("Part payment recorded; the rest is still due.")
    expect(page.locator("#desk-invoices")).to_contain_text("THB 670.00")
    _shot(page, "console-desk-member-en.png")

    page.click(f"#take-payment-{unpaid.id}")
    expect(page.locator("#balance")).to_have_text("THB 670.00")
    page.select_option("#f-method", "transfer")
    page.click("#desk-pay")
    expect(page.locator(".flash")).to_have_text("Payment recorded; the invoice is paid.")
    expect(page.locator("#desk-nothing-due")).to_be_visible()
    page.select_option("#lang-switch", "th")
    expect(page.locator("#desk-nothing-due")).to_have_text("ไม่มียอดค้างชำระ")
    _shot(page, "console-desk-member-th.png")
    page.context.close()
