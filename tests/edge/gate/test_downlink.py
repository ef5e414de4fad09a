"""What the hub (or an attacker) sends a gate: lists, commands, and what is refused."""

from __future__ import annotations

import secrets

from gpiozero.pins.mock import MockFactory

from edge.gate.daemon import GateDaemon
from edge.gate.timers import ManualTimers
from gatehouse.clock import ManualClock
from protocol import decision as rules
from protocol import delta, envelope, messages, records, snapshot, topics
from tests.edge.gate.conftest import GateFactory
from tests.edge.gate.helpers import DAY, GATE, RELAY, SITE, T0, eventually
from tests.support.hubsim import HubSim

MEMBER = bytes.fromhex("04a1b2c3")
GUEST = bytes.fromhex("04b1b2c3d4e5f6")
STRANGER = bytes.fromhex("deadbeef")


def send(hub: HubSim, kind: str, payload: bytes) -> None:
    """Publish raw bytes on the gate's down topic, as anyone on the broker could."""
    hub.client.publish(topics.down(SITE, GATE, kind), payload, qos=1).wait_for_publish(5)


def synced(hub: HubSim, make_gate: GateFactory) -> GateDaemon:
    hub.grant(MEMBER, T0 + 30 * DAY, push=False)
    gate = make_gate(decision={"debounce_s": 0.0})
    eventually(lambda: gate.store.version == hub.version)
    hub.grant(GUEST, T0 + 30 * DAY)  # version 2, pushed as a delta
    eventually(lambda: gate.store.version == 2)
    assert gate.sync.deltas == 1
    return gate


def test_forged_replayed_and_malformed_lists_are_refused_and_counted(
    hub: HubSim, make_gate: GateFactory, pins: MockFactory, timers: ManualTimers
) -> None:
    gate = synced(hub, make_gate)
    key = hub.keys[GATE]
    held = gate.store.list_bytes()
    assert held == hub.versions[2]
    evil = records.build([*hub.current().values(), records.pack(hub.key_of(STRANGER), T0 + DAY, 1)])
    evil_chunks = snapshot.make_chunks(3, evil)
    evil_manifest = envelope.dumps(snapshot.manifest(GATE, 3, evil, T0, len(evil_chunks)))

    # Forged: a good envelope with the body swapped, and one sealed under another key.
    good = envelope.seal(key, envelope.dumps({"t": "noop", "g": GATE}))
    send(hub, "acl", good[: envelope.HEAD_LEN] + evil_manifest)
    send(hub, "acl", envelope.seal(secrets.token_bytes(32), evil_manifest))
    # Replayed: a correctly signed older snapshot manifest and an older delta.
    v1 = hub.versions[1]
    old_manifest = snapshot.manifest(GATE, 1, v1, T0, 1)
    send(hub, "acl", envelope.seal_json(key, old_manifest))
    send(hub, "acl", envelope.seal_json(key, delta.make(GATE, 1, 2, [], [], T0)))
    # Malformed: a signed manifest for v3, then a chunk cut short, then garbage.
    send(hub, "acl", envelope.seal(key, evil_manifest))
    send(hub, "acl", envelope.seal(key, evil_chunks[0][:-5]))
    send(hub, "acl", b"\x00garbage")

    rejected = gate.sync.rejected
    eventually(lambda: sum(rejected.values()) >= 6)
    assert rejected == {"bad_mac": 1, "wrong_key": 1, "stale": 2, "truncated": 1, "malformed": 1}
    assert gate.store.version == 2 and gate.store.list_bytes() == held
    assert gate.tap(MEMBER).reason == rules.GRANTED  # type: ignore[union-attr]
    timers.advance(seconds=5)
    stranger = gate.tap(STRANGER)
    assert stranger is not None and stranger.reason == rules.UNKNOWN and not pins.pin(RELAY).state

    # The counters reach the hub in the retained status, and the gate keeps syncing.
    hub.grant(STRANGER, T0 + DAY)
    eventually(lambda: gate.store.version == 3)
    hub.wait_for(lambda: hub.status.get(GATE, {}).get("v") == 3)
    assert hub.status[GATE]["rejected"]["bad_mac"] == 1
    timers.advance(seconds=5)
    assert gate.tap(STRANGER).reason == rules.GRANTED  # type: ignore[union-attr]


