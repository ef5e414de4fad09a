"""Console fixtures: a hub app with one user per role, signed-in test clients, rows.

``console`` is a hub app on a fresh SQLite database (no MQTT) with a site, a door, a
gate and one user per role; ``console.client(Role.MANAGER)`` is a ``TestClient``
signed in through the login form, and ``console.csrf(client)`` reads the session's
form token from a page.  The browser tests (``test_browser.py``) start a real server
and Mosquitto of their own.
"""

from __future__ import annotations

import contextlib
import random
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gatehouse.clock import ManualClock
from gatehouse.services.mosquitto import Mosquitto
from gatehouse.services.web import AppServer
from gatehouse.sim.gates import SimGate
from hub.access.keys import gate_key, site_card_secret
from hub.app import create_app
from hub.console.attendance import day_bounds, local_day
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.migrations import upgrade
from hub.models import CheckIn, Door, Gate, Member, Role, Site, User
from hub.runtime import Hub
from hub.services.gates import provision_gate
from tests.hub.factories import Factory

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def email_of(role: Role) -> str:
    return f"{role.value.replace('_', '-')}@club.example"


def login(client: TestClient, email: str, password: str = PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    """Sign in through the form (GET for its token, then POST); returns the POST answer."""
    page = client.get("/console/login")
    match = _CSRF.search(page.text)
    assert match, page.text[:500]
    data = {"email": email, "password": password, "csrf_token": match.group(1), **extra}
    return client.post("/console/login", data=data)


def csrf_of(client: TestClient, path: str = "/console/account") -> str:
    """The session's CSRF token, read from a page's form."""
    page = client.get(path)
    match = _CSRF.search(page.text)
    assert match, f"no form token on {path}: {page.status_code}"
    return match.group(1)


@dataclass
class Console:
    """A hub app with its console, rows to point at, and signed-in clients."""

    app: object
    engine: Engine
    settings: Settings
    clock: ManualClock
    site: Site
    door: Door
    gate: Gate
    member: Member
    users: dict[Role, User] = field(default_factory=dict)

    def session(self) -> Session:
        s = Session(self.engine, expire_on_commit=False)
        s.info["settings"] = self.settings
        return s

    def anonymous(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)  # type: ignore[arg-type]

    def client(self, role: Role) -> TestClient:
        c = self.anonymous()
        answer = login(c, email_of(role))
        assert answer.status_code == 303, answer.text[:300]
        return c

    def csrf(self, client: TestClient) -> str:
        return csrf_of(client)

    def add_checkin(
        self, ts: datetime, *, member: Member | None = None, allowed: bool = True
    ) -> CheckIn:
        with self.session() as s:
            row = CheckIn(
                gate_id=self.gate.id or 0,
                site_id=self.site.id or 0,
                door_id=self.door.id,
                member_id=member.id if member else None,
                store_id=secrets.token_hex(8),
                seq=1,
                ts=ts,
                card_key="00" * 8,
                reason="granted" if allowed else "unknown",
                allowed=allowed,
                list_version=1,
                received_at=ts,
            )
            s.add(row)
            s.commit()
            return row


@lru_cache(maxsize=1)
def password_hash() -> str:
    """An argon2id hash of :data:`PASSWORD` with light parameters: checking it is still a
    real argon2 verification, without the default's half second per sign-in."""
    return PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)


def seed(engine: Engine, settings: Settings, clock: ManualClock) -> dict[str, Any]:
    """A site (Asia/Bangkok), its front door and gate, a member and a user per role."""
    with Session(engine, expire_on_commit=False) as s:
        s.info["settings"] = settings
        make = Factory(s, clock)
        site = make.site()
        door = make.door(site)
        gate, _, _ = provision_gate(
            s, site=site, door=door, slug="front-door", kind="pi", clock=clock, settings=settings
        )
        member = make.member()
        users = {}
        for role in Role:
            user = User(
                email=email_of(role), full_name=f"{role.value} user", role=role.value,
                password_hash=password_hash(), created_at=clock.now(),
            )  # fmt: skip
            s.add(user)
            users[role] = user
        s.commit()
    return {"site": site, "door": door, "gate": gate, "member": member, "users": users}


