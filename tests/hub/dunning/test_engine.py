"""The rules of :func:`hub.dunning.engine.advance`, one at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hub.billing.declines import DeclineReason
from hub.dunning.actions import (
    CancelSubscription,
    Escalate,
    RetryCharge,
    SendMessage,
    SuspendAccess,
    action_from_dict,
    action_key,
    action_to_dict,
    record,
)
from hub.dunning.case import CaseError, HistoryEntry
from hub.dunning.engine import advance, excluded_methods, next_wakeup
from hub.dunning.kinds import ActionKind, CaseStatus, Channel, Outcome, TaskKind, Tone
from hub.dunning.policy import builtin_policy, load_policy_text
from tests.hub.dunning.factories import BANK, FAILED_AT, MASTERCARD, VISA, make_case

POLICY = builtin_policy("default")
DAY = timedelta(days=1)
#: 1 December 2026, 10:00 in Bangkok: a daytime moment on day 0.
MORNING = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def at_day(day: int, hour_bkk: int = 10) -> datetime:
    """*day* days after the failure, at *hour_bkk* o'clock Bangkok time."""
    midnight_bkk = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 1 Dec 00:00 Bangkok
    return midnight_bkk + timedelta(days=day, hours=hour_bkk)


def done(*actions: object, outcome: Outcome = Outcome.SENT, at: datetime = MORNING) -> list:
    return [record(a, outcome, at=at) for a in actions]  # type: ignore[arg-type]


def test_day_zero_sends_the_polite_email_and_nothing_else() -> None:
    actions = advance(make_case(), MORNING, POLICY, [])
    assert len(actions) == 1
    (message,) = actions
    assert isinstance(message, SendMessage)
    assert (message.template, message.tone, message.channel) == (
        "payment_failed",
        Tone.POLITE,
        Channel.EMAIL,
    )
    assert message.key == "dunning:c-1:0:send_message"
    assert message.language == "th" and message.amount_minor == 150000
    assert message.deadline == FAILED_AT + 7 * DAY  # suspension is the next consequence


def test_before_the_failure_nothing_is_due() -> None:
    assert advance(make_case(), FAILED_AT - timedelta(seconds=1), POLICY, []) == []


def test_message_due_in_quiet_hours_waits_for_eight_local() -> None:
    failed_at_two_am = make_case()  # failed 02:00 Bangkok
    assert advance(failed_at_two_am, FAILED_AT, POLICY, []) == []
    eight = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 08:00 Bangkok
    assert next_wakeup(failed_at_two_am, FAILED_AT, POLICY, []) == eight
    assert advance(failed_at_two_am, eight - timedelta(seconds=1), POLICY, []) == []
    (message,) = advance(failed_at_two_am, eight, POLICY, [])
    assert message.due_at == eight


def test_closed_case_yields_nothing() -> None:
    closed = make_case(status=CaseStatus.CLOSED)
    assert advance(closed, at_day(30), POLICY, []) == []
    assert next_wakeup(closed, at_day(30), POLICY, []) is None


def test_retry_tries_default_then_other_methods() -> None:
    history = done(*advance(make_case(), MORNING, POLICY, []))
    (first,) = advance(make_case(), at_day(1, 3), POLICY, history)
    assert isinstance(first, RetryCharge)
    assert (first.method_id, first.attempt, first.key) == (
        "pm_visa",
        1,
        "dunning:c-1:1:retry_charge:pm_visa",
    )
    history += [
        record(first, Outcome.DECLINED, at=at_day(1, 3), decline_reason=DeclineReason.DO_NOT_HONOR)
    ]
    (second,) = advance(make_case(), at_day(1, 3), POLICY, history)
    assert (second.method_id, second.attempt) == ("pm_mc", 2)
    history += [record(second, Outcome.DECLINED, at=at_day(1, 3))]
    assert advance(make_case(), at_day(1, 3), POLICY, history) == []


def test_default_only_retry_leaves_other_methods_alone() -> None:
    policy = load_policy_text(
        "name: strict\nsteps:\n  - {day: 1, kind: retry_charge, methods: default}\n"
    )
    (first,) = advance(make_case(), at_day(1), policy, [])
    history = [record(first, Outcome.DECLINED, at=at_day(1))]
    assert advance(make_case(), at_day(1), policy, history) == []


