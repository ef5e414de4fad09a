"""Invoice lines and other charges (PT sessions, class packs, one-off items)."""

from __future__ import annotations

from datetime import date

import pytest

from hub.billing.invoices import (
    ChargeItem,
    InvoiceDraft,
    InvoiceKind,
    InvoiceLine,
    LineKind,
    charges_invoice,
)
from hub.billing.money import Money, UnknownCurrency


def test_front_desk_sale_on_one_invoice_with_vat_per_line() -> None:
    draft = charges_invoice(
        [
            # 3 PT sessions at 1,200.00 incl. 7 %: 360000 x 7/107 = 23551.40 -> 23551
            ChargeItem("PT session", 120000, "THB", 3, LineKind.PT_SESSION, 700, True),
            # 10-class pack 2,500.00 + 7 % = 175.00 VAT
            ChargeItem("10-class pack", 250000, "THB", 1, LineKind.CLASS_PACK, 700, False),
            # towel 45.50 + 7 % = 3.185 -> 3.19
            ChargeItem("Towel", 4550, "thb", 1, LineKind.ITEM, 700, False),
        ],
        issued_on=date(2026, 5, 4),
        due_days=7,
    )
    assert draft.kind is InvoiceKind.CHARGES and draft.currency == "THB"
    assert [(li.quantity, li.net, li.tax, li.total) for li in draft.lines] == [
        (3, 336449, 23551, 360000),
        (1, 250000, 17500, 267500),
        (1, 4550, 319, 4869),
    ]
    assert (draft.subtotal, draft.tax, draft.total) == (590999, 41370, 632369)
    assert draft.due_on == date(2026, 5, 11)
    assert draft.money() == Money(632369, "THB")
    assert draft.tax_by_rate() == {700: (590999, 41370)}


def test_mixed_currencies_and_bad_items_are_refused() -> None:
    with pytest.raises(ValueError, match="one currency"):
        charges_invoice(
            [ChargeItem("a", 100, "THB"), ChargeItem("b", 100, "USD")], issued_on=date(2026, 1, 1)
        )
    with pytest.raises(ValueError, match="must not be negative"):
        ChargeItem("shake", -100, "THB")
    with pytest.raises(UnknownCurrency):
        ChargeItem("shake", 100, "BAHT")
    with pytest.raises(ValueError, match="not a kind of charge item"):
        ChargeItem("x", 100, "THB", kind=LineKind.PLAN)
    with pytest.raises(ValueError, match="nothing to invoice"):
        charges_invoice([], issued_on=date(2026, 1, 1))


def test_lines_and_drafts_validate() -> None:
    with pytest.raises(ValueError, match="quantity"):
        InvoiceLine.priced("x", unit_amount=100, quantity=0)
    with pytest.raises(ValueError, match="description"):
        InvoiceLine.priced("  ", unit_amount=100)
    line = InvoiceLine.priced("x", unit_amount=100)
    with pytest.raises(ValueError, match="at least one line"):
        InvoiceDraft("THB", (), date(2026, 1, 1), date(2026, 1, 1), InvoiceKind.CHARGES)
    with pytest.raises(ValueError, match="due before"):
        InvoiceDraft("THB", (line,), date(2026, 1, 2), date(2026, 1, 1), InvoiceKind.CHARGES)


def test_a_zero_decimal_currency() -> None:
    draft = charges_invoice(
        [ChargeItem("Drop-in", 3000, "JPY", 2, tax_rate_bp=1000, tax_inclusive=True)],
        issued_on=date(2026, 1, 1),
    )
    # 6000 yen incl. 10 %: 6000 x 10/110 = 545.45 -> 545
    assert (draft.subtotal, draft.tax, draft.total) == (5455, 545, 6000)
