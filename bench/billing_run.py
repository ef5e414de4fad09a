"""The billing run over the hub's database: 100,000 due subscriptions, simulated gateway.

Sets up one site with mixed plans (monthly THB incl. VAT with a joining fee, every 28
days THB plus VAT, quarterly USD), members with a card each and a saved test card (one in
twenty declines), all due today; then times one real billing run: claim the due
subscriptions, issue one invoice per period (numbered gap-free), record each charge
attempt, charge it through the simulated gateway's ledger, record payments, extend
``paid_through`` and entitlements (the access lists move), open dunning cases for the
declines. Invoice emails are timed separately (they go out after the run).

    .venv/bin/python bench/billing_run.py [--quick] [--subscriptions N] [--batch N]
    GATEHOUSE_BENCH_PG=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/billing_run.py
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bench._hubsetup import bench_database, machine_line  # noqa: E402
from gatehouse.clock import ManualClock  # noqa: E402
from hub.billing.mail import send_invoice_emails  # noqa: E402
from hub.billing.renewals import start_subscription  # noqa: E402
from hub.billing.run import RunReport, run_billing  # noqa: E402
from hub.billing.simulated_gateway import SimulatedGateway  # noqa: E402
from hub.billing.sitetime import site_today  # noqa: E402
from hub.billing.subscription_state import state_columns  # noqa: E402
from hub.core.config import Settings  # noqa: E402
from hub.core.db import make_engine  # noqa: E402
from hub.dunning.mailer import FolderMailer  # noqa: E402
from hub.migrations import upgrade  # noqa: E402
from hub.models import (  # noqa: E402
    Card,
    ChargeAttempt,
    DunningCase,
    GatewayCustomer,
    Invoice,
    Member,
    Payment,
    PaymentMethod,
    Plan,
    Subscription,
)
from hub.models.site import SiteCreate  # noqa: E402
from hub.services.sites import create_site  # noqa: E402

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10:00 in Bangkok
PLANS = [
    {"name": "Gold", "price_minor": 107000, "currency": "THB", "tax_rate_bp": 700,
     "tax_inclusive": True, "setup_fee_minor": 50000, "grace_days": 3},
    {"name": "Flex 28", "price_minor": 99900, "currency": "THB", "tax_rate_bp": 700,
     "interval_unit": "day", "interval_count": 28},
    {"name": "Basic", "price_minor": 4999, "currency": "USD", "interval_unit": "quarter"},
]  # fmt: skip
DECLINES_EVERY = 20


def populate(url: str, settings: Settings, gateway: SimulatedGateway, count: int) -> None:
    """Members, cards, saved methods and due subscriptions, inserted in bulk."""
    engine = make_engine(url)
    clock = ManualClock(NOW)
    with Session(engine, expire_on_commit=False) as s:
        s.info["settings"] = settings
        site = create_site(s, data=SiteCreate(slug="bench", name="Bench", timezone="Asia/Bangkok"),
                           clock=clock)  # fmt: skip
        plans = [Plan(site_id=site.id or 0, created_at=NOW, **terms) for terms in PLANS]
        s.add_all(plans)
        s.commit()
        today = site_today(NOW, site.timezone)
        first = (s.exec(select(func.max(Member.id))).one() or 0) + 1
        step = 10_000
        for start in range(0, count, step):
            ids = range(first + start, first + min(count, start + step))
            s.execute(insert(Member), [
                {"id": i, "first_name": "Member", "last_name": str(i),
                 "email": f"m{i}@bench.example", "status": "active", "created_at": NOW,
                 "updated_at": NOW} for i in ids])  # fmt: skip
            s.execute(insert(Card), [
                {"member_id": i, "uid_hex": f"04{i:012x}", "active": True, "created_at": NOW}
                for i in ids])  # fmt: skip
            s.execute(insert(GatewayCustomer), [
                {"member_id": i, "gateway": "simulated", "customer_ref": f"cus_bench_{i}",
                 "created_at": NOW} for i in ids])  # fmt: skip
            s.execute(insert(PaymentMethod), [
                {"id": i, "member_id": i, "gateway": "simulated", "token": f"pm_bench_{i}",
                 "brand": "visa", "last4": "9995" if i % DECLINES_EVERY == 0 else "4242",
                 "exp_month": 12, "exp_year": 2030, "is_default": True, "created_at": NOW}
                for i in ids])  # fmt: skip
            rows = []
            for i in ids:
                plan = plans[i % len(plans)]
                state = start_subscription(plan.terms(), start_on=today)
                rows.append({"member_id": i, "plan_id": plan.id, "site_id": site.id,
                             "status": "active", "started_on": today, **state_columns(state),
                             "due_on": today, "paid_through_moved": True,
                             "cancel_at_period_end": False, "created_at": NOW,
                             "updated_at": NOW})  # fmt: skip
            s.execute(insert(Subscription), rows)
            s.commit()
            with gateway.ledger.transaction() as db:  # the processor's side of the same cards
                db.executemany(
                    "INSERT INTO customers VALUES (?, ?, ?, ?, ?)",
                    [(f"cus_bench_{i}", f"m{i}@bench.example", f"Member {i}", f"member:{i}",
                      int(NOW.timestamp())) for i in ids])  # fmt: skip
                db.executemany(
                    "INSERT INTO methods (token, customer, brand, last4, exp_month, exp_year)"
                    " VALUES (?, ?, 'visa', ?, 12, 2030)",
                    [(f"pm_bench_{i}", f"cus_bench_{i}",
                      "9995" if i % DECLINES_EVERY == 0 else "4242") for i in ids])  # fmt: skip
    engine.dispose()


def _worker(settings: Settings, batch: int, out: Any) -> None:
    engine = make_engine(settings.database_url)
    gateway = SimulatedGateway(settings.simulated_gateway_path, clock=ManualClock(NOW))
    report = run_billing(engine=engine, settings=settings, clock=ManualClock(NOW),
                         gateway=gateway, batch_size=batch)  # fmt: skip
    out.put(report)


def run_in_processes(settings: Settings, workers: int, batch: int) -> RunReport:
    """The same run in *workers* processes at once (PostgreSQL shares the work out with
    ``FOR UPDATE SKIP LOCKED``); their reports added up."""
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    procs = [context.Process(target=_worker, args=(settings, batch, out)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    total = RunReport()
    for _ in procs:
        total.add(out.get())
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit(f"a billing-run process failed ({proc.exitcode})")
    return total


def count(url: str, model: type) -> int:
    engine = make_engine(url)
    with Session(engine) as s:
        n = s.exec(select(func.count()).select_from(model)).one()
    engine.dispose()
    return int(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 subscriptions")
    parser.add_argument("--subscriptions", type=int)
    parser.add_argument("--batch", type=int, default=10000, help="subscriptions per transaction")
    parser.add_argument("--emails", type=int, default=2000, help="invoice emails to time")
    parser.add_argument("--workers", type=int, help="billing-run processes (PostgreSQL: 2)")
    args = parser.parse_args()
    total = args.subscriptions or (10_000 if args.quick else 100_000)
    print(machine_line())
    with bench_database("gh_bench_billing") as (url, backend), tempfile.TemporaryDirectory() as tmp:
        note = "" if backend == "postgresql" else " (set GATEHOUSE_BENCH_PG for PostgreSQL)"
        print(f"database: {backend}{note}")
        print(f"sizes: subscriptions={total} batch={args.batch} plans={len(PLANS)} "
              f"declining=1/{DECLINES_EVERY}")  # fmt: skip
        upgrade(url)
        settings = Settings(database_url=url, mqtt_enabled=False, clock="manual",
                            simulated_gateway_path=str(Path(tmp) / "gateway.sqlite3"))  # fmt: skip
        clock = ManualClock(NOW)
        gateway = SimulatedGateway(settings.simulated_gateway_path, clock=clock)
        started = time.perf_counter()
        populate(url, settings, gateway, total)
        print(f"setup_s: {time.perf_counter() - started:.1f} s")

        workers = args.workers or (2 if backend == "postgresql" else 1)
        print(f"workers: {workers} billing-run processes")
        engine = make_engine(url)
        started, cpu = time.perf_counter(), time.process_time()
        if workers == 1:
            report = run_billing(engine=engine, settings=settings, clock=clock, gateway=gateway,
                                 batch_size=args.batch)  # fmt: skip
        else:
            report = run_in_processes(settings, workers, args.batch)
        elapsed = time.perf_counter() - started
        print(f"total_s: {elapsed:.1f} s")
        print(f"cpu_s: {time.process_time() - cpu:.1f} s (this process; the database server's "
              "work is not included)")  # fmt: skip
        print(f"load_avg: {os.getloadavg()[0]:.1f} (other work on this machine)")
        print(f"invoices_per_s: {report.invoices_issued / elapsed:.0f} invoices/s")
        print(f"charges_per_s: {report.charges_sent / elapsed:.0f} charges/s")
        print(f"invoices: {report.invoices_issued} invoices")
        print(f"paid: {report.paid} invoices")
        print(f"declined: {report.failed} invoices")
        print(f"dunning_cases: {count(url, DunningCase)} cases")
        print(f"ledger_charges: {gateway.charge_count()} charges")
        assert count(url, Invoice) == total and gateway.charge_count() == total
        assert count(url, Payment) == report.paid and count(url, ChargeAttempt) == total

        mailer = FolderMailer(Path(tmp) / "outbox", sender="Bench <billing@bench.example>")
        ids = list(range(1, min(args.emails, total) + 1))
        started = time.perf_counter()
        sent = send_invoice_emails(engine=engine, settings=settings, mailer=mailer, clock=clock,
                                   invoice_ids=ids)  # fmt: skip
        print(f"emails_per_s: {sent / (time.perf_counter() - started):.0f} emails/s "
              f"({sent} invoice emails rendered and written)")  # fmt: skip
        gateway.close()
        engine.dispose()


if __name__ == "__main__":
    main()
