"""Paying an open invoice from the portal: the portal's door to the one pay path.

:func:`pay_open_invoice` is :func:`hub.billing.paying.pay_invoice` for a signed-in
member (or a pay link's member) who chose a saved method on the pay form::

    outcome = pay_open_invoice(engine=engine, settings=settings, clock=clock,
                               gateway=gateway, invoice_id=41, payment_method_id=3,
                               request_key="portal:41:Xy12...", member_id=7)
    outcome.status           # "paid", "declined", "requires_action", "pending", ...

*request_key* is the pay form's own one-time key: the same form sent twice (a double
click, a reload) finds the attempt already recorded instead of charging again. While
another charge of the invoice is in flight nothing new is sent (``pending``), and a
card typed into the form just now (``default_if_paid``) becomes the default once it pays.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from gatehouse.clock import Clock
from hub.billing.gateway import PaymentGateway
from hub.billing.paying import PayOutcome, pay_invoice
from hub.core.config import Settings

__all__ = ["PayOutcome", "pay_open_invoice"]


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
    member_id: int | None = None,
    default_if_paid: bool = False,
) -> PayOutcome:
    """Charge open invoice *invoice_id* with saved method *payment_method_id* now."""
    return pay_invoice(
        engine=engine, settings=settings, clock=clock, gateway=gateway,
        invoice_id=invoice_id, member_id=member_id, payment_method_id=payment_method_id,
        default_if_paid=default_if_paid, request_key=request_key, actor=actor,
    )  # fmt: skip
