"""The gate's local store: access list, outbox and state in one SQLite file.

Everything the door needs to decide, and everything it must not lose, lives here:

* ``access`` — the list in force: 16-byte :mod:`protocol.records`, keyed by card key;
* ``staging`` — a snapshot being downloaded; swapped in whole, in one transaction,
  only after :meth:`protocol.downlink.Downlink.finish` verified it, so a crash
  mid-download leaves the old list in force;
* ``outbox`` — check-ins by ``seq`` under the store's random id, kept until the hub
  acks them;
* ``admits`` — last admission per card, for anti-passback;
* ``visits`` and ``visitstart`` — metered visits counted here that the card's record
  does not reflect yet (by seq), and when each card's current visit began (its
  re-entry window);
* ``state`` — store id, list version, issue time, schedules, acked seq, last command.

The file runs in WAL mode.  Check-ins, list swaps, deltas and command numbers commit
with ``synchronous=FULL``: a check-in is on disk when :meth:`record` returns, before
the relay moves.  What can be redone commits without waiting for the disk: chunks of a
download (thrown away on restart anyway) and acks (the hub repeats its ack in reply to
the next ``hello``, before the gate sends anything).  Reads for the hub link go through
a second connection, and checkpoints through a third (:meth:`checkpoint`), so neither
holds up a tap.

A full disk is survived without a restart.  The WAL is bounded: ``journal_size_limit``
cuts it back after each complete checkpoint, ``wal_autocheckpoint`` is a safety net
behind the background checkpoint, and once acks have emptied the outbox a ``TRUNCATE``
checkpoint gives its file back (at most every :data:`TRUNCATE_EVERY_S`, as it holds up
writers for its length; other times the checkpoint is ``PASSIVE``).  Next to the
database a small reserve file (``gate.db-reserve``) holds some disk back.  When a
check-in cannot be written because the disk is full, the store gives the reserve up,
checkpoints the WAL back into the database and truncates it, and tries the write once
more; only if that fails too is :class:`StoreFull` raised (the
door stays shut).  A list download or an ack never gets the reserve: it is refused
with :class:`StoreFull` and the old list stays in force.  :meth:`maintain` puts the
reserve back once space has returned; :meth:`disk` says how the disk stands.

A wiped store gets a new store id, so its check-ins starting again at
seq 1 never collide with the old ones::

    store = GateStore("/var/lib/gatehouse/gate.db")
    seq = store.record(ts=now, card_key=key, reason=GRANTED, flags=0)
    store.ack(seq)                        # the hub has it: the row goes
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from protocol.records import RECORD_SIZE
from protocol.schedule import Schedules

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS access (card_key BLOB PRIMARY KEY, record BLOB NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS staging (card_key BLOB PRIMARY KEY, record BLOB NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    card_key BLOB,
    reason INTEGER NOT NULL,
    version INTEGER NOT NULL,
    flags INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS admits (card_key BLOB PRIMARY KEY, ts INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS visits (seq INTEGER PRIMARY KEY, card_key BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS visits_card ON visits (card_key);
CREATE TABLE IF NOT EXISTS visitstart (card_key BLOB PRIMARY KEY, ts INTEGER NOT NULL)
    WITHOUT ROWID;
"""

_DEFAULTS = {
    "version": "0",
    "issued": "0",
    "schedules": '{"w": {}, "tz": []}',
    "passback_s": "0",
    "reentry_s": "0",
    "acked": "0",
    "last_cmd": "0",
}

WAL_LIMIT_BYTES = 256 << 10
"""A WAL reset by a checkpoint is cut back to this size (``journal_size_limit``); one
larger than it is checkpointed after an ack, and truncated as :data:`TRUNCATE_EVERY_S`
allows (or at once when the disk is short)."""

AUTOCHECKPOINT_PAGES = 1000
"""A commit that finds this many pages (4 MiB) in the WAL checkpoints it itself: a
safety net behind the background checkpoint, which keeps the WAL far below it."""

TRUNCATE_EVERY_S = 30.0
"""Least time between two ``TRUNCATE`` checkpoints while the disk has room."""

STAGING_FACTOR = 3
"""Disk a download takes per record byte: the staging table with its key, and WAL."""

RESERVE_BYTES = 64 << 10
"""Disk held back for check-ins: enough to checkpoint a full WAL and commit the tap."""


