"""Giving money back: a credit note first, then the refund paid against it.

Refunding happens in two committed steps, so a crash between them never refunds twice:

1. :func:`credit_note_for` issues a credit note (a negative invoice, numbered like any
   other) for a paid invoice -- a full refund reverses every line with its VAT, a part
   refund is one line at the invoice's VAT rate. Commit.
2. :func:`pay_out_credit_note` gives the money back through the way it came in: card
   payments are refunded at the gateway with the key
   ``credit_note:<id>:payment:<payment id>`` (sent again after a crash, the processor
   answers with the same refund), cash and transfers are recorded as given back at the
   desk. Each becomes a :class:`~hub.models.Refund` row; once the whole credit is paid
   out the credit note is ``paid``. Commit.

A plan change that leaves the member in credit (a downgrade) issues its credit note
itself; step 2 pays it out against the subscription's latest payments::

    note_id = credit_note_for(session, invoice_id=41, amount=None, reason="moved away",
                              clock=clock)
    session.commit()
    pay_out_credit_note(session, credit_note_id=note_id, gateway=gateway, clock=clock,
                        actor="user:3")
    session.commit()
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.desk import AmountRefused, InvoiceActionRefused, locked_invoice
from hub.billing.gateway import PaymentGateway
from hub.billing.invoices import InvoiceDraft, InvoiceKind, InvoiceLine, LineKind
from hub.billing.issuing import REFUND_REASON, ToIssue, issue_invoices
from hub.billing.money import format_minor
from hub.billing.outcomes import settle_paid
from hub.billing.sitetime import site_today
from hub.models import (
    DocumentKind,
    Invoice,
    InvoiceLineRow,
    InvoiceStatus,
    Payment,
    Refund,
    Site,
)

#: Gateways whose payments are given back at the desk rather than through a processor.
DESK_GATEWAY = "front_desk"


def refunded_for_payment(session: Session, payment_id: int) -> int:
    """How much of a payment was given back already."""
    return int(
        session.exec(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.payment_id == payment_id)
        ).one()
    )


def refundable(session: Session, invoice_id: int) -> int:
    """Received for the invoice minus what was given back or promised in credit notes."""
    received = session.exec(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.invoice_id == invoice_id)
    ).one()
    credited = session.exec(
        select(func.coalesce(func.sum(Invoice.total), 0)).where(
            Invoice.credit_for_id == invoice_id, Invoice.status != InvoiceStatus.VOID.value
        )
    ).one()
    return int(received) + int(credited)


def credit_note_for(
    session: Session,
    *,
    invoice_id: int,
    amount: int | None,
    reason: str | None,
    clock: Clock,
) -> int:
    """Issue a credit note for (part of) a paid invoice; returns its id. Not committed."""
    invoice = locked_invoice(session, invoice_id)
    if invoice.kind != DocumentKind.INVOICE.value or invoice.status != InvoiceStatus.PAID.value:
        raise InvoiceActionRefused(f"only a paid invoice can be refunded ({invoice.status})")
    left = refundable(session, invoice_id)
    amount = left if amount is None else amount
    if not 0 < amount <= left:
        money = format_minor(left, invoice.currency, grouping=True, with_code=True)
        raise AmountRefused(f"at most {money} can be refunded")
    lines = list(
        session.exec(
            select(InvoiceLineRow)
            .where(InvoiceLineRow.invoice_id == invoice_id)
            .order_by(col(InvoiceLineRow.position))
        )
    )
    site = session.get(Site, invoice.site_id)
    today = site_today(clock.now(), site.timezone if site else "UTC")
    if amount == invoice.total:
        credit = tuple(
            InvoiceLine.priced(
                f"Refund: {line.description}",
                unit_amount=-line.unit_amount,
                quantity=line.quantity,
                tax_rate_bp=line.tax_rate_bp,
                tax_inclusive=line.tax_inclusive,
                kind=LineKind(line.kind),
            )
            for line in lines
        )
    else:
        rate = next((line.tax_rate_bp for line in lines if line.tax_rate_bp), 0)
        credit = (
            InvoiceLine.priced(
                f"Part refund of invoice {invoice.number}",
                unit_amount=-amount,
                tax_rate_bp=rate,
                tax_inclusive=True,
                kind=LineKind.ITEM,
            ),
        )
    draft = InvoiceDraft(
        currency=invoice.currency,
        lines=credit,
        issued_on=today,
        due_on=today,
        kind=InvoiceKind.CHARGES,
    )
    if draft.total != -amount:  # pragma: no cover - line totals are exact by construction
        raise AssertionError("credit note total differs from the refund")
    (note_id,) = issue_invoices(
        session,
        [
            ToIssue(
                draft,
                site_id=invoice.site_id,
                member_id=invoice.member_id,
                subscription_id=invoice.subscription_id,
                credit_for_id=invoice_id,
                memo=reason,
                reason=REFUND_REASON,
            )
        ],
        now=clock.now(),
    )
    return note_id


def _source_payments(session: Session, note: Invoice) -> list[Payment]:
    q = select(Payment).order_by(col(Payment.paid_at).desc(), col(Payment.id).desc())
    if note.credit_for_id is not None:
        return list(session.exec(q.where(Payment.invoice_id == note.credit_for_id)))
    if note.subscription_id is None:
        return []
    paid = select(Invoice.id).where(
        Invoice.subscription_id == note.subscription_id,
        Invoice.status == InvoiceStatus.PAID.value,
        Invoice.kind == DocumentKind.INVOICE.value,
    )
    return list(session.exec(q.where(col(Payment.invoice_id).in_(paid))))


def pay_out_credit_note(
    session: Session,
    *,
    credit_note_id: int,
    gateway: PaymentGateway,
    clock: Clock,
    actor: str,
) -> list[Refund]:
    """Give back what an open credit note owes, through the payments it came from.

    Returns the refunds recorded now; the credit note is ``paid`` once nothing is owed.
    Raises :class:`InvoiceActionRefused` when nothing can pay it out (e.g. no payment to
    refund against), :class:`~hub.billing.gateway.GatewayError` when the processor
    refuses (the note stays open; call again to retry with the same keys).
    """
    note = locked_invoice(session, credit_note_id)
    if note.kind != DocumentKind.CREDIT_NOTE.value:
        raise InvoiceActionRefused(f"invoice {credit_note_id} is not a credit note")
    if note.status != InvoiceStatus.OPEN.value:
        raise InvoiceActionRefused(f"credit note {credit_note_id} is {note.status}")
    already = int(
        session.exec(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.credit_note_id == credit_note_id
            )
        ).one()
    )
    owed = -note.total - already
    made: list[Refund] = []
    for payment in _source_payments(session, note):
        if owed <= 0:
            break
        part = min(owed, payment.amount - refunded_for_payment(session, payment.id or 0))
        if part <= 0:
            continue
        refund_ref = None
        if payment.gateway != DESK_GATEWAY:
            if payment.gateway != gateway.name or payment.gateway_charge_id is None:
                continue
            result = gateway.refund(
                charge_id=payment.gateway_charge_id,
                amount=part,
                idempotency_key=f"credit_note:{credit_note_id}:payment:{payment.id}",
            )
            refund_ref = result.refund_id
        refund = Refund(
            payment_id=payment.id,
            invoice_id=payment.invoice_id,
            credit_note_id=credit_note_id,
            member_id=note.member_id,
            site_id=note.site_id,
            amount=part,
            currency=note.currency,
            method=payment.method,
            method_label=payment.method_label,
            gateway=payment.gateway,
            gateway_refund_id=refund_ref,
            reason=note.memo,
            created_at=clock.now(),
            recorded_by=actor,
        )
        session.add(refund)
        session.flush()
        made.append(refund)
        owed -= part
    if owed > 0 and not made and already == 0:
        raise InvoiceActionRefused("no payment to refund against: give the credit back by hand")
    if owed <= 0:
        settle_paid(session, [credit_note_id], clock=clock, reason="credit paid out")
    return made
