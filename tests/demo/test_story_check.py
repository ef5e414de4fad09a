"""The story check: what counts as missing, and what counts as out of order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gatehouse.demo.story import EXPECTED, Journal, expected_names, missing

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
GATES = ["front-door", "side-door"]


def _full() -> Journal:
    journal = Journal()
    for i, step in enumerate(expected_names(GATES)):
        for name in step:
            journal.add(name, at=T0 + timedelta(days=i))
    return journal


def test_a_full_story_in_order_misses_nothing() -> None:
    assert missing(_full(), GATES) == []
    assert len(expected_names(GATES)) == len(EXPECTED)


def test_each_absent_step_is_named_with_its_meaning() -> None:
    journal = Journal()
    journal.add("hub ready", at=T0)
    problems = missing(journal, GATES)
    assert problems[0].startswith("gates online: missing (every gate holds")
    assert any(p.startswith("denied at side-door: missing") for p in problems)
    assert not any(p.startswith("hub ready") for p in problems)


def test_a_step_before_the_one_it_follows_is_reported() -> None:
    journal = _full()
    suspended = journal.first("suspended")
    assert suspended is not None
    journal.replace("denied at front-door", at=suspended.at - timedelta(hours=9))
    assert missing(journal, GATES) == [
        "denied at front-door: at 2026-12-05 17:00, before the step it follows"
    ]


def test_first_occurrence_wins_unless_replaced() -> None:
    seen = []
    journal = Journal(on_event=seen.append)
    assert journal.add("paid", at=T0) is not None
    assert journal.add("paid", at=T0 + timedelta(days=1)) is None
    assert journal.first("paid").at == T0  # type: ignore[union-attr]
    assert len(seen) == 1


def test_extra_steps_must_happen_after_the_renewal_failed() -> None:
    journal = _full()
    journal.add("cut off from the broker", at=T0)
    problems = missing(journal, GATES, extra=[("cut off from the broker", "cut"), ("healed", "h")])
    assert problems == ["cut off from the broker: before the renewal failed", "healed: missing (h)"]
