"""Policies as data: the shipped files load, and mistakes are reported clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.dunning.kinds import Channel, RetryMethods, TaskKind, Tone
from hub.dunning.policy import (
    MessageStep,
    PolicyError,
    RetryStep,
    builtin_policies,
    builtin_policy,
    load_policy_file,
    load_policy_text,
)

MINIMAL = """
name: tiny
steps:
  - {day: 0, kind: send_message, channel: email, template: payment_failed, tone: polite}
  - {day: 2, kind: retry_charge}
"""


def test_default_policy_is_the_documented_schedule() -> None:
    policy = builtin_policy("default")
    by_kind: dict[str, list[int]] = {}
    for step in policy.steps:
        by_kind.setdefault(step.kind, []).append(step.day)
    assert by_kind["retry_charge"] == [1, 3, 5, 7]
    assert by_kind["suspend_access"] == [7]
    assert by_kind["escalate"] == [14]
    assert by_kind["cancel_subscription"] == [21]
    tones = [
        s.tone for s in policy.steps if isinstance(s, MessageStep) and s.template == "reminder"
    ]
    assert tones == [Tone.POLITE, Tone.FIRM, Tone.FIRM]
    finals = [s for s in policy.steps if isinstance(s, MessageStep) and s.tone == Tone.FINAL]
    assert finals and all(s.legal_notice for s in finals)
    assert str(policy.quiet_hours.start) == "21:00:00" and str(policy.quiet_hours.end) == "08:00:00"
    assert all(
        s.methods == RetryMethods.DEFAULT_THEN_OTHERS
        for s in policy.steps
        if isinstance(s, RetryStep)
    )


def test_shipped_policies_and_their_differences() -> None:
    policies = builtin_policies()
    assert set(policies) == {"default", "high_value", "low_risk"}
    high = policies["high_value"]
    first_call = next(s for s in high.steps if s.kind == "escalate")
    assert (first_call.day, first_call.task) == (1, TaskKind.CALL)
    assert high.first_step_day("suspend_access") == 10
    assert all(s.kind != "escalate" for s in policies["low_risk"].steps)


def test_minimal_policy_gets_defaults() -> None:
    policy = load_policy_text(MINIMAL)
    assert policy.frequency_cap.max_messages == 4 and policy.frequency_cap.per_days == 7
    assert policy.on_authentication_required is not None
    assert policy.steps[1].methods == RetryMethods.DEFAULT_THEN_OTHERS
    assert policy.steps[0].channel == Channel.EMAIL


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("tone: polite", "tone: rude"),
            "steps[0] (send_message).tone: Input should be 'polite', 'firm' or 'final' "
            "(got 'rude')",
        ),
        (("channel: email", "channel: fax"), "steps[0] (send_message).channel"),
        (("template: payment_failed", "template: nope"), "unknown template 'nope'"),
        (("kind: retry_charge", "kind: retry_charge, tries: 3"), "steps[1] (retry_charge).tries"),
        (("day: 2", "day: -1"), "steps[1] (retry_charge).day"),
        (("kind: retry_charge", "kind: teleport"), "steps[1]: Input tag 'teleport'"),
        (("name: tiny", "name: Tiny Policy"), "name: name must be 1-40 characters"),
    ],
)
def test_mistakes_name_their_place(edit: tuple[str, str], expected: str) -> None:
    text = MINIMAL.replace(*edit)
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text, source="club.yaml")
    message = str(caught.value)
    assert message.startswith("club.yaml is not a valid file:")
    assert expected in message, message


def test_steps_out_of_day_order_are_refused() -> None:
    text = MINIMAL.replace("day: 2", "day: 0").replace("day: 0, kind: send", "day: 4, kind: send")
    with pytest.raises(PolicyError, match="day order: step 1 \\(day 0\\) comes after a day-4"):
        load_policy_text(text)


def test_two_suspensions_are_refused() -> None:
    text = MINIMAL + "  - {day: 3, kind: suspend_access}\n  - {day: 4, kind: suspend_access}\n"
    with pytest.raises(PolicyError, match="at most one suspend_access step"):
        load_policy_text(text)


def test_unquoted_quiet_hours_explain_yaml_numbers() -> None:
    text = MINIMAL + "quiet_hours: {start: 21:00, end: '08:00'}\n"
    with pytest.raises(PolicyError, match="quoted 'HH:MM'.*got 1260"):
        load_policy_text(text)


def test_yaml_syntax_error_gives_line() -> None:
    with pytest.raises(PolicyError, match="line 2, column 11: mapping values are not allowed"):
        load_policy_text("name: x\nsteps: day: 3\n")


def test_all_problems_are_listed_at_once() -> None:
    text = MINIMAL.replace("tone: polite", "tone: rude").replace("day: 2", "day: 999")
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text)
    assert len(caught.value.problems) == 2


def test_file_name_must_match(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(PolicyError, match="must match the file name"):
        load_policy_file(path)
    good = tmp_path / "tiny.yaml"
    good.write_text(MINIMAL, encoding="utf-8")
    assert load_policy_file(good).name == "tiny"
