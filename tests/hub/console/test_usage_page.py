"""The member's visits in the console: used, left, and each visit's time and door."""

from __future__ import annotations

import secrets
from datetime import timedelta

from hub.access.keys import site_card_secret
from hub.models import Card, Role
from hub.mqtt import ingest
from hub.mqtt.registry import GateInfo
from hub.usage.passes import create_plan, sell_pass
from hub.usage.plans import UsagePlanCreate
from protocol.cardkey import card_key
from protocol.mac import MacKey
from tests.hub.console.conftest import Console


def test_member_page_shows_visits_used_left_and_each_visit(console: Console) -> None:
    c = console
    with c.session() as s:
        card = Card(member_id=c.member.id or 0, uid_hex="04a1b2c3", active=True,
                    created_at=c.clock.now())  # fmt: skip
        s.add(card)
        plan = create_plan(s, UsagePlanCreate(site_id=c.site.id or 0, name="3 visits",
                                              kind="visit_pack", visits=3, valid_days=30),
                           clock=c.clock)  # fmt: skip
        sell_pass(s, member_id=c.member.id or 0, plan_id=plan.id or 0, clock=c.clock)
        key = card_key(site_card_secret(s, c.site), bytes.fromhex("04a1b2c3")).hex()
        info = GateInfo(id=c.gate.id or 0, site_id=c.site.id or 0, site=c.site.slug,
                        gate=c.gate.slug, door_id=c.door.id or 0, zone=0,
                        key=MacKey(b"k" * 32))  # fmt: skip
        first = c.clock.now() + timedelta(hours=1)  # 17:00 in Bangkok
        entries = [(1, int(first.timestamp()), key, 0, 1, 0),
                   (2, int((first + timedelta(hours=5)).timestamp()), key, 0, 1, 0)]  # fmt: skip
        ingest.store_batch(s, gate=info, sid=secrets.token_hex(8), entries=entries,
                           clock=c.clock)  # fmt: skip
        s.commit()
    client = c.client(Role.FRONT_DESK)
    member_page = client.get(f"/console/members/{c.member.id}")
    assert f'href="/console/members/{c.member.id}/usage"' in member_page.text
    page = client.get(f"/console/members/{c.member.id}/usage")
    assert page.status_code == 200
    assert "2 visits used" in page.text and "1 left" in page.text
    assert page.text.count("Front door") == 2
    assert "17:00" in page.text and "22:00" in page.text
    assert c.client(Role.INSTALLER).get(f"/console/members/{c.member.id}/usage").status_code == 403
    assert client.get("/console/members/99999/usage").status_code == 404