class StoreFull(OSError):
    """The store's disk is full: the write was rolled back and nothing changed."""


def _out_of_space(err: BaseException) -> bool:
    """True for SQLite errors a full disk (or a file size limit) produces."""
    code = getattr(err, "sqlite_errorcode", None)
    return (
        isinstance(err, sqlite3.OperationalError)
        and code is not None
        and ((code & 0xFF) in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR))
    )


# One check-in row: (seq, ts, card_key or None, reason, list version, flags).
Row = tuple[int, int, bytes | None, int, int, int]


class GateStore:
    """The SQLite store of one gate; safe to share between threads.

    :param path: the database file (created, with a new store id, if missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = self._connect()
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        self.reserve_path = self.path.with_name(self.path.name + "-reserve")
        self.full = False
        self.full_events = 0
        self.refused = 0
        self._truncated_at = -TRUNCATE_EVERY_S
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint_lock = threading.Lock()

        def setup(db: sqlite3.Connection) -> None:
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    db.execute(stmt)
            for key, value in _DEFAULTS.items():
                db.execute("INSERT OR IGNORE INTO state VALUES (?, ?)", (key, value))
            db.execute("INSERT OR IGNORE INTO state VALUES ('sid', ?)", (secrets.token_hex(8),))
            # A download cut short by a crash or restart is worthless: start it over.
            db.execute("DELETE FROM staging")

        self._write(setup, reserve=True)  # a gate must start even on a full disk
        self.sid: str = self._get("sid")
        self.version = int(self._get("version"))
        self.issued = int(self._get("issued"))
        self.passback_s = int(self._get("passback_s"))
        self.reentry_s = int(self._get("reentry_s"))
        self.schedules = Schedules.from_json(json.loads(self._get("schedules")))
        self.acked = int(self._get("acked"))
        self.last_cmd = int(self._get("last_cmd"))
        high = self._db.execute("SELECT max(seq) FROM outbox").fetchone()[0]
        self.last_seq = max(self.acked, high or 0)
        self._reader = self._connect()
        self._read_lock = threading.Lock()
        self._make_reserve()

    # -- plumbing ------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout=5000")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
        return db

    @contextmanager
    def _tx(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction; *durable* ones are on disk when it ends."""
        with self._lock:
            if not durable:
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            finally:
                if not durable:
                    self._db.execute("PRAGMA synchronous=FULL")

    def _write(self, body: Any, durable: bool = True, reserve: bool = False) -> Any:
        """Run ``body(db)`` in one write transaction, surviving a full disk once.

        Out of space, the WAL is checkpointed and truncated (and with *reserve*, the
        reserve file given up first) and the transaction run again; if that fails too,
        :class:`StoreFull`.  ``body`` must have no effect outside the database.
        """
        try:
            with self._tx(durable) as db:
                result = body(db)
        except sqlite3.OperationalError as err:
            if not _out_of_space(err):
                raise
            self._relieve(reserve)
            try:
                with self._tx(durable) as db:
                    result = body(db)
            except sqlite3.OperationalError as again:
                if not _out_of_space(again):
                    raise
                if not self.full:
                    self.full_events += 1
                self.full = True
                self.refused += 1
                raise StoreFull(f"store disk full: {again}") from again
            # The checkpoint gave disk back: hold the reserve again at once, or the next
            # WAL to fill the disk would find nothing to checkpoint with.
            self._make_reserve()
        self.full = False
        return result

    def _relieve(self, reserve: bool) -> None:
        """Make room after a write failed for space: reserve (if allowed), then WAL."""
        if reserve:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.reserve_path)
        with contextlib.suppress(sqlite3.Error):
            self.checkpoint("TRUNCATE")

    def _make_reserve(self) -> bool:
        """Put the reserve file back if the disk has room for it; True if it is there."""
        if self.reserve_path.exists():
            return True
        try:
            if (
                os.statvfs(self.reserve_path.parent).f_bavail
                * os.statvfs(self.reserve_path.parent).f_frsize
                < 2 * RESERVE_BYTES
            ):
                return False
            fd = os.open(self.reserve_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            return False
        try:
            try:
                os.posix_fallocate(fd, 0, RESERVE_BYTES)
            except OSError:
                os.write(fd, bytes(RESERVE_BYTES))  # a file system without fallocate
            os.fsync(fd)
        except OSError:
            os.close(fd)
            os.unlink(self.reserve_path)
            return False
        os.close(fd)
        return True

    def wal_bytes(self) -> int:
        """Size of the write-ahead log file now."""
        try:
            return os.path.getsize(f"{self.path}-wal")
        except OSError:
            return 0

    def disk(self) -> dict[str, Any]:
        """How the store's disk stands, for the gate's status::

            {"full": False, "free": 7340032, "wal": 45352, "reserve": True,
             "full_events": 0, "refused": 0}

        *free* is what the database file may still grow by: free blocks, or less under
        a file size limit.  *full_events* counts the times the disk became full,
        *refused* the writes (check-ins, list chunks, acks) refused for lack of space.
        """
        try:
            st = os.statvfs(self.path.parent)
            free = st.f_bavail * st.f_frsize
            limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
            if limit != resource.RLIM_INFINITY:  # a file size limit (systemd LimitFSIZE=)
                free = max(0, min(free, limit - os.path.getsize(self.path)))
        except OSError:
            free = -1
        return {
            "full": self.full,
            "free": free,
            "wal": self.wal_bytes(),
            "reserve": self.reserve_path.exists(),
            "full_events": self.full_events,
            "refused": self.refused,
        }

    def _tidy_wal(self, truncate: bool) -> None:
        """Checkpoint a WAL grown past its bound; ``TRUNCATE`` it if *truncate* and the
        last truncation is old enough, or at once when the disk is short."""
        if self.wal_bytes() <= WAL_LIMIT_BYTES:
            return
        now = time.monotonic()
        short = self.full or 0 <= self.disk()["free"] < 4 * RESERVE_BYTES
        if short or (truncate and now - self._truncated_at >= TRUNCATE_EVERY_S):
            self._truncated_at = now
            self.checkpoint("TRUNCATE")
        else:
            self.checkpoint("PASSIVE")

    def maintain(self) -> None:
        """Background upkeep: checkpoint the WAL (truncating it when over its bound)
        and put the reserve back once there is room again.  Clears :attr:`full` when
        the reserve could be made again."""
        self._tidy_wal(truncate=True)
        if self._make_reserve() and self.full:
            self.full = False

    def _read(self, sql: str, *args: Any) -> list[Any]:
        with self._read_lock:
            return self._reader.execute(sql, args).fetchall()

    def checkpoint(self, mode: str = "PASSIVE") -> None:
        """Copy committed pages from the WAL into the database file.

        ``PASSIVE`` runs on its own connection and does not block taps; the daemon calls
        it every second instead of letting a tap's commit run it.  ``TRUNCATE``
        also waits for the writer and cuts the WAL file to zero bytes.
        """
        if mode not in ("PASSIVE", "TRUNCATE"):
            raise ValueError(f"checkpoint mode {mode!r}")
        with self._checkpoint_lock:
            if self._checkpointer is None:
                self._checkpointer = self._connect()
            self._checkpointer.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()

    def _get(self, key: str) -> str:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0]

    @staticmethod
    def _set(db: sqlite3.Connection, key: str, value: Any) -> None:
        db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (key, str(value)))

    # -- access list ---------------------------------------------------------------
    def lookup(self, card_key: bytes) -> bytes | None:
        """The record of *card_key* in the list in force, or ``None``."""
        with self._lock:
            row = self._db.execute(
                "SELECT record FROM access WHERE card_key = ?", (card_key,)
            ).fetchone()
        return row[0] if row else None

    def count(self) -> int:
        """Records in the list in force."""
        return int(self._read("SELECT count(*) FROM access")[0][0])

    def list_bytes(self) -> bytes:
        """The list in force as one sorted buffer (for checks; 1.6 MB per 100k cards)."""
        rows = self._read("SELECT record FROM access ORDER BY card_key")
        return b"".join(r[0] for r in rows)

    def list_sha(self) -> str:
        """sha256 hex of :meth:`list_bytes`, as a manifest states it."""
        return hashlib.sha256(self.list_bytes()).hexdigest()

    def begin_staging(self, records: int = 0) -> None:
        """Start a new download of *records* records: forget any half-received one.

        Raises :class:`StoreFull` if the disk has no room for that many (a copy of
        the list while it downloads, its index and its WAL, besides the reserve).
        """
        self._write(lambda db: db.execute("DELETE FROM staging"), durable=False)
        if self.wal_bytes() > WAL_LIMIT_BYTES:  # an abandoned download: give the WAL back
            with contextlib.suppress(sqlite3.Error):
                self.checkpoint("TRUNCATE")
        need = records * RECORD_SIZE * STAGING_FACTOR
        if need and self.disk()["free"] < need:
            self.refused += 1
            raise StoreFull(f"no room for a list of {records} records ({need} bytes)")

    def stage(self, data: bytes) -> None:
        """Append verified record bytes of one chunk to the download.

        Raises :class:`StoreFull` before writing if the chunk, plus the WAL still to be
        checkpointed, would not fit: a download must never leave committed pages in
        the WAL that the database file has no room to take.
        """
        rows = [
            (data[i : i + 8], data[i : i + RECORD_SIZE]) for i in range(0, len(data), RECORD_SIZE)
        ]
        need = len(data) * STAGING_FACTOR + self.wal_bytes()
        if self.disk()["free"] < need:
            self.refused += 1
            raise StoreFull(f"no room for a chunk of {len(rows)} records")
        self._write(
            lambda db: db.executemany("INSERT INTO staging VALUES (?, ?)", rows),
            durable=False,
        )
        if self.wal_bytes() > WAL_LIMIT_BYTES:  # move the download into the file as it comes
            with contextlib.suppress(sqlite3.Error):
                self.checkpoint()

    def staged(self) -> int:
        """Records received so far for the download in progress."""
        return int(self._read("SELECT count(*) FROM staging")[0][0])

    def swap_in(
        self, version: int, issued: int, schedules: Schedules, passback_s: int, reentry_s: int = 0
    ) -> None:
        """Make the staged list the list in force, in one transaction.

        Metered visits the hub has acked are in the new records' counts: they stop
        being subtracted here.
        """

        def swap(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM visits WHERE seq <= ?", (self.acked,))
            self._set(db, "reentry_s", reentry_s)
            db.execute("DROP TABLE access")
            db.execute("ALTER TABLE staging RENAME TO access")
            db.execute(
                "CREATE TABLE staging (card_key BLOB PRIMARY KEY, record BLOB NOT NULL)"
                " WITHOUT ROWID"
            )
            self._set(db, "version", version)
            self._set(db, "issued", issued)
            self._set(db, "schedules", json.dumps(schedules.to_json()))
            self._set(db, "passback_s", passback_s)

        self._write(swap)  # never the reserve: out of space, the old list stays
        self.version, self.issued = version, issued
        self.schedules, self.passback_s = schedules, passback_s
        self.reentry_s = reentry_s

    def apply_delta(
        self, version: int, add: Iterable[bytes], delete: Iterable[bytes], issued: int
    ) -> None:
        """Apply a verified delta (records to add or replace, keys to drop) atomically."""
        add = list(add)

        def delta(db: sqlite3.Connection) -> None:
            db.executemany(
                "DELETE FROM visits WHERE card_key = ? AND seq <= ?",
                ((r[:8], self.acked) for r in add),
            )
            db.executemany("DELETE FROM access WHERE card_key = ?", ((k,) for k in delete))
            db.executemany("INSERT OR REPLACE INTO access VALUES (?, ?)", ((r[:8], r) for r in add))
            self._set(db, "version", version)
            if issued > self.issued:
                self._set(db, "issued", issued)

        self._write(delta)
        self.version = version
        self.issued = max(self.issued, issued)

    # -- outbox --------------------------------------------------------------------
    def record(
        self,
        ts: int,
        card_key: bytes | None,
        reason: int,
        flags: int = 0,
        admitted: bool = False,
        command: int | None = None,
        visit: bool = False,
    ) -> int:
        """Append one check-in and commit it to disk; returns its seq.

        :param admitted: also note the admission time for anti-passback.
        :param visit: a metered card's new visit: count it against the card's record
            and start its re-entry window at *ts*.
        :param command: the number of the command that caused it (remote unlock),
            stored in the same transaction so a replay after a restart is refused.
        """
        seq = self.last_seq + 1

        def insert(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?)",
                (seq, ts, card_key, reason, self.version, flags),
            )
            if admitted and card_key is not None:
                db.execute("INSERT OR REPLACE INTO admits VALUES (?, ?)", (card_key, ts))
            if visit and card_key is not None:
                db.execute("INSERT INTO visits VALUES (?, ?)", (seq, card_key))
                db.execute("INSERT OR REPLACE INTO visitstart VALUES (?, ?)", (card_key, ts))
            if command is not None:
                self._set(db, "last_cmd", command)

        self._write(insert, reserve=True)
        # Only after the commit: a full disk rolls the row back, and the next check-in
        # must take the same seq (a gap would stop the hub's contiguous ack for good).
        self.last_seq = seq
        if command is not None:
            self.last_cmd = command
        return seq

    def last_admit(self, card_key: bytes) -> int | None:
        """When *card_key* was last admitted here (unix seconds), or ``None``."""
        with self._lock:
            row = self._db.execute(
                "SELECT ts FROM admits WHERE card_key = ?", (card_key,)
            ).fetchone()
        return row[0] if row else None

    def metered(self, card_key: bytes) -> tuple[int, int | None]:
        """``(visits used here, start of the current visit)`` of a metered card.

        *Used* counts the visits this gate admitted that the card's record in force
        does not reflect yet: its own visits since the hub computed the record.
        """
        with self._lock:
            used = self._db.execute(
                "SELECT count(*) FROM visits WHERE card_key = ?", (card_key,)
            ).fetchone()[0]
            row = self._db.execute(
                "SELECT ts FROM visitstart WHERE card_key = ?", (card_key,)
            ).fetchone()
        return int(used), (row[0] if row else None)

    def pending(self, after: int = 0, limit: int = 500) -> list[Row]:
        """Up to *limit* unacked check-ins with seq above *after*, oldest first."""
        return self._read(
            "SELECT seq, ts, card_key, reason, version, flags FROM outbox"
            " WHERE seq > ? ORDER BY seq LIMIT ?",
            max(after, self.acked),
            limit,
        )

    def depth(self) -> int:
        """Check-ins not yet acked by the hub."""
        return int(self._read("SELECT count(*) FROM outbox")[0][0])

    def ack(self, seq: int) -> bool:
        """The hub stored everything up to *seq*: drop those rows.  False if not news.

        An ack beyond the last seq written is capped (it cannot be about this store).
        """
        seq = min(seq, self.last_seq)
        if seq <= self.acked:
            return False

        def drop(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM outbox WHERE seq <= ?", (seq,))
            self._set(db, "acked", seq)

        self._write(drop, durable=False)  # a lost ack is repeated after the next hello
        self.acked = seq
        with contextlib.suppress(sqlite3.Error):  # the outbox shrank: give the WAL back
            self._tidy_wal(truncate=seq == self.last_seq)
        return True

    # -- state ---------------------------------------------------------------------
    def saved_keys(self) -> tuple[bytes, bytes | None, int | None] | None:
        """The gate key a ``rekey`` gave, the one before it and the end of their overlap.

        ``None`` until the key has been rotated once (the config's key is in force).
        """
        rows = dict(
            self._read("SELECT key, value FROM state WHERE key IN ('key', 'old_key', 'old_until')")
        )
        if "key" not in rows:
            return None
        old = bytes.fromhex(rows["old_key"]) if rows.get("old_key") else None
        until = int(rows["old_until"]) if rows.get("old_until") else None
        return bytes.fromhex(rows["key"]), old, until

    def save_keys(self, key: bytes, old: bytes, until: int) -> None:
        """Persist a new gate key with the old one and the overlap end, in one commit."""

        def save(db: sqlite3.Connection) -> None:
            self._set(db, "key", key.hex())
            self._set(db, "old_key", old.hex())
            self._set(db, "old_until", until)

        self._write(save)

    def set_last_cmd(self, n: int) -> None:
        """Persist the number of the last command accepted."""
        self._write(lambda db: self._set(db, "last_cmd", n))
        self.last_cmd = n

    def summary(self) -> dict[str, Any]:
        """What ``gatehouse gate status`` prints."""
        return {
            "sid": self.sid,
            "version": self.version,
            "records": self.count(),
            "issued": self.issued,
            "outbox": self.depth(),
            "acked": self.acked,
            "last_seq": self.last_seq,
            "last_cmd": self.last_cmd,
            "disk": self.disk(),
        }

    def close(self) -> None:
        with self._lock, self._read_lock, self._checkpoint_lock:
            self._reader.close()
            if self._checkpointer is not None:
                self._checkpointer.close()
            self._db.close()

    def __enter__(self) -> GateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<GateStore {self.path.name} sid={self.sid} v{self.version}"
            f" acked={self.acked} last_seq={self.last_seq}>"
        )
