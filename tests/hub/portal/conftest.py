"""Portal fixtures: a club whose members owe an invoice, and clients that sign in by link.

``club`` is a hub app (no MQTT) on a fresh migrated SQLite database, with the simulated
gateway and the folder mailer in the test's own folder.  Two members, Ana and Ben,
each subscribed to the Gold plan; the billing run issued each an invoice and could not
charge it (no saved card), so both are open and each opened a dunning case.
``club.sign_in(client, "ana@example.com")`` asks for a link, reads it from the email
the hub wrote, and uses it.  The browser test starts a whole hub of its own.
"""

from __future__ import annotations

import email
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gatehouse.clock import ManualClock
from gatehouse.services import postgres
from hub.app import create_app
from hub.billing.run import open_session, run_billing
from hub.billing.services import BillingServices
from hub.billing.simulated_gateway import SimulatedGateway
from hub.billing.sitetime import site_today
from hub.billing.subscriptions import subscribe
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.dunning.mailer import FolderMailer
from hub.migrations import upgrade
from hub.models import Card, Door, Invoice, Member, Plan, Site
from tests.hub.factories import Factory

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_PAY_KEY = re.compile(r'name="pay_key" value="([^"]+)"')
LINK = re.compile(r"https?://\S+/portal/login/\S+")
ANA, BEN = "ana@example.com", "ben@example.com"


def form_token(html: str) -> str:
    """The first form token on a page."""
    found = _CSRF.search(html)
    assert found, html[:400]
    return found.group(1)


def pay_key(html: str) -> str:
    """The pay form's one-time key on a page."""
    found = _PAY_KEY.search(html)
    assert found, html[:400]
    return found.group(1)


def link_in(message: EmailMessage) -> str:
    """The sign-in link in an email's text part."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found, body.get_content()
    return found.group(0)


@dataclass
class ClubRows:
    """The rows a club test points at."""

    site: Site
    door: Door
    plan: Plan
    ana: Member
    ben: Member
    ana_card: Card
    ana_invoice: int
    ben_invoice: int


def seed_club(engine: Engine, settings: Settings, clock: ManualClock, gateway: object) -> ClubRows:
    """A site, its door, the Gold plan; Ana (with a door card) and Ben subscribed, their
    first invoices issued by the billing run and left open (nothing to charge)."""
    with open_session(engine, settings) as s:
        make = Factory(s, clock)
        site = make.site()
        door = make.door(site)
        now = clock.now()
        plan = Plan(site_id=site.id or 0, name="Gold", price_minor=107000, currency="THB",
                    tax_rate_bp=700, tax_inclusive=True, zones=1, created_at=now)  # fmt: skip
        s.add(plan)
        people = []
        for first, last, mail in (("Ana", "Costa", ANA), ("Ben", "Sato", BEN)):
            m = Member(first_name=first, last_name=last, email=mail, created_at=now,
                       updated_at=now)  # fmt: skip
            s.add(m)
            people.append(m)
        s.flush()
        card = make.card(people[0], uid="04a1b2c3")
        today = site_today(now, site.timezone)
        for m in people:
            subscribe(s, member=m, plan=plan, clock=clock, start_on=today)
        s.commit()
    run_billing(engine=engine, settings=settings, clock=clock, gateway=gateway)  # type: ignore[arg-type]
    with open_session(engine, settings) as s:
        invoices: dict[int, int] = {
            inv.member_id: inv.id or 0 for inv in s.exec(select(Invoice).order_by(col(Invoice.id)))
        }
    return ClubRows(site, door, plan, people[0], people[1], card,
                    invoices[people[0].id or 0], invoices[people[1].id or 0])  # fmt: skip


@dataclass
class Club:
    """A hub app with the portal, a club with two members who owe, and its mailbox."""

    app: object
    engine: Engine
    settings: Settings
    clock: ManualClock
    gateway: SimulatedGateway
    outbox: Path
    rows: ClubRows
    clients: list[TestClient] = field(default_factory=list)

    def session(self) -> Session:
        return open_session(self.engine, self.settings)

    def client(self) -> TestClient:
        c = TestClient(self.app, follow_redirects=False)  # type: ignore[arg-type]
        self.clients.append(c)
        return c

    def mails(self) -> list[EmailMessage]:
        """Every email the hub wrote, oldest first."""
        files = sorted(self.outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
        return [email.message_from_bytes(p.read_bytes(), policy=default) for p in files]  # type: ignore[misc]

    def ask_link(self, client: TestClient, address: str) -> str:
        """Ask for a sign-in link for *address*; returns the newest link emailed to it."""
        page = client.get("/portal/login")
        answer = client.post(
            "/portal/login", data={"email": address, "csrf_token": form_token(page.text)}
        )
        assert answer.status_code == 200, answer.text[:300]
        sent = [m for m in self.mails() if m["To"] == address]
        assert sent, "no sign-in email"
        return link_in(sent[-1])

    def use_link(self, client: TestClient, url: str):  # type: ignore[no-untyped-def]
        """Open a sign-in link and press its button; returns the POST answer."""
        path = url.split("testserver", 1)[1]
        page = client.get(path)
        if page.status_code != 200:
            return page
        return client.post(path, data={"csrf_token": form_token(page.text)})

    def sign_in(self, address: str = ANA) -> TestClient:
        """A client signed in as the member with *address*."""
        c = self.client()
        answer = self.use_link(c, self.ask_link(c, address))
        assert answer.status_code == 303 and answer.headers["location"] == "/portal/home"
        return c

    def csrf(self, client: TestClient) -> str:
        return form_token(client.get("/portal/home").text)


@pytest.fixture(scope="session")
def portal_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database at the latest schema, made once and copied per test."""
    path = tmp_path_factory.mktemp("portal-template") / "hub.db"
    upgrade(f"sqlite:///{path}")
    return path


@contextmanager
def make_club(db_url: str, folder: Path, clock: ManualClock) -> Iterator[Club]:
    """A :class:`Club` on the migrated database *db_url*, its files in *folder*."""
    outbox = folder / "outbox"
    settings = Settings(database_url=db_url, mqtt_enabled=False,
                        public_url="http://testserver", mail_outbox=str(outbox))  # fmt: skip
    engine = make_engine(settings.database_url)
    gateway = SimulatedGateway(folder / "gateway.sqlite3", clock=clock)
    rows = seed_club(engine, settings, clock, gateway)
    app = create_app(settings, clock=clock, engine=engine)
    app.state.billing = BillingServices(gateway, FolderMailer(outbox, sender=settings.mail_from))
    c = Club(app, engine, settings, clock, gateway, outbox, rows)
    try:
        yield c
    finally:
        for client in c.clients:
            client.close()
        gateway.close()
        engine.dispose()


@pytest.fixture
def club(portal_template: Path, tmp_path: Path, clock: ManualClock) -> Iterator[Club]:
    """See the module documentation (SQLite)."""
    db = tmp_path / "hub.db"
    shutil.copyfile(portal_template, db)
    with make_club(f"sqlite:///{db}", tmp_path, clock) as c:
        yield c


@pytest.fixture
def pg_club(tmp_path: Path, clock: ManualClock) -> Iterator[Club]:
    """The same club on a throwaway PostgreSQL database."""
    url = postgres.create_database()
    try:
        upgrade(url)
        with make_club(url, tmp_path, clock) as c:
            yield c
    finally:
        postgres.drop_database(url)
