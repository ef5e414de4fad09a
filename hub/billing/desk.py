"""What staff do with an invoice by hand: take cash or a transfer, void it, write it off.

Each function works in the caller's transaction and raises :class:`InvoiceActionRefused`
with a reason a person understands when the invoice is not in a state that allows it::

    pay_at_desk(session, invoice_id=41, method="cash", reference="R-1009",
                clock=clock, actor="user:3")
    void_invoice(session, invoice_id=42, clock=clock, actor="user:3")
    session.commit()

Part payments are taken too (``amount=`` less than what is due): the invoice stays
open until its balance reaches zero. Paying the balance at the desk has the same effects
as a card payment (``paid_through``, access,
the dunning case closed); it is refused while a card charge for the invoice is in
flight, so an invoice is never paid twice.

A desk form carries a one-time ``form_key`` made when it was shown: the payment is
recorded under it (``gateway_charge_id = "desk:<invoice>:<key>"``, unique), so the same
form sent twice -- a double click, a reload -- finds the first payment instead of taking
the money again::

    first = pay_at_desk(session, invoice_id=41, method="cash", amount=50000,
                        form_key="Xy12...", clock=clock, actor="user:3")
    again = pay_at_desk(session, invoice_id=41, method="cash", amount=50000,
                        form_key="Xy12...", clock=clock, actor="user:3")
    again.id == first.id   # True: one payment
"""

from __future__ import annotations

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.money import format_minor
from hub.billing.outcomes import extend_subscriptions, settle_paid
from hub.billing.renewals import SubscriptionStatus
from hub.models import (
    AttemptStatus,
    ChargeAttempt,
    DocumentKind,
    DunningCase,
    DunningCaseStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    Subscription,
)

#: How money can be taken at the front desk.
DESK_METHODS = ("cash", "transfer")


class InvoiceActionRefused(ValueError):
    """The invoice's state does not allow the action; the message says why."""


class AmountRefused(ValueError):
    """An amount that does not fit the invoice (more than can be refunded, not the
    amount due); the message gives the amount that would."""


def locked_invoice(session: Session, invoice_id: int) -> Invoice:
    """The invoice, locked for update (on PostgreSQL), or :class:`LookupError`."""
    q = select(Invoice).where(Invoice.id == invoice_id)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    found = session.exec(q.execution_options(populate_existing=True)).first()
    if found is None:
        raise LookupError(f"invoice {invoice_id} not found")
    return found


def charge_in_flight(session: Session, invoice_id: int) -> bool:
    """True while a card charge for the invoice is recorded but not answered."""
    return (
        session.exec(
            select(ChargeAttempt.id).where(
                ChargeAttempt.invoice_id == invoice_id,
                ChargeAttempt.status == AttemptStatus.PENDING.value,
            )
        ).first()
        is not None
    )


def amount_paid(session: Session, invoice_id: int) -> int:
    """Money received for the invoice so far, minor units."""
    return int(
        session.exec(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(
                Payment.invoice_id == invoice_id
            )
        ).one()
    )


def desk_payment_key(invoice_id: int, form_key: str) -> str:
    """The unique id a desk payment taken with *form_key* is recorded under."""
    return f"desk:{invoice_id}:{form_key}"


def desk_payment(session: Session, invoice_id: int, form_key: str) -> Payment | None:
    """The payment already taken at the desk with *form_key*, if any."""
    key = desk_payment_key(invoice_id, form_key)
    return session.exec(select(Payment).where(Payment.gateway_charge_id == key)).first()


