"""Charged visits become invoice lines after their day, capped, once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from gatehouse.clock import ManualClock
from hub.core.config import Settings
from hub.models import Invoice, InvoiceLineRow
from hub.usage.invoicing import bill_usage
from tests.hub.usage.world import World

# START is 2026-12-01 16:00 in Bangkok; visits at +1 h, +5 h are on Dec 1, +9 h on Dec 2.


def _lines(world: World) -> list[tuple[str, int]]:
    world.session.expire_all()
    rows = world.session.exec(select(InvoiceLineRow).order_by(col(InvoiceLineRow.id))).all()
    return [(r.description, r.total) for r in rows]


def _bill(world: World, engine: Engine, settings: Settings, clock: ManualClock) -> list[int]:
    return bill_usage(engine=engine, settings=settings, clock=clock)


def test_pay_per_visit_lines_per_visit_with_a_daily_cap_and_no_double_billing(
    world: World, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    world.sell(world.plan(name="Drop-in", kind="pay_per_visit", visit_price_minor=10000,
                          daily_cap_minor=15000))  # fmt: skip
    batch = [world.entry("a", world.at(1)), world.entry("a", world.at(5)),
             world.entry("a", world.at(9))]  # fmt: skip
    world.deliver("a", batch)
    assert _bill(world, engine, settings, clock) == []  # the day is not over yet
    clock.advance(timedelta(days=1))  # Dec 2, 16:00 local: Dec 1 is over
    first = _bill(world, engine, settings, clock)
    assert len(first) == 1
    assert _lines(world) == [
        ("Drop-in: visit 2026-12-01 17:00 (Front door)", 10000),
        ("Drop-in: visit 2026-12-01 21:00 (Front door)", 5000),  # capped at 150.00 a day
    ]
    world.deliver("a", batch)  # delivered again
    assert _bill(world, engine, settings, clock) == []
    clock.advance(timedelta(days=1))
    second = _bill(world, engine, settings, clock)
    assert len(second) == 1 and len(_lines(world)) == 3
    assert _bill(world, engine, settings, clock) == []
    totals = world.session.exec(select(Invoice.total).order_by(col(Invoice.id))).all()
    assert totals == [15000, 10000]


def test_aggregated_line_lists_visit_dates_and_a_monthly_cap_counts_earlier_invoices(
    world: World, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    world.sell(world.plan(name="Drop-in", kind="pay_per_visit", visit_price_minor=10000,
                          monthly_cap_minor=25000, lines="aggregated"))  # fmt: skip
    world.deliver("a", [world.entry("a", world.at(1)), world.entry("a", world.at(9))])
    clock.advance(timedelta(days=2))
    _bill(world, engine, settings, clock)
    assert _lines(world) == [("Drop-in: 2 visit(s) on 2026-12-01, 2026-12-02", 20000)]
    world.deliver("b", [world.entry("b", world.at(1))])  # Dec 3
    clock.advance(timedelta(days=1))
    _bill(world, engine, settings, clock)
    assert _lines(world)[-1] == ("Drop-in: 1 visit(s) on 2026-12-03", 5000)


def test_pack_overuse_is_charged_once_on_the_next_usage_invoice(
    world: World, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    world.sell(world.plan(name="2 visits", kind="visit_pack", visits=2, valid_days=30,
                          visit_price_minor=20000))  # fmt: skip
    a = [world.entry("a", world.at(1)), world.entry("a", world.at(9))]
    b = [world.entry("b", world.at(5))]
    world.deliver("a", a)
    world.deliver("b", b)
    world.deliver("a", a)
    clock.advance(timedelta(days=2))
    _bill(world, engine, settings, clock)
    _bill(world, engine, settings, clock)
    lines = [d for d, _ in _lines(world)]
    assert lines[-1] == "2 visits: overuse visit 2026-12-02 01:00 (Front door)"
    assert sum(1 for d in lines if "overuse" in d) == 1


def test_offline_visits_reconcile_and_bill_once_on_each_backend(
    any_world: tuple[World, Engine, Settings], clock: ManualClock
) -> None:
    world, engine, settings = any_world
    world.sell(world.plan(name="3 visits", kind="visit_pack", visits=3, valid_days=30,
                          visit_price_minor=20000))  # fmt: skip
    a = [world.entry("a", world.at(1)), world.entry("a", world.at(9))]
    b = [world.entry("b", world.at(5)), world.entry("b", world.at(13))]
    for gate, batch in (("b", b), ("a", a), ("b", b), ("a", a)):
        world.deliver(gate, batch)
    assert [r.overuse for r in world.records()] == [False, False, False, True]
    assert world.visits_left() == 0
    clock.advance(timedelta(days=2))
    assert len(_bill(world, engine, settings, clock)) == 1
    assert _bill(world, engine, settings, clock) == []
    assert [t for _, t in _lines(world)] == [20000]
