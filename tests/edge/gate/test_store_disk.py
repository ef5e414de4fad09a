"""The store on a 1 MiB disk: its own WAL, another program's files and a list too big.

Each test gets a 1 MiB tmpfs of its own.  Where mounting is refused, the test runs
under an ``RLIMIT_FSIZE`` instead (1 MiB per file; "filling" the disk then stops every
file from growing at all), which fails SQLite's writes the same way.
"""

from __future__ import annotations

import contextlib
import os
import resource
import secrets
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.gate.store import RESERVE_BYTES, GateStore, StoreFull
from protocol import records
from protocol.schedule import Schedules
from tests.edge.gate.conftest import GateFactory
from tests.edge.gate.helpers import DAY, GATE, T0, committed, eventually
from tests.support.hubsim import HubSim

MIB = 1 << 20


class TinyDisk:
    """A 1 MiB file system at *path* (or a 1 MiB file size limit where mounting fails)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.mounted = (
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)],
                           capture_output=True).returncode == 0
        )  # fmt: skip
        self._limit = resource.getrlimit(resource.RLIMIT_FSIZE)
        self._sigxfsz = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        if not self.mounted:
            resource.setrlimit(resource.RLIMIT_FSIZE, (MIB, self._limit[1]))

    def fill(self) -> None:
        """Take every free block (again: call it before each write to keep it full)."""
        if not self.mounted:
            resource.setrlimit(resource.RLIMIT_FSIZE, (0, self._limit[1]))
            return
        with open(self.path / "filler", "ab", buffering=0) as fh:
            for size in (65536, 4096, 512):
                with contextlib.suppress(OSError):
                    while fh.write(b"\0" * size):
                        pass

    def free(self) -> None:
        """Give the filled space back."""
        if self.mounted:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path / "filler")
        else:
            resource.setrlimit(resource.RLIMIT_FSIZE, (MIB, self._limit[1]))

    def close(self) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, self._limit)
        signal.signal(signal.SIGXFSZ, self._sigxfsz)
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[TinyDisk]:
    d = TinyDisk(tmp_path / "disk")
    try:
        yield d
    finally:
        d.close()


def recs(n: int) -> list[bytes]:
    return [records.pack(secrets.token_bytes(8), T0 + 86400, 1) for _ in range(n)]


def test_a_wal_that_fills_the_disk_by_itself_is_truncated_and_no_tap_is_refused(
    disk: TinyDisk,
) -> None:
    with GateStore(disk.path / "gate.db") as store:
        store._db.execute("PRAGMA wal_autocheckpoint=0")  # no checkpoint at all: worst case
        for i in range(3000):  # each commit adds ~4 KiB of WAL: 12 MiB through 1 MiB
            assert store.record(T0 + i, secrets.token_bytes(8), reason=1) == i + 1
        assert store.wal_bytes() <= MIB and not store.full
        assert store.depth() == 3000
        if disk.mounted:
            assert store.disk()["reserve"]


def test_a_full_disk_refuses_taps_without_using_a_seq_and_recovers_once_space_returns(
    disk: TinyDisk,
) -> None:
    db = disk.path / "gate.db"
    with GateStore(db) as store:
        for i in range(50):
            store.record(T0 + i, secrets.token_bytes(8), reason=1)
        refused = 0
        for i in range(2000):  # another program keeps the disk full
            disk.fill()
            before = store.last_seq
            try:
                store.record(T0 + i, secrets.token_bytes(8), reason=1)
            except StoreFull:
                refused += 1
                assert store.last_seq == before and store.full
                if refused == 5:
                    break
        assert refused == 5, "the disk never filled up"
        status = store.summary()["disk"]
        assert status["full"] and status["full_events"] == 1 and status["refused"] == 5
        assert not status["reserve"]
        disk.free()
        seq = store.record(T0, b"k" * 8, reason=1)  # no restart: the next tap is recorded
        assert seq == before + 1 and not store.full
        assert committed(db, "SELECT seq FROM outbox WHERE seq = ?", seq) == [(seq,)]
        seqs = [r[0] for r in committed(db, "SELECT seq FROM outbox ORDER BY seq")]
        assert seqs == list(range(1, seq + 1))  # contiguous: the hub's ack can pass
        store.maintain()
        assert store.disk()["reserve"] and os.path.getsize(store.reserve_path) == RESERVE_BYTES
        assert store.ack(seq) and store.depth() == 0


def test_a_list_too_big_for_the_disk_is_refused_and_the_old_list_stays(disk: TinyDisk) -> None:
    with GateStore(disk.path / "gate.db") as store:
        old = recs(100)
        store.begin_staging()
        store.stage(b"".join(old))
        store.swap_in(1, T0, Schedules(), 0)
        store.record(T0, old[0][:8], reason=0)
        with pytest.raises(StoreFull, match="no room for a list of 80000"):
            store.begin_staging(80_000)  # refused up front from the manifest's count
        big = b"".join(recs(80_000))  # 1.3 MB of records: cannot fit on 1 MiB
        with pytest.raises(StoreFull):  # a download that fills the disk on its way
            store.begin_staging()
            for i in range(0, len(big), 16 * 1000):
                store.stage(big[i : i + 16 * 1000])
        assert store.version == 1 and store.count() == 100
        assert all(store.lookup(r[:8]) == r for r in old)
        with contextlib.suppress(StoreFull):
            store.begin_staging()  # what was staged is dropped (or dropped on restart)
        seq = store.record(T0 + 1, old[1][:8], reason=0)  # taps still recorded
        assert seq == 2
        if disk.mounted:
            assert store.disk()["reserve"], "a download must not use the check-ins' reserve"
    with GateStore(disk.path / "gate.db") as store:  # and after a restart too
        assert store.version == 1 and store.count() == 100 and store.staged() == 0


def test_a_gate_refuses_a_list_its_disk_cannot_hold_keeps_its_old_one_and_says_so(
    disk: TinyDisk, hub: HubSim, make_gate: GateFactory
) -> None:
    member, stranger = bytes.fromhex("04a1b2c3"), bytes.fromhex("deadbeef")
    hub.grant(member, T0 + 30 * DAY, push=False)
    gate = make_gate(db="disk/gate.db", decision={"debounce_s": 0.0})
    eventually(lambda: gate.store.version == 1)
    held = gate.store.list_bytes()
    # 40,000 more cards: 640 KB of records, far more than the 1 MiB disk can stage.
    extra = [records.pack(secrets.token_bytes(8), T0 + DAY, 1) for _ in range(40_000)]
    v2 = hub.set_list([*hub.current().values(), *extra], push=False)
    hub.send_snapshot(GATE, v2, hub.versions[v2])
    eventually(lambda: gate.sync.rejected.get("disk_full") == 1)
    assert gate.store.version == 1 and gate.store.list_bytes() == held
    assert gate.sync.want_snapshot  # the next hello asks for the list again
    decision = gate.tap(member)
    assert decision is not None and decision.allow
    decision = gate.tap(stranger)
    assert decision is not None and not decision.allow
    status = eventually(lambda: hub.status.get(GATE, {}).get("rejected", {}).get("store_full"))
    assert status >= 1 and hub.status[GATE]["rejected"]["disk_full"] == 1
    assert not hub.status[GATE]["disk_full"]  # check-ins still fit: not full
