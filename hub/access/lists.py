"""Access lists as gates receive them: snapshots, compacted deltas, and which to send.

A gate says in ``hello`` which version it holds.  :func:`plan_update` answers with
nothing (it is current), one delta from its version to the current one (every change
in between compacted into one ``add``/``del`` set), or a snapshot — when it holds
nothing, asks for one, is more than ``max_versions`` behind, holds a version from
before a schedule change, or when the delta would be larger than the snapshot::

    plan = plan_update(session, site, gate_version=41, want_snapshot=False)
    if plan.kind == "delta":
        body = delta.make(gate, plan.version_from, plan.version, plan.add, plan.delete, now)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, col, select

from hub.access.timezones import list_offsets
from hub.models import AclChange, AclEntry, Schedule, Site
from protocol import envelope, snapshot
from protocol.records import KEY_SIZE, RECORD_SIZE
from protocol.schedule import Schedules

# Bytes a delta item costs in JSON (hex + quotes + comma) vs a record in a snapshot.
_ADD_COST = RECORD_SIZE * 2 + 3
_DEL_COST = KEY_SIZE * 2 + 3


@dataclass
class ListUpdate:
    """What to send one gate: ``kind`` is ``"none"``, ``"delta"`` or ``"snapshot"``."""

    kind: str
    version: int
    version_from: int = 0
    add: list[bytes] = field(default_factory=list)
    delete: list[bytes] = field(default_factory=list)


def current_list(session: Session, site_id: int) -> tuple[int, bytes]:
    """``(version, list bytes)`` of a site, read consistently."""
    for _ in range(5):
        before = session.exec(select(Site.list_version).where(Site.id == site_id)).one()
        rows = session.exec(
            select(AclEntry.record)
            .where(AclEntry.site_id == site_id)
            .order_by(col(AclEntry.card_key))
        ).all()
        after = session.exec(select(Site.list_version).where(Site.id == site_id)).one()
        if before == after:
            return after, bytes.fromhex("".join(rows))
        session.rollback()
    raise RuntimeError("site list kept changing while being read")


def changes_between(
    session: Session, site_id: int, version_from: int, version_to: int
) -> tuple[list[bytes], list[bytes]]:
    """Compacted changes from *version_from* to *version_to*: ``(add, delete)``."""
    rows = session.exec(
        select(AclChange.card_key, AclChange.record)
        .where(
            AclChange.site_id == site_id,
            AclChange.version > version_from,
            AclChange.version <= version_to,
        )
        .order_by(col(AclChange.version), col(AclChange.id))
    ).all()
    final: dict[str, str | None] = {}
    for key, record in rows:
        final[key] = record
    add = [bytes.fromhex(r) for r in final.values() if r is not None]
    delete = [bytes.fromhex(k) for k, r in final.items() if r is None]
    return add, delete


def plan_update(
    session: Session,
    site: Site,
    *,
    gate_version: int,
    want_snapshot: bool = False,
    max_versions: int = 100,
) -> ListUpdate:
    """Decide what brings a gate holding *gate_version* to the site's current list."""
    current = site.list_version
    if current == 0:
        return ListUpdate("none", 0)
    if gate_version == current and not want_snapshot:
        return ListUpdate("none", current)
    if (
        want_snapshot
        or gate_version == 0
        or gate_version > current
        or gate_version < site.acl_snapshot_floor
        or current - gate_version > max_versions
    ):
        return ListUpdate("snapshot", current)
    add, delete = changes_between(session, site.id or 0, gate_version, current)
    count = session.exec(
        select(func.count()).select_from(AclEntry).where(AclEntry.site_id == site.id)
    ).one()
    delta_cost = len(add) * _ADD_COST + len(delete) * _DEL_COST
    if delta_cost > count * RECORD_SIZE + 512:
        return ListUpdate("snapshot", current)
    return ListUpdate("delta", current, gate_version, add, delete)


def site_schedules(session: Session, site: Site, issued: int) -> Schedules:
    """The site's schedules with its UTC offsets from *issued* over the list horizon."""
    rows = session.exec(select(Schedule).where(Schedule.site_id == site.id)).all()
    windows = {row.number: row.windows for row in rows}
    return Schedules(windows, list_offsets(site.timezone, issued))


def chunk_records_for(mtu: int) -> int:
    """Records per chunk so one sealed chunk fits in *mtu* bytes (at least 1)."""
    room = mtu - envelope.HEAD_LEN - snapshot.HEADER_SIZE
    return max(1, min(snapshot.MAX_CHUNK_RECORDS, room // RECORD_SIZE))


def snapshot_bodies(
    gate: str,
    version: int,
    data: bytes,
    issued: int,
    schedules: Schedules,
    mtu: int,
    extra: dict[str, object] | None = None,
) -> list[bytes]:
    """Manifest body then chunk bodies (unsealed) of one snapshot for *gate*.

    *extra* adds manifest fields (the site's ``reentry`` window)."""
    chunks = snapshot.make_chunks(version, data, chunk_records_for(mtu))
    manifest = snapshot.manifest(gate, version, data, issued, len(chunks), schedules, extra)
    return [envelope.dumps(manifest), *chunks]
