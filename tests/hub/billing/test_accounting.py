"""Accounting export: CSV rows that add up, and reconciliation with the payments."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date
from decimal import Decimal

import pytest

from hub.billing.accounting import (
    InvoiceRecord,
    PaymentRecord,
    invoice_lines_csv,
    invoices_csv,
    invoices_in,
    payments_csv,
    payments_in,
    reconcile,
)
from hub.billing.invoices import ChargeItem, LineKind, charges_invoice
from hub.billing.periods import Period
from hub.billing.plans import PlanBase
from hub.billing.renewals import bill_due, change_plan, start_subscription

GOLD = PlanBase(
    name="Gold",
    price_minor=107000,
    currency="THB",
    tax_rate_bp=700,
    tax_inclusive=True,
    setup_fee_minor=50000,
)
SILVER = PlanBase(
    name="Silver", price_minor=64200, currency="THB", tax_rate_bp=700, tax_inclusive=True
)
BASIC = PlanBase(name="Basic", price_minor=4999, currency="USD")


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def books() -> tuple[list[InvoiceRecord], list[PaymentRecord]]:
    """Three months of a small club: renewals, a downgrade credit note, a PT sale."""
    drafts = []
    gold, _ = bill_due(start_subscription(GOLD, start_on=date(2026, 1, 1)), today=date(2026, 3, 1))
    drafts += [("member:1", "Somchai", d) for d in gold]
    basic, _ = bill_due(
        start_subscription(BASIC, start_on=date(2026, 1, 15)), today=date(2026, 3, 1)
    )
    drafts += [("member:2", "Ann", d) for d in basic]
    state = start_subscription(
        GOLD.model_copy(update={"setup_fee_minor": 0}), start_on=date(2026, 2, 1)
    )
    first, state = bill_due(state, today=date(2026, 2, 1))
    _, downgrade = change_plan(
        state, SILVER, effective_on=date(2026, 2, 15), today=date(2026, 2, 15)
    )
    assert downgrade is not None and downgrade.is_credit_note
    drafts += [("member:3", "Niran", first[0]), ("member:3", "Niran", downgrade)]
    sale = charges_invoice(
        [ChargeItem("PT session", 120000, "THB", 2, LineKind.PT_SESSION, 700, True)],
        issued_on=date(2026, 2, 20),
    )
    drafts.append(("member:1", "Somchai", sale))
    invoices = []
    payments = []
    for n, (ref, name, draft) in enumerate(drafts, start=1):
        number = f"BKK-{n:06d}"
        status = "open" if n == len(drafts) else "paid"  # the PT sale is still open
        invoices.append(
            InvoiceRecord.from_draft(
                draft, number=number, customer_ref=ref, customer_name=name, status=status
            )
        )
        if status == "paid":
            payments.append(
                PaymentRecord(
                    payment_id=f"pi_{n}",
                    invoice_number=number,
                    paid_on=draft.issued_on,
                    customer_ref=ref,
                    currency=draft.currency,
                    amount=draft.total,
                    method="visa 4242",
                    gateway="simulated",
                )
            )
    invoices.append(
        InvoiceRecord.from_draft(
            sale,
            number="BKK-000099",
            customer_ref="member:1",
            customer_name="Somchai",
            status="void",
        )
    )
    return invoices, payments


def test_every_line_row_adds_up_to_its_invoice_and_to_the_totals(books) -> None:
    invoices, _ = books
    invoice_rows = rows(invoices_csv(invoices))
    line_rows = rows(invoice_lines_csv(invoices))
    assert len(invoice_rows) == len(invoices) == 9
    assert len(line_rows) == sum(len(i.lines) for i in invoices)
    for inv_row in invoice_rows:
        mine = [r for r in line_rows if r["invoice_number"] == inv_row["invoice_number"]]
        for column in ("net", "tax", "total"):
            key = "subtotal" if column == "net" else column
            assert sum(Decimal(r[column]) for r in mine) == Decimal(inv_row[key])
        assert Decimal(inv_row["subtotal"]) + Decimal(inv_row["tax"]) == Decimal(inv_row["total"])
    first = line_rows[0]
    assert first == {
        "invoice_number": "BKK-000001",
        "issued_on": "2026-01-01",
        "customer_ref": "member:1",
        "status": "paid",
        "currency": "THB",
        "line": "1",
        "description": "Gold, 2026-01-01 to 2026-01-31",
        "kind": "plan",
        "quantity": "1",
        "unit_amount": "1070.00",
        "tax_rate": "7%",
        "tax_inclusive": "yes",
        "net": "1000.00",
        "tax": "70.00",
        "total": "1070.00",
    }


def test_payments_reconcile_with_the_invoices(books) -> None:
    invoices, payments = books
    result = reconcile(invoices, payments)
    assert result.balanced, result.mismatches
    thb, usd = result.totals["THB"], result.totals["USD"]
    # Gold: 157000 + 107000 + 107000; Niran: 107000 then the credit note; PT: 240000 open.
    # Credit note: 14 of 28 days of February: -(107000 - 64200) / 2 = -21400.
    assert thb.invoiced == 157000 + 107000 + 107000 + 107000 - 21400 + 240000
    assert thb.collected == thb.invoiced - 240000
    assert thb.outstanding == 240000
    assert (usd.invoiced, usd.collected, usd.tax) == (2 * 4999, 2 * 4999, 0)
    paid_rows = rows(payments_csv(payments))
    assert {r["kind"] for r in paid_rows} == {"payment", "refund"}
    for currency, totals in result.totals.items():
        exported = sum(Decimal(r["amount"]) for r in paid_rows if r["currency"] == currency)
        assert exported * 100 == totals.collected  # THB and USD both have 2 decimals


def test_mismatches_are_reported(books) -> None:
    invoices, payments = books
    short = [*payments[:-1], dataclasses.replace(payments[-1], amount=1)]
    orphan = PaymentRecord(
        payment_id="pi_x",
        invoice_number="NOPE-1",
        paid_on=date(2026, 2, 1),
        customer_ref="member:9",
        currency="THB",
        amount=100,
        method="cash",
        gateway="desk",
    )
    on_void = PaymentRecord(
        payment_id="pi_v",
        invoice_number="BKK-000099",
        paid_on=date(2026, 2, 21),
        customer_ref="member:1",
        currency="THB",
        amount=100,
        method="cash",
        gateway="desk",
    )
    result = reconcile(invoices, [*short, orphan, on_void])
    assert not result.balanced
    assert len(result.mismatches) == 3
    assert any("no invoice NOPE-1" in m for m in result.mismatches)
    assert any("BKK-000099: void" in m for m in result.mismatches)


def test_period_selection(books) -> None:
    invoices, payments = books
    february = Period(date(2026, 2, 1), date(2026, 3, 1))
    assert {i.issued_on.month for i in invoices_in(invoices, february)} == {2}
    assert all(p.paid_on in february for p in payments_in(payments, february))
    assert len(invoices_in(invoices, february)) == 6


def test_zero_decimal_amounts_and_bad_records() -> None:
    sale = charges_invoice([ChargeItem("Drop-in", 3000, "JPY")], issued_on=date(2026, 1, 1))
    record = InvoiceRecord.from_draft(sale, number="TYO-1", customer_ref="m", customer_name="M")
    assert rows(invoices_csv([record]))[0]["total"] == "3000"
    with pytest.raises(ValueError, match="unknown invoice status"):
        InvoiceRecord.from_draft(sale, number="x", customer_ref="m", customer_name="M", status="x")
    with pytest.raises(ValueError, match="nothing"):
        PaymentRecord("p", "x", date(2026, 1, 1), "m", "JPY", 0, "cash", "desk")
