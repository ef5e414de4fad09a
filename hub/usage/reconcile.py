"""Admitted check-ins of metered members become visits, once, across the site's gates.

Gates count visits alone while offline; the hub has the last word, from the full
check-in log.  After every stored batch, :func:`reconcile` recomputes the visits of the
batch's metered members at the site:

1. their admitted check-ins (``granted`` or ``reentry``, from every gate of the site)
   in time order;
2. a check-in before the current visit's re-entry window ends (the site's window, or
   local midnight for a day pass) is a re-entry; any other starts a visit
   (:func:`protocol.metering.visit_starts`, the rule the gates apply);
3. each visit, in time order, goes to the pack with balance that expires first, else an
   unused day pass, else pay-per-visit (charged at its price); a visit no pass covers
   any more is **overuse** of the pass it exceeded, charged at that plan's visit price
   (rule ``charge``) or only recorded for staff (``record``).

The result is stored as :class:`~hub.models.UsageRecord` rows, unique on the check-in:
a batch delivered twice changes nothing, and a visit already invoiced is never moved
or billed again.  Passes whose balance moved get new records on the gates (through
:func:`hub.access.changes.access_changed`, in the same transaction)::

    changed = reconcile(session, site_id=1, member_ids={7}, clock=clock)
    session.commit()
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.sitetime import local_midnight, site_today
from hub.models import CheckIn, Entitlement, Site, UsagePass, UsagePlan, UsageRecord
from hub.usage.metering import pass_end, reentry_window
from hub.usage.plans import OveruseRule, UsageKind

#: Check-in reasons that admitted a card.
ADMITTED = ("granted", "reentry")


@dataclass(frozen=True)
class Visit:
    """What one visit-starting check-in is worth."""

    checkin_id: int
    pass_id: int
    overuse: bool
    amount_minor: int
    currency: str


def next_midnight(ts: datetime, timezone: str) -> datetime:
    """The first local midnight after *ts* at the site."""
    return local_midnight(site_today(ts, timezone) + timedelta(days=1), timezone)


def _covers(p: UsagePass, ts: datetime) -> bool:
    return p.starts_at <= ts and (p.expires_at is None or ts < p.expires_at)


def assign(
    checkins: list[tuple[int, datetime]],
    passes: list[UsagePass],
    plans: dict[int, UsagePlan],
    *,
    window_s: int,
    timezone: str,
) -> tuple[list[Visit], dict[int, tuple[int, datetime | None]]]:
    """Pure: visits of one member from admitted ``(checkin_id, ts)`` in time order.

    Returns the visits and, per pass, ``(visits used, day pass end)``.
    """
    used = {p.id or 0: 0 for p in passes}
    day_end: dict[int, datetime | None] = {p.id or 0: None for p in passes}
    order = sorted(passes, key=lambda p: (p.expires_at or datetime.max.replace(tzinfo=UTC),
                                          p.id or 0))  # fmt: skip
    visits: list[Visit] = []
    until: datetime | None = None
    for checkin_id, ts in checkins:
        if until is not None and ts < until:
            continue  # a re-entry
        covering = [p for p in order if _covers(p, ts)]
        if not covering:
            continue  # not metered then (before the first pass, after the last)
        chosen = None
        overuse = False
        for kind in (UsageKind.VISIT_PACK, UsageKind.DAY_PASS, UsageKind.PAY_PER_VISIT):
            for p in covering:
                if p.kind == kind.value and (kind is UsageKind.PAY_PER_VISIT
                                             or used[p.id or 0] < p.visits):  # fmt: skip
                    chosen = p
                    break
            if chosen is not None:
                break
        if chosen is None:
            chosen = next((p for p in covering if p.kind != UsageKind.TRIAL_PASS.value), None)
            overuse = True
            if chosen is None:
                continue
        pid = chosen.id or 0
        plan = plans[chosen.plan_id]
        amount = 0
        if (
            chosen.kind == UsageKind.PAY_PER_VISIT.value
            or overuse
            and plan.overuse == OveruseRule.CHARGE.value
        ):
            amount = plan.visit_price_minor
        if not overuse:
            used[pid] += 1
        if chosen.kind == UsageKind.DAY_PASS.value:
            until = next_midnight(ts, timezone)
            if not overuse:
                day_end[pid] = until
        else:
            until = ts + timedelta(seconds=window_s) if window_s > 0 else None
        visits.append(Visit(checkin_id, pid, overuse, amount, plan.currency))
    return visits, {pid: (used[pid], day_end[pid]) for pid in used}


def metered_members(session: Session, site_id: int, member_ids: Iterable[int | None]) -> set[int]:
    """Those of *member_ids* holding a usage pass at the site."""
    ids = sorted({m for m in member_ids if m is not None})
    if not ids:
        return set()
    return set(
        session.exec(
            select(UsagePass.member_id)
            .where(
                UsagePass.site_id == site_id,
                col(UsagePass.member_id).in_(ids),
                UsagePass.kind != UsageKind.TRIAL_PASS.value,
            )  # fmt: skip
            .distinct()
        ).all()
    )


def reconcile(
    session: Session, *, site_id: int, member_ids: Iterable[int | None], clock: Clock
) -> set[int]:
    """Recompute the visits of *member_ids* at *site_id*; returns members whose passes
    changed (their records were rebuilt).  Does not commit."""
    members = metered_members(session, site_id, member_ids)
    if not members:
        return set()
    site = session.get(Site, site_id)
    assert site is not None
    window = reentry_window(session, site_id)
    # Lock the passes: two gates' batches for one member are reconciled one at a time.
    passes = session.exec(
        select(UsagePass)
        .where(UsagePass.site_id == site_id, col(UsagePass.member_id).in_(sorted(members)))
        .order_by(col(UsagePass.id))
        .with_for_update()
    ).all()
    by_member: dict[int, list[UsagePass]] = defaultdict(list)
    for p in passes:
        by_member[p.member_id].append(p)
    plans = {
        pl.id or 0: pl
        for pl in session.exec(
            select(UsagePlan).where(col(UsagePlan.id).in_({p.plan_id for p in passes}))
        )
    }
    changed: set[int] = set()
    now = clock.now()
    first = min(p.starts_at for p in passes)
    log: dict[int, list[tuple]] = defaultdict(list)  # type: ignore[type-arg]
    for row in session.exec(
        select(CheckIn.member_id, CheckIn.id, CheckIn.ts, CheckIn.gate_id, CheckIn.door_id)
        .where(CheckIn.site_id == site_id, col(CheckIn.member_id).in_(sorted(by_member)),
               CheckIn.allowed == True, col(CheckIn.reason).in_(ADMITTED),  # noqa: E712
               CheckIn.ts >= first)
        .order_by(col(CheckIn.member_id), col(CheckIn.ts), col(CheckIn.gate_id),
                  col(CheckIn.store_id), col(CheckIn.seq))
    ):  # fmt: skip
        log[row[0] or 0].append(tuple(row[1:]))
    existing: dict[int, dict[int, UsageRecord]] = defaultdict(dict)
    for r in session.exec(
        select(UsageRecord).where(col(UsageRecord.pass_id).in_([p.id for p in passes]))
    ):
        existing[r.member_id][r.checkin_id] = r
    new_rows: list[dict[str, object]] = []
    moved: list[dict[str, object]] = []
    for member_id, held in by_member.items():
        start = min(p.starts_at for p in held)
        rows = [r for r in log.get(member_id, ()) if r[1] >= start]
        where = {r[0]: r for r in rows}
        visits, usage = assign(
            [(r[0] or 0, r[1]) for r in rows], held, plans, window_s=window,
            timezone=site.timezone,
        )  # fmt: skip
        new_rows += _store(session, member_id, site_id, existing[member_id], visits, where, now)
        for p in held:
            used, day_end = usage[p.id or 0]
            if (p.used, p.day_ends_at) != (used, day_end):
                # written below in one executemany; the loaded row takes the new values
                # as committed ones, so the flush does not update it a second time
                set_committed_value(p, "used", used)
                set_committed_value(p, "day_ends_at", day_end)
                moved.append({"id": p.id, "used": used, "day_ends_at": day_end})
                _fit_entitlement(session, p)
                changed.add(member_id)
    session.flush()
    if new_rows:  # set-at-a-time: one executemany, not one INSERT per visit
        session.execute(insert(UsageRecord), new_rows)
    if moved:
        session.execute(update(UsagePass), moved)
    if changed:
        from hub.access.changes import access_changed

        access_changed(session, site_id=site_id, reason="visits counted", clock=clock,
                       member_ids=sorted(changed))  # fmt: skip
    return changed


def _store(
    session: Session,
    member_id: int,
    site_id: int,
    existing: dict[int, UsageRecord],
    visits: list[Visit],
    where: dict[int, tuple],  # type: ignore[type-arg]
    now: datetime,
) -> list[dict[str, object]]:
    """Make the member's usage records (*existing*, by check-in) match *visits*;
    invoiced ones stay.  Returns the rows to insert."""
    want = {v.checkin_id: v for v in visits}
    stale = [r.id for cid, r in existing.items() if cid not in want and r.invoice_id is None]
    if stale:
        session.exec(delete(UsageRecord).where(col(UsageRecord.id).in_(stale)))  # type: ignore[call-overload]
    out: list[dict[str, object]] = []
    for cid, v in want.items():
        row = existing.get(cid)
        if row is not None:
            if row.invoice_id is None and (row.pass_id, row.overuse, row.amount_minor) != (
                v.pass_id, v.overuse, v.amount_minor
            ):  # fmt: skip
                row.pass_id, row.overuse, row.amount_minor = v.pass_id, v.overuse, v.amount_minor
                session.add(row)
            continue
        _cid, ts, gate_id, door_id = where[cid]
        out.append(
            {"checkin_id": cid, "pass_id": v.pass_id, "member_id": member_id,
             "site_id": site_id, "gate_id": gate_id, "door_id": door_id, "ts": ts,
             "overuse": v.overuse, "amount_minor": v.amount_minor, "currency": v.currency,
             "created_at": now}
        )  # fmt: skip
    return out


def _fit_entitlement(session: Session, p: UsagePass) -> None:
    """A started day pass opens the doors until its local midnight, no longer."""
    if p.kind != UsageKind.DAY_PASS.value or p.entitlement_id is None:
        return
    ent = session.get(Entitlement, p.entitlement_id)
    end = pass_end(p)
    if ent is not None and ent.valid_until != end and end is not None and end > ent.valid_from:
        ent.valid_until = end
        session.add(ent)