@pytest.mark.parametrize(
    "reason",
    [
        DeclineReason.STOLEN_CARD,
        DeclineReason.LOST_CARD,
        DeclineReason.INVALID_ACCOUNT,
        DeclineReason.EXPIRED_CARD,
    ],
)
def test_hard_or_expired_decline_moves_to_other_methods(reason: DeclineReason) -> None:
    case = make_case(last_decline=reason, payment_methods=(VISA, MASTERCARD, BANK))
    history = done(*advance(case, MORNING, POLICY, []))
    charged = []
    for day in (1, 3, 5, 7):
        while actions := [
            a for a in advance(case, at_day(day, 3), POLICY, history) if isinstance(a, RetryCharge)
        ]:
            charged += [a.method_id for a in actions]
            history += [
                record(
                    a,
                    Outcome.DECLINED,
                    at=at_day(day, 3),
                    decline_reason=DeclineReason.INSUFFICIENT_FUNDS,
                )
                for a in actions
            ]
    assert "pm_visa" not in charged
    assert charged == ["pm_mc", "pm_bank"] * 4


def test_hard_decline_during_a_retry_is_never_retried() -> None:
    case = make_case()
    (visa,) = advance(case, at_day(1, 3), POLICY, done(*advance(case, MORNING, POLICY, [])))
    history = done(*advance(case, MORNING, POLICY, [])) + [
        record(visa, Outcome.DECLINED, at=at_day(1, 3), decline_reason=DeclineReason.STOLEN_CARD)
    ]
    assert excluded_methods(case, history) == {"pm_visa"}
    (mc,) = advance(case, at_day(1, 3), POLICY, history)
    history.append(record(mc, Outcome.DECLINED, at=at_day(1, 3)))
    (later,) = [
        a for a in advance(case, at_day(3, 3), POLICY, history) if isinstance(a, RetryCharge)
    ]
    assert later.method_id == "pm_mc"


def test_authentication_required_sends_the_pay_link_and_no_blind_retry() -> None:
    case = make_case(last_decline=DeclineReason.AUTHENTICATION_REQUIRED, payment_methods=(VISA,))
    actions = advance(case, MORNING, POLICY, [])
    keys = [a.key for a in actions]
    assert keys == ["dunning:c-1:auth:send_message", "dunning:c-1:0:send_message"]
    assert actions[0].template == "confirm_payment" and actions[0].step_index is None
    history = done(*actions)
    later = advance(case, at_day(1, 3), POLICY, history)
    assert not [a for a in later if isinstance(a, RetryCharge)]


def test_a_pending_retry_holds_back_later_steps() -> None:
    case = make_case()
    history = done(*advance(case, MORNING, POLICY, []))
    for day in (1,):
        for action in advance(case, at_day(day, 3), POLICY, history):
            history.append(record(action, Outcome.DECLINED, at=at_day(day, 3)))
        for action in advance(case, at_day(day, 3), POLICY, history):
            history.append(record(action, Outcome.DECLINED, at=at_day(day, 3)))
    (retry,) = advance(case, at_day(3, 10), POLICY, history)
    assert isinstance(retry, RetryCharge)  # the day-3 reminder waits for its result
    history.append(record(retry, Outcome.PENDING, at=at_day(3, 10)))
    assert advance(case, at_day(3, 11), POLICY, history) == []
    assert next_wakeup(case, at_day(3, 11), POLICY, history) is None


def test_successful_retry_ends_the_case() -> None:
    case = make_case()
    (retry,) = advance(case, at_day(1, 3), POLICY, done(*advance(case, MORNING, POLICY, [])))
    history = done(*advance(case, MORNING, POLICY, [])) + [
        record(retry, Outcome.SUCCEEDED, at=at_day(1, 3))
    ]
    for day in range(1, 40):
        assert advance(case, at_day(day), POLICY, history) == []


def test_nothing_repeats_once_recorded() -> None:
    case = make_case()
    first = advance(case, MORNING, POLICY, [])
    assert advance(case, MORNING, POLICY, []) == first  # same input, same keys
    assert advance(case, MORNING + timedelta(hours=1), POLICY, done(*first)) == []


