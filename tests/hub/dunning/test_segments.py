"""Segmentation: the right policy per member, from rules kept as data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.dunning.policy import PolicyError, builtin_policies
from hub.dunning.segments import MemberProfile, builtin_segmentation, load_segmentation_text

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
RULES = builtin_segmentation()
POLICIES = builtin_policies()


def member(
    *, value: int = 300_000, days: int = 60, plan: str = "monthly", failures: int = 1
) -> MemberProfile:
    return MemberProfile(
        member_id="m-1",
        lifetime_value_minor=value,
        currency="THB",
        joined_at=NOW - timedelta(days=days),
        plan=plan,
        failures=tuple(NOW - timedelta(days=30 * i) for i in range(failures)),
    )


@pytest.mark.parametrize(
    ("profile", "segment", "policy"),
    [
        (member(value=6_000_000), "high_value", "high_value"),
        (member(value=6_000_000, failures=5), "high_value", "high_value"),
        (member(days=800, plan="annual"), "high_value", "high_value"),
        (member(days=800, plan="monthly", failures=1), "low_risk", "low_risk"),
        (member(days=400, failures=3), "at_risk", "default"),
        (member(days=200, failures=2), "standard", "default"),
        (member(days=30), "standard", "default"),
    ],
)
def test_shipped_rules(profile: MemberProfile, segment: str, policy: str) -> None:
    choice = RULES.choose(profile, NOW)
    assert (choice.segment, choice.policy) == (segment, policy)


def test_failures_older_than_twelve_months_do_not_count() -> None:
    old = MemberProfile(
        member_id="m-1",
        lifetime_value_minor=100_000,
        currency="THB",
        joined_at=NOW - timedelta(days=1000),
        plan="monthly",
        failures=(NOW, NOW - timedelta(days=365), NOW - timedelta(days=400)),
    )
    assert old.failures_last_12_months(NOW) == 1
    assert RULES.choose(old, NOW).segment == "low_risk"


def test_currency_must_match() -> None:
    usd = MemberProfile("m-1", 100, "USD", NOW, "monthly")
    with pytest.raises(ValueError, match="USD"):
        RULES.choose(usd, NOW)


def test_rules_must_name_existing_policies() -> None:
    text = "currency: THB\nrules:\n  - {segment: vip, policy: platinum}\n" + (
        "default: {segment: standard, policy: default}\n"
    )
    with pytest.raises(PolicyError, match="unknown \\['platinum'\\]"):
        load_segmentation_text(text, policies=POLICIES.keys())


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("{tenure_days_at_least: 10, tenure_days_at_most: 5}", "tenure_days_at_least \\(10\\)"),
        ("{lifetime_value_over: 5}", "rules\\[0\\].when.lifetime_value_over"),
        ("{failures_12m_at_least: -1}", "greater than or equal to 0"),
    ],
)
def test_bad_rules_are_explained(when: str, message: str) -> None:
    text = f"currency: THB\nrules:\n  - {{segment: x, policy: default, when: {when}}}\n" + (
        "default: {segment: standard, policy: default}\n"
    )
    with pytest.raises(PolicyError, match=message):
        load_segmentation_text(text)


@given(
    value=st.integers(0, 10**9),
    days=st.integers(0, 5000),
    failures=st.integers(0, 20),
    plan=st.sampled_from(["monthly", "annual", "premium", "student"]),
)
def test_every_member_gets_a_shipped_policy(
    value: int, days: int, failures: int, plan: str
) -> None:
    choice = RULES.choose(member(value=value, days=days, plan=plan, failures=failures), NOW)
    assert choice.policy in POLICIES
