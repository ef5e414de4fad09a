"""A running hub MQTT service on a real Mosquitto, and simulated gates to talk to it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gatehouse.clock import ManualClock
from gatehouse.services.mosquitto import Mosquitto
from gatehouse.sim.gates import SimGate
from hub.access.keys import gate_key, site_card_secret
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.models import Door, Gate, Site
from hub.mqtt.service import HubMqtt
from hub.services.gates import provision_gate
from tests.hub.factories import Factory


class Harness:
    """A hub MQTT service, its database and clock, and gate helpers."""

    def __init__(self, engine: Engine, settings: Settings, clock: ManualClock, broker: Mosquitto):
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.broker = broker
        self.session = Session(engine, expire_on_commit=False)
        self.session.info["settings"] = settings
        self.make = Factory(self.session, clock)
        self.service = HubMqtt(engine=engine, settings=settings, clock=clock)
        self.gates: list[SimGate] = []

    def add_gate(self, site: Site, door: Door, slug: str = "front-door") -> Gate:
        gate, _, _ = provision_gate(
            self.session, site=site, door=door, slug=slug, kind="pi", clock=self.clock,
            settings=self.settings,
        )  # fmt: skip
        self.session.commit()
        return gate

    def sim(self, gate: Gate, start: bool = True, **kwargs: object) -> SimGate:
        site = self.session.get(Site, gate.site_id)
        assert site is not None
        sim = SimGate(
            host="127.0.0.1",
            port=self.broker.port,
            site=site.slug,
            gate=gate.slug,
            key=gate_key(self.session, gate),
            card_secret=site_card_secret(self.session, site),
            now=self.clock.timestamp,
            **kwargs,  # type: ignore[arg-type]
        )
        self.gates.append(sim)
        return sim.start() if start else sim

    def close(self) -> None:
        for g in self.gates:
            with contextlib.suppress(Exception):
                g.stop(graceful=False)
        self.service.stop()
        self.session.close()


@pytest.fixture
def harness(
    any_db_url: str, mosquitto: Mosquitto, clock: ManualClock, tmp_path: Path
) -> Iterator[Harness]:
    """The hub MQTT service on SQLite, then on PostgreSQL."""
    yield from _harness(any_db_url, mosquitto, clock)


@pytest.fixture
def sqlite_harness(db_url: str, mosquitto: Mosquitto, clock: ManualClock) -> Iterator[Harness]:
    """The hub MQTT service on SQLite only."""
    yield from _harness(db_url, mosquitto, clock)


def _harness(url: str, broker: Mosquitto, clock: ManualClock) -> Iterator[Harness]:
    settings = Settings(database_url=url, mqtt_port=broker.port, acl_poll_s=0.5)
    engine = make_engine(url)
    h = Harness(engine, settings, clock, broker)
    h.service.start()
    try:
        yield h
    finally:
        h.close()
        engine.dispose()
