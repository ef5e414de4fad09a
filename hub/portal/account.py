"""What a member's pages show, read for one member only.

Every function takes the member's id and never returns another member's rows, so a
page cannot show what is not theirs::

    overview(db, member_id=7, today=date(2026, 12, 1))   # memberships, amount due, next bill
    own_invoice(db, member_id=7, invoice_id=41)          # None unless it is theirs
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from hub.billing.numbering import invoice_label
from hub.billing.tax import split_tax
from hub.models import (
    BillingProfile,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    Plan,
    Refund,
    Site,
    Subscription,
)


@dataclass(frozen=True)
class Membership:
    """One subscription as the home page shows it."""

    subscription: Subscription
    plan: Plan


@dataclass(frozen=True)
class Overview:
    """The home page: memberships, open invoices, the next bill (the plan's price with
    its tax: what the next renewal invoice asks for, before any change)."""

    memberships: list[Membership]
    open_invoices: list[Invoice]
    next_bill_on: date | None
    next_amount: int | None
    next_currency: str | None

    @property
    def paid_through(self) -> date | None:
        """The furthest day any membership is paid for."""
        days = [m.subscription.paid_through for m in self.memberships]
        known = [d for d in days if d is not None]
        return max(known) if known else None


def memberships(db: Session, member_id: int) -> list[Membership]:
    """The member's subscriptions, newest first, with their plans."""
    rows = db.exec(
        select(Subscription, Plan)
        .join(Plan, col(Plan.id) == col(Subscription.plan_id))
        .where(Subscription.member_id == member_id)
        .order_by(col(Subscription.id).desc())
    ).all()
    return [Membership(sub, plan) for sub, plan in rows]


def open_invoices(db: Session, member_id: int) -> list[Invoice]:
    """Invoices the member still has to pay, oldest first."""
    return list(
        db.exec(
            select(Invoice)
            .where(
                Invoice.member_id == member_id,
                Invoice.kind == DocumentKind.INVOICE.value,
                col(Invoice.status).in_(
                    [InvoiceStatus.OPEN.value, InvoiceStatus.UNCOLLECTIBLE.value]
                ),
                Invoice.total > 0,
            )
            .order_by(col(Invoice.due_on), col(Invoice.id))
        ).all()
    )


def overview(db: Session, *, member_id: int) -> Overview:
    """What the home page shows."""
    subs = memberships(db, member_id)
    upcoming = [
        m
        for m in subs
        if m.subscription.next_bill_on is not None and m.subscription.status != "cancelled"
    ]
    upcoming.sort(key=lambda m: m.subscription.next_bill_on or date.max)
    nxt = upcoming[0] if upcoming else None
    return Overview(
        memberships=subs,
        open_invoices=open_invoices(db, member_id),
        next_bill_on=nxt.subscription.next_bill_on if nxt else None,
        next_amount=(
            split_tax(
                nxt.plan.price_minor, nxt.plan.tax_rate_bp, inclusive=nxt.plan.tax_inclusive
            ).gross
            if nxt
            else None
        ),
        next_currency=nxt.plan.currency if nxt else None,
    )


def invoices(db: Session, member_id: int, limit: int = 200) -> list[Invoice]:
    """The member's invoices and credit notes (not drafts), newest first."""
    return list(
        db.exec(
            select(Invoice)
            .where(Invoice.member_id == member_id, Invoice.status != InvoiceStatus.DRAFT.value)
            .order_by(col(Invoice.issued_on).desc(), col(Invoice.id).desc())
            .limit(limit)
        ).all()
    )


def own_invoice(db: Session, *, member_id: int, invoice_id: int) -> Invoice | None:
    """Invoice *invoice_id* if it is the member's (and not a draft), else ``None``."""
    invoice = db.get(Invoice, invoice_id)
    if invoice is None or invoice.member_id != member_id:
        return None
    if invoice.status == InvoiceStatus.DRAFT.value:
        return None
    return invoice


def labels(db: Session, rows: list[Invoice]) -> dict[int, str]:
    """How each invoice's number is printed (``'CLUB1-000041'``), as on the invoice."""
    prefixes: dict[int, str] = {}
    for site_id in {inv.site_id for inv in rows}:
        profile = db.get(BillingProfile, site_id)
        site = db.get(Site, site_id)
        prefixes[site_id] = (profile.invoice_prefix if profile else None) or (
            site.slug.upper() if site else ""
        )
    return {inv.id or 0: invoice_label(prefixes[inv.site_id], inv.number) for inv in rows}


@dataclass(frozen=True)
class HistoryEntry:
    """A payment received or a refund given, for the payment history."""

    at: object
    kind: str  # payment | refund
    amount: int
    currency: str
    method_label: str
    invoice_id: int


def history(db: Session, member_id: int, limit: int = 200) -> list[HistoryEntry]:
    """Payments and refunds of the member, newest first."""
    entries = [
        HistoryEntry(p.paid_at, "payment", p.amount, p.currency, p.method_label, p.invoice_id)
        for p in db.exec(
            select(Payment)
            .where(Payment.member_id == member_id)
            .order_by(col(Payment.id).desc())
            .limit(limit)
        )
    ]
    entries += [
        HistoryEntry(r.created_at, "refund", r.amount, r.currency, r.method_label, r.invoice_id)
        for r in db.exec(
            select(Refund)
            .where(Refund.member_id == member_id)
            .order_by(col(Refund.id).desc())
            .limit(limit)
        )
    ]
    entries.sort(key=lambda e: e.at, reverse=True)  # type: ignore[arg-type, return-value]
    return entries[:limit]


def saved_methods(db: Session, member_id: int, gateway: str | None = None) -> list[PaymentMethod]:
    """The member's saved payment methods (not removed), default first."""
    q = select(PaymentMethod).where(
        PaymentMethod.member_id == member_id, col(PaymentMethod.detached_at).is_(None)
    )
    if gateway is not None:
        q = q.where(PaymentMethod.gateway == gateway)
    return list(
        db.exec(q.order_by(col(PaymentMethod.is_default).desc(), col(PaymentMethod.id))).all()
    )


def own_method(db: Session, *, member_id: int, method_id: int) -> PaymentMethod | None:
    """Saved method *method_id* if it is the member's and not removed."""
    pm = db.get(PaymentMethod, method_id)
    if pm is None or pm.member_id != member_id or pm.detached_at is not None:
        return None
    return pm
