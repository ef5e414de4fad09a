"""The gate's store runs out of disk while members tap, then space comes back.

The store lives on a small tmpfs of its own, 8 MiB or 1 MiB (where mounting is refused,
the gate runs under an ``RLIMIT_FSIZE`` of that size instead, and "filling the disk"
lowers the limit so no file may grow).  A third of the way through the taps another
program starts keeping the disk full to the last block; two thirds in, it stops and
its file goes.  What the row proves:

* a tap the store cannot take leaves the door shut and is reported (``not recorded``);
  no door ever opens for a card that should not pass;
* nothing the gate did record is lost or duplicated once space returns;
* the same gate process records taps again without a restart, and its status told
  the hub about the full disk (``store_full`` in the gate's counters);
* the recovery time (space freed -> every check-in stored at the hub) is in the table.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.models import Gate
from tests.faults.procs import eventually
from tests.faults.table import FaultRow, add_row
from tests.faults.world import FaultGate, FaultWorld, new_uid

SIZES = {"8m": 8 << 20, "1m": 1 << 20}
CASES = [
    pytest.param("8m", 120, id="8MiB-120-taps"),
    pytest.param("1m", 120, id="1MiB-120-taps"),
    pytest.param("8m", 600, id="8MiB-600-taps", marks=pytest.mark.faults),
    pytest.param("1m", 600, id="1MiB-600-taps", marks=pytest.mark.faults),
]


@dataclass
class SmallDisk:
    """The gate store's disk: a tmpfs, or a file size limit on the gate process."""

    path: Path
    size: int
    mounted: bool

    @property
    def how(self) -> str:
        mib = self.size >> 20
        return f"tmpfs {mib} MiB" if self.mounted else f"RLIMIT_FSIZE {mib} MiB"

    def preexec(self) -> Callable[[], None] | None:
        """What the gate process runs before it starts (the limit, unmounted)."""
        if self.mounted:
            return None
        size = self.size

        def limit() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))

        return limit

    def fill(self, pid: int) -> None:
        """Take every free block (call again to keep the disk full)."""
        if not self.mounted:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
            return
        with open(self.path / "filler", "ab", buffering=0) as fh:
            for size in (65536, 4096, 512):
                with contextlib.suppress(OSError):
                    while fh.write(b"\0" * size):
                        pass

    def free(self, pid: int) -> None:
        """Give the space back."""
        if self.mounted:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path / "filler")
        else:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (self.size, resource.RLIM_INFINITY))


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[SmallDisk]:
    """Mount a tmpfs of *size* (``"8m"``, ``"1m"``) at *path*, or fall back to a limit."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = (
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True).returncode == 0
    )  # fmt: skip
    try:
        yield SmallDisk(path, SIZES[size], mounted)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def store_full_reported(world: FaultWorld, gate: FaultGate) -> int:
    """Writes the gate told the hub it refused for lack of disk."""
    with world.session() as s:
        row = s.get(Gate, gate.id)
        return int((row.gate_rejected or {}).get("store_full", 0)) if row else 0


@pytest.mark.parametrize(("size", "taps"), CASES)
def test_full_disk_on_the_gate_refuses_unrecorded_taps_and_recovers_by_itself(
    live: FaultWorld, size: str, taps: int
) -> None:
    world = live
    slug = f"disk-full-{size}-{taps}"
    with small_disk(world.workdir / slug / "store", size) as disk:
        gate = world.gate(slug, store_dir=disk.path)
        members = world.cards(taps, valid_days=30)
        gate.process.start(preexec=disk.preexec())
        assert gate.process.proc is not None
        pid = gate.process.proc.pid
        assert world.wait_list(gate), "the gate never got its list"
        full_from, full_until = taps // 3, 2 * taps // 3
        sent, full, after = [], [], []
        freed = 0.0
        for i in range(taps):
            if i == full_from:
                assert gate.process.wait_decided(sent, timeout=30)
            if full_from <= i < full_until:
                disk.fill(pid)  # another program keeps the disk full to the last block
            if i == full_until:
                assert gate.process.wait_decided(sent, timeout=60)
                disk.free(pid)
                freed = time.monotonic()
            uid = members.pop() if i % 2 == 0 else new_uid()
            tap = gate.process.tap(uid, world.expect(uid))
            sent.append(tap)
            (full if full_from <= i < full_until else after if i >= full_until else []).append(tap)
            time.sleep(0.01)
        assert gate.process.wait_decided(sent, timeout=60), "a tap was never decided"
        refused = sum(t.not_recorded for t in full)
        recovery = world.wait_stored(gate, gate.printed(), timeout=120)
        if recovery is not None:
            recovery = time.monotonic() - freed
        reported = eventually(lambda: store_full_reported(world, gate) > 0, timeout=30)
        same_process = gate.process.proc is not None and gate.process.proc.pid == pid
        alive = same_process and gate.process.proc.poll() is None
        audit = world.audit(gate)
        gate.process.stop()
    row = add_row(FaultRow("disk full on gate store",
                           f"{disk.how}, {taps} taps, {refused} refused while full",
                           audit, recovery_s=recovery))  # fmt: skip
    assert (audit.lost, audit.duplicated, audit.wrong_unlocks) == (0, 0, 0), row
    assert refused > 0, "the disk never filled up"
    assert alive, "the gate did not survive the full disk"
    assert all(t.seq is not None for t in after), "taps not recorded after space came back"
    assert reported is not None, "the hub never heard of the full disk"
    assert recovery is not None, world.missing(gate)
