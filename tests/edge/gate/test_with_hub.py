"""The Pi gate against the real hub: provisioned over HTTP, synced and reporting over MQTT.

The hub runs in-process (API app served by uvicorn on a free port, its MQTT service on
the test's Mosquitto, SQLite); the gate is provisioned with ``gatehouse gate provision``
and runs as a :class:`GateDaemon` on mock pins and the hub's manual clock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from gpiozero.pins.mock import MockFactory
from typer.testing import CliRunner

from edge.gate.config import load_config
from edge.gate.daemon import GateDaemon
from edge.gate.reader import ScriptedReader
from edge.gate.timers import ManualTimers
from gatehouse.cli import app as gatehouse_app
from gatehouse.clock import ManualClock
from gatehouse.services import free_port, wait_for_port
from gatehouse.services.mosquitto import Mosquitto
from hub.core.config import Settings
from hub.migrations import upgrade
from hub.models import Role
from hub.runtime import Hub
from tests.edge.gate.helpers import EXIT_BUTTON, RELAY, eventually
from tests.hub.api.conftest import make_token

API = "/api/v1"
CARD = bytes.fromhex("04a1b2c3d4e5f6")


@pytest.fixture
def hub_clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto, hub_clock: ManualClock) -> Iterator[Hub]:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    settings = Settings(database_url=url, mqtt_port=mosquitto.port, acl_poll_s=0.5)
    with Hub(settings, clock=hub_clock) as running:
        yield running


@pytest.fixture
def hub_url(hub: Hub) -> Iterator[str]:
    """The hub's API served over real HTTP, as a gate at the door reaches it."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(hub.app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port("127.0.0.1", port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def test_a_provisioned_gate_syncs_decides_and_reports_to_the_hub(
    hub: Hub, hub_url: str, hub_clock: ManualClock, tmp_path: Path
) -> None:
    token = make_token(hub.engine, hub.settings, hub_clock, Role.OWNER)
    api = TestClient(hub.app, headers={"Authorization": f"Bearer {token}"})

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = api.post(f"{API}/{path}", json=body)
        assert r.status_code in (201, 202), r.text
        return r.json()  # type: ignore[no-any-return]

    site = post("sites", {"slug": "club1", "name": "Club One", "timezone": "Asia/Bangkok"})
    door = post("doors", {"site_id": site["id"], "name": "Front door", "zone": 0})
    member = post("members", {"first_name": "Somchai", "last_name": "P", "email": "s@x.co"})
    card = post("cards", {"member_id": member["id"], "uid": CARD.hex(":")})
    post("entitlements", {"member_id": member["id"], "site_id": site["id"], "zones": 1,
                          "valid_from": "2026-11-01T00:00:00Z"})  # fmt: skip
    gate_row = post("gates", {"site_id": site["id"], "door_id": door["id"], "slug": "front-door"})

    out = tmp_path / "gate.toml"
    result = CliRunner().invoke(
        gatehouse_app,
        ["gate", "provision", "--hub", hub_url, "--token", gate_row["claim_token"],
         "--out", str(out), "--store", str(tmp_path / "gate.db")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    again = CliRunner().invoke(
        gatehouse_app,
        ["gate", "provision", "--hub", hub_url, "--token", gate_row["claim_token"],
         "--out", str(tmp_path / "again.toml")],
    )  # fmt: skip
    assert again.exit_code == 1 and "already been used" in again.output

    pins = MockFactory()
    timers = ManualTimers(hub_clock)
    gate = GateDaemon(
        load_config(out), clock=hub_clock, timers=timers, pin_factory=pins, reader=ScriptedReader()
    ).start(read=False)
    pins.pin(5).drive_low()  # the door is shut
    try:
        eventually(lambda: gate.store.version >= 1, timeout=10)
        granted = gate.tap(CARD)
        assert granted is not None and granted.reason_name == "granted"
        assert pins.pin(RELAY).state
        timers.advance(seconds=5)
        version = gate.store.version
        api.patch(f"{API}/cards/{card['id']}", json={"active": False})
        eventually(lambda: gate.store.version > version, timeout=10)
        refused = gate.tap(CARD)
        assert refused is not None and refused.reason_name == "unknown"
        pins.pin(EXIT_BUTTON).drive_low()  # someone leaves
        pins.pin(EXIT_BUTTON).drive_high()
        timers.advance(seconds=5)
        post(f"gates/{gate_row['id']}/commands", {"op": "unlock", "args": {"seconds": 8}})
        eventually(lambda: pins.pin(RELAY).state)
        timers.advance(seconds=7.9)
        assert pins.pin(RELAY).state
        timers.advance(seconds=0.1)
        assert not pins.pin(RELAY).state

        eventually(lambda: gate.store.acked == 4 and gate.store.depth() == 0, timeout=10)
        reasons = [c["reason"] for c in api.get(f"{API}/checkins").json()]
        assert sorted(reasons) == ["exit", "granted", "remote", "unknown"]
        mine = api.get(f"{API}/checkins", params={"member_id": member["id"]}).json()
        assert sorted(c["reason"] for c in mine) == ["granted", "unknown"]
        fleet = api.get(f"{API}/gates").json()[0]
        assert fleet["online"] and fleet["fw"].startswith("gatehouse-pi/")
    finally:
        gate.stop()
