"""Paying an open invoice from a pay link: what the member portal calls.

A dunning message carries a signed, expiring pay link (:mod:`hub.dunning.paylink`). The
portal page it opens takes a card (or lets the member pick a saved one) and calls
:func:`pay_open_invoice`; so does any other channel that has the link's token::

    result = pay_open_invoice(engine=engine, settings=settings, clock=clock,
                              gateway=gateway, token=token, card_source="4242424242424242",
                              request_key=form_nonce)
    result.paid             # True: invoice paid, case closed, member reinstated

It verifies the token (:class:`~hub.dunning.paylink.PayLinkInvalid`,
:class:`~hub.dunning.paylink.PayLinkExpired`), saves a new card as the member's default
when one is given, and charges the invoice through the billing machinery
(:func:`hub.billing.collect.collect_invoice`: an attempt with its idempotency key is
recorded before the gateway is called; *request_key* -- the portal's form nonce --
makes a double submit charge once). A successful charge settles the invoice like any
other payment (:func:`hub.billing.outcomes.settle_paid`): the dunning case closes (no
more messages), a suspended or past-due subscription becomes active again and the
member's access goes back to the gates within a second.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from gatehouse.clock import Clock
from hub.billing.collect import collect_invoice
from hub.billing.desk import InvoiceActionRefused
from hub.billing.gateway import PaymentGateway
from hub.billing.methods import attach_payment_method
from hub.billing.run import open_session
from hub.core.config import Settings
from hub.dunning.links import pay_links
from hub.dunning.paylink import PayLinkInvalid
from hub.models import ChargeAttempt, Invoice, InvoiceStatus, Member


@dataclass(frozen=True)
class PayResult:
    """What a payment through a pay link came to.

    :param status: ``paid``, ``already_paid``, ``declined``, ``requires_action`` (the
        bank wants the member to confirm) or ``pending`` (the gateway's answer is not
        known yet; the same attempt is sent again later).
    :param decline_reason: for declines, a :class:`~hub.billing.declines.DeclineReason`.
    """

    invoice_id: int
    status: str
    decline_reason: str | None = None

    @property
    def paid(self) -> bool:
        """True when the invoice is paid now."""
        return self.status in ("paid", "already_paid")


def pay_open_invoice(
    *,
    engine: Engine,
    settings: Settings,
    clock: Clock,
    gateway: PaymentGateway,
    token: str,
    card_source: str | None = None,
    payment_method_id: int | None = None,
    request_key: str | None = None,
) -> PayResult:
    """Pay the invoice a pay-link *token* names (see the module documentation).

    :param card_source: a new card (a processor token, or a simulated test card number)
        to save as the member's default and charge.
    :param payment_method_id: one of the member's saved methods to charge instead.
    :param request_key: the caller's key for this request (a form nonce).
    :raises PayLinkInvalid: a link not ours, tampered with, or for another purpose.
    :raises PayLinkExpired: a genuine link past its expiry.
    :raises InvoiceActionRefused: the invoice cannot be paid (voided, a credit note).
    """
    claims = pay_links(settings).verify(token, now=clock.now())
    if claims.purpose != "pay" or not claims.invoice_id.isdigit():
        raise PayLinkInvalid("this link does not pay an invoice")
    invoice_id, member_id = int(claims.invoice_id), int(claims.member_id)
    with open_session(engine, settings) as session:
        invoice = session.get(Invoice, invoice_id)
        if invoice is None or invoice.member_id != member_id:
            raise PayLinkInvalid("the link's invoice is not the member's")
        if invoice.status == InvoiceStatus.PAID.value:
            return PayResult(invoice_id, "already_paid")
        if invoice.status not in (InvoiceStatus.OPEN.value, InvoiceStatus.UNCOLLECTIBLE.value):
            raise InvoiceActionRefused(f"invoice {invoice_id} is {invoice.status}")
        if card_source is not None:
            member = session.get(Member, member_id)
            assert member is not None
            method = attach_payment_method(
                session, member=member, gateway=gateway, source=card_source, clock=clock,
                make_default=True,
            )  # fmt: skip
            session.commit()
            payment_method_id = method.id
    collect_invoice(
        engine=engine,
        settings=settings,
        clock=clock,
        gateway=gateway,
        invoice_id=invoice_id,
        payment_method_id=payment_method_id,
        request_key=request_key,
        actor=f"member:{member_id}",
    )
    with open_session(engine, settings) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        if invoice.status == InvoiceStatus.PAID.value:
            return PayResult(invoice_id, "paid")
        attempt = session.exec(
            select(ChargeAttempt)
            .where(ChargeAttempt.invoice_id == invoice_id)
            .order_by(col(ChargeAttempt.attempt).desc())
        ).first()
    if attempt is None:
        return PayResult(invoice_id, "declined")
    return PayResult(invoice_id, attempt.status, attempt.decline_reason)
