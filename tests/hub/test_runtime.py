"""A whole hub in one process: staff use the API, a gate provisioned through it gets its
list, a card deactivated through the API reaches the gate, taps come back as check-ins."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gatehouse.clock import ManualClock
from gatehouse.sim.gates import SimGate
from hub.models import Role
from hub.runtime import Hub
from protocol.decision import GRANTED, UNKNOWN
from tests.hub.api.conftest import make_token

API = "/api/v1"


def test_a_club_day_through_the_api_and_mqtt(running_hub: Hub, clock: ManualClock) -> None:
    hub = running_hub
    token = make_token(hub.engine, hub.settings, clock, Role.OWNER)
    api = TestClient(hub.app, headers={"Authorization": f"Bearer {token}"})

    def post(path: str, body: dict) -> dict:
        r = api.post(f"{API}/{path}", json=body)
        assert r.status_code in (201, 202), r.text
        return r.json()

    site = post("sites", {"slug": "club1", "name": "Club One", "timezone": "Europe/Berlin"})
    door = post("doors", {"site_id": site["id"], "name": "Front door", "zone": 0})
    member = post("members", {"first_name": "Ana", "last_name": "Lima", "email": "ana@x.co"})
    card = post("cards", {"member_id": member["id"], "uid": "04:A1:B2:C3"})
    post("entitlements", {"member_id": member["id"], "site_id": site["id"], "zones": 1,
                          "valid_from": "2026-11-01T00:00:00Z"})  # fmt: skip
    gate = post("gates", {"site_id": site["id"], "door_id": door["id"], "slug": "front-door"})
    config = api.post(f"{API}/provision/claim", json={"token": gate["claim_token"]}).json()

    sim = SimGate(
        host="127.0.0.1",
        port=config["mqtt"]["port"],
        site="club1",
        gate="front-door",
        key=bytes.fromhex(config["gate_key"]),
        card_secret=bytes.fromhex(config["card_secret"]),
        now=clock.timestamp,
    ).start()
    try:
        assert sim.wait_version(1)
        assert sim.tap(bytes.fromhex("04a1b2c3")) == (True, GRANTED)
        api.patch(f"{API}/cards/{card['id']}", json={"active": False})
        assert sim.wait_version(2, timeout=1.0)
        assert sim.tap(bytes.fromhex("04a1b2c3")) == (False, UNKNOWN)
        sim.flush()
        assert sim.wait_acked(2)

        # Both taps are the member's, though the card left the list before they arrived.
        checkins = api.get(f"{API}/checkins", params={"member_id": member["id"]}).json()
        assert sorted(c["reason"] for c in checkins) == ["granted", "unknown"]
        assert all(c["door_id"] == door["id"] and c["card_key"] for c in checkins)
        fleet = api.get(f"{API}/gates").json()[0]
        assert fleet["online"] and fleet["fw"] == "sim-1"

        cmd = post(f"gates/{gate['id']}/commands", {"op": "unlock", "args": {"seconds": 3}})
        assert sim.wait_for(lambda: any(c["op"] == "unlock" for c in sim.commands))
        assert cmd["n"] > sim.commands[0]["n"]
        assert api.get(f"{API}/audit", params={"action": "gate.cmd.unlock"}).json()
    finally:
        sim.stop()


def test_serve_starts_the_mqtt_service_with_the_app(running_hub: Hub, clock: ManualClock) -> None:
    from hub.app import create_app

    settings = running_hub.settings.model_copy(update={"mqtt_client_id": "second-hub"})
    app = create_app(settings, clock=clock, start_mqtt=True)
    with TestClient(app) as client:
        assert client.get("/health").json() == {"status": "ok", "mqtt": "running"}
    assert app.state.mqtt is None
