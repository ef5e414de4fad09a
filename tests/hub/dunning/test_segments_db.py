"""Segmentation rules kept in the database like policies: the shipped ``segments.yaml``
is version 1, an edit is checked and stored as the next version, the worker chooses
policies by the newest one, and the console's policies page shows and edits them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from hub.dunning.policy import PolicyError
from hub.dunning.segments import BUILTIN_SEGMENTS
from hub.dunning.store import current_segmentation, save_segmentation, segmentation_versions
from hub.models import DunningCase, DunningSegmentsRow, Role
from tests.hub.console.conftest import Console
from tests.hub.dunning.test_worker_db import make_club

EVERYONE_LOW_RISK = """\
currency: THB
rules:
  - segment: vip
    policy: high_value
    when: {lifetime_value_at_least: 90000000}
default: {segment: everyone, policy: low_risk}
"""


def test_stored_rules_choose_the_policy_of_new_cases(db_url: str, tmp_path: Path) -> None:
    club = make_club(db_url, tmp_path)
    with club.session() as s:
        (shipped,) = segmentation_versions(s, clock=club.clock)
        assert (shipped.version, shipped.created_by) == (1, "shipped")
        assert shipped.text == BUILTIN_SEGMENTS.read_text("utf-8")
        with pytest.raises(PolicyError, match="unknown"):
            save_segmentation(s, EVERYONE_LOW_RISK.replace("low_risk", "gentle"),
                              actor="user:1", clock=club.clock)  # fmt: skip
        s.rollback()
        assert save_segmentation(s, EVERYONE_LOW_RISK, actor="user:1", clock=club.clock) == 2
        s.commit()
        assert current_segmentation(s, clock=club.clock).default.policy == "low_risk"
    club.failing_member()  # a month's member: the shipped rules would say "standard"
    club.advance(days=31)
    with club.session() as s:
        case = s.exec(select(DunningCase)).one()
    assert (case.segment, case.policy_name) == ("everyone", "low_risk")
    club.gateway.close()


def test_policies_page_shows_and_stores_segmentation_rules(console: Console) -> None:
    manager = console.client(Role.MANAGER)
    page = manager.get("/console/dunning/policies")
    assert page.status_code == 200
    assert 'id="segments"' in page.text and "Segmentation rules v1" in page.text
    assert "high_value" in page.text and "lifetime_value_at_least: 5000000" in page.text
    csrf = console.csrf(manager)
    url = "/console/dunning/policies/segments"
    bad = manager.post(url, data={"csrf_token": csrf, "text": "currency: baht\n"})
    assert bad.status_code == 422 and "currency" in bad.text
    good = manager.post(url, data={"csrf_token": csrf, "text": EVERYONE_LOW_RISK})
    assert good.status_code == 303 and good.headers["location"].endswith("#segments")
    after = manager.get("/console/dunning/policies").text
    assert "Segmentation rules v2" in after and "everyone" in after
    with console.session() as s:
        rows = s.exec(select(DunningSegmentsRow)).all()
    assert sorted(r.version for r in rows) == [1, 2]
    front_desk = console.client(Role.FRONT_DESK)
    assert front_desk.post(url, data={"csrf_token": console.csrf(front_desk),
                                      "text": EVERYONE_LOW_RISK}).status_code == 403  # fmt: skip
