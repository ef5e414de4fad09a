"""A gate cut off from the broker for a simulated week, and gates with wrong clocks.

The partition is real where the machine allows it: the gate process runs in its own
network namespace and the link to it is taken down (see :mod:`tests.faults.netfaults`).
While it is cut off the week passes, day by day, for the hub and for the gate (its
wall clock and its count of elapsed time both move on); members whose membership
lapses mid-week must be refused by the gate on its own, and every check-in of the week
must reach the hub once the link is back.

Wrong clocks: a gate whose wall clock runs two days fast or slow, one rolled back a
month while running, and one rolled back and rebooted with no broker in reach.  A slow
or rolled-back clock must never re-admit an expired card (the hub's time and the list's
issue time overrule it); a fast one should not refuse a paid-up member.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.netfaults import Partition
from tests.faults.table import FaultRow, add_row
from tests.faults.world import FaultGate, FaultWorld, new_uid, set_gate_clock

DAY = 86400


def _clock_gate(world: FaultWorld, slug: str, part: Partition) -> FaultGate:
    folder = world.workdir / slug
    folder.mkdir(parents=True, exist_ok=True)
    return world.gate(slug, clock_file=folder / "clock.json", host=part.host,
                      port=part.port, wrap=part.wrap)  # fmt: skip


def _tap_all(world: FaultWorld, gate: FaultGate, uids: list[bytes]) -> None:
    taps = [gate.process.tap(u, world.expect(u)) for u in uids]
    assert gate.process.wait_decided(taps, timeout=20), "a tap was never decided"


@pytest.mark.parametrize("days", [7])
def test_gate_partitioned_for_a_week_decides_alone_and_delivers_all(
    live: FaultWorld, days: int
) -> None:
    world = live
    with Partition(world.broker.port) as part:
        gate = _clock_gate(world, f"partition-{days}d", part)
        gate.process.start()
        lapsing = world.cards(2 * days, valid_days=days / 2)  # lapses mid-partition
        staying = world.cards(2 * days + 2, valid_days=days + 30)
        assert world.wait_list(gate), "the gate never got its list"
        time.sleep(0.5)  # the hub's time command is in
        _tap_all(world, gate, [staying.pop(), lapsing.pop(), new_uid()])
        assert world.wait_stored(gate, gate.printed(), timeout=30) is not None
        part.cut()
        for day in range(1, days + 1):
            world.advance(days=1)
            set_gate_clock(gate.process.clock_file, wall=day * DAY, elapsed=day * DAY)  # type: ignore[arg-type]
            _tap_all(world, gate, [staying.pop(), lapsing.pop(), new_uid()])
        time.sleep(1.0)
        stored_while_cut = len(world.stored(gate))
        healed = time.monotonic()
        part.heal()
        recovery = world.wait_stored(gate, gate.printed(), timeout=120)
        if recovery is not None:
            recovery = time.monotonic() - healed
        audit = world.audit(gate)
    row = add_row(FaultRow(f"partition {days} days ({part.mode})",
                           f"{3 * days} taps offline, {days} day steps", audit,
                           recovery_s=recovery))  # fmt: skip
    assert (audit.lost, audit.duplicated, audit.wrong_unlocks) == (0, 0, 0), row
    assert audit.wrong_denials == 0, row
    assert stored_while_cut == 3, "check-ins crossed the partition"
    refused_lapsed = [t for t in gate.printed() if not t.expect_allow and t.allowed is False]
    assert len(refused_lapsed) >= days, "lapsed members were not refused offline"
    assert recovery is not None


SKEWS = {
    "fast": ("clock fast +2 days", 2 * DAY),
    "slow": ("clock slow -2 days", -2 * DAY),
    "rolled-back": ("clock rolled back 30 days", -30 * DAY),
    "rolled-back-offline": ("clock rolled back, rebooted offline", -30 * DAY),
}


@pytest.mark.parametrize("skew", list(SKEWS))
def test_wrong_gate_clock_never_readmits_an_expired_card(live: FaultWorld, skew: str) -> None:
    world = live
    name, offset = SKEWS[skew]
    with Partition(world.broker.port) as part:
        gate = _clock_gate(world, f"clock-{skew}", part)
        if skew in ("fast", "slow"):
            set_gate_clock(gate.process.clock_file, wall=offset, elapsed=0)  # type: ignore[arg-type]
        gate.process.start()
        paid = world.cards(6, valid_days=1)  # admitted for one more day
        lapsed = world.cards(6, valid_days=-0.05)  # lapsed an hour ago
        assert world.wait_list(gate), "the gate never got its list"
        time.sleep(0.5)
        if skew == "rolled-back":
            set_gate_clock(gate.process.clock_file, wall=offset, elapsed=0)  # type: ignore[arg-type]
        elif skew == "rolled-back-offline":
            gate.process.kill()
            part.cut()
            set_gate_clock(gate.process.clock_file, wall=offset, elapsed=0)  # type: ignore[arg-type]
            gate.restart().start()
        for _ in range(3):
            _tap_all(world, gate, [paid.pop(), lapsed.pop(), new_uid()])
        healed = time.monotonic()
        part.heal()
        recovery = world.wait_stored(gate, gate.printed(), timeout=120)
        if recovery is not None:
            recovery = time.monotonic() - healed
        audit = world.audit(gate)
    row = add_row(FaultRow(name, f"{len(gate.printed())} taps", audit, recovery_s=recovery))
    assert (audit.lost, audit.duplicated, audit.wrong_unlocks) == (0, 0, 0), row
    assert recovery is not None
    if skew != "rolled-back-offline":  # online, the hub's time rules: no wrong refusals
        assert audit.wrong_denials == 0, row
