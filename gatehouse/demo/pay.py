"""The hero pays: the open invoice settled with a new card, as the member portal does.

The member saves a card that works (the simulated gateway's ``4242 4242 4242 4242``)
and pays the invoice dunning is chasing with it; paying closes the dunning case and the
hub reinstates access, so the gates get the member back within a second.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from hub.billing.collect import collect_invoice
from hub.billing.methods import attach_payment_method
from hub.models import Invoice, Member

GOOD_CARD = "4242424242424242"


def pay_open_invoice(run: Any, member_id: int) -> str:
    """Pay *member_id*'s open invoice with a new good card; returns a line for people."""
    hub, clock, gateway = run.hub, run.clock, run.services.gateway
    with hub.session() as s:
        invoice = s.exec(
            select(Invoice).where(Invoice.member_id == member_id, Invoice.status == "open")
        ).first()
        if invoice is None:
            return "nothing open"
        member = s.get(Member, member_id)
        assert member is not None
        method = attach_payment_method(s, member=member, gateway=gateway, source=GOOD_CARD,
                                       clock=clock, make_default=True)  # fmt: skip
        s.commit()
        invoice_id, method_id = invoice.id or 0, method.id
    report = collect_invoice(engine=hub.engine, settings=hub.settings, clock=clock,
                             gateway=gateway, invoice_id=invoice_id, payment_method_id=method_id,
                             actor=f"member:{member_id}")  # fmt: skip
    return f"invoice {invoice_id}: {'paid' if report.paid else 'declined'} with a new card"
