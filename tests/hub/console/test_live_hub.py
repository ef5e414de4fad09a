"""The console on a whole running hub: commands reach a simulated gate over Mosquitto,
a card tapped in enroll mode shows up on the member page, a new gate claims its config.
"""

from __future__ import annotations

import re
import secrets
import time

from sqlmodel import select

from hub.models import AuditLog, Card, CheckIn, Gate, Role
from tests.hub.console.conftest import LiveConsole
from tests.hub.factories import Factory


def test_unlock_reaches_the_gate_is_audited_and_shows_as_a_remote_checkin(
    live_console: LiveConsole,
) -> None:
    live = live_console
    sim = live.sim()
    client = live.client(Role.INSTALLER)
    csrf = live.csrf(client)
    answer = client.post(
        f"/console/gates/{live.gate.id}/unlock", data={"csrf_token": csrf, "seconds": "10"}
    )
    assert answer.status_code == 303 and "cmd_unlock" in answer.headers["location"]
    assert sim.wait_command("unlock") and sim.unlocks == [10]
    with live.session() as s:
        audit = s.exec(select(AuditLog).where(AuditLog.action == "gate.cmd.unlock")).one()
    assert audit.actor == f"user:{live.users[Role.INSTALLER].id}"
    assert audit.after is not None and audit.after["args"] == {"seconds": 10}
    sim.flush()
    assert sim.wait_acked(1)
    manager = live.client(Role.MANAGER)
    recent = manager.get("/console/dashboard/live.json").json()["fragments"]["recent"]
    assert "Remote unlock" in recent
    page = client.get("/console/gates").text
    assert 'class="badge good">Online<' in page and "sim-1" in page


def test_tap_to_enroll_shows_the_uid_then_the_card_opens_the_door(
    live_console: LiveConsole,
) -> None:
    live = live_console
    member = live.member.id
    with live.session() as s:
        make = Factory(s, live.clock)
        regular = make.member()
        make.card(regular)
        make.entitlement(regular, live.site)
        make.entitlement(live.member, live.site)
        make.changed(live.site)  # the site's list is at version 1 before the gate connects
    sim = live.sim()
    assert sim.wait_version(1)
    client = live.client(Role.FRONT_DESK)
    csrf = live.csrf(client)
    page = client.get(f"/console/members/{member}").text
    assert 'id="tap-to-enroll"' in page and "Front door" in page
    answer = client.post(
        f"/console/members/{member}/enroll", data={"csrf_token": csrf, "gate_id": str(live.gate.id)}
    )
    assert answer.status_code == 303
    target = answer.headers["location"]
    after = re.search(r"after=(\d+)", target).group(1)  # type: ignore[union-attr]
    assert f"enroll_gate={live.gate.id}" in target
    assert 'data-enroll-taps="' in client.get(target.split("#")[0]).text
    assert sim.wait_command("enroll") and sim.enrolling
    uid = bytes.fromhex("04") + secrets.token_bytes(6)
    tapped = time.monotonic()
    assert sim.present(uid) is None  # reported, not decided
    url = f"/console/members/{member}/enroll/taps.json?gate_id={live.gate.id}&after={after}"
    shown = None
    while time.monotonic() - tapped < 2.0 and shown is None:
        taps = client.get(url).json()["taps"]
        shown = taps[-1] if taps else None
        if shown is None:
            time.sleep(0.05)
    assert shown is not None, "the tapped UID did not reach the page within 2 s"
    assert shown["uid"] == ":".join(f"{b:02X}" for b in uid) and shown["registered"] is False
    assert not sim.enrolling
    added = client.post(
        f"/console/members/{member}/cards", data={"csrf_token": csrf, "uid": shown["uid"]}
    )
    assert added.status_code == 303
    with live.session() as s:
        card = s.exec(select(Card).where(Card.member_id == member)).one()
        version = s.get(type(live.site), live.site.id).list_version  # type: ignore[union-attr]
    assert card.uid_hex == uid.hex()
    assert sim.wait_version(version)
    allowed, _reason = sim.present(uid)  # type: ignore[misc]
    assert allowed
    sim.flush()
    assert sim.wait_acked(1)
    assert live.hub is not None and live.hub.mqtt is not None
    assert live.hub.mqtt.wait_idle()
    with live.session() as s:
        checkin = s.exec(select(CheckIn)).one()
    assert checkin.member_id == member and checkin.allowed
    again = client.get(url).json()["taps"]
    assert again[-1]["registered"] and again[-1]["mine"]


def test_a_gate_added_in_the_console_claims_its_config_once(live_console: LiveConsole) -> None:
    live = live_console
    client = live.client(Role.INSTALLER)
    csrf = live.csrf(client)
    bad = client.post(
        "/console/gates/new",
        data={"csrf_token": csrf, "site_id": str(live.site.id), "slug": "Bad Slug!"},
    )
    assert bad.status_code == 422 and "Pick a door of this site" in bad.text
    assert 'type="number" value="" min="0" max="15">' in bad.text  # field attributes as written
    answer = client.post(
        "/console/gates/new",
        data={"csrf_token": csrf, "site_id": str(live.site.id), "new_door": "Pool door",
              "zone": "2", "kind": "micropython"},
    )  # fmt: skip
    assert answer.status_code == 201 and answer.headers["cache-control"] == "no-store"
    token = re.search(r'id="claim-token">(ghc_[^<]+)<', answer.text).group(1)  # type: ignore[union-attr]
    assert '<div id="claim-qr"><svg' in answer.text
    config = client.post("/api/v1/provision/claim", json={"token": token})
    assert config.status_code == 200
    body = config.json()
    assert (body["gate"], body["kind"], body["door"], body["zone"]) == (
        "pool-door", "micropython", "Pool door", 2
    )  # fmt: skip
    assert client.post("/api/v1/provision/claim", json={"token": token}).status_code == 410
    with live.session() as s:
        assert s.exec(select(Gate).where(Gate.slug == "pool-door")).one().kind == "micropython"
        actions = set(s.exec(select(AuditLog.action)).all())
    assert {"door.create", "gate.create"} <= actions
