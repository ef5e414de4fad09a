"""A club with one Pi gate and one MicroPython gate, provisioned through the real API.

:func:`club` makes the site, two doors, a member with a card and an entitlement, and
the two gates; it returns the API client and each gate's claimed configuration (what
an installer receives), so tests can start the gates on any broker they like.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from hub.models import Role
from hub.runtime import Hub
from hub.services.users import issue_api_token

API = "/api/v1"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CARD = "04a1b2c3d4e5f6"


@dataclass
class Club:
    """What :func:`club` made."""

    api: TestClient
    site_id: int
    pi: dict[str, Any]  # gate row (id, slug, ...) as the API returned it
    mpy: dict[str, Any]
    pi_conf: dict[str, Any]  # the claimed configuration
    mpy_conf: dict[str, Any]


def owner_api(hub: Hub) -> TestClient:
    """An API client signed in as an owner (bearer token)."""
    with Session(hub.engine) as s:
        s.info["settings"] = hub.settings
        _, token = issue_api_token(s, name="test", role=Role.OWNER.value, clock=hub.clock)
        s.commit()
    return TestClient(hub.app, headers={"Authorization": f"Bearer {token}"})


def club(hub: Hub) -> Club:
    """Provision a site with a Pi gate (``front-door``) and a MicroPython one (``side-door``)."""
    client = owner_api(hub)

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = client.post(f"{API}/{path}", json=body)
        assert r.status_code in (201, 202), r.text
        return r.json()  # type: ignore[no-any-return]

    site = post("sites", {"slug": "club1", "name": "Club One", "timezone": "Asia/Bangkok"})
    front = post("doors", {"site_id": site["id"], "name": "Front door", "zone": 0})
    side = post("doors", {"site_id": site["id"], "name": "Side door", "zone": 0})
    member = post("members", {"first_name": "Ana", "last_name": "Lima", "email": "ana@x.co"})
    post("cards", {"member_id": member["id"], "uid": CARD})
    post("entitlements", {"member_id": member["id"], "site_id": site["id"], "zones": 1,
                          "valid_from": "2026-11-01T00:00:00Z"})  # fmt: skip
    pi = post("gates", {"site_id": site["id"], "door_id": front["id"], "slug": "front-door"})
    mpy = post(
        "gates",
        {"site_id": site["id"], "door_id": side["id"], "slug": "side-door", "kind": "micropython"},
    )
    confs = []
    for gate in (pi, mpy):
        r = client.post(f"{API}/provision/claim", json={"token": gate["claim_token"]})
        assert r.status_code == 200, r.text
        confs.append(r.json())
    return Club(client, site["id"], pi, mpy, confs[0], confs[1])


# Fixtures of the hub's own tests, shared here: a migrated SQLite database, a manual
# clock, the API with billing wired to temporary files, and the console's database.
from tests.hub.billing.conftest import api, billing_settings  # noqa: E402, F401
from tests.hub.conftest import clock, db_url, engine, settings  # noqa: E402, F401
from tests.hub.console.conftest import console_db_url, migrated_template  # noqa: E402, F401
