"""Applying a gateway's verified webhook events to the books, each exactly once.

The API verifies a delivery with the gateway's ``parse_webhook`` and hands the event
here. The event id is stored first (unique per gateway), so a redelivered event is
answered ``duplicate`` and changes nothing::

    outcome = apply_event(session, gateway_name="stripe", event=event, clock=clock,
                          gateway=gateway)
    session.commit()

* ``payment_succeeded`` -- the charge's pending attempt (left by a crash, or a
  processor that answers later) is recorded as succeeded: payment, invoice paid,
  ``paid_through`` and access extended, dunning case closed. Already recorded: nothing.
* ``payment_failed`` -- a pending attempt is recorded as declined and the dunning case
  opened.
* ``refunded`` -- money given back outside the hub (e.g. in the processor's dashboard)
  becomes a credit note and a refund; refunds the hub made itself are already there.
* ``dispute_*`` -- the dispute is recorded and kept up to date.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.answers import record_answer
from hub.billing.gateway import ChargeResult, ChargeStatus, EventKind, WebhookEvent
from hub.billing.outcomes import settle_paid
from hub.billing.refunds import credit_note_for
from hub.models import (
    AttemptStatus,
    ChargeAttempt,
    Dispute,
    Invoice,
    Payment,
    Refund,
    WebhookEventRow,
)


def apply_event(session: Session, *, gateway_name: str, event: WebhookEvent, clock: Clock) -> str:
    """Apply *event* once; returns what happened (``duplicate``, ``payment recorded``,
    ``already recorded``, ``ignored``, ...). Does not commit."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stored = session.execute(
        insert(WebhookEventRow)
        .values(
            gateway=gateway_name,
            event_id=event.event_id[:255],
            type=event.type[:64],
            outcome="received",
            received_at=clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["gateway", "event_id"])
        .returning(WebhookEventRow.id)
    ).first()
    if stored is None:
        return "duplicate"
    outcome = _apply(session, gateway_name, event, clock)
    row = session.get(WebhookEventRow, stored[0])
    assert row is not None
    row.outcome = outcome
    row.detail = {"charge_id": event.charge_id, "invoice_id": event.invoice_id}
    session.add(row)
    session.flush()
    return outcome


def _invoice_id(event: WebhookEvent) -> int | None:
    try:
        return int(event.invoice_id) if event.invoice_id is not None else None
    except ValueError:
        return None


def _apply(session: Session, gateway: str, event: WebhookEvent, clock: Clock) -> str:
    if event.kind in (EventKind.PAYMENT_SUCCEEDED, EventKind.PAYMENT_FAILED):
        return _payment(session, gateway, event, clock)
    if event.kind is EventKind.REFUNDED:
        return _refunded(session, gateway, event, clock)
    if event.dispute is not None:
        return _dispute(session, gateway, event, clock)
    return "ignored"


def _payment(session: Session, gateway: str, event: WebhookEvent, clock: Clock) -> str:
    succeeded = event.kind is EventKind.PAYMENT_SUCCEEDED
    if (
        event.charge_id
        and session.exec(
            select(Payment.id).where(Payment.gateway_charge_id == event.charge_id)
        ).first()
    ):
        return "already recorded"
    invoice_id = _invoice_id(event)
    invoice = session.get(Invoice, invoice_id) if invoice_id is not None else None
    if invoice is None:
        return "unknown invoice"
    attempt = session.exec(
        select(ChargeAttempt)
        .where(
            ChargeAttempt.invoice_id == invoice.id,
            ChargeAttempt.status == AttemptStatus.PENDING.value,
            ChargeAttempt.gateway == gateway,
        )
        .order_by(col(ChargeAttempt.attempt).desc())
    ).first()
    if attempt is None:
        if not succeeded:
            return "already recorded"
        if event.amount is None or event.currency is None:
            return "ignored: no amount"
        session.add(
            Payment(
                invoice_id=invoice.id or 0,
                member_id=invoice.member_id,
                site_id=invoice.site_id,
                amount=event.amount,
                currency=event.currency,
                method="card",
                method_label="card",
                gateway=gateway,
                gateway_charge_id=event.charge_id,
                paid_at=clock.now(),
                recorded_by=f"webhook:{gateway}",
            )
        )
        session.flush()
        settle_paid(session, [invoice.id or 0], clock=clock, reason="paid (gateway event)")
        return "payment recorded"
    result = ChargeResult(
        status=ChargeStatus.SUCCEEDED if succeeded else ChargeStatus.DECLINED,
        charge_id=event.charge_id,
        amount=event.amount if event.amount is not None else attempt.amount,
        currency=event.currency or attempt.currency,
        idempotency_key=attempt.idempotency_key,
        decline_reason=event.decline_reason,
    )
    report = record_answer(session, attempt, result, gateway=gateway, clock=clock)
    if report.succeeded:
        return "payment recorded"
    return "failure recorded" if report.failed else "already recorded"


def _refunded(session: Session, gateway: str, event: WebhookEvent, clock: Clock) -> str:
    if not event.charge_id or event.amount is None:
        return "ignored: no charge"
    payment = session.exec(
        select(Payment).where(Payment.gateway_charge_id == event.charge_id)
    ).first()
    if payment is None:
        return "unknown charge"
    recorded = int(
        session.exec(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.payment_id == payment.id)
        ).one()
    )
    missing = event.amount - recorded
    if missing <= 0:
        return "already recorded"
    note_id = credit_note_for(
        session,
        invoice_id=payment.invoice_id,
        amount=missing,
        reason="refunded at the payment processor",
        clock=clock,
    )
    session.add(
        Refund(
            payment_id=payment.id,
            invoice_id=payment.invoice_id,
            credit_note_id=note_id,
            member_id=payment.member_id,
            site_id=payment.site_id,
            amount=missing,
            currency=payment.currency,
            method=payment.method,
            method_label=payment.method_label,
            gateway=gateway,
            reason="refunded at the payment processor",
            created_at=clock.now(),
            recorded_by=f"webhook:{gateway}",
        )
    )
    session.flush()
    settle_paid(session, [note_id], clock=clock, reason="refund recorded")
    return "refund recorded"


def _dispute(session: Session, gateway: str, event: WebhookEvent, clock: Clock) -> str:
    dispute = event.dispute
    assert dispute is not None
    now = clock.now()
    found = session.exec(select(Dispute).where(Dispute.dispute_ref == dispute.dispute_id)).first()
    charge_id = event.charge_id or dispute.charge_id
    if found is None:
        invoice_id = session.exec(
            select(Payment.invoice_id).where(Payment.gateway_charge_id == charge_id)
        ).first()
        found = Dispute(
            gateway=gateway,
            dispute_ref=dispute.dispute_id,
            gateway_charge_id=charge_id,
            invoice_id=invoice_id,
            amount=dispute.amount,
            currency=dispute.currency or "XXX",
            reason=dispute.reason[:64],
            status=dispute.status[:32],
            opened_at=now,
            updated_at=now,
        )
    else:
        found.status = dispute.status[:32]
        found.updated_at = now
    session.add(found)
    session.flush()
    return f"dispute {found.status}"
