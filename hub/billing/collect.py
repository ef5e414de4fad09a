"""Charging one invoice now: a sign-up, a plan change, a sale at the desk, a retry.

:func:`collect_invoice` settles an invoice the way its total asks -- nothing due: paid;
a credit: paid back through :mod:`hub.billing.refunds`; money due: a new charge attempt
recorded (and committed) before the gateway is called, exactly as the billing run does::

    report = collect_invoice(engine=engine, settings=settings, clock=clock,
                             gateway=gateway, invoice_id=41)
    report.paid, report.failed

Dunning retries pass their action's key as *request_key*: asking twice for the same
retry (after a crash) finds the attempt already recorded instead of charging again, and
*payment_method_id* picks another saved method.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from gatehouse.clock import Clock
from hub.billing.attempts import AttemptSpec, record_attempts
from hub.billing.desk import InvoiceActionRefused, amount_paid, charge_in_flight
from hub.billing.gateway import GatewayError, PaymentGateway
from hub.billing.outcomes import Failure, settle_failed, settle_paid
from hub.billing.refunds import pay_out_credit_note
from hub.billing.run import RunReport, choose_methods, collect_all, method_for, open_session
from hub.core.config import Settings
from hub.models import DocumentKind, Invoice, InvoiceStatus, PaymentMethod, Subscription


def collect_invoice(
    *,
    engine: Engine,
    settings: Settings,
    clock: Clock,
    gateway: PaymentGateway,
    invoice_id: int,
    payment_method_id: int | None = None,
    request_key: str | None = None,
    actor: str = "billing",
    amount: int | None = None,
) -> RunReport:
    """Settle or charge invoice *invoice_id* now (see the module documentation).

    Raises :class:`~hub.billing.desk.InvoiceActionRefused` when nothing can be charged
    (the invoice is not open, a charge is already in flight, the method is not the
    member's).

    :param amount: charge only this much of the balance (an instalment of a payment
        plan); the invoice is paid once payments cover it.
    """
    report = RunReport()
    with open_session(engine, settings) as session:
        invoice = session.get(Invoice, invoice_id)
        if invoice is None:
            raise LookupError(f"invoice {invoice_id} not found")
        if invoice.kind == DocumentKind.CREDIT_NOTE.value:
            if invoice.status == InvoiceStatus.OPEN.value:
                try:
                    pay_out_credit_note(session, credit_note_id=invoice_id, gateway=gateway,
                                        clock=clock, actor=actor)  # fmt: skip
                except (InvoiceActionRefused, GatewayError):
                    session.rollback()  # stays open, for the desk to pay back by hand
                    return report
                session.commit()
            return report
        if invoice.status not in (InvoiceStatus.OPEN.value, InvoiceStatus.UNCOLLECTIBLE.value):
            raise InvoiceActionRefused(f"invoice {invoice_id} is {invoice.status}; nothing is due")
        due = invoice.total - amount_paid(session, invoice_id)
        if due <= 0:
            report.paid = len(settle_paid(session, [invoice_id], clock=clock, reason="nothing due"))
            session.commit()
            return report
        if charge_in_flight(session, invoice_id) and request_key is None:
            raise InvoiceActionRefused("a charge for this invoice is in flight already")
        methods, customers = choose_methods(session, {invoice.member_id}, gateway.name)
        preferred = payment_method_id
        if preferred is None and invoice.subscription_id is not None:
            sub = session.get(Subscription, invoice.subscription_id)
            preferred = sub.payment_method_id if sub else None
        pm = method_for(methods, invoice.member_id, preferred)
        if payment_method_id is not None and (pm is None or pm.id != payment_method_id):
            found = session.get(PaymentMethod, payment_method_id)
            raise InvoiceActionRefused(
                f"payment method {payment_method_id} is not a saved method of the member"
                if found is None or found.member_id != invoice.member_id
                else f"payment method {payment_method_id} cannot be charged by {gateway.name}"
            )
        if pm is None or invoice.member_id not in customers:
            report.failed = 1
            report.cases_opened = settle_failed(session, [Failure(invoice_id)], clock=clock)
            session.commit()
            return report
        charge = due if amount is None else min(amount, due)
        spec = AttemptSpec(invoice_id, charge, invoice.currency, pm.id or 0, request_key)
        record_attempts(session, [spec], gateway=gateway.name, clock=clock)
        session.commit()
    report.add(collect_all(engine=engine, settings=settings, clock=clock, gateway=gateway,
                           invoice_ids=[invoice_id]))  # fmt: skip
    report.invoice_ids = [invoice_id]
    return report
