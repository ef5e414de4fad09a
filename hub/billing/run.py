"""The billing run: invoice what is due, charge it, and turn the outcome into access.

Driven by the injected clock; safe to rerun at any time and to run in two processes at
once on PostgreSQL::

    report = run_billing(engine=engine, settings=settings, clock=clock, gateway=gateway)
    report.invoices_issued, report.paid, report.failed, report.cases_opened

Per site, with the site's local date as *today*, it works in batches of
``batch_size`` subscriptions, each batch one transaction:

1. **Issue.** Claim subscriptions with ``due_on <= today`` (``SELECT ... FOR UPDATE
   SKIP LOCKED`` on PostgreSQL: two runs take different ones), apply the billing rules
   (:func:`~hub.billing.renewals.bill_due`: renewals, catch-up after downtime, trials,
   freezes, cancellations), store one invoice per (subscription, period) -- the database
   refuses a second -- numbered gap-free per site, and record a pending charge attempt
   for each with the member's method. Commit.
2. **Collect.** Claim pending attempts, charge them with their recorded idempotency
   keys (in one gateway batch where the gateway can), and record the outcomes:
   paid invoices extend ``paid_through`` and the member's entitlement (the gates learn
   within a second); failures make the subscription ``past_due`` and open a dunning
   case. Commit. See :mod:`hub.billing.charging` for why a crash never double-charges.

Zero-total invoices are paid on issue; an invoice with nothing to charge (no saved
method) fails at once and opens its dunning case.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.access import sync_subscription_access
from hub.billing.attempts import AttemptSpec, record_attempts
from hub.billing.bulk import read_rows, table_of, update_rows
from hub.billing.charging import collect_pending
from hub.billing.gateway import PaymentGateway
from hub.billing.invoices import InvoiceDraft
from hub.billing.issuing import ToIssue, issue_invoices
from hub.billing.outcomes import Failure, settle_failed, settle_paid
from hub.billing.plans import PlanBase
from hub.billing.renewals import SubscriptionStatus, bill_due
from hub.billing.sitetime import site_today
from hub.billing.subscription_state import STATE_COLUMNS, apply_state, state_of
from hub.core.config import Settings
from hub.models import (
    BillingProfile,
    GatewayCustomer,
    Invoice,
    InvoiceStatus,
    PaymentMethod,
    Plan,
    Site,
    Subscription,
)

#: Subscriptions (and then attempts) handled per transaction.
DEFAULT_BATCH = 1000


@dataclass
class RunReport:
    """What a billing run did (counts over all its batches)."""

    subscriptions_seen: int = 0
    invoices_issued: int = 0
    charges_sent: int = 0
    paid: int = 0
    failed: int = 0
    unknown: int = 0
    cases_opened: int = 0
    invoice_ids: list[int] = field(default_factory=list)

    def add(self, other: RunReport) -> None:
        """Add *other*'s counts to these."""
        for name in (
            "subscriptions_seen",
            "invoices_issued",
            "charges_sent",
            "paid",
            "failed",
            "unknown",
            "cases_opened",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.invoice_ids.extend(other.invoice_ids)


@contextmanager
def fewer_gc_passes(gen0: int = 50_000) -> Iterator[None]:
    """Run a batch job with the cyclic garbage collector's first generation collected
    less often (the run makes many short-lived rows and none of them cyclic) and the
    objects that exist already frozen out of its scans; both undone afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(max(gen0, before[0]), *before[1:])
    gc.freeze()  # what exists already (modules, metadata) is not scanned again and again
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def open_session(engine: Engine, settings: Settings) -> Session:
    """A session for billing work (``expire_on_commit=False``, the hub's settings)."""
    session = Session(engine, expire_on_commit=False)
    session.info["settings"] = settings
    return session


def run_billing(
    *,
    engine: Engine,
    settings: Settings,
    clock: Clock,
    gateway: PaymentGateway,
    batch_size: int = DEFAULT_BATCH,
    site_ids: Sequence[int] | None = None,
    subscription_ids: Sequence[int] | None = None,
) -> RunReport:
    """Issue everything due by the clock's today (per site) and collect it.

    :param site_ids: only these sites (default: all).
    :param subscription_ids: only these subscriptions (e.g. one just signed up).
    """
    with fewer_gc_passes():
        return _run(engine, settings, clock, gateway, batch_size, site_ids, subscription_ids)


def _run(
    engine: Engine,
    settings: Settings,
    clock: Clock,
    gateway: PaymentGateway,
    batch_size: int,
    site_ids: Sequence[int] | None,
    subscription_ids: Sequence[int] | None,
) -> RunReport:
    report = RunReport()
    now = clock.now()
    with open_session(engine, settings) as session:
        sites = session.exec(select(Site.id, Site.timezone).order_by(col(Site.id))).all()
    issued: list[int] = []
    for site_id, timezone in sites:
        if site_ids is not None and site_id not in site_ids:
            continue
        today = site_today(now, timezone)
        while True:
            with open_session(engine, settings) as session:
                batch = issue_due(
                    session,
                    site_id=site_id or 0,
                    today=today,
                    clock=clock,
                    gateway=gateway.name,
                    limit=batch_size,
                    subscription_ids=subscription_ids,
                )
                session.commit()
            report.add(batch)
            issued.extend(batch.invoice_ids)
            if batch.subscriptions_seen < batch_size:
                break
    only = issued if subscription_ids is not None else None
    report.add(collect_all(engine=engine, settings=settings, clock=clock, gateway=gateway,
                           batch_size=batch_size, invoice_ids=only))  # fmt: skip
    return report


def collect_all(
    *,
    engine: Engine,
    settings: Settings,
    clock: Clock,
    gateway: PaymentGateway,
    batch_size: int = DEFAULT_BATCH,
    invoice_ids: Sequence[int] | None = None,
) -> RunReport:
    """Charge every pending attempt once (those left by a crash included)."""
    report = RunReport()
    after = 0
    while True:
        with open_session(engine, settings) as session:
            done = collect_pending(
                session,
                gateway=gateway,
                clock=clock,
                limit=batch_size,
                after_id=after,
                invoice_ids=invoice_ids,
            )
            session.commit()
        if not done.claimed:
            return report
        after = done.last_attempt_id
        report.charges_sent += done.claimed
        report.paid += done.succeeded
        report.failed += done.failed
        report.unknown += done.unknown
        report.cases_opened += done.cases_opened


def issue_due(
    session: Session,
    *,
    site_id: int,
    today: date,
    clock: Clock,
    gateway: str,
    limit: int = DEFAULT_BATCH,
    subscription_ids: Sequence[int] | None = None,
) -> RunReport:
    """One batch of step 1 (issue) for *site_id*; the caller commits."""
    report = RunReport()
    q = (
        select(*(table_of(Subscription).c[name] for name in READ))
        .where(Subscription.site_id == site_id, col(Subscription.due_on) <= today)
        .order_by(col(Subscription.id))
        .limit(limit)
    )
    if subscription_ids is not None:
        q = q.where(col(Subscription.id).in_(list(subscription_ids)))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    subs = read_rows(session, q)
    report.subscriptions_seen = len(subs)
    if not subs:
        return report
    now = clock.now()
    plans = _plans(session, {s.plan_id for s in subs})
    due_days = _due_days(session, site_id)
    reopened = _frozen_with_open_invoices(session, subs)
    to_issue: list[ToIssue] = []
    touched: list[tuple[Any, Plan]] = []
    updates: list[dict[str, Any]] = []
    for sub in subs:
        plan, terms = plans[sub.plan_id]
        drafts, state = bill_due(state_of(sub, terms), today=today, due_days=due_days)
        unpaid = (sub.id in reopened) if sub.status == SubscriptionStatus.FROZEN.value else None
        changed = apply_state(sub, state, today=today, unpaid=unpaid)
        if drafts:
            last = drafts[-1].period
            if last is not None:
                sub.current_period_start, sub.current_period_end = last.start, last.end
        if drafts or changed:
            updates.append(
                {"id": sub.id, **{c: getattr(sub, c) for c in WRITTEN}, "updated_at": now}
            )
        if "paid_through" in changed or "status" in changed:
            touched.append((sub, plan))
        to_issue += [_to_issue(sub, d) for d in drafts]
    update_rows(session, Subscription, updates)
    ids = issue_invoices(session, to_issue, now=now)
    report.invoices_issued = len(ids)
    report.invoice_ids = ids
    if touched:
        sync_subscription_access(
            session, touched, clock=clock, reason="subscriptions changed", today_of={site_id: today}
        )
    specs, free, failures = _charges_for(session, to_issue, ids, subs, gateway)
    record_attempts(session, specs, gateway=gateway, clock=clock, new_invoices=True)
    if free:
        report.paid += len(settle_paid(session, free, clock=clock, reason="nothing to pay"))
    if failures:
        report.failed += len(failures)
        report.cases_opened += settle_failed(session, failures, clock=clock)
    return report


#: Subscription columns the issue step reads.
READ = (
    "id", "member_id", "plan_id", "site_id", "status", "started_on", "payment_method_id",
    "cancelled_at", *STATE_COLUMNS, "next_bill_on", "due_on", "cancel_at_period_end",
    "paid_through", "paid_through_moved", "current_period_start", "current_period_end",
)  # fmt: skip

#: Subscription columns the issue step writes back.
WRITTEN = (
    *STATE_COLUMNS,
    "next_bill_on",
    "status",
    "due_on",
    "cancel_at_period_end",
    "paid_through",
    "paid_through_moved",
    "current_period_start",
    "current_period_end",
)


def _to_issue(sub: Any, draft: InvoiceDraft) -> ToIssue:
    return ToIssue(
        draft=draft,
        site_id=sub.site_id,
        member_id=sub.member_id,
        subscription_id=sub.id,
    )


def _plans(session: Session, plan_ids: set[int]) -> dict[int, tuple[Plan, PlanBase]]:
    rows = session.exec(select(Plan).where(col(Plan.id).in_(plan_ids)))
    return {p.id or 0: (p, p.terms()) for p in rows}


def _due_days(session: Session, site_id: int) -> int:
    profile = session.get(BillingProfile, site_id)
    return profile.due_days if profile is not None else 0


def _frozen_with_open_invoices(session: Session, subs: Sequence[Any]) -> set[int]:
    frozen = [s.id for s in subs if s.status == SubscriptionStatus.FROZEN.value]
    if not frozen:
        return set()
    return set(
        session.connection()
        .execute(
            select(Invoice.subscription_id).where(
                col(Invoice.subscription_id).in_(frozen),
                Invoice.status == InvoiceStatus.OPEN.value,
                Invoice.total > 0,
            )
        )
        .scalars()
    )


def choose_methods(
    session: Session, member_ids: set[int], gateway: str
) -> tuple[dict[int, list[Any]], set[int]]:
    """Each member's usable saved methods (default first) and who has a customer."""
    methods: dict[int, list[Any]] = {}
    rows = read_rows(
        session,
        select(PaymentMethod.id, PaymentMethod.member_id)
        .where(
            col(PaymentMethod.member_id).in_(member_ids),
            col(PaymentMethod.detached_at).is_(None),
            PaymentMethod.gateway == gateway,
        )
        .order_by(col(PaymentMethod.is_default).desc(), col(PaymentMethod.id).desc()),
    )
    for pm in rows:
        methods.setdefault(pm.member_id, []).append(pm)
    customers = set(
        session.connection()
        .execute(
            select(GatewayCustomer.member_id).where(
                col(GatewayCustomer.member_id).in_(member_ids), GatewayCustomer.gateway == gateway
            )
        )
        .scalars()
    )
    return methods, customers


def method_for(methods: dict[int, list[Any]], member_id: int, preferred: int | None) -> Any:
    """The subscription's own method if still saved, else the member's default."""
    saved = methods.get(member_id, [])
    for pm in saved:
        if pm.id == preferred:
            return pm
    return saved[0] if saved else None


def _charges_for(
    session: Session,
    items: Sequence[ToIssue],
    ids: Sequence[int],
    subs: Sequence[Any],
    gateway: str,
) -> tuple[list[AttemptSpec], list[int], list[Failure]]:
    preferred: dict[int | None, Any] = {s.id: s.payment_method_id for s in subs}
    methods, customers = choose_methods(session, {i.member_id for i in items}, gateway)
    specs: list[AttemptSpec] = []
    free: list[int] = []
    failures: list[Failure] = []
    for item, invoice_id in zip(items, ids, strict=True):
        total = item.draft.total
        if total <= 0:
            free.append(invoice_id)
            continue
        pm = method_for(methods, item.member_id, preferred.get(item.subscription_id))
        if pm is None or item.member_id not in customers:
            failures.append(Failure(invoice_id=invoice_id))
            continue
        specs.append(AttemptSpec(invoice_id, total, item.draft.currency, pm.id or 0))
    return specs, free, failures
