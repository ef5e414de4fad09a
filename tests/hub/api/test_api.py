"""The REST API: validation, roles, cards without UIDs, lists moving with changes."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gatehouse.clock import ManualClock
from hub.core.config import Settings
from hub.models import Role
from tests.hub.api.conftest import make_token

API = "/api/v1"


def _site(client: TestClient) -> dict:
    r = client.post(
        f"{API}/sites", json={"slug": "club1", "name": "Club", "timezone": "Asia/Bangkok"}
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_member_validation_gives_422_with_field_messages(client: TestClient) -> None:
    r = client.post(
        f"{API}/members",
        json={"first_name": " ", "last_name": "Doe", "email": "not-an-email", "phone": "call me"},
    )
    assert r.status_code == 422
    fields = {e["loc"][-1]: e["msg"] for e in r.json()["detail"]}
    assert set(fields) == {"first_name", "email", "phone"}
    assert "email" in fields["email"] and "phone" in fields["phone"]
    ok = {
        "first_name": "Ana",
        "last_name": "Lima",
        "email": "ana@Example.COM",
        "phone": "+66 81 234 5678",
    }
    r = client.post(f"{API}/members", json=ok)
    assert r.status_code == 201 and r.json()["email"] == "ana@example.com"
    assert client.post(f"{API}/members", json=ok).status_code == 409
    mid = r.json()["id"]
    assert client.patch(f"{API}/members/{mid}", json={"email": "x@"}).status_code == 422
    assert client.get(f"{API}/members", params={"q": "lima"}).json()[0]["id"] == mid


def test_cards_show_only_the_last_four_hex_and_move_the_list(client: TestClient) -> None:
    site = _site(client)
    m = client.post(
        f"{API}/members", json={"first_name": "A", "last_name": "B", "email": "a@b.co"}
    ).json()
    assert (
        client.post(f"{API}/cards", json={"member_id": m["id"], "uid": "04:A1"}).status_code == 422
    )
    r = client.post(f"{API}/cards", json={"member_id": m["id"], "uid": "04:a1:b2:c3:d4:e5:f6"})
    assert r.status_code == 201, r.text
    card = r.json()
    assert card["uid_last4"] == "E5F6"
    listing = client.get(f"{API}/cards").text
    assert "a1b2c3" not in listing.lower() and "04a1" not in listing.lower()
    assert (
        client.post(
            f"{API}/cards", json={"member_id": m["id"], "uid": "04A1B2C3D4E5F6"}
        ).status_code
        == 409
    )

    start = "2026-11-01T00:00:00Z"
    body = {"member_id": m["id"], "site_id": site["id"], "zones": 3, "valid_from": start,
            "valid_until": "2027-01-01T00:00:00Z", "source": "manual"}  # fmt: skip
    assert (
        client.post(f"{API}/entitlements", json={**body, "valid_until": start}).status_code == 422
    )
    ent = client.post(f"{API}/entitlements", json=body)
    assert ent.status_code == 201, ent.text
    assert client.get(f"{API}/sites/{site['id']}").json()["list_version"] == 1
    assert client.patch(f"{API}/cards/{card['id']}", json={"active": False}).status_code == 200
    assert client.get(f"{API}/sites/{site['id']}").json()["list_version"] == 2
    audit = client.get(f"{API}/audit", params={"entity": "card"}).json()
    assert [a["action"] for a in audit] == ["card.update", "card.create"]
    assert audit[0]["before"]["active"] is True and audit[0]["after"]["active"] is False
    assert "uid_hex" not in audit[0]["after"]


def test_tokens_roles_and_login(
    client: TestClient, engine: Engine, settings: Settings, clock: ManualClock, owner_email: str
) -> None:
    bare = TestClient(client.app)
    assert bare.get(f"{API}/members").status_code == 401
    assert bare.get(f"{API}/members", headers={"Authorization": "Bearer nope"}).status_code == 401
    desk = {"Authorization": f"Bearer {make_token(engine, settings, clock, Role.FRONT_DESK)}"}
    assert bare.get(f"{API}/members", headers=desk).status_code == 200
    r = bare.post(f"{API}/sites", headers=desk, json={"slug": "x", "name": "X"})
    assert r.status_code == 403

    r = client.post(f"{API}/tokens", json={"name": "accounting", "role": "manager"})
    assert r.status_code == 201
    token = r.json()["token"]
    assert "token" not in client.get(f"{API}/tokens").json()[0]
    mgr = {"Authorization": f"Bearer {token}"}
    assert (
        bare.post(f"{API}/sites", headers=mgr, json={"slug": "x", "name": "X"}).status_code == 201
    )
    client.delete(f"{API}/tokens/{r.json()['id']}")
    assert bare.get(f"{API}/sites", headers=mgr).status_code == 401

    bad = bare.post(f"{API}/login/access-token", data={"username": owner_email, "password": "nope"})
    assert bad.status_code == 401
    ok = bare.post(
        f"{API}/login/access-token",
        data={"username": owner_email, "password": "correct horse battery"},
    )
    assert ok.status_code == 200
    me = bare.get(
        f"{API}/users/me", headers={"Authorization": f"Bearer {ok.json()['access_token']}"}
    )
    assert me.json()["role"] == "owner"
    clock.advance(hours=13)
    assert (
        bare.get(
            f"{API}/users/me", headers={"Authorization": f"Bearer {ok.json()['access_token']}"}
        ).status_code
        == 401
    )


def test_gate_claim_gives_the_config_once(client: TestClient, clock: ManualClock) -> None:
    site = _site(client)
    door = client.post(
        f"{API}/doors", json={"site_id": site["id"], "name": "Front door", "zone": 2}
    ).json()
    r = client.post(
        f"{API}/gates", json={"site_id": site["id"], "door_id": door["id"], "slug": "front-door"}
    )
    assert r.status_code == 201, r.text
    gate = r.json()
    token = gate["claim_token"]
    assert "claim_token" not in client.get(f"{API}/gates").json()[0]
    bare = TestClient(client.app)
    config = bare.post(f"{API}/provision/claim", json={"token": token})
    assert config.status_code == 200, config.text
    c = config.json()
    assert set(c) == {
        "site",
        "gate",
        "kind",
        "door",
        "zone",
        "mqtt",
        "gate_key",
        "card_secret",
        "hub_url",
    }
    assert (c["site"], c["gate"], c["kind"], c["door"], c["zone"]) == (
        "club1",
        "front-door",
        "pi",
        "Front door",
        2,
    )
    assert set(c["mqtt"]) == {"host", "port", "username", "password", "tls", "ca"}
    assert c["mqtt"]["username"] == "club1.front-door" and len(c["mqtt"]["password"]) > 20
    assert len(bytes.fromhex(c["gate_key"])) == 32 and len(bytes.fromhex(c["card_secret"])) == 32
    again = bare.post(f"{API}/provision/claim", json={"token": token})
    assert again.status_code == 410 and "already been used" in again.json()["detail"]

    second = client.post(
        f"{API}/gates", json={"site_id": site["id"], "door_id": door["id"], "slug": "side"}
    )
    clock.advance(timedelta(hours=24, seconds=1))
    late = bare.post(f"{API}/provision/claim", json={"token": second.json()["claim_token"]})
    assert late.status_code == 410 and "expired" in late.json()["detail"]
    assert bare.post(f"{API}/provision/claim", json={"token": "ghc_unknown"}).status_code == 410
    assert (
        client.post(f"{API}/gates/{gate['id']}/commands", json={"op": "unlock"}).status_code == 503
    )
