"""Usage billing fixtures: the two-gate world on a migrated database."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from gatehouse.clock import ManualClock
from hub.core.config import Settings
from tests.hub.usage.world import World


@pytest.fixture
def world(session: Session, clock: ManualClock, settings: Settings) -> World:
    return World(session, clock, settings)
