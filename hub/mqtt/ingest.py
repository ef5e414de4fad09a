"""Storing check-in batches exactly once, and what to ack afterwards.

Gates deliver at least once: a batch may arrive twice, or three times, after a lost
ack or a reconnect.  :func:`store_batch` inserts the whole batch with one cached
``INSERT ... ON CONFLICT DO NOTHING`` on the unique (gate, store id, seq) — sent as
multi-row statements by SQLAlchemy's "insertmanyvalues" — then moves the store's
contiguous high-water mark.  The caller commits, and only then acks::

    high = store_batch(session, gate=info, sid=sid, entries=entries, clock=clock)
    session.commit()
    publish_ack(high)             # never before the commit
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.models import AclChange, AclEntry, CheckIn, GateStore
from hub.mqtt.registry import GateInfo
from hub.usage.reconcile import reconcile
from protocol.decision import ALLOWING, GRANTED, REASONS, REENTRY
from protocol.errors import Malformed
from protocol.messages import contiguous_high
from protocol.records import MAX_U32

_ADMITTED = (GRANTED, REENTRY)
_TABLE: Any = CheckIn.__table__  # type: ignore[attr-defined]
_STORE: Any = GateStore.__table__  # type: ignore[attr-defined]


def members_of(session: Session, site_id: int, keys: set[str]) -> dict[str, int | None]:
    """Whose cards the card *keys* are at a site: from the current list, else from the
    list's history (a card revoked after the tap, before its batch arrived)."""
    if not keys:
        return {}
    found: dict[str, int | None] = dict(
        session.exec(
            select(AclEntry.card_key, AclEntry.member_id).where(
                AclEntry.site_id == site_id, col(AclEntry.card_key).in_(keys)
            )
        ).all()
    )
    missing = keys - found.keys()
    if missing:
        rows = session.exec(
            select(AclChange.card_key, AclChange.member_id)
            .where(AclChange.site_id == site_id, col(AclChange.card_key).in_(missing))
            .order_by(col(AclChange.version))
        ).all()
        for key, member_id in rows:
            if member_id is not None:
                found[key] = member_id
    return found


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


def _reason(code: int) -> str:
    return REASONS[code] if code < len(REASONS) else f"r{code}"


def store_batch(
    session: Session,
    *,
    gate: GateInfo,
    sid: str,
    entries: list[tuple[int, int, str, int, int, int]],
    clock: Clock,
) -> int:
    """Store parsed batch *entries* of store *sid*; return the seq to ack.

    *entries* are ``(seq, ts, card_key_hex, reason, list_version, flags)`` as
    :func:`protocol.messages.parse_checkin_batch` returns them.
    """
    received = clock.now()
    members = members_of(session, gate.site_id, {e[2] for e in entries if e[2]})
    rows = []
    raw = []
    for seq, ts, key, reason, version, flags in entries:
        if ts > MAX_U32 or seq > 2**62 or version > 2**31 - 1 or flags > 2**31 - 1:
            raise Malformed("check-in numbers out of range")
        name = _reason(reason)
        allowed = reason in ALLOWING
        raw.append([members.get(key), seq, ts, key, name, allowed, version, flags])
        rows.append(
            {
                "gate_id": gate.id,
                "site_id": gate.site_id,
                "door_id": gate.door_id,
                "member_id": members.get(key),
                "store_id": sid,
                "seq": seq,
                "ts": datetime.fromtimestamp(ts, UTC),
                "card_key": key,
                "reason": name,
                "allowed": allowed,
                "list_version": version,
                "flags": flags,
                "received_at": received,
            }
        )
    if session.get_bind().dialect.name == "postgresql":
        _insert_postgresql(session, rows, raw)
    else:  # SQLite's executemany runs the cached statement in a C loop
        session.execute(
            _insert(session, _TABLE).on_conflict_do_nothing(
                index_elements=["gate_id", "store_id", "seq"]
            ),
            rows,
        )
    admitted = {members.get(e[2]) for e in entries if e[3] in _ADMITTED} - {None}
    if admitted:  # metered members' visits, in the same transaction as the check-ins
        reconcile(session, site_id=gate.site_id, member_ids=admitted, clock=clock)
    return advance_ack(session, gate_id=gate.id, sid=sid)


_PG_INSERT = text(
    "INSERT INTO checkin (gate_id, site_id, door_id, member_id, store_id, seq, ts, card_key,"
    " reason, allowed, list_version, flags, received_at)"
    " SELECT :gate_id, :site_id, :door_id, (e->>0)::integer, :store_id, (e->>1)::bigint,"
    " to_timestamp((e->>2)::bigint), e->>3, e->>4, (e->>5)::boolean, (e->>6)::integer,"
    " (e->>7)::integer, :received_at"
    " FROM json_array_elements(CAST(:rows AS json)) AS e"
    " ON CONFLICT (gate_id, store_id, seq) DO NOTHING"
)


def _insert_postgresql(session: Session, rows: list[dict[str, Any]], raw: list[Any]) -> None:
    """One statement for the whole batch: the rows as one JSON array, expanded in SQL."""
    first = rows[0]
    session.execute(
        _PG_INSERT,
        {
            "gate_id": first["gate_id"],
            "site_id": first["site_id"],
            "door_id": first["door_id"],
            "store_id": first["store_id"],
            "received_at": first["received_at"],
            "rows": json.dumps(raw, separators=(",", ":")),
        },
    )


def advance_ack(session: Session, *, gate_id: int, sid: str) -> int:
    """Move store *sid*'s high-water mark over every contiguous stored seq; return it."""
    session.execute(
        _insert(session, _STORE)
        .values(gate_id=gate_id, store_id=sid, acked=0)
        .on_conflict_do_nothing(index_elements=["gate_id", "store_id"])
    )
    acked = session.exec(
        select(GateStore.acked).where(GateStore.gate_id == gate_id, GateStore.store_id == sid)
    ).one()
    while True:
        seqs = session.exec(
            select(CheckIn.seq)
            .where(CheckIn.gate_id == gate_id, CheckIn.store_id == sid, CheckIn.seq > acked)
            .order_by(col(CheckIn.seq))
            .limit(5000)
        ).all()
        high = contiguous_high(acked, seqs)
        if high == acked:
            break
        session.execute(
            update(_STORE)
            .where(_STORE.c.gate_id == gate_id, _STORE.c.store_id == sid, _STORE.c.acked < high)
            .values(acked=high)
        )
        acked = high
        if len(seqs) < 5000:
            break
    return acked


def acked_seq(session: Session, *, gate_id: int, sid: str) -> int:
    """Highest contiguous seq stored for store *sid* (0 if none)."""
    found = session.exec(
        select(GateStore.acked).where(GateStore.gate_id == gate_id, GateStore.store_id == sid)
    ).first()
    return found or 0
