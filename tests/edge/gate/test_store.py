"""The local SQLite store: outbox durability, acks, atomic list swap, deltas."""

from __future__ import annotations

import secrets
from pathlib import Path

from edge.gate.store import GateStore
from protocol import records
from protocol.schedule import Schedules
from tests.edge.gate.helpers import T0, committed


def recs(n: int, valid_until: int = T0 + 86400) -> list[bytes]:
    return [records.pack(secrets.token_bytes(8), valid_until, 1) for _ in range(n)]


def test_new_store_has_a_random_id_and_a_wiped_one_gets_a_new_id(tmp_path: Path) -> None:
    db = tmp_path / "gate.db"
    with GateStore(db) as store:
        sid = store.sid
        assert len(sid) == 16 and store.version == 0 and store.last_seq == 0
    with GateStore(db) as store:
        assert store.sid == sid
    for f in tmp_path.glob("gate.db*"):
        f.unlink()
    with GateStore(db) as store:
        assert store.sid != sid


def test_check_ins_are_committed_when_record_returns_and_survive_reopening(
    tmp_path: Path,
) -> None:
    db = tmp_path / "gate.db"
    with GateStore(db) as store:
        for i in range(5):
            seq = store.record(T0 + i, b"k" * 8, reason=1, flags=2)
            assert committed(db, "SELECT seq FROM outbox WHERE seq = ?", seq) == [(seq,)]
        assert store.ack(3)
        assert not store.ack(2)  # not news
    with GateStore(db) as store:
        assert store.acked == 3 and store.last_seq == 5
        assert [r[0] for r in store.pending()] == [4, 5]
        assert store.record(T0, None, 9) == 6
        assert store.pending(after=5) == [(6, T0, None, 9, 0, 0)]


def test_ack_beyond_the_last_seq_is_capped(tmp_path: Path) -> None:
    with GateStore(tmp_path / "gate.db") as store:
        store.record(T0, None, 1)
        assert store.ack(99)
        assert store.acked == 1 and store.depth() == 0
        assert store.record(T0, None, 1) == 2


def test_seq_continues_after_the_outbox_drains(tmp_path: Path) -> None:
    db = tmp_path / "gate.db"
    with GateStore(db) as store:
        store.record(T0, None, 1)
        store.ack(1)
    with GateStore(db) as store:
        assert store.depth() == 0
        assert store.record(T0, None, 1) == 2


def test_staged_list_is_swapped_in_whole_and_a_restart_discards_a_partial_one(
    tmp_path: Path,
) -> None:
    db = tmp_path / "gate.db"
    old = records.build(recs(50))
    new = records.build(recs(80))
    sched = Schedules({1: [[127, 360, 960]]}, tz=[[0, 25200]])
    with GateStore(db) as store:
        store.begin_staging()
        store.stage(old)
        store.swap_in(1, T0, Schedules(), 0)
        assert store.list_bytes() == old
        store.begin_staging()
        store.stage(new[: 30 * 16])  # a download cut short
        assert store.staged() == 30
        assert store.list_bytes() == old  # still the old list in force
    with GateStore(db) as store:
        assert store.staged() == 0 and store.version == 1 and store.list_bytes() == old
        store.stage(new)
        store.swap_in(2, T0 + 60, sched, 300)
    with GateStore(db) as store:
        assert store.version == 2 and store.issued == T0 + 60 and store.passback_s == 300
        assert store.list_bytes() == new and store.count() == 80
        assert store.schedules.to_json() == sched.to_json()
        key = records.key_of(new, 7)
        assert store.lookup(key) == records.record_at(new, 7)
        assert store.lookup(b"\0" * 8) is None


def test_delta_applies_adds_replacements_and_deletes_in_one_step(tmp_path: Path) -> None:
    with GateStore(tmp_path / "gate.db") as store:
        base = recs(10)
        store.stage(records.build(base))
        store.swap_in(1, T0, Schedules(), 0)
        replaced = records.pack(records.unpack(base[0])[0], T0 + 5, 3)
        added = recs(2)
        store.apply_delta(2, [replaced, *added], [base[1][:8]], T0 + 10)
        assert store.version == 2 and store.issued == T0 + 10
        assert store.count() == 11
        assert store.lookup(base[0][:8]) == replaced
        assert store.lookup(base[1][:8]) is None
        assert store.lookup(added[1][:8]) == added[1]


def test_admission_and_command_number_are_written_with_the_check_in(tmp_path: Path) -> None:
    db = tmp_path / "gate.db"
    with GateStore(db) as store:
        store.record(T0, b"a" * 8, 0, admitted=True)
        store.record(T0 + 1, None, 9, command=41)
    with GateStore(db) as store:
        assert store.last_admit(b"a" * 8) == T0
        assert store.last_admit(b"b" * 8) is None
        assert store.last_cmd == 41
        assert store.summary()["last_seq"] == 2
