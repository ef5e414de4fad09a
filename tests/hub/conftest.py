"""Hub fixtures: a migrated database per test (SQLite, and PostgreSQL where asked),
a manual clock, and helpers to fill in sites, members, cards and entitlements."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gatehouse.clock import ManualClock
from gatehouse.services import postgres
from gatehouse.services.mosquitto import Mosquitto
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.migrations import upgrade
from hub.runtime import Hub
from tests.hub import factories

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A migrated SQLite database (the default backend)."""
    url = _sqlite_url(tmp_path)
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database on each backend in turn: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        url = _sqlite_url(tmp_path)
        upgrade(url)
        yield url
        return
    url = postgres.create_database()
    try:
        upgrade(url)
        yield url
    finally:
        postgres.drop_database(url)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, mqtt_enabled=False)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine, settings: Settings) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        s.info["settings"] = settings
        yield s


@pytest.fixture
def make(session: Session, clock: ManualClock) -> factories.Factory:
    return factories.Factory(session, clock)


@pytest.fixture
def running_hub(db_url: str, mosquitto: Mosquitto, clock: ManualClock) -> Iterator[Hub]:
    """A whole hub in-process — API app and MQTT service — on SQLite and the test broker.

    ``TestClient(running_hub.app)`` calls the API; ``running_hub.mqtt`` is the service;
    ``running_hub.session()`` opens a database session with the hub's settings.
    """
    settings = Settings(database_url=db_url, mqtt_port=mosquitto.port, acl_poll_s=0.5)
    with Hub(settings, clock=clock) as hub:
        yield hub


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium for the whole test session, driven by Playwright
    (shared by the console's and the portal's browser tests: Playwright's sync API runs
    one instance per process)."""
    from playwright.sync_api import sync_playwright

    from tests.hub.console.conftest import CHROMIUM_ARGS, chromium_path

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()
