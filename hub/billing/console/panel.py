"""The member page's billing section: the member's invoices and the payments received."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from hub.api.billing import prefixes
from hub.billing.console.helpers import money
from hub.billing.numbering import invoice_label
from hub.console.deps import Viewer
from hub.console.permissions import Perm
from hub.models import Invoice, Member, Payment, Refund

SHOWN = 20


def member_billing(
    db: Session, viewer: Viewer, member: Member
) -> tuple[str, dict[str, Any]] | None:
    """The latest invoices, payments and refunds of *member* (for who may see billing)."""
    if not viewer.can(Perm.BILLING_VIEW):
        return None
    prefix = prefixes(db)
    invoices = db.exec(
        select(Invoice)
        .where(Invoice.member_id == member.id)
        .order_by(col(Invoice.issued_on).desc(), col(Invoice.id).desc())
        .limit(SHOWN)
    ).all()
    payments = db.exec(
        select(Payment)
        .where(Payment.member_id == member.id)
        .order_by(col(Payment.paid_at).desc(), col(Payment.id).desc())
        .limit(SHOWN)
    ).all()
    refunds = db.exec(
        select(Refund)
        .where(Refund.member_id == member.id)
        .order_by(col(Refund.created_at).desc(), col(Refund.id).desc())
        .limit(SHOWN)
    ).all()
    labels = {i.id: invoice_label(prefix.get(i.site_id), i.number) for i in invoices}
    for p in payments:
        if p.invoice_id not in labels:
            found = db.get(Invoice, p.invoice_id)
            labels[p.invoice_id] = (
                invoice_label(prefix.get(found.site_id), found.number) if found else "?"
            )
    return "billing/member_panel.html", {
        "invoices": invoices, "payments": payments, "refunds": refunds, "labels": labels,
        "money": money,
    }  # fmt: skip
