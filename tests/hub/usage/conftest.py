"""Usage billing fixtures: the two-gate world on a migrated database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gatehouse.clock import ManualClock
from hub.core.config import Settings
from hub.core.db import make_engine
from tests.hub.usage.world import World


@pytest.fixture
def world(session: Session, clock: ManualClock, settings: Settings) -> World:
    return World(session, clock, settings)


@pytest.fixture
def any_world(any_db_url: str, clock: ManualClock) -> Iterator[tuple[World, Engine, Settings]]:
    """The world on each backend in turn (SQLite, then PostgreSQL)."""
    settings = Settings(database_url=any_db_url, mqtt_enabled=False)
    engine = make_engine(any_db_url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            s.info["settings"] = settings
            yield World(s, clock, settings), engine, settings
    finally:
        engine.dispose()
