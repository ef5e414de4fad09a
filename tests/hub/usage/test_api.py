"""Usage billing over the API: bad terms are 422s with clear messages; sell, read back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gatehouse.clock import ManualClock
from hub.app import create_app
from hub.core.config import Settings
from hub.models import Role
from tests.hub.api.conftest import make_token

API = "/api/v1"


@pytest.fixture
def api(engine: Engine, settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock, engine=engine)
    token = make_token(engine, settings, clock, Role.OWNER)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def _msg(answer) -> str:  # type: ignore[no-untyped-def]
    assert answer.status_code == 422, answer.text
    return " ".join(e["msg"] for e in answer.json()["detail"])


def test_bad_terms_are_refused_and_a_pack_is_sold(api: TestClient) -> None:
    site = api.post(f"{API}/sites", json={"slug": "club1", "name": "Club",
                                          "timezone": "Asia/Bangkok"}).json()  # fmt: skip
    plan = {"site_id": site["id"], "name": "Pack", "kind": "visit_pack", "visits": 10,
            "valid_days": 30, "currency": "THB"}  # fmt: skip
    assert "a visit pack needs at least one visit" in _msg(
        api.post(f"{API}/usage-plans", json={**plan, "visits": 0})
    )
    assert "price_minor must not be negative" in _msg(
        api.post(f"{API}/usage-plans", json={**plan, "price_minor": -5})
    )
    assert "a re-entry window is 0 to 86400 seconds (one day)" in _msg(
        api.put(f"{API}/sites/{site['id']}/usage", json={"reentry_s": 90000})
    )
    assert api.put(f"{API}/sites/{site['id']}/usage", json={"reentry_s": 7200}).status_code == 200
    assert api.get(f"{API}/sites/{site['id']}/usage").json() == {"reentry_s": 7200}
    created = api.post(f"{API}/usage-plans", json={**plan, "price_minor": 150000})
    assert created.status_code == 201, created.text
    member = api.post(f"{API}/members", json={"first_name": "A", "last_name": "B",
                                              "email": "a@b.co"}).json()  # fmt: skip
    sold = api.post(f"{API}/usage-passes",
                    json={"member_id": member["id"], "plan_id": created.json()["id"]})  # fmt: skip
    assert sold.status_code == 201 and sold.json()["visits"] == 10
    assert "no active usage plan 999" in _msg(
        api.post(f"{API}/usage-passes", json={"member_id": member["id"], "plan_id": 999})
    )
    usage = api.get(f"{API}/members/{member['id']}/usage").json()
    assert (usage["used"], usage["remaining"]) == (0, 10)
