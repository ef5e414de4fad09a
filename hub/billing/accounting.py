"""Accounting export: invoices, invoice lines and payments as CSV, with reconciliation.

Pure functions over plain records, so the same export serves the console's download,
the command line and the tests. Amounts are written in major units with the currency's
own decimals (``1070.00`` THB, ``1000`` JPY), never as floats::

    invoices = [InvoiceRecord.from_draft(draft, number="BKK-000123",
                                         customer_ref="member:42",
                                         customer_name="Somchai", status="paid")]
    payments = [PaymentRecord(payment_id="pi_...", invoice_number="BKK-000123",
                              paid_on=date(2026, 1, 31), customer_ref="member:42",
                              currency="THB", amount=107000, method="visa 4242",
                              gateway="stripe")]
    text = invoices_csv(invoices)          # one row per invoice
    text = invoice_lines_csv(invoices)     # one row per line, with its VAT
    text = payments_csv(payments)          # payments, and refunds as negative amounts
    reconcile(invoices, payments)          # totals per currency, and what does not add up

Void invoices are listed (with their status) but count toward no total. Money given
back is a credit note (an invoice with a negative total, see
:attr:`~hub.billing.invoices.InvoiceDraft.is_credit_note`) paid by a refund, a payment
record with a negative amount against the credit note's number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from hub.billing.invoices import InvoiceDraft, InvoiceLine
from hub.billing.money import format_minor, normalize_currency
from hub.billing.periods import Period
from hub.billing.tax import format_rate

#: Invoice statuses, as the hub stores them.
INVOICE_STATUSES = ("draft", "open", "paid", "void", "uncollectible")


@dataclass(frozen=True, slots=True)
class InvoiceRecord:
    """An issued invoice as the books see it.

    :param number: the invoice number (gap-free per site).
    :param status: one of :data:`INVOICE_STATUSES`.
    :param lines: its :class:`~hub.billing.invoices.InvoiceLine` objects.
    """

    number: str
    issued_on: date
    due_on: date
    customer_ref: str
    customer_name: str
    currency: str
    status: str
    lines: tuple[InvoiceLine, ...]
    subtotal: int = field(init=False)
    tax: int = field(init=False)
    total: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", normalize_currency(self.currency))
        object.__setattr__(self, "lines", tuple(self.lines))
        if self.status not in INVOICE_STATUSES:
            raise ValueError(f"unknown invoice status {self.status!r}")
        object.__setattr__(self, "subtotal", sum(line.net for line in self.lines))
        object.__setattr__(self, "tax", sum(line.tax for line in self.lines))
        object.__setattr__(self, "total", sum(line.total for line in self.lines))

    @classmethod
    def from_draft(
        cls,
        draft: InvoiceDraft,
        *,
        number: str,
        customer_ref: str,
        customer_name: str,
        status: str = "open",
    ) -> InvoiceRecord:
        """The record of an issued :class:`~hub.billing.invoices.InvoiceDraft`."""
        return cls(
            number=number,
            issued_on=draft.issued_on,
            due_on=draft.due_on,
            customer_ref=customer_ref,
            customer_name=customer_name,
            currency=draft.currency,
            status=status,
            lines=draft.lines,
        )

    @property
    def counts(self) -> bool:
        """Whether it counts toward totals (everything but drafts and void invoices)."""
        return self.status not in ("draft", "void")


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """Money received for an invoice (or given back: a refund has a negative amount).

    :param payment_id: the gateway's id (PaymentIntent, refund id, or a cash receipt).
    :param method: what paid it, for people (``visa 4242``, ``cash``).
    """

    payment_id: str
    invoice_number: str
    paid_on: date
    customer_ref: str
    currency: str
    amount: int
    method: str
    gateway: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", normalize_currency(self.currency))
        if self.amount == 0:
            raise ValueError("a payment of nothing is not a payment")

    @property
    def kind(self) -> str:
        """``payment`` or ``refund``."""
        return "payment" if self.amount > 0 else "refund"


def _money(amount: int, currency: str) -> str:
    return format_minor(amount, currency)


def _write(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


INVOICE_COLUMNS = (
    "invoice_number", "issued_on", "due_on", "customer_ref", "customer_name", "status",
    "currency", "subtotal", "tax", "total",
)  # fmt: skip

LINE_COLUMNS = (
    "invoice_number", "issued_on", "customer_ref", "status", "currency", "line",
    "description", "kind", "quantity", "unit_amount", "tax_rate", "tax_inclusive", "net",
    "tax", "total",
)  # fmt: skip

PAYMENT_COLUMNS = (
    "payment_id", "kind", "paid_on", "invoice_number", "customer_ref", "currency", "amount",
    "method", "gateway",
)  # fmt: skip


def invoices_csv(invoices: Iterable[InvoiceRecord]) -> str:
    """One CSV row per invoice: number, dates, customer, status, subtotal, tax, total."""
    return _write(
        INVOICE_COLUMNS,
        (
            (
                inv.number,
                inv.issued_on.isoformat(),
                inv.due_on.isoformat(),
                inv.customer_ref,
                inv.customer_name,
                inv.status,
                inv.currency,
                _money(inv.subtotal, inv.currency),
                _money(inv.tax, inv.currency),
                _money(inv.total, inv.currency),
            )  # fmt: skip
            for inv in invoices
        ),
    )


def invoice_lines_csv(invoices: Iterable[InvoiceRecord]) -> str:
    """One CSV row per invoice line, with its VAT rate and amounts."""
    return _write(
        LINE_COLUMNS,
        (
            (
                inv.number,
                inv.issued_on.isoformat(),
                inv.customer_ref,
                inv.status,
                inv.currency,
                position,
                line.description,
                line.kind.value,
                line.quantity,
                _money(line.unit_amount, inv.currency),
                format_rate(line.tax_rate_bp),
                "yes" if line.tax_inclusive else "no",
                _money(line.net, inv.currency),
                _money(line.tax, inv.currency),
                _money(line.total, inv.currency),
            )  # fmt: skip
            for inv in invoices
            for position, line in enumerate(inv.lines, start=1)
        ),
    )


def payments_csv(payments: Iterable[PaymentRecord]) -> str:
    """One CSV row per payment or refund (refunds negative)."""
    return _write(
        PAYMENT_COLUMNS,
        (
            (
                p.payment_id,
                p.kind,
                p.paid_on.isoformat(),
                p.invoice_number,
                p.customer_ref,
                p.currency,
                _money(p.amount, p.currency),
                p.method,
                p.gateway,
            )  # fmt: skip
            for p in payments
        ),
    )


def invoices_in(invoices: Iterable[InvoiceRecord], period: Period) -> list[InvoiceRecord]:
    """The invoices issued within *period*."""
    return [inv for inv in invoices if inv.issued_on in period]


def payments_in(payments: Iterable[PaymentRecord], period: Period) -> list[PaymentRecord]:
    """The payments and refunds made within *period*."""
    return [p for p in payments if p.paid_on in period]


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    """Totals in one currency, minor units."""

    invoiced: int = 0  # sum of invoice totals (void and draft excluded)
    tax: int = 0  # VAT in those invoices
    collected: int = 0  # payments minus refunds

    @property
    def outstanding(self) -> int:
        """Invoiced but not (yet) collected."""
        return self.invoiced - self.collected


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """The export's totals and every invoice whose payments do not match it."""

    totals: dict[str, CurrencyTotals]
    mismatches: list[str]

    @property
    def balanced(self) -> bool:
        """True when every paid invoice was paid exactly and no payment is orphaned."""
        return not self.mismatches


