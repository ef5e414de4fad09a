"""Access lists reach gates: snapshot on connect, deltas on change, snapshot when far behind."""

from __future__ import annotations

import time

from hub.access.changes import access_changed
from hub.access.lists import current_list
from protocol import records
from protocol.cardkey import card_key
from protocol.decision import GRANTED, UNKNOWN
from tests.hub.mqtt.conftest import Harness


def _club(h: Harness, members: int = 20):  # type: ignore[no-untyped-def]
    site = h.make.site()
    door = h.make.door(site)
    cards = []
    for _ in range(members):
        m = h.make.member()
        cards.append(h.make.card(m))
        h.make.entitlement(m, site)
    h.make.changed(site)
    return site, door, cards


def _settle_pushes(h: Harness, site_id: int, version: int) -> None:
    """Wait until the hub's own poll has pushed *version* while the gate is away, so the
    only list the gate receives on return is the one its hello asks for."""
    deadline = time.monotonic() + 10
    while h.service.pushed.get(site_id, 0) < version and time.monotonic() < deadline:
        time.sleep(0.02)
    assert h.service.pushed.get(site_id, 0) == version
    assert h.service.wait_idle()


def test_snapshot_on_connect_then_a_revoke_arrives_as_a_delta_within_a_second(
    harness: Harness,
) -> None:
    h = harness
    site, door, cards = _club(h)
    gate = h.sim(h.add_gate(site, door))
    assert gate.wait_version(1), gate
    assert gate.data == current_list(h.session, site.id)[1]
    assert gate.sent_snapshots == 1
    assert gate.tap(bytes.fromhex(cards[0].uid_hex)) == (True, GRANTED)
    assert gate.commands and gate.commands[0]["op"] == "time"

    revoked = cards[0]
    revoked.active = False
    h.session.add(revoked)
    started = time.monotonic()
    access_changed(
        h.session,
        site_id=site.id,
        reason="card lost",
        clock=h.clock,
        member_ids=[revoked.member_id],
    )
    h.session.commit()
    assert gate.wait_version(2, timeout=1.0), "delta not applied within 1 s"
    assert gate.applied_at[2] - started < 1.0
    assert gate.deltas == 1 and gate.sent_snapshots == 1
    key = card_key(gate.card_secret or b"", bytes.fromhex(revoked.uid_hex))
    assert records.find(gate.data, key) == -1
    assert gate.tap(bytes.fromhex(revoked.uid_hex)) == (False, UNKNOWN)
    assert gate.data == current_list(h.session, site.id)[1]


def test_a_gate_offline_for_500_versions_gets_a_snapshot(harness: Harness) -> None:
    h = harness
    site, door, cards = _club(h, members=3)
    gate = h.sim(h.add_gate(site, door))
    assert gate.wait_version(1)
    gate.stop()
    assert h.service.wait_idle()
    card = cards[1]
    for i in range(500):
        card.active = i % 2 == 1
        h.session.add(card)
        access_changed(
            h.session, site_id=site.id, reason="flip", clock=h.clock, member_ids=[card.member_id]
        )
        h.session.commit()
    assert site.list_version == 501
    _settle_pushes(h, site.id, 501)
    gate.start()
    assert gate.wait_version(501, timeout=5)
    assert (gate.sent_snapshots, gate.deltas) == (2, 0)
    assert gate.data == current_list(h.session, site.id)[1]


def test_a_gate_slightly_behind_gets_one_compacted_delta(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    site, door, cards = _club(h, members=5)
    gate = h.sim(h.add_gate(site, door))
    assert gate.wait_version(1)
    gate.stop()
    assert h.service.wait_idle()
    for card in cards[:3]:
        card.active = False
        h.session.add(card)
        access_changed(
            h.session, site_id=site.id, reason="x", clock=h.clock, member_ids=[card.member_id]
        )
        h.session.commit()
    _settle_pushes(h, site.id, 4)
    gate.start()
    assert gate.wait_version(4)
    assert (gate.sent_snapshots, gate.deltas) == (1, 1)
    assert len(gate.data) == 2 * records.RECORD_SIZE


def test_snapshot_chunks_fit_the_gate_mtu(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    site, door, _ = _club(h, members=40)
    sizes: list[int] = []
    gate = h.sim(h.add_gate(site, door), start=False, mtu=400)
    original = gate.client.on_message

    def spy(c, u, msg):  # type: ignore[no-untyped-def]
        if msg.topic.endswith("/acl"):
            sizes.append(len(msg.payload))
        original(c, u, msg)

    gate.client.on_message = spy
    gate.start()
    assert gate.wait_version(1)
    assert len(sizes) > 3 and max(sizes[1:]) <= 400


def test_schedules_reach_the_gate_in_site_time_with_dst(sqlite_harness: Harness) -> None:
    from datetime import UTC, datetime

    from protocol.decision import SCHEDULE

    h = sqlite_harness
    site = h.make.site(timezone="Europe/Berlin")
    door = h.make.door(site)
    weekdays = h.make.schedule(site, 1, [[0b0011111, 6 * 60, 16 * 60]])  # Mon-Fri 06-16
    member = h.make.member()
    card = h.make.card(member)
    h.make.entitlement(member, site, schedule=weekdays, days=400)
    h.make.changed(site)
    gate = h.sim(h.add_gate(site, door))
    assert gate.wait_version(1)
    uid = bytes.fromhex(card.uid_hex)

    def at(*args: int) -> int:
        return int(datetime(*args, tzinfo=UTC).timestamp())

    # Winter (UTC+1): Wednesday 2026-12-02 05:30 UTC is 06:30 in Berlin.
    assert gate.tap(uid, now=at(2026, 12, 2, 5, 30)) == (True, GRANTED)
    assert gate.tap(uid, now=at(2026, 12, 2, 4, 30))[1] == SCHEDULE
    # Summer (UTC+2): Wednesday 2027-06-02 04:30 UTC is 06:30 in Berlin.
    assert gate.tap(uid, now=at(2027, 6, 2, 4, 30)) == (True, GRANTED)
    assert gate.tap(uid, now=at(2027, 6, 2, 14, 30))[1] == SCHEDULE  # 16:30 local
    assert gate.tap(uid, now=at(2026, 12, 5, 10, 0))[1] == SCHEDULE  # Saturday


def test_a_gate_installed_before_the_first_member_gets_the_first_list(harness: Harness) -> None:
    h = harness
    site = h.make.site()
    door = h.make.door(site)
    gate = h.sim(h.add_gate(site, door))
    assert gate.wait_command("time"), "the hub never answered hello"
    assert h.service.wait_idle()
    assert gate.version == 0
    member = h.make.member()
    card = h.make.card(member)
    h.make.entitlement(member, site)
    h.make.changed(site)
    assert gate.wait_version(1, timeout=2), "a gate at version 0 was never sent the list"
    assert gate.tap(bytes.fromhex(card.uid_hex)) == (True, GRANTED)
