"""The member page's billing section: the member's invoices and the payments received.

Who holds ``billing.view`` sees the latest invoices, payments and refunds; the front
desk (``billing.desk`` only) sees just the open invoices with their balance, each with a
"take payment" link (:mod:`hub.billing.console.desk_pay`).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from hub.api.billing import prefixes
from hub.billing.console.desk_pay import PAYABLE, balance_of
from hub.billing.console.helpers import money
from hub.billing.numbering import invoice_label
from hub.console.deps import Viewer
from hub.console.permissions import Perm
from hub.models import DocumentKind, Invoice, Member, Payment, Refund

SHOWN = 20


def member_billing(
    db: Session, viewer: Viewer, member: Member
) -> tuple[str, dict[str, Any]] | None:
    """The latest invoices, payments and refunds of *member* (for who may see billing),
    or the open ones only (for the front desk)."""
    if not viewer.can(Perm.BILLING_VIEW):
        return desk_billing(db, viewer, member)
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
        "money": money, "balances": {i.id: balance_of(db, i) for i in invoices},
        "desk": viewer.can(Perm.BILLING_DESK),
    }  # fmt: skip


def desk_billing(db: Session, viewer: Viewer, member: Member) -> tuple[str, dict[str, Any]] | None:
    """The member's open invoices and what is left due on each (for ``billing.desk``)."""
    if not viewer.can(Perm.BILLING_DESK):
        return None
    prefix = prefixes(db)
    invoices = db.exec(
        select(Invoice)
        .where(
            Invoice.member_id == member.id,
            col(Invoice.status).in_(PAYABLE),
            Invoice.kind == DocumentKind.INVOICE.value,
        )
        .order_by(col(Invoice.issued_on), col(Invoice.id))
        .limit(SHOWN)
    ).all()
    return "billing/desk_panel.html", {
        "invoices": invoices, "money": money,
        "labels": {i.id: invoice_label(prefix.get(i.site_id), i.number) for i in invoices},
        "balances": {i.id: balance_of(db, i) for i in invoices},
    }  # fmt: skip
