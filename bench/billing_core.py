"""Billing's building blocks without the hub's database: invoice drafts and charges.

Prints how fast renewal drafts are computed (pure functions, VAT per line) and how fast
the simulated gateway records charges in its SQLite ledger (one transaction per charge,
idempotency key looked up and stored). The full billing run over the hub's tables is
measured by ``bench/billing_run.py``.

    .venv/bin/python bench/billing_core.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

from hub.billing.gateway import idempotency_key
from hub.billing.plans import PlanBase
from hub.billing.renewals import bill_due, start_subscription
from hub.billing.simulated_gateway import SimulatedGateway

PLANS = [
    PlanBase(name="Gold", price_minor=107000, currency="THB", tax_rate_bp=700,
             tax_inclusive=True, setup_fee_minor=50000),
    PlanBase(name="Flex 28", price_minor=99900, currency="THB", tax_rate_bp=700,
             interval_unit="day", interval_count=28),
    PlanBase(name="Basic", price_minor=4999, currency="USD", interval_unit="quarter"),
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, under 30 s")
    args = parser.parse_args()
    subscriptions = 5_000 if args.quick else 100_000
    charges = 2_000 if args.quick else 20_000
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"sizes: {subscriptions} subscriptions x 12 months of drafts, {charges} charges")

    started = time.perf_counter()
    drafts = 0
    for n in range(subscriptions):
        state = start_subscription(PLANS[n % len(PLANS)], start_on=date(2026, 1, 1 + n % 28))
        produced, state = bill_due(state, today=date(2026, 12, 31))
        drafts += len(produced)
    elapsed = time.perf_counter() - started
    print(f"drafts: {drafts} invoices")
    print(f"drafts_per_s: {drafts / elapsed:.0f} invoices/s")

    with tempfile.TemporaryDirectory() as folder:
        gateway = SimulatedGateway(Path(folder) / "ledger.sqlite3")
        customer = gateway.create_customer(email="b@example.com", name="B", reference="bench")
        card = gateway.attach_method(customer=customer, source="pm_card_visa")
        started = time.perf_counter()
        for n in range(charges):
            gateway.charge(
                invoice_id=str(n), amount=107000, currency="THB", customer=customer,
                method=card.token, idempotency_key=idempotency_key(n, 1),
            )  # fmt: skip
        elapsed = time.perf_counter() - started
        gateway.close()
    print(f"charges_per_s: {charges / elapsed:.0f} charges/s")


if __name__ == "__main__":
    main()
