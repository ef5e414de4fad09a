"""The access-list builder: merge rule, member status, versions and deltas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from hub.access.builder import Grant, merge
from hub.access.keys import site_card_secret
from hub.access.lists import changes_between, current_list, plan_update
from hub.access.timezones import list_offsets
from hub.models import AclEntry, Site
from protocol import records
from protocol.cardkey import card_key
from protocol.decision import BLOCKED, EXPIRED, GRANTED, UNKNOWN, decide
from protocol.records import FLAG_BLOCKED, FLAG_PASSBACK, MAX_U32
from protocol.schedule import Schedules
from tests.hub.factories import Factory


def _record(session: Session, site: Site, uid: str) -> bytes | None:
    _, data = current_list(session, site.id or 0)
    key = card_key(site_card_secret(session, site), bytes.fromhex(uid))
    i = records.find(data, key)
    return records.record_at(data, i) if i >= 0 else None


def test_merge_ors_zones_and_takes_the_latest_end_in_force() -> None:
    now = 1_000_000
    grants = [
        Grant(zones=0b01, schedule=2, valid_until=now + 100, flags=0),
        Grant(zones=0b10, schedule=3, valid_until=now + 500, flags=FLAG_PASSBACK),
        Grant(zones=0b100, schedule=0, valid_until=now - 5, flags=0),  # ended: ignored
    ]
    assert merge(grants, now) == (now + 500, 0b11, 3, FLAG_PASSBACK)
    assert merge([*grants, Grant(4, 0, now + 1, 0)], now) == (now + 500, 0b111, 0, FLAG_PASSBACK)
    assert merge([Grant(1, 0, now - 5, 0), Grant(2, 0, now - 9, 0)], now) == (now - 5, 3, 0, 0)
    assert merge([], now) is None


def test_a_site_list_follows_cards_members_and_entitlements(
    session: Session, make: Factory
) -> None:
    site = make.site()
    alice, bob, carol = make.member(), make.member(), make.member(status="cancelled")
    a_card, b_card, c_card = make.card(alice), make.card(bob), make.card(carol)
    make.entitlement(alice, site, zones=0b01)
    make.entitlement(alice, site, zones=0b10, days=None)
    make.entitlement(bob, site, days=10)
    make.entitlement(carol, site)
    assert make.changed(site) == 1
    now = make.clock.timestamp()
    sched = Schedules()

    rec = _record(session, site, a_card.uid_hex)
    assert rec is not None and records.unpack(rec)[1:] == (MAX_U32, 0b11, 0, 0)
    assert decide(_record(session, site, b_card.uid_hex), now, 0, sched) == (True, GRANTED)
    assert _record(session, site, c_card.uid_hex) is None  # cancelled: unknown

    # Nothing changed: same version.
    assert make.changed(site) == 1

    bob.status = "suspended"
    session.add(bob)
    assert make.changed(site, member_ids=[bob.id]) == 2
    assert decide(_record(session, site, b_card.uid_hex), now, 0, sched) == (False, BLOCKED)
    assert records.unpack(_record(session, site, b_card.uid_hex) or b"")[4] & FLAG_BLOCKED

    a_card.active = False
    session.add(a_card)
    assert make.changed(site, member_ids=[alice.id]) == 3
    assert _record(session, site, a_card.uid_hex) is None
    add, delete = changes_between(session, site.id or 0, 1, 3)
    assert len(add) == 1 and len(delete) == 1

    make.clock.advance(days=11)  # bob's entitlement ended: expired, still listed
    later = make.clock.timestamp()
    bob.status = "active"
    session.add(bob)
    make.changed(site, member_ids=[bob.id])
    assert decide(_record(session, site, b_card.uid_hex), later, 0, sched) == (False, EXPIRED)
    make.clock.advance(days=31)  # past the retention: dropped
    make.changed(site)
    assert decide(_record(session, site, b_card.uid_hex), later, 0, sched) == (False, UNKNOWN)


def test_plan_update_chooses_none_delta_or_snapshot(session: Session, make: Factory) -> None:
    site = make.site()
    for _ in range(3):
        member = make.member()
        make.card(member)
        make.entitlement(member, site)
    make.changed(site)
    member = make.member()
    make.card(member)
    make.entitlement(member, site)
    make.changed(site, member_ids=[member.id])
    assert site.list_version == 2
    assert plan_update(session, site, gate_version=2).kind == "none"
    plan = plan_update(session, site, gate_version=1)
    assert (plan.kind, plan.version_from, len(plan.add), plan.delete) == ("delta", 1, 1, [])
    assert plan_update(session, site, gate_version=0).kind == "snapshot"
    assert plan_update(session, site, gate_version=2, want_snapshot=True).kind == "snapshot"
    assert plan_update(session, site, gate_version=1, max_versions=0).kind == "snapshot"
    assert plan_update(session, site, gate_version=7).kind == "snapshot"  # ahead of the hub


def test_card_moved_to_another_member_moves_its_entry(session: Session, make: Factory) -> None:
    site = make.site()
    alice, bob = make.member(), make.member()
    card = make.card(alice)
    make.entitlement(alice, site)
    make.entitlement(bob, site, zones=0b100)
    make.changed(site)
    card.member_id = bob.id or 0
    session.add(card)
    make.changed(site, member_ids=[alice.id, bob.id])
    entry = session.exec(select(AclEntry)).one()
    assert entry.member_id == bob.id
    assert records.unpack(bytes.fromhex(entry.record))[2] == 0b100


def test_offsets_follow_daylight_saving_time() -> None:
    issued = 1_798_761_600  # 2027-01-01 UTC
    berlin = list_offsets("Europe/Berlin", issued)
    assert [o for _, o in berlin[:3]] == [3600, 7200, 3600]
    # 2027-03-28 01:00 UTC: summer time starts.
    assert berlin[1][0] == int(datetime(2027, 3, 28, 1, tzinfo=UTC).timestamp())
    assert list_offsets("Asia/Bangkok", issued) == [[issued - 86400, 25200]]
    assert berlin[-1][0] < issued + 400 * 86400


def test_entitlement_start_and_end_trigger_a_rebuild(session: Session, make: Factory) -> None:
    from hub.access.changes import refresh_due

    site = make.site()
    member = make.member()
    card = make.card(member)
    make.entitlement(member, site, start=make.clock.now() + timedelta(days=2), days=5)
    make.changed(site)
    assert _record(session, site, card.uid_hex) is None
    assert refresh_due(session, clock=make.clock) == []
    make.clock.advance(days=3)
    assert refresh_due(session, clock=make.clock) == [site.id]
    session.commit()
    assert _record(session, site, card.uid_hex) is not None


def test_a_shorter_grant_ending_takes_its_zone_away(session: Session, make: Factory) -> None:
    from hub.access.changes import refresh_due

    site = make.site()
    member, other = make.member(), make.member()
    card = make.card(member)
    make.card(other)
    make.entitlement(member, site, zones=0b01, days=30)
    make.entitlement(member, site, zones=0b10, days=2)
    make.entitlement(other, site, days=30)
    make.changed(site)
    rec = _record(session, site, card.uid_hex)
    assert rec is not None and records.unpack(rec)[2] == 0b11
    make.clock.advance(days=3)
    assert refresh_due(session, clock=make.clock) == [site.id]
    session.commit()
    rec = _record(session, site, card.uid_hex)
    assert rec is not None and records.unpack(rec)[2] == 0b01
    assert refresh_due(session, clock=make.clock) == []
