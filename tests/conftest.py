"""Fixtures that start real services, shared by every test folder.

A test that needs a service gets it from here, started on a free port with its own
configuration, and torn down afterwards.  Nothing is skipped when a service is missing:
the fixture raises with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehouse.services import postgres
from gatehouse.services.mosquitto import Mosquitto

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A Mosquitto broker on a free port that allows anonymous clients."""
    with Mosquitto(tmp_path / "mosquitto") as broker:
        yield broker


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (SQLAlchemy URL), dropped afterwards."""
    url = postgres.create_database()
    try:
        yield url
    finally:
        postgres.drop_database(url)
