"""The accounting export from the database: invoices, lines and payments as CSV.

Reads what was issued and paid between two days (the sites' local days, both included)
and writes the three files of :mod:`hub.billing.accounting` into a folder, with the
reconciliation of the two::

    summary = export_accounting(session, start=date(2026, 1, 1), end=date(2026, 1, 31),
                                out=Path("exports/2026-01"))
    summary.paths            # invoices.csv, invoice_lines.csv, payments.csv
    summary.reconciliation.totals["THB"].collected

Payments are card charges, cash and transfers; refunds are negative payments against
their credit notes. Numbers are printed as the invoices show them (``CLUB1-000041``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from hub.billing.accounting import (
    InvoiceRecord,
    PaymentRecord,
    Reconciliation,
    invoice_lines_csv,
    invoices_csv,
    payments_csv,
    reconcile,
)
from hub.billing.invoices import InvoiceLine, LineKind
from hub.billing.numbering import invoice_label
from hub.billing.periods import Period
from hub.billing.sitetime import local_midnight, site_today
from hub.models import BillingProfile, Invoice, InvoiceLineRow, Member, Payment, Refund, Site


@dataclass(frozen=True)
class ExportSummary:
    """What :func:`export_accounting` wrote, and whether it adds up."""

    paths: tuple[Path, ...]
    invoices: int
    payments: int
    reconciliation: Reconciliation


def _charge_id(payment: Payment) -> str | None:
    """The processor's charge id of a card payment (a desk payment's key is internal)."""
    return None if payment.gateway == "front_desk" else payment.gateway_charge_id


def _prefixes(session: Session) -> tuple[dict[int, str], dict[int, str]]:
    sites = session.exec(select(Site.id, Site.slug, Site.timezone)).all()
    profiles = {
        p.site_id: p.invoice_prefix
        for p in session.exec(select(BillingProfile))
        if p.invoice_prefix
    }
    prefix = {i: profiles.get(i or 0) or slug.upper() for i, slug, _ in sites}
    zones = {i: tz for i, _, tz in sites}
    return prefix, zones  # type: ignore[return-value]


def accounting_records(
    session: Session, *, start: date, end: date
) -> tuple[list[InvoiceRecord], list[PaymentRecord]]:
    """Invoices issued and payments (and refunds) made from *start* to *end* inclusive."""
    period = Period(start, end + timedelta(days=1))
    prefix, zones = _prefixes(session)
    names = {
        i: f"{f} {last}" for i, f, last in session.exec(
            select(Member.id, Member.first_name, Member.last_name)
        )
    }  # fmt: skip
    invoices = list(
        session.exec(
            select(Invoice)
            .where(Invoice.issued_on >= period.start, Invoice.issued_on < period.end)
            .order_by(col(Invoice.site_id), col(Invoice.number))
        )
    )
    lines: dict[int, list[InvoiceLine]] = defaultdict(list)
    rows = session.exec(
        select(InvoiceLineRow)
        .join(Invoice, col(Invoice.id) == col(InvoiceLineRow.invoice_id))
        .where(Invoice.issued_on >= period.start, Invoice.issued_on < period.end)
        .order_by(col(InvoiceLineRow.invoice_id), col(InvoiceLineRow.position))
    )
    for r in rows:
        lines[r.invoice_id].append(
            InvoiceLine(
                description=r.description, quantity=r.quantity, unit_amount=r.unit_amount,
                tax_rate_bp=r.tax_rate_bp, tax_inclusive=r.tax_inclusive, kind=LineKind(r.kind),
                net=r.net, tax=r.tax, total=r.total,
            )
        )  # fmt: skip
    records = [
        InvoiceRecord(
            number=invoice_label(prefix[inv.site_id], inv.number),
            issued_on=inv.issued_on,
            due_on=inv.due_on,
            customer_ref=f"member:{inv.member_id}",
            customer_name=names.get(inv.member_id, ""),
            currency=inv.currency,
            status=inv.status,
            lines=tuple(lines[inv.id or 0]),
        )
        for inv in invoices
    ]
    labels = dict(
        ((i, invoice_label(prefix[s], n)) for i, s, n in session.exec(
            select(Invoice.id, Invoice.site_id, Invoice.number)
        ))
    )  # fmt: skip
    earliest = min(local_midnight(period.start, tz) for tz in zones.values()) if zones else None
    latest = max(local_midnight(period.end, tz) for tz in zones.values()) if zones else None
    payments: list[PaymentRecord] = []
    if earliest is not None and latest is not None:
        for p in session.exec(
            select(Payment)
            .where(Payment.paid_at >= earliest, Payment.paid_at < latest)
            .order_by(col(Payment.id))
        ):
            day = site_today(p.paid_at, zones[p.site_id])
            if day in period:
                payments.append(
                    PaymentRecord(
                        payment_id=_charge_id(p) or f"{p.method}:{p.id}",
                        invoice_number=labels[p.invoice_id],
                        paid_on=day, customer_ref=f"member:{p.member_id}",
                        currency=p.currency, amount=p.amount, method=p.method_label,
                        gateway=p.gateway,
                    )
                )  # fmt: skip
        for r in session.exec(
            select(Refund)
            .where(Refund.created_at >= earliest, Refund.created_at < latest)
            .order_by(col(Refund.id))
        ):
            day = site_today(r.created_at, zones[r.site_id])
            if day in period:
                payments.append(
                    PaymentRecord(
                        payment_id=r.gateway_refund_id or f"refund:{r.id}",
                        invoice_number=labels[r.credit_note_id],
                        paid_on=day, customer_ref=f"member:{r.member_id}",
                        currency=r.currency, amount=-r.amount, method=r.method_label,
                        gateway=r.gateway,
                    )
                )  # fmt: skip
    return records, payments


def export_accounting(session: Session, *, start: date, end: date, out: Path) -> ExportSummary:
    """Write ``invoices.csv``, ``invoice_lines.csv`` and ``payments.csv`` into *out*."""
    if end < start:
        raise ValueError(f"the export ends ({end}) before it starts ({start})")
    invoices, payments = accounting_records(session, start=start, end=end)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "invoices.csv": invoices_csv(invoices),
        "invoice_lines.csv": invoice_lines_csv(invoices),
        "payments.csv": payments_csv(payments),
    }
    paths = []
    for name, text in files.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return ExportSummary(tuple(paths), len(invoices), len(payments), reconcile(invoices, payments))
