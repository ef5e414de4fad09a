"""Check-in ingest: exactly-once storage, acks after commit, refusals counted."""

from __future__ import annotations

import secrets

from sqlmodel import Session, func, select

from hub.models import AuditLog, CheckIn, Gate, GateStore
from hub.mqtt.events import enroll_taps
from protocol import envelope, messages, topics
from tests.hub.mqtt.conftest import Harness


def _count(h: Harness) -> int:
    return h.session.exec(select(func.count()).select_from(CheckIn)).one()


def _online(h: Harness, gate_id: int) -> bool:
    with Session(h.engine) as s:
        gate = s.get(Gate, gate_id)
        return gate is not None and gate.online


def test_the_same_batch_delivered_three_times_is_stored_once(harness: Harness) -> None:
    h = harness
    site = h.make.site()
    door = h.make.door(site)
    member = h.make.member()
    card = h.make.card(member)
    h.make.entitlement(member, site)
    h.make.changed(site)
    gate = h.sim(h.add_gate(site, door))
    assert gate.wait_version(1)
    gate.tap(bytes.fromhex(card.uid_hex))
    gate.tap(bytes.fromhex("deadbeef"))
    gate.tap(bytes.fromhex(card.uid_hex))
    for _ in range(3):
        gate.flush()
    assert gate.wait_acked(3)
    assert h.service.wait_idle()
    rows = h.session.exec(select(CheckIn).order_by(CheckIn.seq)).all()
    assert [(r.seq, r.reason, r.allowed) for r in rows] == [
        (1, "granted", True), (2, "unknown", False), (3, "granted", True)
    ]  # fmt: skip
    assert rows[0].member_id == member.id and rows[1].member_id is None
    assert rows[0].door_id == door.id
    assert gate.outbox == []
    store = h.session.exec(select(GateStore)).one()
    assert (store.store_id, store.acked) == (gate.link.sid, 3)


def test_a_gap_is_not_acked_past_the_missing_seq(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    site = h.make.site()
    gate = h.sim(h.add_gate(site, h.make.door(site)))
    for _ in range(4):
        gate.tap_key(bytes(8))
    first, rest = gate.outbox[:1], gate.outbox[2:]
    gate.outbox = first + rest  # seq 2 lost
    gate.flush()
    assert gate.wait_acked(1)
    assert h.service.wait_idle()
    assert gate.acked == 1 and _count(h) == 3


def test_bad_payloads_are_counted_and_ingest_carries_on(harness: Harness) -> None:
    h = harness
    site = h.make.site()
    door = h.make.door(site)
    a = h.sim(h.add_gate(site, door, "gate-a"))
    b_row = h.add_gate(site, door, "gate-b")
    b = h.sim(b_row, start=False)
    topic = topics.up(site.slug, "gate-a", "checkin")
    good = messages.checkin_batch("gate-a", a.link.sid, [[1, h.clock.timestamp(), "", 9, 0, 0]])
    sealed = envelope.seal_json(a.key, good)
    forged = sealed[:9] + (b"0" if sealed[9:10] != b"0" else b"1") + sealed[10:]
    foreign = envelope.seal_json(a.key, messages.checkin_batch("gate-b", a.link.sid, good["b"]))
    malformed = envelope.seal_json(a.key, {"t": "checkin", "g": "gate-a", "sid": "x", "b": 7})
    not_json = envelope.seal(a.key, b"\xff\xfe not json")
    wrong_key = envelope.seal_json(b.key, good)
    for payload in (forged, foreign, malformed, not_json, wrong_key, b"garbage", sealed):
        a.client.publish(topic, payload, qos=1)
    assert a.wait_acked(1)
    assert h.service.wait_idle()
    counts = h.service.rejections.get(site.slug, "gate-a")
    assert counts == {
        "bad_mac": 1, "wrong_gate": 1, "malformed": 2, "bad_json": 1, "wrong_key": 1
    }  # fmt: skip
    assert _count(h) == 1
    h.service.client.publish(topics.up(site.slug, "nobody", "hello"), b"x", qos=1)
    assert h.service.wait_until(lambda: bool(h.service.rejections.get(site.slug, "nobody")))
    assert h.service.rejections.get(site.slug, "nobody") == {"unknown_gate": 1}
    # The counters reach the fleet view.
    h.service._next_flush = 0
    a.client.publish(topic, b"garbage again", qos=1)
    assert h.service.wait_until(lambda: h.service.rejections.total("malformed") == 3)

    def flushed() -> bool:
        with Session(h.engine) as s:
            row = s.exec(select(Gate).where(Gate.slug == "gate-a")).one()
            return row.hub_rejected.get("malformed") == 3

    assert h.service.wait_until(flushed)


def test_status_enroll_and_commands(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    site = h.make.site()
    row = h.add_gate(site, h.make.door(site))
    with enroll_taps.listen() as taps:
        gate = h.sim(row)
        assert gate.wait_for(lambda: len(gate.commands) == 1)
        uid = secrets.token_bytes(7)
        gate._publish("enroll", messages.enroll(gate.gate, uid, h.clock.timestamp()))
        tap = taps.get(timeout=5)
    assert (tap.site, tap.gate, tap.uid) == (site.slug, gate.gate, uid.hex())
    assert h.service.wait_idle()
    h.session.expire_all()
    fleet = h.session.get(Gate, row.id)
    assert fleet is not None and fleet.online and fleet.fw == "sim-1"
    assert fleet.sid == gate.link.sid

    first = gate.commands[0]
    body = h.service.send_command(row.id, "unlock", {"seconds": 5}, actor="user:1")
    assert gate.wait_for(lambda: len(gate.commands) == 2)
    assert gate.commands[1]["op"] == "unlock" and body["n"] > first["n"]
    # A hub restart keeps numbering upwards (same clock second, so last + 1).
    again = h.service.send_command(row.id, "resync", None, actor="user:1")
    assert again["n"] == body["n"] + 1
    actions = h.session.exec(select(AuditLog.action).where(AuditLog.entity == "gate")).all()
    assert actions == ["gate.cmd.time", "gate.cmd.unlock", "gate.cmd.resync"]

    gate.stop()
    assert h.service.wait_until(lambda: not _online(h, row.id or 0))
