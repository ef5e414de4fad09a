"""Fixtures for gate tests: mock pins, a manual clock, a hub simulator on a real broker."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from gpiozero.pins.mock import MockFactory

from edge.gate.daemon import GateDaemon
from edge.gate.reader import ScriptedReader
from edge.gate.timers import ManualTimers
from gatehouse.clock import ManualClock
from gatehouse.services.mosquitto import Mosquitto
from protocol.schedule import Schedules
from tests.edge.gate.helpers import GATE, SITE, T0, make_config
from tests.support.hubsim import HubSim

# Schedule 1: every day 06:00-16:00; schedule 2: every day 20:00-22:00 (site time, UTC+7).
SCHEDULES = Schedules(
    {1: [[0b1111111, 6 * 60, 16 * 60]], 2: [[0b1111111, 20 * 60, 22 * 60]]}, tz=[[0, 7 * 3600]]
)


class Keys(NamedTuple):
    gate_key: bytes
    card_secret: bytes


@pytest.fixture
def keys() -> Keys:
    return Keys(secrets.token_bytes(32), secrets.token_bytes(32))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def timers(clock: ManualClock) -> ManualTimers:
    return ManualTimers(clock)


@pytest.fixture
def pins() -> MockFactory:
    return MockFactory()


@pytest.fixture
def hub(mosquitto: Mosquitto, clock: ManualClock, keys: Keys) -> Iterator[HubSim]:
    sim = HubSim(mosquitto.port, SITE, keys.card_secret, now=clock.timestamp, schedules=SCHEDULES)
    sim.add_gate(GATE, keys.gate_key)
    sim.client.reconnect_delay_set(0.05, 0.2)  # type: ignore[arg-type]  # floats work
    with sim:
        yield sim
        sim.client.disconnect()  # first, so that stopping its loop does not wait a second


GateFactory = Callable[..., GateDaemon]


@pytest.fixture
def make_gate(
    tmp_path: Path,
    mosquitto: Mosquitto,
    clock: ManualClock,
    timers: ManualTimers,
    pins: MockFactory,
    keys: Keys,
) -> Iterator[GateFactory]:
    """Build gates on mock pins and the manual clock; each is stopped at the end."""
    made: list[GateDaemon] = []

    def factory(
        db: str = "gate.db",
        connect: bool = True,
        wall: ManualClock | None = None,
        **sections: dict[str, Any],
    ) -> GateDaemon:
        """*wall*: a wall clock apart from the monotonic one (the timers' clock)."""
        config = make_config(
            tmp_path / db, keys.gate_key, keys.card_secret, mosquitto.port, **sections
        )
        gate = GateDaemon(
            config, clock=wall or clock, timers=timers, pin_factory=pins, reader=ScriptedReader()
        )
        made.append(gate)
        return gate.start(connect=connect, read=False)

    yield factory
    for gate in made:
        gate.stop()
