"""A week without the broker: every tap decided locally, every check-in delivered once."""

from __future__ import annotations

import pytest
from gpiozero.pins.mock import MockFactory

from edge.gate.timers import ManualTimers
from gatehouse.services.mosquitto import Mosquitto
from protocol import decision as rules
from protocol.messages import CI_OFFLINE
from tests.edge.gate.conftest import GateFactory
from tests.edge.gate.helpers import DAY, GATE, RELAY, T0, eventually
from tests.support.hubsim import HubSim

WEEK_S = 7 * DAY + 3600
MEMBERS = [bytes([4, 0xA0, 0, i]) for i in range(20)]
LAPSES_AT = T0 + 3 * DAY  # the last member's membership lapses on day three


@pytest.mark.parametrize(
    "taps", [2_000, pytest.param(10_000, marks=pytest.mark.slow)], ids=["2k", "10k"]
)
def test_a_week_offline_then_every_check_in_reaches_the_hub_exactly_once(
    taps: int,
    hub: HubSim,
    make_gate: GateFactory,
    mosquitto: Mosquitto,
    timers: ManualTimers,
    pins: MockFactory,
) -> None:
    for uid in MEMBERS[:-1]:
        hub.grant(uid, T0 + 30 * DAY, push=False)
    hub.grant(MEMBERS[-1], LAPSES_AT, push=False)
    gate = make_gate(decision={"debounce_s": 0.0}, mqtt={"resend_s": 3.0})
    eventually(lambda: gate.store.version == hub.version)

    mosquitto.stop()
    eventually(lambda: not gate.link.online)
    expected: dict[int, int] = {}
    step_s = WEEK_S // taps  # the taps spread over a week (each commits with fsync: ~0.6 ms)
    for i in range(taps):
        uid = MEMBERS[i % len(MEMBERS)]
        now = gate.clock.now()[0]
        decision = gate.tap(uid)
        assert decision is not None
        lapsed = uid == MEMBERS[-1] and now >= LAPSES_AT
        assert decision.reason == (rules.EXPIRED if lapsed else rules.GRANTED)
        assert bool(pins.pin(RELAY).state) == decision.allow
        expected[decision.seq] = decision.reason
        timers.advance(seconds=step_s)
    assert gate.store.depth() == taps and set(expected) == set(range(1, taps + 1))
    assert all(row[5] & CI_OFFLINE for row in gate.store.pending(limit=taps))
    assert rules.EXPIRED in expected.values()

    mosquitto.start()
    hub.wait_for(lambda: len(hub.stored_seqs(GATE)) == taps, timeout=60)
    assert hub.stored_seqs(GATE) == set(expected)
    stored = {seq: row[3] for rows in hub.entries.values() for seq, row in rows.items()}
    assert stored == expected
    eventually(lambda: gate.store.depth() == 0, timeout=10)
    assert gate.store.acked == taps
