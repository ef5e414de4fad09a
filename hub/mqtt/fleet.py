"""The fleet view's data: gate status messages and rejection counters.

Rejections are counted in memory per gate and kind (``bad_mac``, ``wrong_key``,
``wrong_gate``, ``malformed``, ...) as they happen, and written to
``gate.hub_rejected`` by :meth:`RejectionCounter.flush` about once a second, so a
flood of bad payloads costs no database write each.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from gatehouse.clock import Clock
from hub.models import Gate


class RejectionCounter:
    """Counts per ``(site, gate)`` topic ids and kind; thread-safe."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        self._dirty: dict[int, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def count(self, site: str, gate: str, code: str, gate_id: int | None = None) -> None:
        with self._lock:
            counts = self._counts[(site, gate)]
            counts[code] = counts.get(code, 0) + 1
            if gate_id is not None:
                self._dirty[gate_id] = (site, gate)

    def get(self, site: str, gate: str) -> dict[str, int]:
        """Counters of one gate's topics (a copy)."""
        with self._lock:
            return dict(self._counts.get((site, gate), {}))

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Every counter, keyed ``"site/gate"`` (a copy)."""
        with self._lock:
            return {f"{s}/{g}": dict(c) for (s, g), c in self._counts.items() if c}

    def total(self, code: str | None = None) -> int:
        """All rejections (of kind *code*) so far."""
        with self._lock:
            return sum(n for c in self._counts.values() for k, n in c.items() if code in (None, k))

    def flush(self, session: Session) -> None:
        """Write the counters of known gates to their rows (caller commits)."""
        with self._lock:
            dirty = dict(self._dirty)
            self._dirty.clear()
            counts = {gid: dict(self._counts[key]) for gid, key in dirty.items()}
        for gate_id, values in counts.items():
            gate = session.get(Gate, gate_id)
            if gate is not None:
                gate.hub_rejected = values
                session.add(gate)


def apply_status(session: Session, gate_id: int, status: dict[str, Any], clock: Clock) -> None:
    """Update a gate's row from a verified ``up/status`` body (caller commits)."""
    gate = session.exec(select(Gate).where(Gate.id == gate_id)).one()
    gate.online = status["state"] == "online"
    gate.last_seen = clock.now()
    gate.list_version_acked = status["v"]
    gate.outbox_depth = status["depth"]
    gate.clock_trusted = bool(status.get("trusted", True))
    gate.gate_rejected = {str(k): v for k, v in status["rejected"].items()}
    if isinstance(status.get("fw"), str) and status["fw"]:
        gate.fw = status["fw"][:64]
    session.add(gate)


def seen(session: Session, gate_id: int, clock: Clock, **fields: Any) -> Gate:
    """Mark a gate seen now, setting *fields* too (caller commits)."""
    gate = session.exec(select(Gate).where(Gate.id == gate_id)).one()
    gate.last_seen = clock.now()
    gate.online = True
    for name, value in fields.items():
        setattr(gate, name, value)
    session.add(gate)
    return gate


def utc_from_unix(ts: int) -> datetime:
    """An aware UTC datetime from unix seconds."""
    return datetime.fromtimestamp(ts, UTC)
