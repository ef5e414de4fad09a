"""Payment plans at work: instalments charged on their dates, part payments counted.

Staff split what a member owes into instalments (:func:`hub.dunning.tasks.create_payment_plan`,
from the case page). From then on the plan, not the policy, drives the case: the worker
plans no more policy steps for it (no retries of the whole balance, no reminders, no
suspension) and instead charges each instalment on its due date (the club's local date)
with the member's usual card::

    charged = charge_due_instalments(engine=engine, settings=settings, clock=clock,
                                     gateway=gateway)

Each charge carries the idempotency key ``plan:<plan>:<instalment>:try:<n>``, so a
worker that crashes, or two workers at once, charge an instalment once. A declined
instalment is tried again the next day, :data:`TRIES` times in all; after that the plan
is *broken* and the policy takes the case back from where it stood.

What is paid of the plan is not kept as a running total but read from the invoice's
payments (:func:`plan_state`): card charges of instalments and part payments at the
front desk (:func:`hub.billing.desk.pay_at_desk` with ``amount=``) alike fill the
earliest instalments first. When the balance reaches zero the invoice is paid, which
closes the case and gives the member their access back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.collect import collect_invoice
from hub.billing.desk import InvoiceActionRefused, amount_paid, charge_in_flight
from hub.billing.gateway import GatewayError, PaymentGateway
from hub.billing.run import open_session
from hub.billing.sitetime import site_today
from hub.core.config import Settings
from hub.dunning.payment_plans import Instalment, PaymentPlan, apply_payment
from hub.models import (
    AttemptStatus,
    ChargeAttempt,
    DunningCase,
    DunningCaseStatus,
    Invoice,
    PaymentPlanRow,
    Site,
)

#: Tries of one instalment (a day apart) before the plan counts as broken.
TRIES = 3


def instalment_key(plan_id: int, number: int, attempt: int) -> str:
    """The idempotency key of try *attempt* (from 1) of instalment *number*."""
    return f"plan:{plan_id}:{number}:try:{attempt}"


def stored_plan(row: PaymentPlanRow) -> PaymentPlan:
    """The plan as it was made (nothing paid)."""
    return PaymentPlan(
        plan_id=str(row.id),
        currency=row.currency,
        instalments=tuple(
            Instalment(
                number=int(i["number"]),
                due_on=date.fromisoformat(str(i["due_on"])),
                amount_minor=int(i["amount_minor"]),
            )  # fmt: skip
            for i in row.instalments
        ),
    )


def plan_state(session: Session, row: PaymentPlanRow, invoice: Invoice) -> PaymentPlan:
    """The plan with what has been paid since it was made filled in, earliest first.

    The plan split the balance left when it was made, so everything paid on the invoice
    beyond ``total - plan total`` went to the plan.
    """
    plan = stored_plan(row)
    towards = amount_paid(session, invoice.id or 0) - (invoice.total - plan.total_minor)
    if towards > 0:
        plan, _change = apply_payment(plan, min(towards, plan.total_minor))
    return plan


@dataclass(frozen=True)
class Tries:
    """The charges of one instalment so far."""

    count: int
    last_at: datetime | None
    in_flight: bool


def _tries(session: Session, plan_id: int, number: int) -> Tries:
    prefix = f"plan:{plan_id}:{number}:try:"
    rows = session.exec(
        select(ChargeAttempt).where(col(ChargeAttempt.request_key).startswith(prefix))
    ).all()
    return Tries(
        count=len(rows),
        last_at=max((r.created_at for r in rows), default=None),
        in_flight=any(r.status == AttemptStatus.PENDING.value for r in rows),
    )


def is_broken(session: Session, row: PaymentPlanRow, invoice: Invoice) -> bool:
    """True when an instalment failed all its :data:`TRIES`."""
    plan = plan_state(session, row, invoice)
    return any(
        not i.is_paid and _tries(session, row.id or 0, i.number).count >= TRIES
        for i in plan.instalments
    )


def active_plan(session: Session, case: DunningCase) -> PaymentPlanRow | None:
    """The case's newest payment plan if it is still running (not broken)."""
    row = session.exec(
        select(PaymentPlanRow)
        .where(PaymentPlanRow.case_id == case.id)
        .order_by(col(PaymentPlanRow.id).desc())
    ).first()
    invoice = session.get(Invoice, case.invoice_id)
    if row is None or invoice is None or is_broken(session, row, invoice):
        return None
    return row


def _due(session: Session, row: PaymentPlanRow, invoice: Invoice, now: datetime) -> tuple:
    """``(instalment, try number)`` to charge now, or ``(None, 0)``."""
    site = session.get(Site, invoice.site_id)
    today = site_today(now, site.timezone if site else "UTC")
    plan = plan_state(session, row, invoice)
    for instalment in plan.instalments:
        if instalment.is_paid or instalment.due_on > today:
            continue
        tries = _tries(session, row.id or 0, instalment.number)
        if tries.in_flight or tries.count >= TRIES:
            return None, 0
        if tries.last_at is not None and now - tries.last_at < timedelta(days=1):
            return None, 0  # declined today: again tomorrow
        return instalment, tries.count + 1
    return None, 0


def charge_due_instalments(
    *, engine: Engine, settings: Settings, clock: Clock, gateway: PaymentGateway
) -> int:
    """Charge every instalment due by now, once each (see the module documentation).

    Each plan is worked on under a row lock (``FOR UPDATE SKIP LOCKED`` on PostgreSQL),
    so two workers take different plans; the charge's key settles any other race (the
    second recording of the same key is refused by the database). Returns how many
    charges were sent.
    """
    now = clock.now()
    with open_session(engine, settings) as session:
        plan_ids = session.exec(
            select(PaymentPlanRow.id)
            .join(DunningCase, col(DunningCase.id) == PaymentPlanRow.case_id)
            .where(DunningCase.status == DunningCaseStatus.OPEN.value)
            .order_by(col(PaymentPlanRow.id))
        ).all()
    sent = 0
    for plan_id in plan_ids:
        with open_session(engine, settings) as session:
            q = select(PaymentPlanRow).where(PaymentPlanRow.id == plan_id)
            if session.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            row = session.exec(q).first()
            if row is None:
                continue  # another worker has it
            job = _job(session, row, now)
            if job is None:
                continue
            invoice_id, amount, key = job
            try:  # the lock on the plan row is held until the charge is recorded
                collect_invoice(engine=engine, settings=settings, clock=clock,
                                gateway=gateway, invoice_id=invoice_id, request_key=key,
                                amount=amount, actor="dunning:plan")  # fmt: skip
            except (InvoiceActionRefused, GatewayError, IntegrityError):
                continue  # paid or charged meanwhile, or the gateway is away: next run
            sent += 1
    return sent


def _job(session: Session, row: PaymentPlanRow, now: datetime) -> tuple[int, int, str] | None:
    """``(invoice, amount, key)`` of the charge plan *row* wants now, if any."""
    case = session.get(DunningCase, row.case_id)
    invoice = session.get(Invoice, case.invoice_id) if case else None
    if case is None or invoice is None:
        return None
    running = active_plan(session, case)
    if running is None or running.id != row.id or charge_in_flight(session, invoice.id or 0):
        return None
    instalment, attempt = _due(session, row, invoice, now)
    if instalment is None:
        return None
    key = instalment_key(row.id or 0, instalment.number, attempt)
    return invoice.id or 0, instalment.outstanding_minor, key