def reconcile(
    invoices: Iterable[InvoiceRecord], payments: Iterable[PaymentRecord]
) -> Reconciliation:
    """Totals per currency, and the invoices whose payments disagree with their status.

    A ``paid`` invoice must have received exactly its total; an ``open`` or
    ``uncollectible`` one at most its total; a ``void`` one nothing (net of refunds);
    a payment must name a known invoice in the same currency.
    """
    invoices = list(invoices)
    by_number = {inv.number: inv for inv in invoices}
    received: dict[str, int] = {}
    mismatches: list[str] = []
    totals: dict[str, list[int]] = {}
    for inv in invoices:
        if inv.counts:
            t = totals.setdefault(inv.currency, [0, 0, 0])
            t[0] += inv.total
            t[1] += inv.tax
    for p in payments:
        paid_for = by_number.get(p.invoice_number)
        if paid_for is None:
            mismatches.append(f"{p.payment_id}: no invoice {p.invoice_number} in this export")
            continue
        if paid_for.currency != p.currency:
            mismatches.append(
                f"{p.payment_id}: {p.currency} paid for a {paid_for.currency} invoice"
            )
            continue
        received[paid_for.number] = received.get(paid_for.number, 0) + p.amount
        totals.setdefault(p.currency, [0, 0, 0])[2] += p.amount
    for inv in invoices:
        got = received.get(inv.number, 0)
        if inv.status == "paid" and got != inv.total:
            mismatches.append(f"{inv.number}: paid, but received {got} of {inv.total}")
        elif inv.status in ("open", "uncollectible") and got > inv.total:
            mismatches.append(f"{inv.number}: received {got}, more than its {inv.total}")
        elif inv.status in ("void", "draft") and got != 0:
            mismatches.append(f"{inv.number}: {inv.status}, yet {got} was received")
    return Reconciliation(
        totals={c: CurrencyTotals(*t) for c, t in sorted(totals.items())},
        mismatches=mismatches,
    )
