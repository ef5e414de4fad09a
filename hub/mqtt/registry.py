"""Who a topic's gate is: its row ids, door zone and HMAC keys, cached by topic ids."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hub.access.keys import gate_key
from hub.core.config import Settings
from hub.models import Door, Gate, Site
from hub.services.key_rotation import previous_key
from protocol.mac import MacKey


@dataclass(frozen=True)
class GateInfo:
    """What the MQTT service needs to know about one gate."""

    id: int
    site_id: int
    site: str
    gate: str
    door_id: int
    zone: int
    key: MacKey
    prev: MacKey | None = None
    prev_until: float = 0.0

    def keys(self, now: float) -> list[MacKey]:
        """The keys that open this gate's messages at *now* (two while one is rotated)."""
        if self.prev is not None and now < self.prev_until:
            return [self.key, self.prev]
        return [self.key]


class GateRegistry:
    """Looks gates up by ``(site slug, gate slug)``; reloads on a miss."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._cache: dict[tuple[str, str], GateInfo] = {}
        self._by_id: dict[int, GateInfo] = {}
        self._lock = threading.Lock()

    def get(self, site: str, gate: str, reload: bool = False) -> GateInfo | None:
        """The gate at ``gh/v1/{site}/{gate}``, or ``None`` if there is none."""
        with self._lock:
            found = self._cache.get((site, gate))
        if found is not None and not reload:
            return found
        with Session(self.engine) as session:
            session.info["settings"] = self.settings
            row = session.exec(
                select(Gate, Site.slug, Door.zone)
                .join(Site, Site.id == Gate.site_id)  # type: ignore[arg-type]
                .join(Door, Door.id == Gate.door_id)  # type: ignore[arg-type]
                .where(Site.slug == site, Gate.slug == gate)
            ).first()
            if row is None:
                return None
            g, site_slug, zone = row
            prev = previous_key(session, g)
            info = GateInfo(
                id=g.id or 0,
                site_id=g.site_id,
                site=site_slug,
                gate=g.slug,
                door_id=g.door_id,
                zone=zone,
                key=MacKey(gate_key(session, g)),
                prev=MacKey(prev) if prev is not None else None,
                prev_until=g.prev_key_until.timestamp() if g.prev_key_until else 0.0,
            )
        with self._lock:
            self._cache[(site, gate)] = info
            self._by_id[info.id] = info
        return info

    def by_id(self, gate_id: int) -> GateInfo | None:
        """The gate with row id *gate_id*, or ``None``."""
        with self._lock:
            found = self._by_id.get(gate_id)
        if found is not None:
            return found
        with Session(self.engine) as session:
            row = session.exec(
                select(Site.slug, Gate.slug)
                .join(Site, Site.id == Gate.site_id)  # type: ignore[arg-type]
                .where(Gate.id == gate_id)
            ).first()
        return None if row is None else self.get(row[0], row[1])

    def forget(self, gate_id: int) -> None:
        """Drop a gate from the cache (after its key or door changed)."""
        with self._lock:
            info = self._by_id.pop(gate_id, None)
            if info is not None:
                self._cache.pop((info.site, info.gate), None)