def pay_at_desk(
    session: Session,
    *,
    invoice_id: int,
    method: str,
    clock: Clock,
    actor: str,
    reference: str | None = None,
    amount: int | None = None,
    form_key: str | None = None,
) -> Payment:
    """Record cash or a transfer and, once nothing is left due, mark the invoice paid.

    :param amount: what the member hands over, minor units (default: all that is due).
        Less is a part payment: the balance shrinks (a dunning case's reminders ask for
        what is left, a payment plan counts it) and the invoice stays open until the
        last part comes in. More than is due is refused.
    :param form_key: the desk form's one-time key; a payment already recorded under it
        is returned as it is (nothing new is taken).
    """
    if method not in DESK_METHODS:
        raise InvoiceActionRefused(f"the front desk takes {' or '.join(DESK_METHODS)}")
    invoice = locked_invoice(session, invoice_id)
    desk_key = desk_payment_key(invoice_id, form_key) if form_key else None
    earlier = desk_payment(session, invoice_id, form_key) if form_key else None
    if earlier is not None:
        return earlier
    if invoice.kind == DocumentKind.CREDIT_NOTE.value:
        raise InvoiceActionRefused("a credit note is paid out with a refund, not paid in")
    if invoice.status not in (InvoiceStatus.OPEN.value, InvoiceStatus.UNCOLLECTIBLE.value):
        raise InvoiceActionRefused(f"invoice {invoice_id} is {invoice.status}; nothing is due")
    if charge_in_flight(session, invoice_id):
        raise InvoiceActionRefused(
            "a card charge for this invoice is in flight; wait for its answer"
        )
    due = invoice.total - amount_paid(session, invoice_id)
    if amount is not None and not 0 < amount <= due:
        money = format_minor(due, invoice.currency, grouping=True, with_code=True)
        raise AmountRefused(f"the amount due is {money}; take that much or less")
    taken = due if amount is None else amount
    payment = Payment(
        invoice_id=invoice_id,
        member_id=invoice.member_id,
        site_id=invoice.site_id,
        amount=taken,
        currency=invoice.currency,
        method=method,
        method_label=method,
        gateway="front_desk",
        gateway_charge_id=desk_key,
        reference=reference,
        paid_at=clock.now(),
        recorded_by=actor,
    )
    session.add(payment)
    session.flush()
    if taken == due:
        settle_paid(session, [invoice_id], clock=clock,
                    reason=f"invoice {invoice_id} paid at the desk")  # fmt: skip
    return payment


def _close_case(session: Session, invoice_id: int, reason: str, clock: Clock) -> None:
    session.execute(
        update(DunningCase)
        .where(
            DunningCase.invoice_id == invoice_id,  # type: ignore[arg-type]
            DunningCase.status == DunningCaseStatus.OPEN.value,  # type: ignore[arg-type]
        )
        .values(status=DunningCaseStatus.CLOSED.value, closed_at=clock.now(), closed_reason=reason)
        .execution_options(synchronize_session=False)
    )


def void_invoice(session: Session, *, invoice_id: int, clock: Clock) -> Invoice:
    """Cancel an unpaid invoice (it keeps its number; nothing is owed any more).

    A voided renewal leaves its period unpaid: access is not extended for it.
    """
    invoice = locked_invoice(session, invoice_id)
    if invoice.status not in (InvoiceStatus.OPEN.value, InvoiceStatus.UNCOLLECTIBLE.value):
        raise InvoiceActionRefused(f"invoice {invoice_id} is {invoice.status}; it cannot be voided")
    if amount_paid(session, invoice_id):
        raise InvoiceActionRefused("money was received for it: refund it instead")
    if charge_in_flight(session, invoice_id):
        raise InvoiceActionRefused("a card charge for it is in flight; wait for its answer")
    invoice.status = InvoiceStatus.VOID.value
    invoice.voided_at = clock.now()
    session.add(invoice)
    session.flush()
    _close_case(session, invoice_id, "void", clock)
    _lift_past_due(session, invoice, clock)
    return invoice


def mark_uncollectible(session: Session, *, invoice_id: int, clock: Clock) -> Invoice:
    """Write an open invoice off (dunning gave up); it can still be paid later."""
    invoice = locked_invoice(session, invoice_id)
    if invoice.status != InvoiceStatus.OPEN.value:
        raise InvoiceActionRefused(f"invoice {invoice_id} is {invoice.status}, not open")
    invoice.status = InvoiceStatus.UNCOLLECTIBLE.value
    session.add(invoice)
    session.flush()
    _close_case(session, invoice_id, "uncollectible", clock)
    return invoice


def _lift_past_due(session: Session, invoice: Invoice, clock: Clock) -> None:
    if invoice.subscription_id is None:
        return
    sub = session.get(Subscription, invoice.subscription_id)
    if sub is None or sub.status != SubscriptionStatus.PAST_DUE.value:
        return
    others = session.exec(
        select(Invoice.id).where(
            Invoice.subscription_id == sub.id,
            Invoice.status == InvoiceStatus.OPEN.value,
            Invoice.total > 0,
            col(Invoice.id) != invoice.id,
        )
    ).first()
    if others is None:
        extend_subscriptions(
            session, {sub.id or 0: None}, now=clock.now(), clock=clock, reason="invoice voided"
        )
