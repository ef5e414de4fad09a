"""The figures behind the console's money tiles and reports, on SQLite and PostgreSQL:
recurring revenue brought to a month, failed payments open and recovered, revenue per
site-local month, recovery by month of failure, and days to collect."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from gatehouse.clock import ManualClock
from hub.billing import figures
from hub.billing.desk import pay_at_desk, void_invoice
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.models import Invoice, Payment, Subscription
from tests.hub.billing.world import World

DECLINED = "4000000000000002"


def test_months_and_buckets() -> None:
    assert figures.add_months(date(2026, 12, 15), 1) == date(2027, 1, 1)
    assert figures.add_months(date(2026, 1, 31), -1) == date(2025, 12, 1)
    assert figures.month_starts(date(2026, 2, 10), 3) == [
        date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1),
    ]  # fmt: skip
    assert [figures.bucket_of(d) for d in (0, 1, 3, 4, 8, 15, 30, 31, 400)] == [
        "0", "1-3", "1-3", "4-7", "8-14", "15-30", "15-30", "31+", "31+",
    ]  # fmt: skip
    midnight = figures.local_midnight(date(2026, 12, 1), "Asia/Bangkok")
    assert midnight == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


def test_money_figures_on_each_backend(any_db_url: str, tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    settings = Settings(database_url=any_db_url, mqtt_enabled=False)
    engine = make_engine(any_db_url)
    world = World(engine, settings, clock, tmp_path)
    try:
        site = world.site()
        monthly = world.plan(site)  # THB 1,070.00 a month
        quarterly = world.plan(site, name="Quarter", price_minor=300000, interval_unit="quarter")
        four_weeks = world.plan(site, name="4 weeks", price_minor=36500, interval_unit="day",
                                interval_count=28)  # fmt: skip
        payer, decliner, other, frozen = (world.member(), world.member(DECLINED),
                                          world.member(DECLINED), world.member())  # fmt: skip
        world.subscribe(payer, monthly)
        world.subscribe(decliner, monthly)
        world.subscribe(other, quarterly)
        frozen_sub = world.subscribe(frozen, four_weeks)
        world.run()
        with world.session() as s:
            sub = s.get(Subscription, frozen_sub.id)
            assert sub is not None
            sub.status = "frozen"  # not billing: left out of MRR
            s.add(sub)
            s.commit()
            # 1,070 + 1,070 + 3,000/3 (past due counts: it is still billed)
            assert figures.monthly_recurring_revenue(s) == {"THB": 314000}
            assert figures.monthly_recurring_revenue(s, site_id=999) == {}
            sub.status = "active"
            s.add(sub)
            s.commit()
            # + 365.00 x 365 / 12 / 28 = 396.50 (396.503 rounded)
            assert figures.monthly_recurring_revenue(s) == {"THB": 314000 + 39650}
            failed = figures.open_failures(s)
            assert (failed.count, failed.amounts) == (2, {"THB": 107000 + 300000})
            invoices = {i.member_id: i for i in s.exec(select(Invoice))}

        clock.advance(timedelta(days=3))  # 2026-12-04, Bangkok
        with world.session() as s:
            pay_at_desk(s, invoice_id=invoices[decliner.id].id or 0, method="transfer",
                        clock=clock, actor="user:1")  # fmt: skip
            void_invoice(s, invoice_id=invoices[other.id].id or 0, clock=clock)
            s.commit()
        month = figures.local_midnight(date(2026, 12, 1), "Asia/Bangkok")
        end = figures.local_midnight(date(2027, 1, 1), "Asia/Bangkok")
        with world.session() as s:
            assert figures.open_failures(s).count == 0
            recovered = figures.recovered_between(s, month, end)
            assert (recovered.count, recovered.amounts) == (1, {"THB": 107000})
            assert figures.recovered_between(s, end, end + timedelta(days=31)).count == 0

            months = figures.month_starts(date(2026, 12, 1), 2)
            revenue = figures.revenue_by_month(s, months, "Asia/Bangkok")
            nov, dec = revenue["THB"]
            assert (nov.received, nov.invoiced) == (0, 0)
            assert (dec.received, dec.payments, dec.refunded) == (107000 * 2 + 36500, 3, 0)
            assert dec.invoiced == 107000 * 2 + 36500  # the void one is not counted

            nov_r, dec_r = figures.recovery_by_month(s, months, "Asia/Bangkok")
            assert nov_r.failed == 0 and nov_r.rate_percent is None
            assert (dec_r.failed, dec_r.recovered, dec_r.written_off, dec_r.still_open) == (
                2, 1, 1, 0,
            )  # fmt: skip
            assert dec_r.rate_percent == 50 and dec_r.recovered_amount == {"THB": 107000}

            listed = figures.collected_invoices(s, months, "Asia/Bangkok")
            days = sorted((c.days, c.recovered) for c in listed)
            assert days == [(0, False), (0, False), (3, True)]
            assert {c.paid_on for c in listed} == {date(2026, 12, 1), date(2026, 12, 4)}
            collect = figures.time_to_collect(s, months, "Asia/Bangkok")
            assert collect.by_days == {0: 2, 3: 1} and collect.count == 3
            assert collect.buckets["0"] == 2 and collect.buckets["1-3"] == 1
            assert collect.median_days == 0 and collect.average_days == 1.0
            assert collect.same_day_percent == 67
            late = s.exec(select(Payment).where(Payment.method == "transfer")).one()
            assert late.paid_at.astimezone(UTC).date() == date(2026, 12, 4)
    finally:
        world.gateway.close()
        engine.dispose()


def test_months_are_the_sites_own_across_summer_time(db_url: str, tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    settings = Settings(database_url=db_url, mqtt_enabled=False)
    engine = make_engine(db_url)
    world = World(engine, settings, clock, tmp_path)
    try:
        site = world.site("london", timezone="Europe/London")
        world.subscribe(world.member(), world.plan(site))
        world.run()
        with world.session() as s:
            invoice = s.exec(select(Invoice)).one()
            for at in (
                datetime(2026, 6, 30, 23, 30, tzinfo=UTC),  # 00:30 BST on 1 July
                datetime(2026, 10, 31, 23, 30, tzinfo=UTC),  # 23:30 GMT on 31 October
                datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # 00:30 GMT, the day BST starts
            ):
                s.add(Payment(invoice_id=invoice.id or 0, member_id=invoice.member_id,
                              site_id=site.id or 0, amount=100, currency="THB", method="cash",
                              method_label="cash", gateway="front_desk", paid_at=at,
                              recorded_by="test"))  # fmt: skip
            s.commit()
            months = figures.month_starts(date(2026, 12, 1), 12)
            got = {r.month.month: r.received for r in figures.revenue_by_month(
                s, months, "Europe/London")["THB"] if r.received}  # fmt: skip
            assert got == {3: 100, 7: 100, 10: 100, 12: 107000}
    finally:
        world.gateway.close()
        engine.dispose()