def test_a_list_whose_hash_does_not_match_its_manifest_is_not_swapped_in(
    hub: HubSim, make_gate: GateFactory
) -> None:
    gate = synced(hub, make_gate)
    key = hub.keys[GATE]
    data = records.build([records.pack(hub.key_of(STRANGER), T0 + DAY, 1)])
    man = snapshot.manifest(GATE, 5, data, T0, 1)
    man["sha"] = "0" * 64
    send(hub, "acl", envelope.seal_json(key, man))
    send(hub, "acl", envelope.seal(key, snapshot.make_chunks(5, data)[0]))
    # The refusal is counted, then the staged chunks are dropped: wait for both.
    eventually(lambda: gate.sync.rejected.get("bad_manifest") == 1 and gate.store.staged() == 0)
    assert gate.store.version == 2
    # It asks for a whole list again; the hub sends version 2 and the gate takes it.
    hub.wait_for(lambda: hub.hellos[-1]["want_snapshot"])
    eventually(lambda: gate.sync.swaps == 2)
    assert gate.store.list_bytes() == hub.versions[2]


def test_a_delta_with_a_gap_makes_the_gate_ask_for_a_snapshot(
    hub: HubSim, make_gate: GateFactory
) -> None:
    gate = synced(hub, make_gate)
    hub.grant(STRANGER, T0 + DAY, push=False)  # version 3, never sent
    hub.grant(STRANGER, T0 + 2 * DAY, push=False)  # version 4
    hub.push(GATE, 3)  # a delta 3 -> 4: the gate holds 2
    eventually(lambda: gate.store.version == 4)
    assert gate.sync.rejected.get("gap") == 1
    assert any(h["want_snapshot"] for h in hub.hellos)
    assert gate.store.list_bytes() == hub.versions[4]


def test_remote_unlock_is_recorded_then_opens_and_a_replayed_command_is_refused(
    hub: HubSim, make_gate: GateFactory, pins: MockFactory, timers: ManualTimers, clock: ManualClock
) -> None:
    gate = synced(hub, make_gate)
    key = hub.keys[GATE]
    n = hub.send_cmd(GATE, "unlock")
    eventually(lambda: pins.pin(RELAY).state)
    assert gate.store.last_cmd == n
    timers.advance(seconds=3)
    assert not pins.pin(RELAY).state
    replay = messages.command(GATE, n, "unlock", clock.timestamp())  # the same, byte for byte
    send(hub, "cmd", envelope.seal_json(key, replay))
    eventually(lambda: gate.sync.rejected.get("replay") == 1)
    assert not pins.pin(RELAY).state
    old = messages.command(GATE, n + 1, "unlock", clock.timestamp() - 3600)
    send(hub, "cmd", envelope.seal_json(key, old))  # signed, but an hour old
    eventually(lambda: gate.sync.rejected.get("stale") == 1)
    assert not pins.pin(RELAY).state
    stored = hub.wait_for(
        lambda: [row for rows in hub.entries.values() for row in rows.values() if row[3] == 9]
    )
    assert len(stored) == 1 and stored[0][2] == ""  # reason remote, no card key
    hub.send_cmd(GATE, "unlock", {"seconds": 10})  # held open as long as the hub asks
    eventually(lambda: pins.pin(RELAY).state)
    timers.advance(seconds=9.9)
    assert pins.pin(RELAY).state
    timers.advance(seconds=0.1)
    assert not pins.pin(RELAY).state


def test_enroll_mode_sends_the_next_tap_to_the_hub_instead_of_deciding(
    hub: HubSim, make_gate: GateFactory, pins: MockFactory
) -> None:
    gate = synced(hub, make_gate)
    hub.send_cmd(GATE, "enroll", {"seconds": 30})
    eventually(lambda: gate.controller.enrolling)
    before = gate.store.last_seq
    assert gate.tap(STRANGER) is None
    hub.wait_for(lambda: hub.enrolls == [(GATE, STRANGER)])
    assert gate.store.last_seq == before and not pins.pin(RELAY).state
    assert gate.tap(STRANGER).reason == rules.UNKNOWN  # type: ignore[union-attr]


def test_resync_and_time_commands(hub: HubSim, make_gate: GateFactory) -> None:
    gate = synced(hub, make_gate)
    hub.send_cmd(GATE, "time", {"now": T0 + 3600})
    eventually(lambda: gate.clock.wall() == T0 + 3600)
    hub.send_cmd(GATE, "resync", issued=T0 + 3600)
    eventually(lambda: gate.sync.swaps == 2)
    assert gate.store.list_bytes() == hub.versions[2]
