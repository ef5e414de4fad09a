"""What a paid or an unpaid invoice changes: subscriptions, access, dunning cases.

Both functions work on many invoices at once, in the caller's transaction, and are safe
to call twice for the same invoice (the second call changes nothing): every status move
is a conditional update (``... WHERE status = 'open'``), so a billing run, a webhook and
the front desk racing for one invoice apply its effects once.

* :func:`settle_paid` -- ``open`` (or ``uncollectible``) becomes ``paid``; the
  subscription's ``paid_through`` moves to the end of the invoiced period, a
  ``past_due`` subscription with nothing else open becomes ``active``, its entitlement
  is extended and the gates are told; an open dunning case is closed (``paid``).
* :func:`settle_failed` -- the subscription becomes ``past_due`` and a dunning case is
  opened for the invoice (once: the case is unique per invoice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.access import sync_subscription_access
from hub.billing.bulk import forget_loaded, read_rows, update_rows
from hub.billing.renewals import SubscriptionStatus
from hub.models import (
    DunningCase,
    DunningCaseStatus,
    Invoice,
    InvoiceStatus,
    Plan,
    Subscription,
)

_PAYABLE = (InvoiceStatus.OPEN.value, InvoiceStatus.UNCOLLECTIBLE.value)

#: Statuses a payment lifts once nothing else is open: the member is active again.
_UNPAID = (SubscriptionStatus.PAST_DUE.value, SubscriptionStatus.SUSPENDED.value)


@dataclass(frozen=True)
class Failure:
    """An invoice that could not be collected.

    :param decline_reason: a :class:`~hub.billing.declines.DeclineReason` value, or
        ``None`` (no saved method, or the gateway gave no reason).
    :param method_id: the payment method that was declined, if any.
    """

    invoice_id: int
    decline_reason: str | None = None
    method_id: int | None = None


def lock_subscriptions_of(session: Session, invoice_ids: Sequence[int]) -> None:
    """Lock the subscriptions of *invoice_ids* in id order (PostgreSQL).

    Two billing runs recording outcomes at once may touch the same subscriptions; taking
    the row locks up front, always in the same order, makes one wait for the other
    instead of deadlocking.
    """
    if not invoice_ids or session.get_bind().dialect.name != "postgresql":
        return
    subs = select(Invoice.subscription_id).where(col(Invoice.id).in_(list(invoice_ids)))
    session.exec(
        select(Subscription.id)
        .where(col(Subscription.id).in_(subs))
        .order_by(col(Subscription.id))
        .with_for_update()
    ).all()


def settle_paid(
    session: Session, invoice_ids: Sequence[int], *, clock: Clock, reason: str = "invoice paid"
) -> list[int]:
    """Mark payable invoices among *invoice_ids* paid and apply what follows.

    Returns the ids that became paid now (those already paid or void are left alone).
    Does not commit.
    """
    if not invoice_ids:
        return []
    session.flush()
    now = clock.now()
    rows = session.execute(
        update(Invoice)
        .where(col(Invoice.id).in_(list(invoice_ids)), col(Invoice.status).in_(_PAYABLE))
        .values(status=InvoiceStatus.PAID.value, paid_at=now)
        .returning(Invoice.id, Invoice.subscription_id, Invoice.period_end)
        .execution_options(synchronize_session=False)
    ).all()
    paid = [int(r[0]) for r in rows]
    if not paid:
        return []
    session.execute(
        update(DunningCase)
        .where(
            col(DunningCase.invoice_id).in_(paid),
            DunningCase.status == DunningCaseStatus.OPEN.value,
        )
        .values(status=DunningCaseStatus.CLOSED.value, closed_at=now, closed_reason="paid")
        .execution_options(synchronize_session=False)
    )
    covered: dict[int, date | None] = {}
    for _, sub_id, period_end in rows:
        if sub_id is None:
            continue
        through = period_end - timedelta(days=1) if period_end is not None else None
        held = covered.get(sub_id)
        covered[sub_id] = (
            held if through is None else through if held is None else max(held, through)
        )
    if covered:
        extend_subscriptions(session, covered, now=now, clock=clock, reason=reason)
    forget_loaded(session)
    return paid


def extend_subscriptions(
    session: Session,
    covered: dict[int, date | None],
    *,
    now: datetime,
    clock: Clock,
    reason: str,
) -> None:
    """Move ``paid_through`` of each subscription to at least ``covered[id]``, lift
    ``past_due`` and ``suspended`` where nothing else is open, and extend their access."""
    ids = list(covered)
    s = Subscription
    subs = read_rows(
        session,
        select(
            s.id,
            s.member_id,
            s.plan_id,
            s.status,
            s.paid_through,
            s.started_on,
            s.freeze_from,
            s.resume_on,
            s.cancelled_at,
        ).where(col(s.id).in_(ids)),  # fmt: skip
    )
    still_open = set(
        session.connection()
        .execute(
            select(Invoice.subscription_id)
            .where(
                col(Invoice.subscription_id).in_(ids),
                Invoice.status == InvoiceStatus.OPEN.value,
                Invoice.total > 0,
            )
            .distinct()
        )
        .scalars()
    )
    plans = _plans(session, {s.plan_id for s in subs})
    touched: list[tuple[Any, Plan]] = []
    rows: list[dict[str, Any]] = []
    for sub in subs:
        through = covered.get(sub.id)
        changed = False
        if through is not None and (sub.paid_through is None or through > sub.paid_through):
            sub.paid_through = through
            changed = True
        if sub.status in _UNPAID and sub.id not in still_open:
            sub.status = SubscriptionStatus.ACTIVE.value
            changed = True
        if changed:
            rows.append({"id": sub.id, "paid_through": sub.paid_through, "status": sub.status,
                         "updated_at": now})  # fmt: skip
            touched.append((sub, plans[sub.plan_id]))
    update_rows(session, Subscription, rows)
    sync_subscription_access(session, touched, clock=clock, reason=reason)


def settle_failed(session: Session, failures: Sequence[Failure], *, clock: Clock) -> int:
    """Open a dunning case for each failed invoice still open; subscriptions go past due.

    Returns how many cases were opened now. Does not commit.
    """
    if not failures:
        return 0
    session.flush()
    now = clock.now()
    by_invoice = {f.invoice_id: f for f in failures}
    invoices = (
        session.connection()
        .execute(
            select(
                Invoice.id,
                Invoice.member_id,
                Invoice.subscription_id,
                Invoice.total,
                Invoice.currency,
            ).where(
                col(Invoice.id).in_(list(by_invoice)),
                Invoice.status == InvoiceStatus.OPEN.value,
                Invoice.total > 0,
            )
        )
        .all()
    )
    if not invoices:
        return 0
    sub_ids = [sub_id for _, _, sub_id, _, _ in invoices if sub_id is not None]
    if sub_ids:
        session.execute(
            update(Subscription)
            .where(
                col(Subscription.id).in_(sub_ids),
                Subscription.status == SubscriptionStatus.ACTIVE.value,
            )
            .values(status=SubscriptionStatus.PAST_DUE.value, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    cases = [
        {
            "member_id": member_id,
            "invoice_id": invoice_id,
            "subscription_id": sub_id,
            "amount_minor": total,
            "currency": currency,
            "failed_at": now,
            "last_decline": by_invoice[invoice_id].decline_reason,
            "declined_method_id": by_invoice[invoice_id].method_id,
            "status": DunningCaseStatus.OPEN.value,
            "opened_at": now,
        }
        for invoice_id, member_id, sub_id, total, currency in invoices
    ]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    opened = session.execute(
        insert(DunningCase)
        .on_conflict_do_nothing(index_elements=["invoice_id"])
        .returning(DunningCase.id),
        cases,
    ).all()
    forget_loaded(session)
    return len(opened)


def _plans(session: Session, plan_ids: set[int]) -> dict[int, Plan]:
    return {p.id or 0: p for p in session.exec(select(Plan).where(col(Plan.id).in_(plan_ids)))}
