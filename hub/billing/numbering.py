"""Gap-free invoice numbers per site.

Numbers come from one counter row per site (:class:`~hub.models.InvoiceCounter`),
advanced inside the transaction that issues the invoices: the row stays locked until
that transaction ends, and a rollback hands the numbers back, so the numbers a site
issues run 1, 2, 3, ... with no gap (a database sequence could skip)::

    first = allocate_numbers(session, site_id=1, count=3)   # e.g. 41 -> invoices 41, 42, 43
    invoice_label("BKK", 41)                                 # 'BKK-000041'
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from hub.models import InvoiceCounter


def allocate_numbers(session: Session, *, site_id: int, count: int) -> int:
    """Take *count* consecutive numbers for *site_id*; returns the first of them.

    Must run in the transaction that stores the invoices (it does not commit).
    """
    if count < 1:
        raise ValueError("allocate at least one number")
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(InvoiceCounter)
        .values(site_id=site_id, next_number=1)
        .on_conflict_do_nothing(index_elements=["site_id"])
    )
    after = session.execute(
        update(InvoiceCounter)
        .where(InvoiceCounter.site_id == site_id)  # type: ignore[arg-type]
        .values(next_number=InvoiceCounter.next_number + count)
        .returning(InvoiceCounter.next_number)
    ).scalar_one()
    return int(after) - count


def invoice_label(prefix: str | None, number: int | None) -> str:
    """How an invoice number is printed: ``'BKK-000041'`` (``'DRAFT'`` without a number)."""
    if number is None:
        return "DRAFT"
    return f"{prefix}-{number:06d}" if prefix else f"{number:06d}"
