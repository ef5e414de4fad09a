"""From paid subscriptions to door access: one entitlement row per subscription.

Each subscription owns the entitlement whose ``source`` is ``subscription:<id>`` at its
plan's site: the plan's zones and schedule, valid from the start (or the end of a
freeze) until the end of ``paid_through`` plus the plan's grace days, in site time::

    sync_subscription_access(session, [(sub, plan)], clock=clock, reason="renewal paid")
    session.commit()          # the gates get the new valid_until within a second

After writing the rows it calls :func:`hub.access.changes.access_changed` once per site
for the members concerned (in the caller's transaction).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.access.changes import access_changed
from hub.billing.bulk import insert_rows, update_rows
from hub.billing.sitetime import local_midnight, site_today
from hub.models import Entitlement, Plan, Schedule, Site


def subscription_source(subscription_id: int) -> str:
    """The entitlement ``source`` of a subscription: ``'subscription:12'``."""
    return f"subscription:{subscription_id}"


def access_window(
    sub: Any, plan: Plan, timezone: str, today: date
) -> tuple[datetime, datetime] | None:
    """``(valid_from, valid_until)`` of *sub*'s access, or ``None`` before anything is paid.

    ``valid_until`` is the start of the day after ``paid_through`` plus ``grace_days``;
    a subscription cancelled on the spot ends at ``cancelled_at``; a suspended one (unpaid,
    see :mod:`hub.dunning`) ended at the start of *today*, so the gates refuse it at once
    and a gate cut off from the hub refuses it too.
    """
    if sub.paid_through is None:
        return None
    start = sub.started_on
    frozen = sub.freeze_from is not None and sub.resume_on is not None
    if frozen and sub.freeze_from <= today and sub.paid_through >= sub.resume_on:  # type: ignore[operator]
        start = max(start, sub.resume_on)  # type: ignore[type-var]
    valid_from = local_midnight(start, timezone)
    last = sub.paid_through + timedelta(days=1 + plan.grace_days)
    valid_until = local_midnight(last, timezone)
    if sub.status == "cancelled" and sub.cancelled_at is not None:
        valid_until = min(valid_until, max(sub.cancelled_at, valid_from + timedelta(seconds=1)))
    if sub.status == "suspended":  # dunning closed the door: access ended this morning
        valid_until = min(valid_until, local_midnight(today, timezone))
    return valid_from, max(valid_until, valid_from + timedelta(seconds=1))


def sync_subscription_access(
    session: Session,
    items: Sequence[tuple[Any, Plan]],
    *,
    clock: Clock,
    reason: str,
    today_of: dict[int, date] | None = None,
) -> int:
    """Write the entitlement of each ``(subscription, plan)`` and tell the gates.

    Does not commit. Returns how many entitlement rows were added or changed.

    :param today_of: the local day per site id (default: computed from *clock*).
    """
    if not items:
        return 0
    now = clock.now()
    site_ids = {plan.site_id for _, plan in items}
    sites = {s.id: s for s in session.exec(select(Site).where(col(Site.id).in_(site_ids)))}
    schedules = _schedule_ids(session, site_ids)
    sources = [subscription_source(sub.id or 0) for sub, _ in items]
    existing = {
        row.source: row
        for row in session.connection().execute(
            select(
                Entitlement.id,
                Entitlement.source,
                Entitlement.zones,
                Entitlement.schedule_id,
                Entitlement.valid_from,
                Entitlement.valid_until,
            ).where(
                col(Entitlement.member_id).in_({sub.member_id for sub, _ in items}),
                col(Entitlement.source).in_(sources),
            )
        )
    }
    days = dict(today_of or {})
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    members: dict[int, set[int]] = defaultdict(set)
    for sub, plan in items:
        site = sites[plan.site_id]
        today = days.get(plan.site_id)
        if today is None:
            today = days[plan.site_id] = site_today(now, site.timezone)
        window = access_window(sub, plan, site.timezone, today)
        if window is None:
            continue
        values = {
            "zones": plan.zones,
            "schedule_id": schedules.get((plan.site_id, plan.schedule_id)),
            "valid_from": window[0],
            "valid_until": window[1],
        }
        source = subscription_source(sub.id or 0)
        held = existing.get(source)
        if held is None:
            inserts.append(
                {
                    **values,
                    "member_id": sub.member_id,
                    "site_id": plan.site_id,
                    "source": source,
                    "flags": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        elif (held.zones, held.schedule_id, held.valid_from, held.valid_until) != tuple(
            values.values()
        ):
            updates.append({"id": held.id, **values, "updated_at": now})
        else:
            continue
        members[plan.site_id].add(sub.member_id)
    insert_rows(session, Entitlement, inserts)
    update_rows(session, Entitlement, updates)
    for site_id, member_ids in sorted(members.items()):
        access_changed(
            session, site_id=site_id, reason=reason, clock=clock, member_ids=sorted(member_ids)
        )
    return len(inserts) + len(updates)


def _schedule_ids(session: Session, site_ids: Iterable[int]) -> dict[tuple[int, int], int]:
    rows = session.exec(
        select(Schedule.site_id, Schedule.number, Schedule.id).where(
            col(Schedule.site_id).in_(list(site_ids))
        )
    )
    return {(site_id, number): schedule_id or 0 for site_id, number, schedule_id in rows}
