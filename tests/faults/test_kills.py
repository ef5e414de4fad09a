"""``kill -9`` of the hub, the broker and a gate at random moments, and a broker
restart with persistence, while members keep tapping.

Every row: a gate process tapping 20 cards a second (half of them members' cards), the
fault played at random moments, then each backlog timed until the hub has stored it.
Nothing the gate printed (committed) may be missing at the hub, nothing may be stored
twice, and no door may open for a card that was not admitted.
"""

from __future__ import annotations

import random
import time

import pytest

from tests.faults.table import FaultRow, add_row
from tests.faults.tapping import Tapper
from tests.faults.world import FaultGate, FaultWorld

FAST = pytest.param(1, id="once")
FULL = pytest.param(5, id="five-times", marks=pytest.mark.faults)


def _fault(world: FaultWorld, gate: FaultGate, kind: str) -> None:
    """Play one fault of *kind* at this moment and bring the part back."""
    rng = random.Random()
    if kind == "hub":
        world.hub.kill()
        time.sleep(rng.uniform(0.2, 1.5))
        world.hub.start()
    elif kind == "broker":
        world.broker.kill()
        time.sleep(rng.uniform(0.2, 1.5))
        world.broker.start()
    elif kind == "broker-restart":
        world.broker.stop()  # SIGTERM: it saves its persistence file
        time.sleep(rng.uniform(0.2, 1.0))
        world.broker.start()
    elif kind == "gate":
        gate.process.kill()
        time.sleep(rng.uniform(0.0, 0.5))
        gate.restart().start()
    else:
        raise ValueError(kind)


def settle(gate: FaultGate) -> None:
    """Wait until the running gate process has decided every tap sent to it."""
    proc = gate.process
    assert proc.wait_decided(list(proc.taps.values()), timeout=30), "a tap was never decided"


def play(world: FaultWorld, kind: str, kills: int, seed: int) -> FaultRow:
    rng = random.Random(seed)
    gate = world.gate(f"{kind}-{kills}-{seed}")
    gate.process.start()
    members = world.cards(40 * kills + 40, valid_days=30)
    assert world.wait_list(gate), "the gate never got its list"
    tapper = Tapper(world, gate, members).start()
    recoveries: list[float | None] = []
    try:
        for _ in range(kills):
            time.sleep(rng.uniform(0.3, 2.0))  # a random moment in the tapping
            _fault(world, gate, kind)
            tapper.pause()
            settle(gate)
            recoveries.append(world.wait_stored(gate, gate.printed(), timeout=90))
            tapper.resume()
        time.sleep(0.5)
    finally:
        tapper.stop()
    settle(gate)
    recoveries.append(world.wait_stored(gate, gate.printed(), timeout=90))
    audit = world.audit(gate)
    recovery = None if None in recoveries else max(r or 0.0 for r in recoveries)
    detail = f"{kills}x, {len(gate.printed())} taps"
    names = {"hub": "kill -9 hub", "broker": "kill -9 broker",
             "broker-restart": "broker restart (persistence)", "gate": "kill -9 gate"}  # fmt: skip
    return add_row(FaultRow(names[kind], detail, audit, recovery_s=recovery))


@pytest.mark.parametrize("kills", [FAST, FULL])
@pytest.mark.parametrize("kind", ["hub", "broker", "broker-restart", "gate"])
def test_kill_at_random_moments_loses_nothing(live: FaultWorld, kind: str, kills: int) -> None:
    row = play(live, kind, kills, seed=sum(map(ord, kind)) + kills)
    a = row.audit
    assert (a.lost, a.duplicated, a.wrong_unlocks) == (0, 0, 0), row
    assert row.recovery_s is not None, "a backlog was never stored"
    assert a.checkins >= 10 * kills