def test_missed_retries_are_not_fired_in_a_volley() -> None:
    case = make_case(payment_methods=(VISA,))
    history = done(*advance(case, MORNING, POLICY, []))
    actions = advance(case, at_day(5, 10), POLICY, history)
    retries = [a for a in actions if isinstance(a, RetryCharge)]
    assert [r.step for r in retries] == ["4"]  # only the day-5 retry, not days 1 and 3
    assert actions == retries  # messages wait for its result


def test_a_stale_message_gives_way_to_a_newer_one_on_the_same_channel() -> None:
    case = make_case(payment_methods=(VISA,))
    history = done(*advance(case, MORNING, POLICY, []))
    (retry,) = advance(case, at_day(5, 10), POLICY, history)
    history.append(record(retry, Outcome.DECLINED, at=at_day(5, 10)))
    actions = advance(case, at_day(5, 10), POLICY, history)
    templates = [(a.template, a.tone, a.channel) for a in actions]
    assert templates == [
        ("reminder", Tone.FIRM, Channel.EMAIL),
        ("reminder", Tone.FIRM, Channel.SMS),
    ]


def test_suspension_and_escalation_on_their_days() -> None:
    case = make_case(payment_methods=(VISA,))
    history: list[HistoryEntry] = []
    seen: dict[type, datetime] = {}
    now = FAILED_AT
    while now < FAILED_AT + 22 * DAY:
        while actions := advance(case, now, POLICY, history):
            for action in actions:
                seen.setdefault(type(action), now)
                history.append(
                    record(
                        action,
                        Outcome.DECLINED if isinstance(action, RetryCharge) else Outcome.SUCCEEDED,
                        at=now,
                    )
                )
        now += timedelta(minutes=30)
    assert seen[SuspendAccess] == FAILED_AT + 7 * DAY
    assert seen[Escalate] == FAILED_AT + 14 * DAY
    assert seen[CancelSubscription] == FAILED_AT + 21 * DAY
    tasks = [e for e in history if e.kind == ActionKind.ESCALATE]
    assert [e.key for e in tasks] == ["dunning:c-1:11:escalate"]


def test_escalation_carries_task_and_note() -> None:
    policy = builtin_policy("high_value")
    case = make_case(payment_methods=(VISA,))
    history = done(*advance(case, MORNING, policy, []))
    (retry,) = advance(case, at_day(1, 3), policy, history)
    history.append(record(retry, Outcome.DECLINED, at=at_day(1, 3)))
    (call,) = advance(case, at_day(1, 3), policy, history)
    assert isinstance(call, Escalate)
    assert call.task == TaskKind.CALL and "call" in call.note
    assert call.key == "dunning:c-1:2:escalate"


def test_marketing_opt_out_keeps_only_legal_notices() -> None:
    case = make_case(marketing_opt_out=True, payment_methods=(VISA,))
    history: list[HistoryEntry] = []
    now = FAILED_AT
    while now < FAILED_AT + 22 * DAY:
        for action in advance(case, now, POLICY, history):
            outcome = Outcome.DECLINED if isinstance(action, RetryCharge) else Outcome.SENT
            history.append(record(action, outcome, at=now))
        now += timedelta(hours=1)
    messages = [e for e in history if e.kind == ActionKind.SEND_MESSAGE]
    assert messages and all(e.legal_notice for e in messages)
    assert len(messages) == 3  # suspension notice, suspended, cancellation notice


def test_unreachable_channel_is_skipped() -> None:
    case = make_case(contact_channels=frozenset({Channel.EMAIL}), payment_methods=(VISA,))
    history: list[HistoryEntry] = []
    now = FAILED_AT
    while now < FAILED_AT + 8 * DAY:
        for action in advance(case, now, POLICY, history):
            outcome = Outcome.DECLINED if isinstance(action, RetryCharge) else Outcome.SENT
            history.append(record(action, outcome, at=now))
        now += timedelta(hours=1)
    assert not [e for e in history if e.channel == Channel.SMS]