def build_console(db_url: str, clock: ManualClock, **settings_kw: object) -> Console:
    """A console on *db_url* (migrated) without MQTT, seeded by :func:`seed`."""
    settings = Settings(database_url=db_url, mqtt_enabled=False, **settings_kw)  # type: ignore[arg-type]
    engine = make_engine(db_url)
    rows = seed(engine, settings, clock)
    app = create_app(settings, clock=clock, engine=engine)
    return Console(app, engine, settings, clock, **rows)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database at the latest schema, made once and copied per test."""
    path = tmp_path_factory.mktemp("console-template") / "hub.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def console_db_url(migrated_template: Path, tmp_path: Path) -> str:
    """A fresh migrated SQLite database (a copy of the template)."""
    path = tmp_path / "console.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def console(console_db_url: str, clock: ManualClock) -> Iterator[Console]:
    """A hub app with the console, a site, door, gate, member and a user per role."""
    c = build_console(console_db_url, clock)
    yield c
    c.engine.dispose()


@dataclass
class LiveConsole(Console):
    """A console on a whole running hub (MQTT service on a real Mosquitto)."""

    hub: Hub | None = None
    broker: Mosquitto | None = None
    sims: list[SimGate] = field(default_factory=list)

    def sim(self, gate: Gate | None = None) -> SimGate:
        """A simulated gate for *gate* (default: the front door's), connected."""
        gate = gate or self.gate
        assert self.broker is not None
        with self.session() as s:
            row = s.get(Gate, gate.id)
            site = s.get(Site, gate.site_id)
            assert row is not None and site is not None
            sim = SimGate(
                host="127.0.0.1", port=self.broker.port, site=site.slug, gate=row.slug,
                key=gate_key(s, row), card_secret=site_card_secret(s, site),
                now=self.clock.timestamp,
            )  # fmt: skip
        self.sims.append(sim)
        return sim.start()


@pytest.fixture
def live_console(
    console_db_url: str, mosquitto: Mosquitto, clock: ManualClock
) -> Iterator[LiveConsole]:
    """The console of a running hub (API, MQTT service, Mosquitto), seeded by :func:`seed`."""
    settings = Settings(database_url=console_db_url, mqtt_port=mosquitto.port, acl_poll_s=0.5)
    hub = Hub(settings, clock=clock, migrate=False).start()
    rows = seed(hub.engine, settings, clock)  # type: ignore[arg-type]
    live = LiveConsole(hub.app, hub.engine, settings, clock, **rows, hub=hub, broker=mosquitto)  # type: ignore[arg-type]
    try:
        yield live
    finally:
        for sim in live.sims:
            with contextlib.suppress(Exception):
                sim.stop(graceful=False)
        hub.stop()


# -- a real browser against a real server -----------------------------------------------

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    """Debian's Chromium (``make test`` installs it); never a downloaded browser."""
    for candidate in ("/usr/lib/chromium/chromium", "/usr/bin/chromium"):
        if Path(candidate).exists():
            return candidate
    raise RuntimeError("chromium is not installed: scripts/setup-system.sh chromium")


@dataclass
class ServedHub:
    """A running hub (MQTT on its own Mosquitto) behind a real HTTP server."""

    url: str
    live: LiveConsole
    server: AppServer


def _club_history(live: LiveConsole) -> None:
    """A month of visits by a few members, so the charts have something to show."""
    rng = random.Random(7)
    names = [("Somchai", "Jaidee"), ("Malee", "Srisuk"), ("Ana", "Costa"), ("Ken", "Sato")]
    with live.session() as s:
        make = Factory(s, live.clock)
        people = []
        for first, last in names:
            m = make.member()
            m.first_name, m.last_name = first, last
            m.email = f"{first.lower()}@example.com"
            s.add(m)
            make.card(m)
            make.entitlement(m, live.site, days=60)
            people.append(m)
        make.changed(live.site)
    today = local_day(live.clock.now(), live.site.timezone)
    for day in range(1, 30):
        midnight = day_bounds(today - timedelta(days=day), live.site.timezone)[0]
        for _ in range(rng.randint(2, 9)):
            hour = rng.choice([6, 7, 7, 8, 12, 17, 18, 18, 19, 20])
            at = midnight + timedelta(hours=hour, minutes=rng.randint(0, 59))
            live.add_checkin(at, member=rng.choice(people))


@pytest.fixture(scope="module")
def served_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedHub]:
    """A seeded hub with a month of history, served over HTTP, with its own broker."""
    from tests.hub.conftest import START

    root = tmp_path_factory.mktemp("served-hub")
    url = f"sqlite:///{root / 'hub.db'}"
    upgrade(url)
    clock = ManualClock(START)
    with Mosquitto(root / "mosquitto") as broker:
        settings = Settings(database_url=url, mqtt_port=broker.port, acl_poll_s=0.5)
        hub = Hub(settings, clock=clock, migrate=False).start()
        rows = seed(hub.engine, settings, clock)  # type: ignore[arg-type]
        live = LiveConsole(hub.app, hub.engine, settings, clock, **rows, hub=hub, broker=broker)  # type: ignore[arg-type]
        _club_history(live)
        server = AppServer(hub.app).start()
        try:
            yield ServedHub(server.url, live, server)
        finally:
            server.stop()
            for sim in live.sims:
                with contextlib.suppress(Exception):
                    sim.stop(graceful=False)
            hub.stop()
