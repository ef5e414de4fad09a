"""Charged visits become invoice lines: pay-per-visit usage and charged overuse.

The ``usage`` due hook (before the billing run) calls :func:`bill_usage`: for each
member, the charged usage records of local days that are over (``ts`` before today's
local midnight at the site) and not yet invoiced go on one invoice, in one transaction
that also stamps each record with the invoice.  Per plan:

* **caps** — visits are charged in time order, each at most what is left of the
  plan's daily cap for its local day and monthly cap for its calendar month, counting
  what earlier invoices already charged (a late check-in from an offline gate is still
  capped);
* **lines** — ``per_visit`` gives one line per visit (date, time and door);
  ``aggregated`` one line per plan listing the visit dates.

A record with an invoice is never billed again, and a check-in makes at most one
record, so a duplicated delivery can never add a line.  The invoice is then charged
with the member's default method where there is one (:func:`hub.billing.collect.
collect_invoice`); without one it stays open for the desk::

    ids = bill_usage(engine=engine, settings=settings, clock=clock, gateway=gateway)
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from gatehouse.clock import Clock
from hub.billing.invoices import InvoiceDraft, InvoiceKind, InvoiceLine, LineKind
from hub.billing.issuing import ToIssue, issue_invoices
from hub.billing.sitetime import local_midnight, site_today
from hub.core.config import Settings
from hub.models import BillingProfile, Door, Site, UsagePass, UsagePlan, UsageRecord
from hub.usage.plans import LineMode

log = logging.getLogger(__name__)


def _spent(session: Session, plan_id: int, member_id: int, start: datetime, end: datetime) -> int:
    """What invoices already charged a member on *plan_id* in ``[start, end)``."""
    return int(
        session.exec(
            select(func.coalesce(func.sum(UsageRecord.charged_minor), 0))
            .join(UsagePass, col(UsagePass.id) == UsageRecord.pass_id)
            .where(
                UsagePass.plan_id == plan_id,
                UsageRecord.member_id == member_id,
                col(UsageRecord.invoice_id).is_not(None),
                UsageRecord.ts >= start,
                UsageRecord.ts < end,
            )  # fmt: skip
        ).one()
    )


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def charge_with_caps(
    session: Session, plan: UsagePlan, member_id: int, records: list[UsageRecord], tz: str
) -> None:
    """Set ``charged_minor`` of *records* (time order) under the plan's caps."""
    day_left: dict[date, int] = {}
    month_left: dict[date, int] = {}
    for r in records:
        day = site_today(r.ts, tz)
        price = r.amount_minor
        if plan.daily_cap_minor is not None:
            if day not in day_left:
                start = local_midnight(day, tz)
                end = local_midnight(date.fromordinal(day.toordinal() + 1), tz)
                spent = _spent(session, plan.id or 0, member_id, start, end)
                day_left[day] = max(0, plan.daily_cap_minor - spent)
            price = min(price, day_left[day])
        month = _month_start(day)
        if plan.monthly_cap_minor is not None:
            if month not in month_left:
                start = local_midnight(month, tz)
                end = local_midnight(_next_month(month), tz)
                spent = _spent(session, plan.id or 0, member_id, start, end)
                month_left[month] = max(0, plan.monthly_cap_minor - spent)
            price = min(price, month_left[month])
        if plan.daily_cap_minor is not None:
            day_left[day] -= price
        if plan.monthly_cap_minor is not None:
            month_left[month] -= price
        r.charged_minor = price


def _lines(plan: UsagePlan, records: list[UsageRecord], tz: str, doors: dict[int, str]):  # type: ignore[no-untyped-def]
    tax = {"tax_rate_bp": plan.tax_rate_bp, "tax_inclusive": plan.tax_inclusive}
    if plan.lines == LineMode.AGGREGATED.value:
        days = sorted({site_today(r.ts, tz) for r in records})
        total = sum(r.charged_minor or 0 for r in records)
        text = ", ".join(d.isoformat() for d in days)
        desc = f"{plan.name}: {len(records)} visit(s) on {text}"
        return [InvoiceLine.priced(desc[:300], unit_amount=total, kind=LineKind.ITEM, **tax)]
    out = []
    for r in records:
        when = local_when(r.ts, tz)
        door = doors.get(r.door_id or 0, "door")
        what = "overuse visit" if r.overuse else "visit"
        out.append(
            InvoiceLine.priced(f"{plan.name}: {what} {when} ({door})",
                               unit_amount=r.charged_minor or 0, kind=LineKind.ITEM, **tax)
        )  # fmt: skip
    return out