def test_frequency_cap_defers_reminders_but_not_legal_notices() -> None:
    text = """
name: chatty
frequency_cap: {max_messages: 1, per_days: 7}
steps:
  - {day: 0, kind: send_message, channel: email, template: payment_failed, tone: polite}
  - {day: 1, kind: send_message, channel: sms, template: reminder, tone: polite}
  - {day: 2, kind: send_message, channel: email, template: suspension_notice, tone: final,
     legal_notice: true}
"""
    policy = load_policy_text(text)
    case = make_case()
    history = done(*advance(case, MORNING, policy, []), at=MORNING)
    assert advance(case, at_day(1, 10), policy, history) == []
    # the next thing worth waking for is the day-2 notice (the cap frees only on day 7)
    assert next_wakeup(case, at_day(1, 10), policy, history) == FAILED_AT + 2 * DAY
    (legal,) = advance(case, at_day(2, 10), policy, history)
    assert legal.legal_notice and legal.template == "suspension_notice"
    history += done(legal, at=at_day(2, 10))
    # the SMS reminder goes once both earlier messages have left the rolling week
    assert advance(case, at_day(8, 10), policy, history) == []
    (reminder,) = advance(case, at_day(9, 10), policy, history)
    assert reminder.channel == Channel.SMS


def test_member_wide_history_counts_toward_the_cap() -> None:
    policy = load_policy_text(
        "name: one\nfrequency_cap: {max_messages: 1, per_days: 7}\nsteps:\n"
        "  - {day: 0, kind: send_message, channel: email, template: payment_failed, tone: polite}\n"
    )
    other_case = HistoryEntry(
        key="dunning:c-0:0:send_message",
        kind=ActionKind.SEND_MESSAGE,
        at=MORNING - timedelta(days=1),
        outcome=Outcome.SENT,
    )
    assert advance(make_case(), MORNING, policy, [other_case]) == []


def test_cancellation_ends_the_case() -> None:
    case = make_case(payment_methods=(VISA,))
    history: list[HistoryEntry] = []
    now = FAILED_AT
    while now <= FAILED_AT + 21 * DAY:
        for action in advance(case, now, POLICY, history):
            history.append(
                record(
                    action,
                    Outcome.DECLINED if isinstance(action, RetryCharge) else Outcome.SUCCEEDED,
                    at=now,
                )
            )
        now += timedelta(hours=1)
    assert history[-1].kind == ActionKind.CANCEL_SUBSCRIPTION
    assert advance(case, FAILED_AT + 60 * DAY, POLICY, history) == []


def test_key_format_and_round_trip() -> None:
    assert action_key("c-9", "4", ActionKind.RETRY_CHARGE, "pm_1") == (
        "dunning:c-9:4:retry_charge:pm_1"
    )
    assert action_key("c-9", "9", ActionKind.SUSPEND_ACCESS) == "dunning:c-9:9:suspend_access"
    case = make_case(payment_methods=(VISA,))
    history: list[HistoryEntry] = []
    seen = []
    now = FAILED_AT
    while now < FAILED_AT + 22 * DAY:
        for action in advance(case, now, POLICY, history):
            seen.append(action)
            history.append(
                record(
                    action,
                    Outcome.DECLINED if isinstance(action, RetryCharge) else Outcome.SUCCEEDED,
                    at=now,
                )
            )
        now += timedelta(hours=1)
    assert {type(a) for a in seen} == {
        RetryCharge,
        SendMessage,
        SuspendAccess,
        Escalate,
        CancelSubscription,
    }
    for action in seen:
        assert action_from_dict(action_to_dict(action)) == action
    with pytest.raises(ValueError, match="not a dunning action"):
        action_from_dict({"kind": "explode"})


def test_bad_cases_are_refused() -> None:
    with pytest.raises(CaseError, match="case_id"):
        make_case(case_id="c:1")
    with pytest.raises(CaseError, match="amount_minor"):
        make_case(amount_minor=0)
    with pytest.raises(CaseError, match="timezone"):
        make_case(timezone="Mars/Olympus")
    with pytest.raises(CaseError, match="aware"):
        make_case(failed_at=datetime(2026, 12, 1))
    with pytest.raises(CaseError, match="not saved"):
        make_case(declined_method_id="pm_gone")
    with pytest.raises(ValueError, match="aware"):
        advance(make_case(), datetime(2026, 12, 1), POLICY, [])


def test_changed_case_does_not_change_keys() -> None:
    case = make_case()
    before = advance(case, MORNING, POLICY, [])
    after = advance(replace(case, amount_minor=99), MORNING, POLICY, [])
    assert [a.key for a in before] == [a.key for a in after]
