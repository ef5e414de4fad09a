"""Invoice drafts: itemized lines with VAT per line, and their totals.

Every invoice, whether a membership renewal, a plan change or a sale at the front desk,
is built from :class:`InvoiceLine` objects, each taxed on its own (see
:mod:`hub.billing.tax` for the rounding rule)::

    line = InvoiceLine.priced(
        "Gold monthly, 2026-01-01 to 2026-01-31",
        unit_amount=107000, quantity=1, tax_rate_bp=700, tax_inclusive=True,
    )
    line.net, line.tax, line.total        # (100000, 7000, 107000)
    draft = InvoiceDraft(currency="THB", lines=(line,), issued_on=date(2026, 1, 1),
                         due_on=date(2026, 1, 1), kind=InvoiceKind.RENEWAL)
    draft.subtotal, draft.tax, draft.total   # (100000, 7000, 107000)

A draft is pure data: the hub stores it as an invoice row (with a gap-free number per
site) plus one row per line, with exactly these fields. A draft whose total is negative
(a downgrade's credit is larger than its charge) is a credit note.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from hub.billing.money import Money, normalize_currency
from hub.billing.periods import Period
from hub.billing.tax import check_tax_rate, split_tax


class LineKind(StrEnum):
    """What a line charges for."""

    PLAN = "plan"  # a membership period
    SETUP_FEE = "setup_fee"  # the joining fee on the first invoice
    PRORATION_CREDIT = "proration_credit"  # unused time on the old plan (negative)
    PRORATION_CHARGE = "proration_charge"  # the new plan for the rest of the period
    PT_SESSION = "pt_session"  # personal training
    CLASS_PACK = "class_pack"  # a pack of class visits
    ITEM = "item"  # anything else sold once (towel, shake, locker)


class InvoiceKind(StrEnum):
    """Why an invoice exists; a renewal is unique per (subscription, period start)."""

    RENEWAL = "renewal"  # a membership period (the first one carries the setup fee)
    PLAN_CHANGE = "plan_change"  # proration lines of a mid-period plan change
    CHARGES = "charges"  # PT sessions, class packs, one-off items


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One itemized line; *net*, *tax* and *total* are derived, in minor units.

    :param description: what the member sees.
    :param quantity: whole units (sessions, items; 1 for a membership period).
    :param unit_amount: price per unit as listed (gross if *tax_inclusive*); negative
        for a credit.
    :param tax_rate_bp: VAT in basis points (700 = 7 %).
    :param tax_inclusive: whether *unit_amount* already includes the VAT.
    :param kind: a :class:`LineKind`.
    :param period: the days a membership line covers, if any.
    """

    description: str
    quantity: int
    unit_amount: int
    tax_rate_bp: int
    tax_inclusive: bool
    kind: LineKind
    net: int
    tax: int
    total: int
    period: Period | None = None

    @classmethod
    def priced(
        cls,
        description: str,
        *,
        unit_amount: int,
        quantity: int = 1,
        tax_rate_bp: int = 0,
        tax_inclusive: bool = False,
        kind: LineKind = LineKind.ITEM,
        period: Period | None = None,
    ) -> InvoiceLine:
        """A line with its VAT computed on ``quantity x unit_amount``."""
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValueError(f"a line's quantity is a whole number of at least 1, not {quantity}")
        if isinstance(unit_amount, bool) or not isinstance(unit_amount, int):
            raise ValueError(f"unit_amount is whole minor units, not {unit_amount!r}")
        if not description.strip():
            raise ValueError("a line needs a description")
        check_tax_rate(tax_rate_bp)
        split = split_tax(unit_amount * quantity, tax_rate_bp, inclusive=tax_inclusive)
        return cls(
            description=description.strip(),
            quantity=quantity,
            unit_amount=unit_amount,
            tax_rate_bp=tax_rate_bp,
            tax_inclusive=tax_inclusive,
            kind=LineKind(kind),
            net=split.net,
            tax=split.tax,
            total=split.gross,
            period=period,
        )


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    """An invoice before it is numbered and stored.

    :param currency: ISO 4217 code shared by every line.
    :param lines: the itemized lines (at least one).
    :param issued_on: the day the invoice is issued.
    :param due_on: the day payment is due (charged automatically from then on).
    :param kind: an :class:`InvoiceKind`.
    :param period: the membership period it bills, if any.
    """

    currency: str
    lines: tuple[InvoiceLine, ...]
    issued_on: date
    due_on: date
    kind: InvoiceKind
    period: Period | None = None
    subtotal: int = field(init=False)
    tax: int = field(init=False)
    total: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", normalize_currency(self.currency))
        object.__setattr__(self, "lines", tuple(self.lines))
        if not self.lines:
            raise ValueError("an invoice needs at least one line")
        if self.due_on < self.issued_on:
            raise ValueError("an invoice cannot fall due before it is issued")
        object.__setattr__(self, "subtotal", sum(line.net for line in self.lines))
        object.__setattr__(self, "tax", sum(line.tax for line in self.lines))
        object.__setattr__(self, "total", sum(line.total for line in self.lines))

    @property
    def is_credit_note(self) -> bool:
        """True if the member is owed money (the total is negative)."""
        return self.total < 0

    def money(self) -> Money:
        """The total as :class:`~hub.billing.money.Money`."""
        return Money(self.total, self.currency)

    def tax_by_rate(self) -> dict[int, tuple[int, int]]:
        """``{rate_bp: (net, tax)}`` summed per VAT rate, for the tax summary box."""
        summary: dict[int, tuple[int, int]] = {}
        for line in self.lines:
            net, tax = summary.get(line.tax_rate_bp, (0, 0))
            summary[line.tax_rate_bp] = (net + line.net, tax + line.tax)
        return summary