def local_when(ts: datetime, tz: str) -> str:
    """``2026-11-28 08:15`` in site time."""
    from zoneinfo import ZoneInfo

    return ts.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def bill_site(session: Session, site: Site, *, now: datetime) -> list[int]:
    """Invoice the charged, uninvoiced usage of *site* before today; returns invoice ids.
    Does not commit."""
    tz = site.timezone
    today = site_today(now, tz)
    cutoff = local_midnight(today, tz)
    rows = session.exec(
        select(UsageRecord, UsagePass.plan_id)
        .join(UsagePass, col(UsagePass.id) == UsageRecord.pass_id)
        .where(UsageRecord.site_id == site.id, col(UsageRecord.invoice_id).is_(None),
               UsageRecord.amount_minor > 0, UsageRecord.ts < cutoff)
        .order_by(col(UsageRecord.member_id), col(UsageRecord.ts), col(UsageRecord.id))
        .with_for_update()
    ).all()  # fmt: skip
    if not rows:
        return []
    plans = {
        p.id: p
        for p in session.exec(select(UsagePlan).where(col(UsagePlan.id).in_({r[1] for r in rows})))
    }
    doors = dict(session.exec(select(Door.id, Door.name).where(Door.site_id == site.id)).all())
    profile = session.get(BillingProfile, site.id)
    due_days = profile.due_days if profile else 0
    grouped: dict[tuple[int, str], dict[int, list[UsageRecord]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for record, plan_id in rows:
        grouped[(record.member_id, record.currency)][plan_id].append(record)
    items: list[ToIssue] = []
    billed: list[list[UsageRecord]] = []
    for (member_id, currency), by_plan in grouped.items():
        lines: list[InvoiceLine] = []
        records: list[UsageRecord] = []
        for plan_id, recs in sorted(by_plan.items()):
            plan = plans[plan_id]
            charge_with_caps(session, plan, member_id, recs, tz)
            lines += _lines(plan, recs, tz, doors)
            records += recs
        draft = InvoiceDraft(currency=currency, lines=tuple(lines), issued_on=today,
                             due_on=date.fromordinal(today.toordinal() + due_days),
                             kind=InvoiceKind.CHARGES)  # fmt: skip
        items.append(ToIssue(draft, site_id=site.id or 0, member_id=member_id, memo="visits"))
        billed.append(records)
    ids = issue_invoices(session, items, now=now)
    for invoice_id, records in zip(ids, billed, strict=True):
        for r in records:
            r.invoice_id = invoice_id
            session.add(r)
    session.flush()
    return ids


def bill_usage(*, engine: Engine, settings: Settings, clock: Clock, gateway=None) -> list[int]:  # type: ignore[no-untyped-def]
    """Invoice usage at every site (one transaction per site), then charge each invoice
    with the member's default method when a *gateway* is given."""
    from hub.billing.run import open_session

    ids: list[int] = []
    with open_session(engine, settings) as session:
        for site in session.exec(select(Site).order_by(col(Site.id))).all():
            ids += bill_site(session, site, now=clock.now())
            session.commit()
    if gateway is not None:
        from hub.billing.collect import collect_invoice

        for invoice_id in ids:
            try:
                collect_invoice(engine=engine, settings=settings, clock=clock, gateway=gateway,
                                invoice_id=invoice_id, actor="usage")  # fmt: skip
            except Exception as err:  # no saved method: the invoice waits for the desk
                log.info("usage invoice %s left open: %s", invoice_id, err)
    return ids
