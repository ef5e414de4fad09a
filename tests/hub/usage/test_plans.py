"""Usage plans refuse bad terms with clear messages; selling one opens the doors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.usage.passes import UsageRefused
from hub.usage.plans import UsagePlanBase, UsageSiteUpdate
from tests.hub.usage.world import World


def _refused(**terms: object) -> str:
    with pytest.raises(ValidationError) as err:
        UsagePlanBase(**terms)  # type: ignore[arg-type]
    return str(err.value)


def test_bad_terms_are_refused_with_clear_messages() -> None:
    assert "a visit pack needs at least one visit" in _refused(
        name="p", kind="visit_pack", visits=0, valid_days=30
    )
    assert "price_minor must not be negative (got -100)" in _refused(
        name="p", kind="visit_pack", visits=10, valid_days=30, price_minor=-100
    )
    assert "visit_price_minor must not be negative" in _refused(
        name="p", kind="pay_per_visit", visit_price_minor=-1
    )
    assert "daily_cap_minor must not be negative" in _refused(
        name="p", kind="pay_per_visit", visit_price_minor=100, daily_cap_minor=-5
    )
    assert "pay per visit needs a price per visit" in _refused(name="p", kind="pay_per_visit")
    assert "valid_days: day_pass needs 1-3660 days" in _refused(name="p", kind="day_pass")
    assert "Input should be 'visit_pack'" in _refused(name="p", kind="monthly")
    assert "XYZ" in _refused(name="p", kind="day_pass", valid_days=1, currency="XYZ")
    with pytest.raises(ValidationError, match="a re-entry window is 0 to 86400 seconds"):
        UsageSiteUpdate(reentry_s=86401)
    assert UsageSiteUpdate(reentry_s=86400).reentry_s == 86400


def test_a_sold_pack_is_invoiced_and_its_record_carries_the_visits(world: World) -> None:
    pack = world.plan(name="3 visits", kind="visit_pack", visits=3, valid_days=30,
                      price_minor=45000)  # fmt: skip
    world.sell(pack)
    assert world.visits_left() == 3
    from sqlmodel import select

    from hub.models import Invoice

    invoice = world.session.exec(select(Invoice)).one()
    assert (invoice.total, invoice.currency, invoice.member_id) == (45000, "THB", world.member.id)


def test_a_second_trial_is_refused(world: World) -> None:
    trial = world.plan(name="Try us", kind="trial_pass", valid_days=7)
    world.sell(trial)
    with pytest.raises(UsageRefused, match="already had a trial pass"):
        world.sell(trial)
