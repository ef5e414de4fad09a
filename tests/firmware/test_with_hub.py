"""The firmware against the real hub: provisioned through the API, synced over Mosquitto.

The gate's config is what the hub's claim endpoint returns, turned into ``config.json``
by ``gatehouse firmware build``'s config step; the firmware runs on the micropython VM
with its real reader driver (emulated chip) and pin code (machine shim).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from edge.fwbuild.boards import BOARDS
from edge.fwbuild.gateconfig import firmware_config
from gatehouse.clock import ManualClock
from gatehouse.services.mosquitto import Mosquitto
from hub.core.config import Settings
from hub.migrations import upgrade
from hub.models import Role
from hub.runtime import Hub
from hub.services.users import issue_api_token
from tests.firmware.conftest import firmware

API = "/api/v1"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[Hub]:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    settings = Settings(database_url=url, mqtt_port=mosquitto.port, acl_poll_s=0.5)
    with Hub(settings, clock=ManualClock(START)) as running:
        yield running


def _api(hub: Hub) -> TestClient:
    with Session(hub.engine) as s:
        s.info["settings"] = hub.settings
        _, token = issue_api_token(s, name="test", role=Role.OWNER.value, clock=hub.clock)
        s.commit()
    return TestClient(hub.app, headers={"Authorization": f"Bearer {token}"})


def test_a_provisioned_firmware_gate_syncs_decides_and_reports_to_the_hub(
    hub: Hub, tmp_path: Path
) -> None:
    api = _api(hub)

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = api.post(f"{API}/{path}", json=body)
        assert r.status_code in (201, 202), r.text
        return r.json()

    site = post("sites", {"slug": "club1", "name": "Club One", "timezone": "Asia/Bangkok"})
    door = post("doors", {"site_id": site["id"], "name": "Side door", "zone": 0})
    member = post("members", {"first_name": "Ana", "last_name": "Lima", "email": "ana@x.co"})
    card = post("cards", {"member_id": member["id"], "uid": "04:A1:B2:C3:D4:E5:F6"})
    post("entitlements", {"member_id": member["id"], "site_id": site["id"], "zones": 1,
                          "valid_from": "2026-11-01T00:00:00Z"})  # fmt: skip
    gate = post(
        "gates",
        {"site_id": site["id"], "door_id": door["id"], "slug": "side-door", "kind": "micropython"},
    )
    claimed = api.post(f"{API}/provision/claim", json={"token": gate["claim_token"]}).json()
    config = firmware_config(claimed, BOARDS["esp32"])
    config.update(poll_ms=10, reader_ms=10, hold_ms=0)  # quicker passes for the test

    with firmware(config, tmp_path / "gate") as fw:
        fw.wait_for("list v=1 n=1")
        start = fw.mark()
        fw.tap("04a1b2c3d4e5f6")
        assert "reason=granted" in fw.wait_for("tap ", start=start)
        fw.wait_for("pin relay 1", start=start)

        api.patch(f"{API}/cards/{card['id']}", json={"active": False})
        fw.wait_for("list v=2 n=0 via=delta", timeout=5)
        start = fw.mark()
        fw.tap("04a1b2c3d4e5f6")
        assert "reason=unknown" in fw.wait_for("tap ", start=start)
        fw.wait_for("ack seq=2", timeout=10)

        checkins = api.get(f"{API}/checkins", params={"member_id": member["id"]}).json()
        assert sorted(c["reason"] for c in checkins) == ["granted", "unknown"]
        assert all(c["door_id"] == door["id"] for c in checkins)
        fleet = api.get(f"{API}/gates").json()[0]
        assert fleet["online"] and fleet["fw"].startswith("gatehouse-mpy/")

        start = fw.mark()
        post(f"gates/{gate['id']}/commands", {"op": "unlock", "args": {}})
        fw.wait_for("cmd op=unlock", start=start, timeout=5)
        fw.wait_for("pin relay 1", start=start)
        fw.wait_for("ack seq=3", timeout=10)
        assert fw.status()["pending"] == 0
