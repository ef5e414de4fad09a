"""Paying an open invoice with a pay link's token: dunning's door to the one pay path.

A dunning message carries a signed, expiring pay link (:mod:`hub.dunning.paylink`).
:func:`pay_open_invoice` verifies its token, then pays through
:func:`hub.billing.paying.pay_invoice` -- the same function the member portal's pay form
uses, so every channel has the same guarantees (one charge per *request_key*, nothing
sent while another charge is in flight, a new card becomes the default once it pays)::

    result = pay_open_invoice(engine=engine, settings=settings, clock=clock,
                              gateway=gateway, token=token, card_source="4242424242424242",
                              request_key=form_nonce)
    result.paid             # True: invoice paid, case closed, member reinstated

It raises :class:`~hub.dunning.paylink.PayLinkInvalid` or
:class:`~hub.dunning.paylink.PayLinkExpired` for a bad token and
:class:`~hub.billing.desk.InvoiceActionRefused` for an invoice that cannot be paid
(voided, a credit note).
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from gatehouse.clock import Clock
from hub.billing.desk import InvoiceActionRefused
from hub.billing.gateway import PaymentGateway
from hub.billing.paying import NotTheMembersInvoice, PayOutcome, pay_invoice
from hub.core.config import Settings
from hub.dunning.links import pay_links
from hub.dunning.paylink import PayLinkInvalid

#: What a payment through a pay link came to (the one pay path's outcome).
PayResult = PayOutcome

__all__ = ["PayResult", "pay_open_invoice"]


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
) -> PayOutcome:
    """Pay the invoice a pay-link *token* names (see the module documentation).

    :param card_source: a new card to save and charge.
    :param payment_method_id: one of the member's saved methods to charge instead.
    :param request_key: the caller's key for this request (a form nonce).
    """
    claims = pay_links(settings).verify(token, now=clock.now())
    if claims.purpose != "pay" or not (claims.invoice_id.isascii() and claims.invoice_id.isdigit()):
        raise PayLinkInvalid("this link does not pay an invoice")
    member_id = int(claims.member_id)
    try:
        outcome = pay_invoice(
            engine=engine, settings=settings, clock=clock, gateway=gateway,
            invoice_id=int(claims.invoice_id), member_id=member_id,
            payment_method_id=payment_method_id, card_source=card_source,
            request_key=request_key, actor=f"member:{member_id}",
        )  # fmt: skip
    except NotTheMembersInvoice as err:
        raise PayLinkInvalid("the link's invoice is not the member's") from err
    if outcome.status == "refused":
        raise InvoiceActionRefused(outcome.detail or "the invoice cannot be paid")
    return outcome
