"""The simulated gateway's books: a small SQLite file shared by every process using it.

:class:`SimLedger` stores what a processor would: customers, saved methods (token,
brand, last four, expiry -- no card numbers), charges keyed by their idempotency key,
refunds, and the webhook events each effect produced. Writes run in ``BEGIN
IMMEDIATE`` transactions, so two processes charging at once are serialised and an
idempotency key is looked up and recorded atomically. The file uses WAL with
``synchronous=NORMAL``: a committed charge survives the process being killed at any
point (what the crash tests do), without an fsync per charge (about 1,300 charges/s
here instead of about 240)::

    ledger = SimLedger("gateway.sqlite3")
    with ledger.transaction() as db:
        db.execute("SELECT ...")
    ledger.charge_count(invoice_id="7", succeeded_only=True)

:param path: the SQLite file (created if missing, with its folder).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, reference TEXT NOT NULL,
    created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS methods (
    token TEXT PRIMARY KEY, customer TEXT NOT NULL REFERENCES customers(id),
    brand TEXT NOT NULL, last4 TEXT NOT NULL, exp_month INTEGER NOT NULL,
    exp_year INTEGER NOT NULL, detached INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS charges (
    id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, request_hash TEXT NOT NULL,
    invoice_id TEXT NOT NULL, amount INTEGER NOT NULL, currency TEXT NOT NULL,
    customer TEXT NOT NULL, method TEXT NOT NULL, status TEXT NOT NULL,
    decline_reason TEXT, raw_code TEXT, raw_decline_code TEXT, raw_message TEXT,
    refunded INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS charges_by_invoice ON charges(invoice_id);
CREATE TABLE IF NOT EXISTS refunds (
    id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, request_hash TEXT NOT NULL,
    charge_id TEXT NOT NULL REFERENCES charges(id), amount INTEGER NOT NULL,
    created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
    created INTEGER NOT NULL, body TEXT NOT NULL);
"""

CHARGE_COLUMNS = (
    "id",
    "idempotency_key",
    "request_hash",
    "invoice_id",
    "amount",
    "currency",
    "customer",
    "method",
    "status",
    "decline_reason",
    "raw_code",
    "raw_decline_code",
    "raw_message",
    "refunded",
    "created",
)


def new_id(prefix: str) -> str:
    """A random processor-style id: ``new_id("pi") -> 'pi_sim_3f9a...'``."""
    return f"{prefix}_sim_{secrets.token_hex(10)}"


class SimLedger:
    """The simulated processor's SQLite file; see the module documentation."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, isolation_level=None, timeout=30, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)  # CREATE ... IF NOT EXISTS: safe in every process

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locked) transaction, committed on success."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def read(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    @staticmethod
    def charge_by_key(db: sqlite3.Connection, idempotency_key: str) -> dict[str, Any] | None:
        """The charge recorded under *idempotency_key*, as a dict, or ``None``."""
        row = db.execute(
            f"SELECT {', '.join(CHARGE_COLUMNS)} FROM charges WHERE idempotency_key = ?",
            (idempotency_key,),
        ).fetchone()
        return None if row is None else dict(zip(CHARGE_COLUMNS, row, strict=True))

    @staticmethod
    def charges_by_keys(db: sqlite3.Connection, keys: list[str]) -> dict[str, dict[str, Any]]:
        """The charges recorded under any of *keys*, by key."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 5000):
            chunk = keys[start : start + 5000]
            rows = db.execute(
                f"SELECT {', '.join(CHARGE_COLUMNS)} FROM charges"
                f" WHERE idempotency_key IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for row in rows:
                charge = dict(zip(CHARGE_COLUMNS, row, strict=True))
                found[charge["idempotency_key"]] = charge
        return found

    @staticmethod
    def insert_charge(db: sqlite3.Connection, charge: dict[str, Any]) -> None:
        """Record a charge (every column of :data:`CHARGE_COLUMNS` but ``refunded``)."""
        SimLedger.insert_charges(db, [charge])

    @staticmethod
    def insert_charges(db: sqlite3.Connection, charges: list[dict[str, Any]]) -> None:
        """Record several charges with one statement."""
        columns = [c for c in CHARGE_COLUMNS if c != "refunded"]
        db.executemany(
            f"INSERT INTO charges ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [[charge[c] for c in columns] for charge in charges],
        )

    @staticmethod
    def record_event(db: sqlite3.Connection, type_: str, obj: dict[str, Any], created: int) -> None:
        """Append a Stripe-shaped event for *obj* in the caller's transaction."""
        event_id = new_id("evt")
        body = {"id": event_id, "type": type_, "created": created, "data": {"object": obj}}
        db.execute(
            "INSERT INTO events (id, type, created, body) VALUES (?, ?, ?, ?)",
            (event_id, type_, created, json.dumps(body, sort_keys=True)),
        )

    @staticmethod
    def record_events(
        db: sqlite3.Connection, events: list[tuple[str, dict[str, Any], int]]
    ) -> None:
        """Append ``(type, object, created)`` events in the caller's transaction."""
        rows = []
        for type_, obj, created in events:
            event_id = new_id("evt")
            body = {"id": event_id, "type": type_, "created": created, "data": {"object": obj}}
            rows.append((event_id, type_, created, json.dumps(body)))
        db.executemany("INSERT INTO events (id, type, created, body) VALUES (?, ?, ?, ?)", rows)

    def events_after(self, seq: int) -> list[tuple[int, int, str]]:
        """``(seq, created, body)`` of events recorded after *seq*, oldest first."""
        return [
            (int(s), int(c), str(b))
            for s, c, b in self.read(
                "SELECT seq, created, body FROM events WHERE seq > ? ORDER BY seq", (seq,)
            )
        ]

    def charge_count(self, *, invoice_id: str | None = None, succeeded_only: bool = False) -> int:
        """Charges recorded (optionally for one invoice, optionally only succeeded)."""
        sql = "SELECT COUNT(*) FROM charges WHERE 1 = 1"
        args: list[Any] = []
        if invoice_id is not None:
            sql += " AND invoice_id = ?"
            args.append(str(invoice_id))
        if succeeded_only:
            sql += " AND status = 'succeeded'"
        return int(self.read(sql, args)[0][0])

    def charges(self) -> list[dict[str, Any]]:
        """Every charge, oldest first, as plain records."""
        rows = self.read(f"SELECT {', '.join(CHARGE_COLUMNS)} FROM charges ORDER BY created, id")
        return [dict(zip(CHARGE_COLUMNS, row, strict=True)) for row in rows]

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"<SimLedger {str(self.path)!r}>"
