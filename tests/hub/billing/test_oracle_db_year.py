"""A year on the test clock, through the database: the invoices match the oracle.

Members on the mixed plans of ``test_oracle_year`` (whose expected invoices were worked
out by hand: counts, amounts, VAT rounded per line) subscribe on 1 January; the hub's
manual clock then advances day by day to 31 December, running the billing run and the
access refresh at every step. Every member's invoices must be exactly the hand-computed
ones, all paid, and the books must add up.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from gatehouse.clock import ManualClock
from hub.billing.sitetime import local_midnight
from hub.billing.subscriptions import freeze_subscription
from hub.clock.advance import Span, advance_clock
from hub.clock.hooks import DueContext, due_hooks, run_due_work
from hub.core.config import Settings
from hub.models import Entitlement, Invoice, InvoiceLineRow, Payment, Plan, Subscription
from tests.hub.billing import test_oracle_year as oracle
from tests.hub.billing.world import World

SCENARIOS = {
    "gold from Jan 31 (month-end anchor)": (oracle.GOLD, date(2026, 1, 31)),
    "gold from Jan 1, frozen Jul-Aug": (oracle.GOLD, date(2026, 1, 1)),
    "flex 28 days from Jan 1": (oracle.FLEX_28, date(2026, 1, 1)),
    "student from Jun 15": (oracle.STUDENT, date(2026, 6, 15)),
    "off-peak bimonthly from Aug 31": (oracle.OFF_PEAK, date(2026, 8, 31)),
    "basic quarterly from Feb 15": (oracle.BASIC, date(2026, 2, 15)),
    "annual with a 14-day trial from Mar 1": (oracle.ANNUAL, date(2026, 3, 1)),
}
START = datetime(2025, 12, 31, 17, 30, tzinfo=UTC)  # 1 January 2026, 00:30 in Bangkok


def _year(world: World, members: int) -> None:
    site = world.site()
    from hub.models import Schedule

    with world.session() as s:  # the off-peak plan's schedule 2: weekdays 06:00-16:00
        s.add(
            Schedule(
                site_id=site.id or 0, number=2, name="Off-peak", windows=[[0b0011111, 360, 960]]
            )
        )
        s.commit()
    plans: dict[str, Plan] = {}
    for name, (terms, _) in SCENARIOS.items():
        plans[name] = world.plan(site, **terms.model_dump(exclude={"site_id"}))
    who: dict[int, str] = {}
    names = list(SCENARIOS)
    for n in range(members):
        scenario = names[n % len(names)]
        member = world.member()
        sub = world.subscribe(member, plans[scenario], start_on=SCENARIOS[scenario][1])
        who[member.id or 0] = scenario
        if scenario.endswith("frozen Jul-Aug"):
            with world.session() as s:
                row = s.get(Subscription, sub.id)
                freeze_subscription(
                    s,
                    sub=row,
                    from_on=date(2026, 7, 1),
                    resume_on=date(2026, 9, 1),
                    clock=world.clock,
                )
                s.commit()
    hooks = [h for h in due_hooks() if h.name in ("billing", "entitlements")]
    ctx = DueContext(
        engine=world.engine, settings=world.settings, clock=world.clock, services=_Services(world)
    )
    run_due_work(ctx, hooks)  # 1 January itself
    steps = advance_clock(
        engine=world.engine,
        settings=world.settings,
        clock=world.clock,
        by=Span(timedelta(days=364)),
        hooks=hooks,
        services=ctx.services,
    )
    assert len(steps) == 364 and world.today(site) == date(2026, 12, 31)
    _check(world, who, site.timezone)


class _Services:
    def __init__(self, world: World) -> None:
        self.gateway = world.gateway
        self.mailer = None


def _check(world: World, who: dict[int, str], timezone: str) -> None:
    with world.session() as s:
        invoices = s.exec(select(Invoice).order_by(Invoice.issued_on, Invoice.id)).all()
        lines = defaultdict(list)
        for line in s.exec(select(InvoiceLineRow).order_by(InvoiceLineRow.position)):
            lines[line.invoice_id].append((line.unit_amount, line.tax, line.total))
        payments = s.exec(select(Payment)).all()
        ents = {e.member_id: e for e in s.exec(select(Entitlement))}
        subs = {sub.member_id: sub for sub in s.exec(select(Subscription))}
    actual: dict[int, list] = defaultdict(list)
    for inv in invoices:
        actual[inv.member_id].append((inv.issued_on, lines[inv.id]))
        assert inv.status == "paid" and inv.subtotal + inv.tax == inv.total
    for member_id, scenario in who.items():
        assert actual[member_id] == oracle.EXPECTED[scenario], scenario
        sub = subs[member_id]
        last_period_end = max(i.period_end for i in invoices if i.member_id == member_id)
        assert sub.paid_through == last_period_end - timedelta(days=1), scenario
        grace = SCENARIOS[scenario][0].grace_days
        assert ents[member_id].valid_until == local_midnight(
            last_period_end + timedelta(days=grace), timezone
        )
    expected_count = sum(len(oracle.EXPECTED[s]) for s in who.values())
    assert len(invoices) == expected_count
    assert sorted(i.number for i in invoices) == list(range(1, expected_count + 1))
    by_currency: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for inv in invoices:
        by_currency[inv.currency][0] += inv.total
        by_currency[inv.currency][1] += inv.tax
    groups = len(who) // len(SCENARIOS)
    assert len(who) % len(SCENARIOS) == 0
    assert by_currency["THB"] == [groups * 4635330, groups * 303250]  # the oracle's year
    assert by_currency["USD"] == [groups * 19996, 0]
    assert by_currency["JPY"] == [groups * 120000, groups * 10909]
    assert sum(p.amount for p in payments) == sum(i.total for i in invoices)
    assert world.gateway.charge_count(succeeded_only=True) == expected_count


@pytest.fixture
def year_world(engine, settings, tmp_path):  # type: ignore[no-untyped-def]
    clock = ManualClock(START)
    manual = Settings(**{**settings.model_dump(), "clock": "manual"})
    world = World(engine, manual, clock, tmp_path)
    yield world
    world.gateway.close()


def test_a_year_for_98_members_on_mixed_plans_matches_the_oracle(year_world: World) -> None:
    _year(year_world, 98)


@pytest.mark.slow
def test_a_year_for_1001_members_on_mixed_plans_matches_the_oracle(year_world: World) -> None:
    _year(year_world, 1001)
