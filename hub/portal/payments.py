"""Paying an open invoice from the portal, through billing's own charging and settlement.

:func:`pay_open_invoice` asks :func:`hub.billing.collect.collect_invoice` to charge the
invoice with the member's chosen saved method.  That records the charge attempt and its
idempotency key (``invoice:<id>:attempt:<n>``) and commits it *before* the gateway is
called; a success goes through :func:`hub.billing.outcomes.settle_paid` -- the invoice
is paid, ``paid_through`` moves, the entitlement is extended, the gates are told, and
an open dunning case closes::

    outcome = pay_open_invoice(engine=engine, settings=settings, clock=clock,
                               gateway=gateway, invoice_id=41, payment_method_id=3,
                               request_key="portal:41:Xy12...")
    outcome.status           # "paid", "declined", "requires_action", "pending", ...

*request_key* is the pay form's own one-time key: the same form sent twice (a double
click, a reload) finds the attempt already recorded instead of charging again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from gatehouse.clock import Clock
from hub.billing.collect import collect_invoice
from hub.billing.desk import InvoiceActionRefused, charge_in_flight
from hub.billing.gateway import PaymentGateway
from hub.billing.run import open_session
from hub.core.config import Settings
from hub.models import AttemptStatus, ChargeAttempt, Invoice, InvoiceStatus


@dataclass(frozen=True)
class PayOutcome:
    """How paying ended.

    :param status: ``paid``; ``declined`` (see *decline_reason*); ``requires_action``
        (the bank wants the member to confirm; another card works now); ``pending``
        (the processor's answer is not known yet -- the charge is retried with the same
        key, never doubled); ``refused`` (the invoice is not payable now: *detail* says
        why).
    """

    status: str
    decline_reason: str | None = None
    detail: str | None = None


def pay_open_invoice(
    *,
    engine: Engine,
    settings: Settings,
    clock: Clock,
    gateway: PaymentGateway,
    invoice_id: int,
    payment_method_id: int,
    request_key: str | None = None,
    actor: str = "portal",
) -> PayOutcome:
    """Charge open invoice *invoice_id* with saved method *payment_method_id* now.

    While another charge of the invoice is in flight (the billing run's, or a dunning
    retry's) nothing new is sent: the answer is ``pending``.
    """
    with open_session(engine, settings) as session:
        known = request_key is not None and (
            session.exec(
                select(ChargeAttempt.id).where(ChargeAttempt.request_key == request_key)
            ).first()
            is not None
        )
        if not known and charge_in_flight(session, invoice_id):
            return PayOutcome("pending")
    refused: str | None = None
    try:
        collect_invoice(
            engine=engine, settings=settings, clock=clock, gateway=gateway,
            invoice_id=invoice_id, payment_method_id=payment_method_id,
            request_key=request_key, actor=actor,
        )  # fmt: skip
    except InvoiceActionRefused as err:
        refused = str(err)
    with open_session(engine, settings) as session:
        invoice = session.get(Invoice, invoice_id)
        if invoice is not None and invoice.status == InvoiceStatus.PAID.value:
            return PayOutcome("paid")
        if refused is not None:
            return PayOutcome("refused", detail=refused)
        last = session.exec(
            select(ChargeAttempt)
            .where(ChargeAttempt.invoice_id == invoice_id)
            .order_by(col(ChargeAttempt.attempt).desc())
        ).first()
    if last is None or last.status == AttemptStatus.PENDING.value:
        return PayOutcome("pending")
    if last.status == AttemptStatus.REQUIRES_ACTION.value:
        return PayOutcome("requires_action", last.decline_reason)
    return PayOutcome("declined", last.decline_reason, last.raw_message)
