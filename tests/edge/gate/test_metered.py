"""Metered cards at the Pi gate: visits counted down offline, re-entry, refusal at zero."""

from __future__ import annotations

from edge.gate.timers import ManualTimers
from gatehouse.clock import ManualClock
from protocol import decision as rules
from protocol.records import FLAG_DAYPASS, FLAG_METERED, with_visits
from tests.edge.gate.conftest import GateFactory
from tests.edge.gate.helpers import DAY, T0, eventually
from tests.support.hubsim import HubSim

PACK = bytes.fromhex("04a1b2c3")
DAYPASS = bytes.fromhex("04d0d1d2")
HOUR = 3600


def reasons(gate, uids, clock: ManualClock, timers: ManualTimers, step_s: int) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for uid in uids:
        d = gate.tap(uid)
        out.append(d.reason_name)
        timers.advance(seconds=step_s)  # past the debounce, the door closed again
    return out


def test_pack_counts_down_reenters_within_the_window_and_refuses_at_zero(
    hub: HubSim, make_gate: GateFactory, clock: ManualClock, timers: ManualTimers
) -> None:
    hub.manifest_extra = {"reentry": 3 * HOUR}
    hub.grant(PACK, T0 + 30 * DAY, flags=with_visits(FLAG_METERED, 2), push=False)
    gate = make_gate()
    eventually(lambda: gate.store.version == hub.version)
    assert gate.store.reentry_s == 3 * HOUR

    got = reasons(gate, [PACK, PACK], clock, timers, HOUR)  # in, then back within 3 h
    timers.advance(seconds=3 * HOUR)
    got += reasons(gate, [PACK, PACK], clock, timers, 4 * HOUR)  # next visit, then a third
    assert got == ["granted", "reentry", "granted", "no_visits"]
    assert gate.store.metered(hub.key_of(PACK))[0] == 2
    # every admission is a check-in the hub receives
    eventually(lambda: len(hub.entries.get(("front-door", gate.store.sid), {})) == 4)
    stored = sorted(hub.entries[("front-door", gate.store.sid)].items())
    assert [row[3] for _seq, row in stored] == [
        rules.GRANTED,
        rules.REENTRY,
        rules.GRANTED,
        rules.NO_VISITS,
    ]
    eventually(lambda: gate.store.acked == 4)

    # the hub tops the pack up: its new count replaces what the gate subtracted
    hub.grant(PACK, T0 + 30 * DAY, flags=with_visits(FLAG_METERED, 1))
    eventually(lambda: gate.store.metered(hub.key_of(PACK))[0] == 0)
    assert reasons(gate, [PACK, PACK], clock, timers, 4 * HOUR) == ["granted", "no_visits"]


def test_unacked_visits_stay_subtracted_from_a_new_record(
    hub: HubSim, make_gate: GateFactory, clock: ManualClock, timers: ManualTimers
) -> None:
    hub.grant(PACK, T0 + 30 * DAY, flags=with_visits(FLAG_METERED, 3), push=False)
    gate = make_gate()
    eventually(lambda: gate.store.version == hub.version)
    gate.link.stop()  # cut from the broker
    eventually(lambda: not gate.link.online)
    assert reasons(gate, [PACK, PACK], clock, timers, HOUR) == ["granted", "granted"]
    gate.store.apply_delta(
        gate.store.version + 1,
        [gate.store.lookup(hub.key_of(PACK))[:15] + bytes([with_visits(FLAG_METERED, 3)])],
        [],
        T0,
    )  # a record computed before the hub had those two visits
    assert gate.store.metered(hub.key_of(PACK))[0] == 2
    assert reasons(gate, [PACK, PACK], clock, timers, HOUR) == ["granted", "no_visits"]


def test_day_pass_admits_all_day_and_stops_at_local_midnight(
    hub: HubSim, make_gate: GateFactory, clock: ManualClock, timers: ManualTimers
) -> None:
    # T0 is 15:00 site time (UTC+7): midnight is 9 hours away
    hub.grant(DAYPASS, T0 + 30 * DAY, flags=with_visits(FLAG_METERED | FLAG_DAYPASS, 1),
              push=False)  # fmt: skip
    gate = make_gate()
    eventually(lambda: gate.store.version == hub.version)
    got = reasons(gate, [DAYPASS, DAYPASS, DAYPASS], clock, timers, 4 * HOUR)
    assert got == ["granted", "reentry", "reentry"]  # 15:00, 19:00, 23:00
    assert reasons(gate, [DAYPASS], clock, timers, HOUR) == ["no_visits"]  # 03:00 next day


def test_a_manifest_with_a_reentry_window_over_a_day_is_refused_and_counted(
    hub: HubSim, make_gate: GateFactory
) -> None:
    hub.manifest_extra = {"reentry": 86401}
    hub.grant(PACK, T0 + 30 * DAY, flags=with_visits(FLAG_METERED, 2), push=False)
    gate = make_gate()
    eventually(lambda: gate.sync.rejected.get("malformed", 0) >= 1)
    assert gate.store.version == 0
