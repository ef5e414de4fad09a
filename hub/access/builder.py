"""What a site's access list should hold right now: one record per card.

The inputs are entitlements, cards and member status, nothing else.  For each active
card of a member the builder merges that member's entitlements at the site:

* **Candidates** are the entitlements that have started (``valid_from <= now``) and
  did not end more than ``retention`` ago (default 30 days).  A member with none gets
  no record: the door says **unknown**.
* **In force** are the candidates not yet ended.  With at least one in force the
  record takes: ``zones`` = OR of their masks; ``valid_until`` = the latest end among
  them (open-ended = 2106, the largest u32); ``flags`` = OR of their flags
  (anti-passback, metered); ``schedule`` = 0 (any time) if any of them is unrestricted,
  else the schedule of the one ending last (ties: the lowest schedule number).
* With none in force (all ended within the retention) the record keeps the latest
  past end and the door says **expired**; after the retention it is dropped.
* A member **metered** at the site (a visit pack, day pass or pay-per-visit and no
  time-based membership there, :func:`hub.usage.metering.metered_flags`) gets
  ``FLAG_METERED`` and the visits left in the flags' top bits.
* A **suspended** member's cards get ``FLAG_BLOCKED`` (the door says **blocked**); a
  **cancelled** member's cards, and deactivated cards, are not listed (**unknown**).

Because a merged record covers the union, the hub rebuilds a member's records whenever
one of their entitlements starts or ends (:func:`hub.access.changes.refresh_due`, every
minute), so a zone granted by a shorter entitlement is taken away when that one ends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select

from hub.models import Card, Entitlement, Member, MemberStatus, Schedule, as_unix
from protocol.cardkey import card_key
from protocol.records import FLAG_BLOCKED, FLAGS_KNOWN, MAX_U32, pack

DEFAULT_RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class Listed:
    """One record the list should hold, and whose card it is."""

    card_key: str
    record: bytes
    member_id: int
    card_id: int


@dataclass(frozen=True)
class Grant:
    """The part of an entitlement the merge looks at."""

    zones: int
    schedule: int
    valid_until: int
    flags: int


def merge(grants: Iterable[Grant], now: int) -> tuple[int, int, int, int] | None:
    """Merge one member's grants at a site into ``(valid_until, zones, schedule, flags)``.

    See the module documentation for the rule.  Returns ``None`` for no grants.
    """
    grants = list(grants)
    if not grants:
        return None
    in_force = [g for g in grants if g.valid_until > now] or grants
    zones = 0
    flags = 0
    for g in in_force:
        zones |= g.zones
        flags |= g.flags
    until = max(g.valid_until for g in in_force)
    if any(g.schedule == 0 for g in in_force):
        schedule = 0
    else:
        last = max(in_force, key=lambda g: (g.valid_until, -g.schedule))
        schedule = last.schedule
    return until, zones, schedule, flags


def _chunks(items: list[int], size: int = 5000) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def desired_records(
    session: Session,
    *,
    site_id: int,
    card_secret: bytes,
    now: datetime,
    member_ids: Iterable[int] | None = None,
    retention: timedelta = DEFAULT_RETENTION,
) -> dict[str, Listed]:
    """The records the list of *site_id* should hold, by card key (hex).

    With *member_ids*, only those members' records (a targeted rebuild).
    """
    ids = None if member_ids is None else sorted(set(member_ids))
    if ids == []:
        return {}
    numbers = dict(
        session.exec(select(Schedule.id, Schedule.number).where(Schedule.site_id == site_id)).all()
    )
    e = Entitlement
    q = select(e.member_id, e.zones, e.schedule_id, e.valid_until, e.flags).where(
        e.site_id == site_id,
        e.valid_from <= now,
        or_(col(e.valid_until).is_(None), col(e.valid_until) > now - retention),
    )
    if ids is not None:
        q = q.where(col(e.member_id).in_(ids))
    grants: dict[int, list[Grant]] = defaultdict(list)
    for member_id, zones, schedule_id, valid_until, flags in session.exec(q):
        grants[member_id].append(
            Grant(
                zones=zones,
                schedule=numbers.get(schedule_id, 0) if schedule_id else 0,
                valid_until=min(as_unix(valid_until, MAX_U32), MAX_U32),
                flags=flags,
            )
        )
    if not grants:
        return {}
    status: dict[int, str] = {}
    member_ids = list(grants)
    for chunk in _chunks(member_ids):
        member_q = select(Member.id, Member.status).where(
            col(Member.id).in_(chunk), Member.status != MemberStatus.CANCELLED.value
        )
        status.update(session.exec(member_q).all())  # type: ignore[arg-type]
    from hub.usage.metering import metered_flags

    metering = metered_flags(session, site_id=site_id, member_ids=ids, now=now)
    unix_now = as_unix(now)
    out: dict[str, Listed] = {}
    for chunk in _chunks(list(status)):
        card_q = select(Card.id, Card.member_id, Card.uid_hex).where(
            col(Card.member_id).in_(chunk),
            Card.active == True,  # noqa: E712
        )
        for card_id, member_id, uid_hex in session.exec(card_q):
            merged = merge(grants[member_id], unix_now)
            if merged is None:
                continue
            until, zones, schedule, flags = merged
            if member_id in metering:
                flags = (flags & FLAGS_KNOWN) | metering[member_id]
            if status[member_id] == MemberStatus.SUSPENDED.value:
                flags |= FLAG_BLOCKED
            key = card_key(card_secret, bytes.fromhex(uid_hex))
            record = pack(key, until, zones, schedule, flags)
            out[key.hex()] = Listed(key.hex(), record, member_id, card_id or 0)
    return out
