"""The one way a change in the data reaches the doors.

Whatever changes access — a card added, removed or deactivated, a member suspended or
reinstated, an entitlement created, changed or ended by billing or dunning — the code
that made the change calls :func:`access_changed` in the same transaction, then
commits.  The site's list moves to version N+1 (only if a record actually changed) and,
after the commit, every online gate of the site gets the delta::

    ent = Entitlement(member_id=m.id, site_id=s.id, zones=1, valid_from=now,
                      valid_until=paid_through + grace, source="subscription:12", ...)
    session.add(ent)
    access_changed(session, site_id=s.id, reason="subscription:12 renewed",
                   clock=clock, member_ids=[m.id])
    session.commit()                      # gates receive the delta within a second

Passing *member_ids* rebuilds only those members' records (fast); without it the whole
site is rebuilt.  Schedule or time-zone edits pass ``schedules_changed=True``: gates
then get a snapshot, since deltas do not carry schedules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import delete, insert, or_, update
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.access.builder import desired_records
from hub.access.bus import announce_after_commit
from hub.access.keys import settings_of, site_card_secret
from hub.models import AclChange, AclEntry, AuditLog, Entitlement, Site


def _lock_site(session: Session, site_id: int) -> Site:
    # FOR NO KEY UPDATE: serialises list versions without blocking transactions that
    # insert rows referencing the site (their foreign-key check takes KEY SHARE)
    site = session.exec(
        select(Site).where(Site.id == site_id).with_for_update(key_share=True)
    ).one_or_none()
    if site is None:
        raise LookupError(f"no site {site_id}")
    return site


def access_changed(
    session: Session,
    *,
    site_id: int,
    reason: str,
    clock: Clock,
    member_ids: Iterable[int] | None = None,
    schedules_changed: bool = False,
    actor: str = "hub",
) -> int:
    """Rebuild the list of *site_id* and bump its version if anything changed.

    Does not commit: call it inside the transaction that made the change.  Returns the
    site's list version after the call.

    :param reason: why, for the audit log (``"card 12 deactivated"``).
    :param clock: the hub's clock; records in force are decided at ``clock.now()``.
    :param member_ids: rebuild only these members' records (default: everyone).
    :param schedules_changed: force a snapshot for every gate (schedules, time zone).
    """
    now = clock.now()
    site = _lock_site(session, site_id)
    ids = None if member_ids is None else sorted(set(member_ids))
    retention = timedelta(days=settings_of(session).acl_expired_retention_days)
    desired = desired_records(
        session,
        site_id=site_id,
        card_secret=site_card_secret(session, site),
        now=now,
        member_ids=ids,
        retention=retention,
    )
    q = select(AclEntry.id, AclEntry.card_key, AclEntry.record, AclEntry.member_id).where(
        AclEntry.site_id == site_id
    )
    if ids is not None:
        q = q.where(
            or_(col(AclEntry.member_id).in_(ids), col(AclEntry.card_key).in_(list(desired)))
        )
    held = {e.card_key: e for e in session.exec(q)}  # type: ignore[call-overload]
    added = [d for k, d in desired.items() if k not in held or held[k].record != d.record.hex()]
    moved = [d for k, d in desired.items() if k in held and held[k].member_id != d.member_id]
    removed = [k for k in held if k not in desired]
    if ids is None:
        site.acl_built_at = now
    if not added and not removed and not schedules_changed:
        if moved:
            session.execute(
                update(AclEntry),
                [{"id": held[d.card_key].id, "member_id": d.member_id, "card_id": d.card_id}
                 for d in moved],
            )  # fmt: skip
        session.add(site)
        session.flush()
        return site.list_version

    version = site.list_version + 1
    site.list_version = version
    if schedules_changed:
        site.acl_snapshot_floor = version
    for i in range(0, len(removed), 5000):
        session.exec(  # type: ignore[call-overload]
            delete(AclEntry).where(
                AclEntry.site_id == site_id, col(AclEntry.card_key).in_(removed[i : i + 5000])
            )
        )
    new_entries = []
    updates = []
    for d in added:
        entry = held.get(d.card_key)
        values = {"record": d.record.hex(), "member_id": d.member_id, "card_id": d.card_id,
                  "version": version}  # fmt: skip
        if entry is None:
            new_entries.append({"site_id": site_id, "card_key": d.card_key, **values})
        else:
            updates.append({"id": entry.id, **values})
    moved_only = [d for d in moved if d.card_key not in {a.card_key for a in added}]
    updates += [
        {"id": held[d.card_key].id, "member_id": d.member_id, "card_id": d.card_id}
        for d in moved_only
    ]
    if new_entries:
        session.execute(insert(AclEntry), new_entries)
    if updates:
        session.execute(update(AclEntry), updates)
    changes = [{"site_id": site_id, "version": version, "card_key": d.card_key,
                "record": d.record.hex(), "member_id": d.member_id} for d in added]  # fmt: skip
    changes += [{"site_id": site_id, "version": version, "card_key": k, "record": None,
                 "member_id": held[k].member_id} for k in removed]  # fmt: skip
    if changes:
        session.execute(insert(AclChange), changes)
    session.add(site)
    session.add(
        AuditLog(
            at=now,
            actor=actor,
            action="acl.version",
            entity="site",
            entity_id=site_id,
            site_id=site_id,
            after={
                "version": version,
                "reason": reason,
                "added": len(added),
                "removed": len(removed),
                "schedules_changed": schedules_changed,
            },
        )
    )
    session.flush()
    announce_after_commit(session, site_id, version)
    return version


def refresh_due(session: Session, *, clock: Clock) -> list[int]:
    """Rebuild the records whose entitlements started or ended since the last build.

    The hub's MQTT service calls this every minute; commit afterwards.  Only the
    members concerned are rebuilt (the whole site the first time, or when very many
    are).  Returns the ids of the sites whose version moved.
    """
    now = clock.now()
    retention = timedelta(days=settings_of(session).acl_expired_retention_days)
    moved = []
    for site in session.exec(select(Site)).all():
        since = site.acl_built_at
        ids: list[int] | None = None
        if since is not None:
            ids = _members_at_boundary(session, site.id or 0, since, now, retention)
            if not ids:
                continue
            if len(ids) > _TARGETED_LIMIT:
                ids = None
        before = site.list_version
        after = access_changed(
            session,
            site_id=site.id or 0,
            reason="entitlements started or ended",
            clock=clock,
            member_ids=ids,
        )
        site.acl_built_at = now
        session.add(site)
        if after != before:
            moved.append(site.id or 0)
    return moved


_TARGETED_LIMIT = 5000


def _members_at_boundary(session: Session, site_id: int, since, now, retention) -> list[int]:  # type: ignore[no-untyped-def]
    """Members of a site with an entitlement starting, ending or leaving the retention
    in ``(since, now]`` (at most one more than the targeted limit)."""
    e = Entitlement
    q = (
        select(e.member_id)
        .where(
            e.site_id == site_id,
            or_(
                (e.valid_from > since) & (e.valid_from <= now),
                (col(e.valid_until) > since) & (col(e.valid_until) <= now),
                (col(e.valid_until) > since - retention) & (col(e.valid_until) <= now - retention),
            ),
        )
        .distinct()
        .limit(_TARGETED_LIMIT + 1)
    )
    return list(session.exec(q).all())
