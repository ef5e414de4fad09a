"""What the access list carries for metered members, and the site's re-entry window.

A member holding a visit pack, a day pass or pay-per-visit at a site (and no
time-based membership there) gets ``FLAG_METERED`` on their records, with the visits
left in the record's top four bits (:func:`protocol.records.with_visits`; 15 means 15 or
more).  Day passes add ``FLAG_DAYPASS`` (a visit lasts until local midnight).  The
builder asks :func:`metered_flags` for the members it rebuilds::

    flags = metered_flags(session, site_id=1, member_ids=[7], now=clock.now())
    flags[7]          # e.g. FLAG_METERED | 3 << 4: three visits left

The re-entry window (:func:`reentry_window`, default 3 hours) reaches the gates in the
snapshot manifest as ``"reentry"``; changing it sends every gate a new snapshot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.models import Entitlement, UsagePass, UsageSite
from hub.usage.plans import UsageKind, UsageSiteUpdate
from protocol.records import FLAG_DAYPASS, FLAG_METERED, VISITS_MAX, with_visits

#: The re-entry window of a site that never set one.
DEFAULT_REENTRY_S = 3 * 3600
#: ``entitlement.source`` of the entitlement a pass opens the doors with.
SOURCE_PREFIX = "usage:"


def reentry_window(session: Session, site_id: int) -> int:
    """The site's re-entry window in seconds."""
    row = session.get(UsageSite, site_id)
    return row.reentry_s if row is not None else DEFAULT_REENTRY_S


def set_reentry_window(session: Session, *, site_id: int, seconds: int, clock: Clock) -> int:
    """Set the site's re-entry window (0-86400 s, else ``ValueError``); gates get a
    snapshot carrying it after the caller commits."""
    from hub.access.changes import access_changed

    seconds = UsageSiteUpdate(reentry_s=seconds).reentry_s
    row = session.get(UsageSite, site_id) or UsageSite(site_id=site_id)
    row.reentry_s = seconds
    session.add(row)
    session.flush()
    access_changed(
        session, site_id=site_id, reason="re-entry window changed", clock=clock,
        member_ids=[], schedules_changed=True,
    )  # fmt: skip
    return seconds


def pass_end(p: UsagePass) -> datetime | None:
    """When a pass stops admitting: its expiry, or a started day pass's midnight."""
    if p.day_ends_at is not None and (p.expires_at is None or p.day_ends_at < p.expires_at):
        return p.day_ends_at
    return p.expires_at


def in_force(p: UsagePass, now: datetime) -> bool:
    end = pass_end(p)
    return p.starts_at <= now and (end is None or now < end)


def metered_flags(
    session: Session, *, site_id: int, member_ids: Iterable[int] | None, now: datetime
) -> dict[int, int]:
    """``{member_id: metering flags}`` for members metered at the site now."""
    q = select(UsagePass).where(
        UsagePass.site_id == site_id,
        UsagePass.kind != UsageKind.TRIAL_PASS.value,
        UsagePass.starts_at <= now,
        or_(col(UsagePass.expires_at).is_(None), col(UsagePass.expires_at) > now),
    )
    ids = None if member_ids is None else sorted(set(member_ids))
    if ids is not None:
        if not ids:
            return {}
        q = q.where(col(UsagePass.member_id).in_(ids))
    passes: dict[int, list[UsagePass]] = defaultdict(list)
    for p in session.exec(q):
        if in_force(p, now):
            passes[p.member_id].append(p)
    if not passes:
        return {}
    e = Entitlement
    unlimited = set(
        session.exec(
            select(e.member_id).where(
                e.site_id == site_id,
                col(e.member_id).in_(list(passes)),
                ~col(e.source).startswith(SOURCE_PREFIX),
                e.valid_from <= now,
                or_(col(e.valid_until).is_(None), col(e.valid_until) > now),
            )
        ).all()
    )
    out = {}
    for member_id, held in passes.items():
        if member_id in unlimited:
            continue  # a time-based membership admits without counting
        flags = FLAG_METERED
        kinds = {p.kind for p in held}
        if UsageKind.PAY_PER_VISIT.value in kinds:
            left = VISITS_MAX
        else:
            left = sum(max(0, p.visits - p.used) for p in held)
            if UsageKind.DAY_PASS.value in kinds:
                flags |= FLAG_DAYPASS
                # a day in progress keeps one visit, so other gates of the site admit
                left += sum(1 for p in held if p.day_ends_at is not None and p.used >= p.visits)
        out[member_id] = with_visits(flags, left)
    return out
