"""Storing invoice drafts as numbered invoices with their lines.

:func:`issue_invoices` turns :class:`~hub.billing.invoices.InvoiceDraft` objects into
``invoice`` and ``invoiceline`` rows in the caller's transaction, numbering them from
each site's counter (gap-free: a rollback returns the numbers)::

    ids = issue_invoices(session, [ToIssue(draft, site_id=1, member_id=7,
                                           subscription_id=12)], now=clock.now())
    session.commit()

A renewal draft also fills ``renewal_period_start``, which the database keeps unique
per subscription: a period can never be invoiced twice, whatever runs concurrently.
A draft with a negative total becomes a credit note.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from hub.billing.bulk import insert_rows
from hub.billing.invoices import InvoiceDraft, InvoiceKind
from hub.billing.numbering import allocate_numbers
from hub.models import DocumentKind, Invoice, InvoiceLineRow, InvoiceStatus

#: ``invoice.reason`` of a credit note made by a refund.
REFUND_REASON = "refund"


@dataclass(frozen=True)
class ToIssue:
    """A draft and whom it is for.

    :param credit_for_id: for a credit note, the invoice it gives money back for.
    :param reason: overrides the draft's kind as ``invoice.reason`` (e.g. ``"refund"``).
    """

    draft: InvoiceDraft
    site_id: int
    member_id: int
    subscription_id: int | None = None
    credit_for_id: int | None = None
    memo: str | None = None
    reason: str | None = None


def invoice_values(item: ToIssue, number: int, now: datetime) -> dict[str, object]:
    """The ``invoice`` row of *item* with *number*."""
    draft = item.draft
    period = draft.period
    renewal = draft.kind is InvoiceKind.RENEWAL and item.subscription_id is not None
    return {
        "site_id": item.site_id,
        "number": number,
        "member_id": item.member_id,
        "subscription_id": item.subscription_id,
        "kind": (DocumentKind.CREDIT_NOTE if draft.is_credit_note else DocumentKind.INVOICE).value,
        "reason": item.reason or draft.kind.value,
        "status": InvoiceStatus.OPEN.value,
        "currency": draft.currency,
        "subtotal": draft.subtotal,
        "tax": draft.tax,
        "total": draft.total,
        "issued_on": draft.issued_on,
        "due_on": draft.due_on,
        "period_start": period.start if period else None,
        "period_end": period.end if period else None,
        "renewal_period_start": period.start if renewal and period else None,
        "credit_for_id": item.credit_for_id,
        "memo": item.memo,
        "created_at": now,
    }


def issue_invoices(session: Session, items: Sequence[ToIssue], *, now: datetime) -> list[int]:
    """Store *items* as open invoices (numbered per site) with their lines.

    Returns the new invoice ids in the order of *items*. Does not commit.
    """
    if not items:
        return []
    by_site: dict[int, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        by_site[item.site_id].append(index)
    numbers: dict[int, int] = {}
    for site_id in sorted(by_site):
        first = allocate_numbers(session, site_id=site_id, count=len(by_site[site_id]))
        for offset, index in enumerate(by_site[site_id]):
            numbers[index] = first + offset
    rows = [invoice_values(item, numbers[i], now) for i, item in enumerate(items)]
    insert_rows(session, Invoice, rows)
    found: dict[tuple[int, int], int] = {}
    for site_id, indexes in by_site.items():
        low, high = numbers[indexes[0]], numbers[indexes[-1]]
        for invoice_id, number in session.connection().execute(
            select(Invoice.id, Invoice.number).where(
                Invoice.site_id == site_id, col(Invoice.number).between(low, high)
            )
        ):
            found[(site_id, number)] = invoice_id
    ids = [found[(item.site_id, numbers[i])] for i, item in enumerate(items)]
    lines = [
        {
            "invoice_id": invoice_id,
            "position": position,
            "description": line.description,
            "kind": line.kind.value,
            "quantity": line.quantity,
            "unit_amount": line.unit_amount,
            "tax_rate_bp": line.tax_rate_bp,
            "tax_inclusive": line.tax_inclusive,
            "net": line.net,
            "tax": line.tax,
            "total": line.total,
            "period_start": line.period.start if line.period else None,
            "period_end": line.period.end if line.period else None,
        }
        for invoice_id, item in zip(ids, items, strict=True)
        for position, line in enumerate(item.draft.lines, start=1)
    ]
    insert_rows(session, InvoiceLineRow, lines)
    return [int(i) for i in ids]
