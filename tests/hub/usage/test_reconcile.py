"""The hub counts visits from the check-in log, once, across the site's gates."""

from __future__ import annotations

from sqlmodel import func, select

from hub.models import UsageRecord
from hub.usage.metering import set_reentry_window
from hub.usage.views import member_usage
from protocol.decision import REENTRY
from tests.hub.usage.world import World


def _pack(world: World, rule: str = "charge", visits: int = 3) -> None:
    world.sell(world.plan(name=f"{visits} visits", kind="visit_pack", visits=visits,
                          valid_days=30, overuse=rule, visit_price_minor=20000))  # fmt: skip


def test_offline_gates_report_four_visits_of_a_three_pack_one_overuse_charged(
    world: World,
) -> None:
    _pack(world)
    a = [world.entry("a", world.at(1)), world.entry("a", world.at(9))]
    b = [world.entry("b", world.at(5)), world.entry("b", world.at(13))]
    world.deliver("b", b)
    assert world.visits_left() == 1
    world.deliver("a", a)
    rows = world.records()
    assert len(rows) == 4
    assert [r.overuse for r in rows] == [False, False, False, True]
    assert [r.amount_minor for r in rows] == [0, 0, 0, 20000]
    assert world.visits_left() == 0
    usage = member_usage(world.session, world.member.id or 0)
    assert (usage.used, usage.remaining, usage.overuse) == (4, 0, 1)
    assert [v.door for v in usage.visits] == ["Side door", "Front door", "Side door", "Front door"]


def test_taps_within_the_window_at_two_gates_are_one_visit(world: World) -> None:
    _pack(world, rule="record")
    set_reentry_window(world.session, site_id=world.site.id or 0, seconds=3 * 3600,
                       clock=world.clock)  # fmt: skip
    world.session.commit()
    # morning: a at 08:00, b at 08:30; evening: a at 18:00, b at 18:20 (each gate counted 2)
    world.deliver("a", [world.entry("a", world.at(1)), world.entry("a", world.at(11))])
    world.deliver("b", [world.entry("b", world.at(1.5)), world.entry("b", world.at(11.3))])
    rows = world.records()
    assert len(rows) == 2 and not any(r.overuse for r in rows)
    assert world.visits_left() == 1


def test_duplicate_deliveries_never_add_a_record(world: World) -> None:
    _pack(world, visits=1)
    batch = [world.entry("a", world.at(1)), world.entry("a", world.at(2), REENTRY),
             world.entry("a", world.at(8))]  # fmt: skip
    for _ in range(3):
        assert world.deliver("a", batch) == 3
    rows = world.records()
    assert [r.overuse for r in rows] == [False, True]
    count = world.session.exec(select(func.count()).select_from(UsageRecord)).one()
    assert count == 2


def test_record_rule_keeps_overuse_for_staff_without_a_charge(world: World) -> None:
    _pack(world, rule="record", visits=1)
    world.deliver("a", [world.entry("a", world.at(1)), world.entry("a", world.at(8))])
    rows = world.records()
    assert [(r.overuse, r.amount_minor) for r in rows] == [(False, 0), (True, 0)]


def test_a_late_check_in_from_an_offline_gate_moves_the_visit_start(world: World) -> None:
    _pack(world)
    world.deliver("a", [world.entry("a", world.at(2)), world.entry("a", world.at(4))])
    assert len(world.records()) == 1  # 4 h after 2 h: inside the 3 h window
    world.deliver("b", [world.entry("b", world.at(0.5))])
    # now 00:30 starts the visit; 02:00 re-enters; 04:00 is past 03:30: a new visit
    assert [r.gate_id for r in world.records()] == [world.gates["b"].id, world.gates["a"].id]


def test_a_day_pass_lasts_to_local_midnight_across_gates(world: World) -> None:
    from datetime import UTC, datetime

    from hub.models import Entitlement, UsagePass

    world.sell(world.plan(name="Day pass", kind="day_pass", valid_days=30, price_minor=30000,
                          visit_price_minor=30000))  # fmt: skip
    assert world.visits_left() == 1
    world.deliver("a", [world.entry("a", world.at(1))])  # 17:00 local
    world.deliver("b", [world.entry("b", world.at(6))])  # 22:00 local: same day
    assert [r.overuse for r in world.records()] == [False]
    p = world.session.exec(select(UsagePass)).one()
    midnight = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # Dec 2, 00:00 in Bangkok
    assert p.day_ends_at == midnight
    assert world.session.get(Entitlement, p.entitlement_id).valid_until == midnight
    world.deliver("b", [world.entry("b", world.at(17))])  # 09:00 the next day, offline gate
    assert [r.overuse for r in world.records()] == [False, True]
