"""The member portal in a real browser: Debian's headless Chromium, driven by
Playwright, against a whole hub served over HTTP (uvicorn), its MQTT service on a real
Mosquitto, a simulated gate speaking the real protocol, and a real SMTP server.

A member whose renewal could not be charged asks for a sign-in link, the test reads
the email from the SMTP server, she signs in, sees the open invoice, pays it with a
test card -- and her card, refused at the door before, is admitted after.  Then the
pages in Thai.  Screenshots of the portal in English and Thai go to ``tests/artifacts/``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from gatehouse.clock import ManualClock
from gatehouse.services import free_port
from gatehouse.services.mosquitto import Mosquitto
from gatehouse.services.smtp import SmtpServer
from gatehouse.services.web import AppServer
from gatehouse.sim.gates import SimGate
from hub.access.keys import gate_key, site_card_secret
from hub.billing.run import open_session
from hub.billing.services import billing_services
from hub.core.config import Settings
from hub.migrations import upgrade
from hub.models import Gate, Invoice, Site
from hub.portal.paylinks import pay_links
from hub.runtime import Hub
from hub.services.gates import provision_gate
from tests.hub.conftest import START
from tests.hub.console.conftest import ARTIFACTS
from tests.hub.factories import Factory
from tests.hub.portal.conftest import ANA, ClubRows, link_in, seed_club

UID = bytes.fromhex("04a1b2c3")


@dataclass
class ServedClub:
    """A running hub behind uvicorn, its broker, mail server, gate and club rows."""

    url: str
    hub: Hub
    smtp: SmtpServer
    gate: SimGate
    rows: ClubRows

    def list_version(self) -> int:
        with self.hub.session() as s:
            site = s.get(Site, self.rows.site.id)
            assert site is not None
            return site.list_version


@pytest.fixture(scope="module")
def served_club(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedClub]:
    """See the module documentation."""
    root = tmp_path_factory.mktemp("portal-hub")
    db = f"sqlite:///{root / 'hub.db'}"
    upgrade(db)
    clock = ManualClock(START)
    port = free_port()
    with Mosquitto(root / "mosquitto") as broker, SmtpServer(root / "smtp") as smtp:
        settings = Settings(
            database_url=db, mqtt_port=broker.port, acl_poll_s=0.5,
            public_url=f"http://127.0.0.1:{port}", smtp_host=smtp.host, smtp_port=smtp.port,
            smtp_starttls=False, simulated_gateway_path=str(root / "gateway.sqlite3"),
            mail_from="Club1 <members@club1.example>",
        )  # fmt: skip
        hub = Hub(settings, clock=clock, migrate=False).start()
        services = billing_services(hub.app.state)
        rows = seed_club(hub.engine, settings, clock, services.gateway)  # type: ignore[arg-type]
        with open_session(hub.engine, settings) as s:  # type: ignore[arg-type]
            site = s.get(Site, rows.site.id)
            door = rows.door
            assert site is not None
            provision_gate(s, site=site, door=door, slug="front-door", kind="pi", clock=clock,
                           settings=settings)  # fmt: skip
            s.commit()
            Factory(s, clock).changed(site)  # the site's first list
            gate = s.exec(select(Gate).where(Gate.slug == "front-door")).one()
            sim = SimGate(
                host="127.0.0.1", port=broker.port, site=site.slug, gate=gate.slug,
                key=gate_key(s, gate), card_secret=site_card_secret(s, site),
                now=clock.timestamp,
            )  # fmt: skip
        server = AppServer(hub.app, port=port).start()
        sim.start()
        try:
            yield ServedClub(server.url, hub, smtp, sim, rows)
        finally:
            with contextlib.suppress(Exception):
                sim.stop(graceful=False)
            server.stop()
            hub.stop()
            services.close()


def _page(browser: Any, width: int = 1100) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(8000)
    return page


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _signed_in(page: Page, club: ServedClub, seen: int) -> None:
    """Ask for a link, read it from the SMTP server, open it, press Sign in."""
    page.goto(club.url + "/portal/login")
    page.fill("#f-email", ANA)
    page.click("#send-link")
    expect(page.locator("#link-sent")).to_contain_text(ANA)
    messages = club.smtp.wait_for_messages(seen + 1)
    url = link_in(messages[-1])
    assert url.startswith(club.url + "/portal/login/")
    page.goto(url)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/portal/home$"))


def test_a_member_pays_online_and_the_door_admits_her(
    browser: Any, served_club: ServedClub
) -> None:
    club = served_club
    assert club.gate.wait_version(club.list_version())
    allowed, _ = club.gate.tap(UID)
    assert not allowed  # nothing paid: not admitted

    page = _page(browser)
    page.goto(club.url + "/portal/login")
    page.fill("#f-email", "not an email")
    page.click("#send-link")
    expect(page.locator("#e-email")).to_have_text("Not an email address.")
    _shot(page, "portal-login-en.png")
    _signed_in(page, club, seen=0)
    (mail,) = club.smtp.messages()
    assert mail["Subject"] == "Your sign-in link for Club1" and mail["To"] == ANA

    expect(page.locator("h1")).to_have_text("Hello, Ana")
    expect(page.locator("#membership-status")).to_have_text("Payment overdue")
    invoice = club.rows.ana_invoice
    expect(page.locator(f"#open-{invoice}")).to_contain_text("THB 1,070.00")
    _shot(page, "portal-home-due-en.png")

    page.click(f"#pay-{invoice}")
    page.fill("#f-number", "4000 0000 0000 0002")
    page.fill("#f-exp_month", "12")
    page.fill("#f-exp_year", "2030")
    page.click("#pay-now")
    expect(page.locator("#pay-alert")).to_contain_text("The card was declined")
    page.check("#method-new")
    page.fill("#f-number", "4242 4242 4242 4242")
    page.fill("#f-exp_month", "12")
    page.fill("#f-exp_year", "2030")
    _shot(page, "portal-pay-en.png")
    page.click("#pay-now")
    expect(page.locator(".flash")).to_have_text("Paid. Thank you! Your membership is up to date.")
    _shot(page, "portal-paid-en.png")
    with club.hub.session() as s:
        assert s.get(Invoice, invoice).status == "paid"  # type: ignore[union-attr]

    assert club.gate.wait_version(club.list_version())
    allowed, _ = club.gate.tap(UID)
    assert allowed  # paid: the door admits her card

    page.click("nav >> text=Home")
    expect(page.locator("#membership-status")).to_have_text("Active")
    expect(page.locator("#nothing-due")).to_be_visible()
    _shot(page, "portal-home-en.png")
    page.click("nav >> text=Payments")
    expect(page.locator("#payments")).to_contain_text("visa 4242")
    page.click("nav >> text=Payment methods")
    _shot(page, "portal-methods-en.png")
    page.click("nav >> text=Freeze")
    page.fill("#f-from_on", "2026-11-01")
    page.fill("#f-resume_on", "2026-11-20")
    page.click("#ask-freeze")
    expect(page.locator("#e-from_on")).to_have_text("Cannot start in the past.")
    _shot(page, "portal-freeze-en.png")
    page.context.close()


def test_the_portal_in_thai(browser: Any, served_club: ServedClub) -> None:
    club = served_club
    page = _page(browser, width=390)  # a phone
    page.goto(club.url + "/portal/login?lang=th")
    expect(page.locator("h1")).to_have_text("เข้าสู่ระบบสมาชิก")
    _shot(page, "portal-login-th.png")
    _signed_in(page, club, seen=len(club.smtp.messages()))
    page.select_option("#lang-switch", "th")
    expect(page.locator("h1")).to_have_text("สวัสดี คุณAna")
    expect(page.locator("#membership-status")).to_have_text("ใช้งานอยู่")
    _shot(page, "portal-home-th.png")
    page.click("nav >> text=ใบแจ้งหนี้")
    expect(page.locator("h1")).to_have_text("ใบแจ้งหนี้และใบเสร็จ")
    expect(page.locator("#invoices")).to_contain_text("ชำระแล้ว")
    _shot(page, "portal-invoices-th.png")
    page.click("nav >> text=พักสมาชิก")
    _shot(page, "portal-freeze-th.png")
    page.context.close()
    assert Path(ARTIFACTS / "portal-home-th.png").stat().st_size > 10_000


def test_a_pay_link_from_a_dunning_email_pays_without_signing_in(
    browser: Any, served_club: ServedClub
) -> None:
    club = served_club
    links = pay_links(club.hub.settings)
    url = links.url(f"m-{club.rows.ben.id}", f"inv-{club.rows.ben_invoice}",
                    expires_at=club.hub.clock.now() + timedelta(days=14))  # fmt: skip
    assert url.startswith(club.url + "/portal/pay/")
    page = _page(browser, width=390)
    page.goto(url + "?lang=th")
    expect(page.locator("#paylink-for")).to_have_text("ใบแจ้งหนี้ของคุณBen")
    _shot(page, "portal-paylink-th.png")
    page.fill("#f-number", "4242424242424242")
    page.fill("#f-exp_month", "12")
    page.fill("#f-exp_year", "2030")
    page.click("#pay-now")
    expect(page.locator(".flash")).to_contain_text("ชำระเงินแล้ว")
    with club.hub.session() as s:
        assert s.get(Invoice, club.rows.ben_invoice).status == "paid"  # type: ignore[union-attr]
    page.goto(url[:-6] + "AAAAAA")  # the visitor chose Thai: the error page is Thai too
    expect(page.locator("#error h1")).to_have_text("ลิงก์ชำระเงินนี้ไม่ถูกต้อง")
    page.goto(url[:-6] + "AAAAAA?lang=en")
    expect(page.locator("#error h1")).to_have_text("This payment link is not valid")
    _shot(page, "portal-paylink-invalid-en.png")
    page.context.close()
