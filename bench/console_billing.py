"""Console billing pages: how long each takes to render for a club with a year of invoices.

``<page>_p50`` / ``<page>_p99`` (ms), rendered in-process (``TestClient``): the dashboard
and its live refresh (with the MRR, failed-payments and recovered tiles), the invoice
list (all, and one member's), an invoice page, the money reports of 12 months and their
revenue CSV.  The club: *members* monthly subscribers, a year of renewal invoices each
(paid by card the day issued, 5 % declined -- half of those recovered some days later,
a quarter written off).

    .venv/bin/python bench/console_billing.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench._hubsetup import bench_database, machine_line  # noqa: E402
from bench.acl_push import add_members, percentile  # noqa: E402
from gatehouse.clock import ManualClock  # noqa: E402
from hub.app import create_app  # noqa: E402
from hub.billing.figures import add_months  # noqa: E402
from hub.console import sessions  # noqa: E402
from hub.core.config import Settings  # noqa: E402
from hub.core.db import make_engine  # noqa: E402
from hub.migrations import upgrade  # noqa: E402
from hub.models import (  # noqa: E402
    DunningCase,
    Invoice,
    Payment,
    Plan,
    Role,
    Subscription,
    User,
)
from hub.models.site import SiteCreate  # noqa: E402
from hub.services.sites import create_site  # noqa: E402

TZ = "Asia/Bangkok"
NOW = datetime(2026, 12, 20, 5, 0, tzinfo=ZoneInfo("UTC"))
PRICE = 107000
BATCH = 5000


def _insert(s: Session, model: type, rows: list[dict]) -> None:
    for i in range(0, len(rows), BATCH):
        s.execute(insert(model), rows[i : i + BATCH])


def seed(engine, settings: Settings, clock: ManualClock, members: int) -> int:  # type: ignore[no-untyped-def]
    """The club described in the module documentation; returns the manager's id."""
    rng = random.Random(3)
    now = clock.now()
    with Session(engine) as s:
        s.info["settings"] = settings
        site = create_site(s, data=SiteCreate(slug="bench", name="Bench", timezone=TZ), clock=clock)
        plan = Plan(site_id=site.id or 0, name="Monthly", price_minor=PRICE, currency="THB",
                    tax_rate_bp=700, tax_inclusive=True, created_at=now)  # fmt: skip
        s.add(plan)
        s.flush()
        add_members(s, site, members, now)
        first_month = add_months(date(2026, 12, 1), -11)
        _insert(s, Subscription, [
            {"id": m, "member_id": m, "plan_id": plan.id, "site_id": site.id,
             "status": "active", "started_on": first_month, "anchor": first_month,
             "created_at": now, "updated_at": now}
            for m in range(1, members + 1)
        ])  # fmt: skip
        invoices, payments, cases = [], [], []
        number = 0
        for month in range(12):
            issued = add_months(first_month, month)
            run = datetime(issued.year, issued.month, 1, 2, 0, tzinfo=ZoneInfo(TZ))
            for m in range(1, members + 1):
                number += 1
                declined = rng.random() < 0.05
                fate = rng.random()
                status = "paid"
                if declined and fate >= 0.5:
                    status = "uncollectible" if fate < 0.75 else "open"
                invoices.append({
                    "id": number, "site_id": site.id, "number": number, "member_id": m,
                    "subscription_id": m, "kind": "invoice", "reason": "renewal",
                    "status": status, "currency": "THB", "subtotal": 100000, "tax": 7000,
                    "total": PRICE, "issued_on": issued, "due_on": issued,
                    "period_start": issued, "period_end": add_months(issued, 1),
                    "renewal_period_start": issued, "created_at": run,
                })  # fmt: skip
                paid_at = run + timedelta(days=rng.randint(2, 12) if declined else 0)
                if status == "paid":
                    payments.append({
                        "invoice_id": number, "member_id": m, "site_id": site.id,
                        "amount": PRICE, "currency": "THB", "method": "card",
                        "method_label": "visa 4242", "gateway": "simulated",
                        "paid_at": paid_at, "recorded_by": "billing",
                    })  # fmt: skip
                if declined:
                    closed = status != "open"
                    cases.append({
                        "member_id": m, "invoice_id": number, "subscription_id": m,
                        "amount_minor": PRICE, "currency": "THB", "failed_at": run,
                        "last_decline": "insufficient_funds", "opened_at": run,
                        "status": "closed" if closed else "open",
                        "closed_at": paid_at if closed else None,
                        "closed_reason": {"paid": "paid", "uncollectible": "uncollectible"}
                        .get(status),
                    })  # fmt: skip
        _insert(s, Invoice, invoices)
        _insert(s, Payment, payments)
        _insert(s, DunningCase, cases)
        user = User(email="manager@bench.example", full_name="Manager", role=Role.MANAGER.value,
                    password_hash="-", created_at=now)  # fmt: skip
        s.add(user)
        s.commit()
        print(f"rows: invoices={len(invoices)} payments={len(payments)} cases={len(cases)}")
        return user.id or 0


def signed_in(app, engine, settings: Settings, clock: ManualClock, user_id: int) -> TestClient:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        user = s.get(User, user_id)
        assert user is not None
        _, token = sessions.start_session(s, user=user, clock=clock, settings=settings)
        s.commit()
    client = TestClient(app)
    client.cookies.set(sessions.SESSION_COOKIE, sessions.sign(token, settings), path="/console")
    return client


def page_times(client: TestClient, pages: dict[str, str], rounds: int) -> None:
    for name, path in pages.items():
        assert client.get(path).status_code == 200, path  # warm up
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            answer = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200
        print(f"{name}_p50: {percentile(times, 50):.1f} ms")
        print(f"{name}_p99: {percentile(times, 99):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small club, under 30 s")
    args = parser.parse_args()
    members, rounds = (1000, 5) if args.quick else (10000, 15)
    print(machine_line())
    with bench_database("console_billing") as (url, backend):
        print(f"sizes: backend={backend} members={members} months=12 rounds={rounds}")
        upgrade(url)
        settings = Settings(database_url=url, mqtt_enabled=False)
        clock = ManualClock(NOW)
        engine = make_engine(url)
        try:
            user = seed(engine, settings, clock, members)
            app = create_app(settings, clock=clock, engine=engine)
            client = signed_in(app, engine, settings, clock, user)
            page_times(
                client,
                {
                    "dashboard": "/console/dashboard",
                    "dashboard_live": "/console/dashboard/live.json",
                    "invoice_list": "/console/invoices",
                    "invoice_list_member": "/console/invoices?member=7",
                    "invoice_page": "/console/invoices/7",
                    "money_report": "/console/reports/billing?months=12",
                    "revenue_csv": "/console/reports/revenue-by-month.csv?months=12",
                },
                rounds,
            )
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
