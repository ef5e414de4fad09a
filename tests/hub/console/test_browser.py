"""The console in a real browser: Debian's headless Chromium, driven by Playwright,
against a hub served over HTTP with its MQTT service on Mosquitto and a simulated gate.

A front-desk day in English: sign in, a bad form and its messages, a new member, access,
a card enrolled by tapping it at the gate, the member's visit appearing on the live
dashboard, a remote unlock.  Then the same pages in Thai.  Screenshots of the dashboard,
a member page and the gates page go to ``tests/artifacts/`` in both languages.
"""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import Page, expect

from hub.models import Role, Site
from tests.hub.console.conftest import ARTIFACTS, PASSWORD, ServedHub, email_of


def _page(browser, served_hub: ServedHub, width: int = 1280) -> Page:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(5000)
    return page


def _sign_in(page: Page, served_hub: ServedHub, role: Role) -> None:
    page.goto(served_hub.url + "/console/login")
    page.fill("#email", email_of(role))
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/console/(dashboard|gates)"))


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_a_front_desk_day_in_english(browser, served_hub: ServedHub) -> None:  # type: ignore[no-untyped-def]
    live = served_hub.live
    sim = live.sim()
    with live.session() as s:
        version = s.get(Site, live.site.id).list_version  # type: ignore[union-attr]
    assert sim.wait_version(version)
    page = _page(browser, served_hub)
    _sign_in(page, served_hub, Role.MANAGER)
    expect(page.locator("h1")).to_have_text("Today at the club")

    page.click("nav >> text=Members")
    page.click("#new-member")
    page.fill("#f-first_name", "Niran")
    page.fill("#f-last_name", "Thongdee")
    page.fill("#f-email", "not an email")
    page.fill("#f-phone", "12")
    page.click("#save-member")
    expect(page.locator("#e-email")).to_have_text("Not an email address.")
    expect(page.locator("#e-phone")).to_contain_text("Not a phone number")
    expect(page.locator("#f-first_name")).to_have_value("Niran")
    page.fill("#f-email", "niran@example.com")
    page.fill("#f-phone", "+66 81 234 5678")
    page.fill("#f-emergency_contact", "Ploy Thongdee +66 89 000 1111")
    page.click("#save-member")
    expect(page.locator(".flash")).to_have_text("Member added.")
    expect(page.locator("#member-name")).to_contain_text("Niran Thongdee")
    member_url = page.url.split("?")[0]

    page.click("#grant-access")
    expect(page.locator(".flash")).to_have_text("Access granted.")

    page.select_option("#enroll-gate", str(live.gate.id))
    page.click("#tap-to-enroll")
    expect(page.locator("#enroll-box")).to_contain_text("Waiting for a card")
    assert sim.wait_command("enroll")
    uid = bytes.fromhex("04") + secrets.token_bytes(6)
    shown = ":".join(f"{b:02X}" for b in uid)
    assert sim.present(uid) is None
    expect(page.locator("#f-uid")).to_have_value(shown, timeout=2000)
    expect(page.locator("#enroll-box")).to_contain_text("Card read: " + shown)
    page.click("#add-card")
    expect(page.locator(".flash")).to_contain_text("Card added")
    expect(page.locator("#card-list")).to_contain_text("…" + shown.replace(":", "")[-4:])

    page.click("nav >> text=Dashboard")
    visits = page.locator("#tile-checkins_today .value")
    before = int(visits.inner_text())
    with live.session() as s:
        version = s.get(Site, live.site.id).list_version  # type: ignore[union-attr]
    assert sim.wait_version(version)
    allowed, _ = sim.present(uid)  # type: ignore[misc]
    assert allowed
    sim.flush()
    expect(page.locator("#live-recent")).to_contain_text("Niran Thongdee", timeout=5000)
    expect(visits).to_have_text(str(before + 1), timeout=5000)
    _shot(page, "console-dashboard-en.png")

    page.goto(member_url)
    expect(page.locator("#checkins")).to_contain_text("Admitted")
    _shot(page, "console-member-en.png")

    page.click("nav >> text=Gates")
    row = page.locator(f"#gate-{live.gate.id}")
    expect(row).to_contain_text("Online")
    row.locator(f"#unlock-{live.gate.id}").click()
    expect(page.locator(".flash")).to_have_text("Unlock sent.")
    assert sim.wait_command("unlock") and sim.unlocks
    _shot(page, "console-gates-en.png")
    page.context.close()


def test_the_same_pages_in_thai(browser, served_hub: ServedHub) -> None:  # type: ignore[no-untyped-def]
    live = served_hub.live
    page = _page(browser, served_hub)
    _sign_in(page, served_hub, Role.OWNER)
    page.select_option("#lang-switch", "th")
    expect(page.locator("h1")).to_have_text("วันนี้ที่คลับ")
    expect(page.locator("nav")).to_contain_text("สมาชิก")
    _shot(page, "console-dashboard-th.png")
    page.click("nav >> text=สมาชิก")
    page.fill("input[name=q]", "Somchai")
    page.click("button[type=submit] >> text=ค้นหา")
    page.click("#members >> text=Somchai Jaidee")
    expect(page.locator("#cards h2")).to_have_text("บัตร")
    _shot(page, "console-member-th.png")
    page.click("nav >> text=ประตู")
    expect(page.locator("h1")).to_have_text("ประตู")
    _shot(page, "console-gates-th.png")
    page.context.close()
    phone = _page(browser, served_hub, width=390)
    _sign_in(phone, served_hub, Role.OWNER)  # the owner now reads Thai
    expect(phone.locator("h1")).to_have_text("วันนี้ที่คลับ")
    _shot(phone, "console-dashboard-phone-th.png")
    phone.context.close()
    assert live.hub is not None
