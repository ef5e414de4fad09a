"""The gate's store runs out of disk while members tap, then space comes back.

The store lives on a small tmpfs of its own (or, where mounting is refused, the gate
runs under an ``RLIMIT_FSIZE`` that stops its files growing for good: there only the
refusals are checked).  A third of the way through the taps the disk is filled to the
last byte: a tap the store cannot take must leave the door shut and be reported;
nothing the gate did record may be lost; once space is freed, taps are recorded and
delivered again.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.table import FaultRow, add_row
from tests.faults.world import FaultWorld, new_uid

FAST = pytest.param(120, id="120-taps")
FULL = pytest.param(600, id="600-taps", marks=pytest.mark.faults)


@contextlib.contextmanager
def small_disk(path: Path, size: str = "8m") -> Iterator[bool]:
    """Mount a tmpfs of *size* at *path*; yields False where mounting is refused."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = (
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True).returncode == 0
    )  # fmt: skip
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(path: Path) -> Path:
    """Fill the file system holding *path* to the last block; returns the filler."""
    filler = path / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for size in (65536, 512):
            with contextlib.suppress(OSError):
                while fh.write(b"\0" * size):
                    pass
    return filler


def _limit_file_size(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.parametrize("taps", [FAST, FULL])
def test_full_disk_on_the_gate_refuses_unrecorded_taps_and_loses_nothing(
    live: FaultWorld, taps: int
) -> None:
    world = live
    slug = f"disk-full-{taps}"
    mount = world.workdir / slug / "store"
    with small_disk(mount) as mounted:
        gate = world.gate(slug, store_dir=mount)
        members = world.cards(taps, valid_days=30)
        if mounted:
            gate.process.start()
        else:  # no mount here: the store's files may not grow past a limit instead
            gate.process.start(preexec=lambda: _limit_file_size(256 << 10))
        assert world.wait_list(gate), "the gate never got its list"
        filler = None
        sent = []
        for i in range(taps):
            if i == taps // 3 and mounted:
                assert gate.process.wait_decided(sent, timeout=30)
                filler = fill(mount)  # a third of the taps in, the disk fills up
            uid = members.pop() if i % 2 == 0 else new_uid()
            sent.append(gate.process.tap(uid, world.expect(uid)))
            time.sleep(0.01)
        assert gate.process.wait_decided(sent, timeout=60), "a tap was never decided"
        refused = sum(t.not_recorded for t in sent)
        if filler is not None:
            os.unlink(filler)
        freed = time.monotonic()
        after = [gate.process.tap(new_uid(), False) for _ in range(10)] if mounted else []
        assert gate.process.wait_decided(after, timeout=30)
        recovery = world.wait_stored(gate, gate.printed(), timeout=120)
        if recovery is not None:
            recovery = time.monotonic() - freed
        audit = world.audit(gate)
        gate.process.stop()
    how = "tmpfs 8 MiB" if mounted else "RLIMIT_FSIZE 256 KiB"
    row = add_row(FaultRow("disk full on gate store", f"{how}, {taps} taps, {refused} refused",
                           audit, recovery_s=recovery))  # fmt: skip
    assert (audit.lost, audit.duplicated, audit.wrong_unlocks) == (0, 0, 0), row
    assert refused > 0, "the disk never filled up"
    assert all(t.seq is not None for t in after), "taps not recorded after space came back"
    assert recovery is not None
