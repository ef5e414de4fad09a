"""Taps at a gate on mock pins, its list from the hub simulator over a real broker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gpiozero.pins.mock import MockFactory, MockPin

from edge.gate.daemon import GateDaemon
from edge.gate.reader import ReaderLoop, ScriptedReader
from edge.gate.timers import ManualTimers
from gatehouse.clock import ManualClock
from protocol import decision as rules
from protocol import envelope, snapshot
from protocol.messages import CI_OFFLINE, CI_UNTRUSTED_CLOCK
from protocol.records import FLAG_BLOCKED, FLAG_PASSBACK
from tests.edge.gate.conftest import GateFactory
from tests.edge.gate.helpers import (
    DAY,
    GATE,
    GREEN,
    RED,
    RELAY,
    T0,
    committed,
    eventually,
    make_config,
)
from tests.support.hubsim import HubSim

MEMBER = bytes.fromhex("04a1b2c3d4e5f6")  # a 7-byte UID
LAPSED = bytes.fromhex("04aabbcc")
OTHER_ZONE = bytes.fromhex("04ccddee")
EVENINGS = bytes.fromhex("04ddeeff")
BLOCKED = bytes.fromhex("04eeff00")
STRANGER = bytes.fromhex("deadbeef")


def on(pins: MockFactory, number: int) -> bool:
    return bool(pins.pin(number).state)


def stored_reasons(hub: HubSim) -> dict[int, int]:
    return {seq: row[3] for rows in hub.entries.values() for seq, row in rows.items()}


def test_listed_card_opens_for_the_pulse_and_each_refusal_has_its_own_reason(
    hub: HubSim, make_gate: GateFactory, pins: MockFactory, timers: ManualTimers
) -> None:
    hub.grant(MEMBER, T0 + 30 * DAY, zones=0b1, schedule=1, push=False)
    hub.grant(LAPSED, T0 - 1, push=False)
    hub.grant(OTHER_ZONE, T0 + 30 * DAY, zones=0b10, push=False)
    hub.grant(EVENINGS, T0 + 30 * DAY, schedule=2, push=False)
    hub.grant(BLOCKED, T0 + 30 * DAY, flags=FLAG_BLOCKED, push=False)
    gate = make_gate(door={"pulse_ms": 2500})
    eventually(lambda: gate.store.version == hub.version)

    granted = gate.tap(MEMBER)
    assert granted is not None and granted.allow and granted.reason == rules.GRANTED
    assert on(pins, RELAY) and on(pins, GREEN) and not on(pins, RED)
    timers.advance(seconds=2.499)
    assert on(pins, RELAY)
    timers.advance(seconds=0.001)
    assert not on(pins, RELAY) and not on(pins, GREEN)

    refusals = {
        STRANGER: rules.UNKNOWN,
        LAPSED: rules.EXPIRED,
        OTHER_ZONE: rules.WRONG_ZONE,
        EVENINGS: rules.SCHEDULE,
        BLOCKED: rules.BLOCKED,
    }
    for uid, reason in refusals.items():
        decision = gate.tap(uid)
        assert decision is not None and not decision.allow and decision.reason == reason
        assert not on(pins, RELAY) and on(pins, RED)
        timers.advance(seconds=1)
        assert not on(pins, RED)

    expected = {1: rules.GRANTED} | {i + 2: r for i, r in enumerate(refusals.values())}
    hub.wait_for(lambda: stored_reasons(hub) == expected)
    eventually(lambda: gate.store.depth() == 0)  # acked rows leave the outbox
    assert len(set(expected.values())) == len(expected)  # every reason its own code


def test_the_check_in_is_committed_before_the_relay_moves(
    hub: HubSim, tmp_path: Path, clock: ManualClock
) -> None:
    seen: list[tuple[bool, list[tuple[int]]]] = []
    db = tmp_path / "gate.db"

    class Probe(MockPin):
        def _change_state(self, value: bool) -> bool:
            if 17 in self.info.names and db.exists():
                seen.append((value, committed(db, "SELECT max(seq) FROM outbox")))
            return super()._change_state(value)

    hub.grant(MEMBER, T0 + DAY, push=False)
    config = make_config(db, hub.keys[GATE], hub.card_secret, hub.port)
    timers = ManualTimers(clock)
    gate = GateDaemon(
        config,
        clock=clock,
        timers=timers,
        pin_factory=MockFactory(pin_class=Probe),
        reader=ScriptedReader(),
    ).start(read=False)
    try:
        eventually(lambda: gate.store.version == hub.version)
        seen.clear()
        gate.tap(MEMBER)
        assert seen[0] == (True, [(1,)])  # relay energised with seq 1 already on disk
    finally:
        gate.stop()


def test_a_card_held_on_the_reader_makes_one_check_in(
    hub: HubSim, make_gate: GateFactory, timers: ManualTimers
) -> None:
    hub.grant(MEMBER, T0 + DAY, push=False)
    gate = make_gate(decision={"debounce_s": 2.0})
    eventually(lambda: gate.store.version == hub.version)
    reader = ScriptedReader()
    loop = ReaderLoop(reader, gate.tap)
    reader.present(MEMBER)
    for _ in range(50):  # five seconds of reads every 100 ms
        loop.poll()
        timers.advance(seconds=0.1)
    assert gate.store.last_seq == 1
    reader.remove()
    loop.poll()
    timers.advance(seconds=2.5)
    reader.present(MEMBER)
    loop.poll()
    assert gate.store.last_seq == 2
    assert gate.controller.counts["debounced"] == 49


def test_anti_passback_refuses_a_second_entry_within_the_window(
    hub: HubSim, make_gate: GateFactory, timers: ManualTimers
) -> None:
    hub.grant(MEMBER, T0 + DAY, flags=FLAG_PASSBACK, push=False)
    hub.grant(LAPSED, T0 + DAY, push=False)  # no passback flag: always admitted
    data = hub.versions[hub.version]
    hub.send_snapshot = _with_passback(hub, 600)  # type: ignore[method-assign]
    gate = make_gate(decision={"debounce_s": 0.0})
    eventually(lambda: gate.store.version == hub.version)
    assert gate.store.passback_s == 600 and gate.store.count() == len(data) // 16
    assert gate.tap(MEMBER).reason == rules.GRANTED  # type: ignore[union-attr]
    timers.advance(seconds=60)
    assert gate.tap(MEMBER).reason == rules.PASSBACK  # type: ignore[union-attr]
    assert gate.tap(LAPSED).reason == rules.GRANTED  # type: ignore[union-attr]
    assert gate.tap(LAPSED).reason == rules.GRANTED  # type: ignore[union-attr]
    timers.advance(seconds=600)
    assert gate.tap(MEMBER).reason == rules.GRANTED  # type: ignore[union-attr]


def _with_passback(hub: HubSim, seconds: int) -> Callable[..., None]:
    """A HubSim.send_snapshot whose manifest carries the site's passback window."""

    def send(gate: str, version: int, data: bytes, mtu: int = 16384) -> None:
        per = max(1, min(4096, (mtu - envelope.HEAD_LEN - snapshot.HEADER_SIZE) // 16))
        chunks = snapshot.make_chunks(version, data, per)
        man = snapshot.manifest(
            gate, version, data, hub.now(), len(chunks), hub.schedules, {"passback": seconds}
        )
        hub._publish(gate, "acl", envelope.dumps(man))
        for c in chunks:
            hub._publish(gate, "acl", c)

    return send


def test_no_list_yet_refuses_everything_with_no_list(make_gate: GateFactory) -> None:
    gate = make_gate(connect=False)
    decision = gate.tap(MEMBER)
    assert decision is not None and decision.reason == rules.NO_LIST
    assert gate.store.pending()[0][5] & CI_OFFLINE


def test_a_gate_rebooted_with_its_clock_behind_the_list_decides_with_the_floor(
    hub: HubSim, make_gate: GateFactory, timers: ManualTimers
) -> None:
    hub.grant(MEMBER, T0 + 120, push=False)
    first = make_gate()
    eventually(lambda: first.store.version == hub.version)
    first.stop()
    wall = ManualClock(T0 - 10 * DAY)  # rebooted without a real-time clock or network
    gate = make_gate(connect=False, wall=wall)
    timers.advance(seconds=100)  # the monotonic clock counts from the boot
    admitted = gate.tap(MEMBER)
    assert admitted is not None and admitted.allow and not admitted.trusted
    row = gate.store.pending()[-1]
    assert row[1] == T0 + 100 and row[5] & CI_UNTRUSTED_CLOCK
    timers.advance(seconds=30)  # the floor passes valid_until: a rollback gains nothing
    late = gate.tap(MEMBER)
    assert late is not None and late.reason == rules.EXPIRED and not late.trusted
