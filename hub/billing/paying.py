"""Paying one open invoice now, from any channel: the member portal's invoice page, a
pay link from a dunning message, a staff member charging a saved card.

There is one way an invoice gets paid by card outside the billing run, and it is
:func:`pay_invoice`::

    outcome = pay_invoice(engine=engine, settings=settings, clock=clock, gateway=gateway,
                          invoice_id=41, member_id=7, payment_method_id=3,
                          request_key="portal:41:Xy12...", actor="member:7")
    outcome.status     # "paid", "already_paid", "declined", "requires_action",
                       # "pending" or "refused"
    outcome.paid       # True for "paid" and "already_paid"

What it guarantees, whichever channel calls it:

* **Idempotent requests.** *request_key* is the caller's own key for this request (a
  form's one-time nonce, a pay link's submit): the charge attempt is recorded under it
  and committed before the gateway is called
  (:func:`hub.billing.collect.collect_invoice`), so the same request sent twice --
  a double click, a reload, a retry after a crash -- charges once.
* **One charge in flight.** While another charge of the invoice waits for its answer
  (the billing run's, a dunning retry's) nothing new is sent: the answer is ``pending``.
* **A new card that pays becomes the default**, so renewals charge it too. Pass it as
  *card_source* (saved here) or, when the caller saved it already, as
  *payment_method_id* with ``default_if_paid=True``.
* **Settled like any payment** (:func:`hub.billing.outcomes.settle_paid`): the invoice is
  paid, an open dunning case closes, a suspended subscription is reinstated and the
  member's access goes back to the gates within a second.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.collect import collect_invoice
from hub.billing.desk import InvoiceActionRefused, charge_in_flight
from hub.billing.gateway import PaymentGateway
from hub.billing.methods import attach_payment_method, make_default
from hub.billing.run import open_session
from hub.core.config import Settings
from hub.models import (
    AttemptStatus,
    ChargeAttempt,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    Member,
    PaymentMethod,
)

#: Invoice states a payment is taken in (a written-off invoice can still be paid).
PAYABLE = (InvoiceStatus.OPEN.value, InvoiceStatus.UNCOLLECTIBLE.value)


class NotTheMembersInvoice(LookupError):
    """The invoice does not exist or belongs to another member."""


@dataclass(frozen=True)
class PayOutcome:
    """How paying ended.

    :param status: ``paid`` (by this request); ``already_paid`` (nothing was charged);
        ``declined`` (see *decline_reason*); ``requires_action`` (the bank wants the
        member to confirm; another card works now); ``pending`` (the processor's answer
        is not known yet -- the charge is retried with the same key, never doubled);
        ``refused`` (the invoice cannot be paid now: *detail* says why).
    """

    status: str
    decline_reason: str | None = None
    detail: str | None = None
    invoice_id: int = 0

    @property
    def paid(self) -> bool:
        """True when the invoice is paid now."""
        return self.status in ("paid", "already_paid")


def _known(session: Session, request_key: str | None) -> bool:
    """True if a charge attempt was recorded under *request_key* (a repeated request)."""
    if request_key is None:
        return False
    found = session.exec(
        select(ChargeAttempt.id).where(ChargeAttempt.request_key == request_key)
    ).first()
    return found is not None


def pay_invoice(
    *,
    engine: Engine,
    settings: Settings,
    clock: Clock,
    gateway: PaymentGateway,
    invoice_id: int,
    member_id: int | None = None,
    payment_method_id: int | None = None,
    card_source: str | None = None,
    default_if_paid: bool = False,
    request_key: str | None = None,
    actor: str = "member",
) -> PayOutcome:
    """Charge invoice *invoice_id* now (see the module documentation).

    :param member_id: the member paying; the invoice must be theirs.
    :param payment_method_id: one of the member's saved methods (default: the
        subscription's method, else their default one).
    :param card_source: a new card (a processor token, or a simulated test card number)
        to save and charge; it becomes the default if it pays.
    :param default_if_paid: make *payment_method_id* the default if it pays.
    :param request_key: the caller's key for this request.
    :raises NotTheMembersInvoice: no such invoice, or not *member_id*'s.
    """
    with open_session(engine, settings) as session:
        invoice = session.get(Invoice, invoice_id)
        if invoice is None or (member_id is not None and invoice.member_id != member_id):
            raise NotTheMembersInvoice(f"invoice {invoice_id} is not the member's")
        known = _known(session, request_key)
        if invoice.status == InvoiceStatus.PAID.value:
            return PayOutcome("paid" if known else "already_paid", invoice_id=invoice_id)
        if invoice.kind == DocumentKind.CREDIT_NOTE.value or invoice.status not in PAYABLE:
            detail = f"invoice {invoice_id} is {invoice.status}; nothing is due"
            return PayOutcome("refused", detail=detail, invoice_id=invoice_id)
        if not known and charge_in_flight(session, invoice_id):
            return PayOutcome("pending", invoice_id=invoice_id)
        if card_source is not None and not known:
            member = session.get(Member, invoice.member_id)
            assert member is not None
            method = attach_payment_method(
                session, member=member, gateway=gateway, source=card_source, clock=clock
            )
            session.commit()
            payment_method_id, default_if_paid = method.id, True
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
        assert invoice is not None
        if invoice.status == InvoiceStatus.PAID.value:
            if default_if_paid and payment_method_id is not None:
                method = session.get(PaymentMethod, payment_method_id)
                if method is not None and not method.is_default and method.detached_at is None:
                    make_default(session, method=method)  # renewals charge it too
                    session.commit()
            return PayOutcome("paid", invoice_id=invoice_id)
        if refused is not None:
            return PayOutcome("refused", detail=refused, invoice_id=invoice_id)
        last = session.exec(
            select(ChargeAttempt)
            .where(ChargeAttempt.invoice_id == invoice_id)
            .order_by(col(ChargeAttempt.attempt).desc())
        ).first()
    if last is None:  # nothing could be charged (no saved method, no gateway customer)
        return PayOutcome("declined", detail="no saved method could be charged",
                          invoice_id=invoice_id)  # fmt: skip
    if last.status == AttemptStatus.PENDING.value:
        return PayOutcome("pending", invoice_id=invoice_id)
    if last.status == AttemptStatus.REQUIRES_ACTION.value:
        return PayOutcome("requires_action", last.decline_reason, invoice_id=invoice_id)
    return PayOutcome("declined", last.decline_reason, last.raw_message, invoice_id=invoice_id)