@dataclass(frozen=True, slots=True)
class ChargeItem:
    """Something sold outside the membership: a PT session, a class pack, a one-off item.

    :param name: shown on the invoice line.
    :param unit_price: price per unit in minor units (gross if *tax_inclusive*).
    :param currency: ISO 4217 code.
    :param quantity: units sold (default 1).
    :param kind: :attr:`LineKind.PT_SESSION`, :attr:`LineKind.CLASS_PACK` or
        :attr:`LineKind.ITEM`.
    :param tax_rate_bp: VAT in basis points.
    :param tax_inclusive: whether *unit_price* includes the VAT.
    """

    name: str
    unit_price: int
    currency: str
    quantity: int = 1
    kind: LineKind = LineKind.ITEM
    tax_rate_bp: int = 0
    tax_inclusive: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", normalize_currency(self.currency))
        if self.unit_price < 0:
            raise ValueError(f"{self.name}: a price must not be negative ({self.unit_price})")
        if LineKind(self.kind) not in (LineKind.PT_SESSION, LineKind.CLASS_PACK, LineKind.ITEM):
            raise ValueError(f"{self.kind} is not a kind of charge item")


def charges_invoice(
    items: Iterable[ChargeItem], *, issued_on: date, due_days: int = 0
) -> InvoiceDraft:
    """One invoice for things sold outside the membership, each on its own line.

    All items must share one currency; ``due_days`` after *issued_on* it falls due.
    """
    items = list(items)
    if not items:
        raise ValueError("nothing to invoice")
    currencies = {item.currency for item in items}
    if len(currencies) > 1:
        raise ValueError(f"one invoice has one currency, not {sorted(currencies)}")
    lines = tuple(
        InvoiceLine.priced(
            item.name,
            unit_amount=item.unit_price,
            quantity=item.quantity,
            tax_rate_bp=item.tax_rate_bp,
            tax_inclusive=item.tax_inclusive,
            kind=item.kind,
        )
        for item in items
    )
    return InvoiceDraft(
        currency=items[0].currency,
        lines=lines,
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=due_days),
        kind=InvoiceKind.CHARGES,
    )
