"""Whole cases played on a manual clock, hour by hour, the way a worker runs them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hub.billing.declines import DeclineReason
from hub.dunning.actions import (
    CancelSubscription,
    Escalate,
    RetryCharge,
    SendMessage,
    SuspendAccess,
)
from hub.dunning.kinds import CaseStatus, Channel, Outcome, Tone
from hub.dunning.policy import builtin_policy
from hub.dunning.timing import in_quiet_hours
from tests.hub.dunning.factories import (
    FAILED_AT,
    MASTERCARD,
    VISA,
    Driver,
    always_declines,
    make_case,
)

BANGKOK = ZoneInfo("Asia/Bangkok")
POLICY = builtin_policy("default")


def local(at: datetime) -> datetime:
    return at.astimezone(BANGKOK)


def test_second_card_pays_on_a_retry_and_the_case_closes() -> None:
    """Decline at renewal (02:00 in Bangkok) -> reminders on the policy's days at 08:00,
    not in the night -> the Mastercard pays on the day-5 retry -> no more messages."""

    def bank(action: RetryCharge, now: datetime) -> tuple[Outcome, DeclineReason | None]:
        if action.method_id == "pm_mc" and now >= FAILED_AT + timedelta(days=5):
            return Outcome.SUCCEEDED, None
        return Outcome.DECLINED, DeclineReason.INSUFFICIENT_FUNDS

    driver = Driver(make_case(payment_methods=(VISA, MASTERCARD)), POLICY, bank)
    driver.run(days=30)

    messages = driver.of_type(SendMessage)
    assert [(local(at).strftime("%d %H:%M"), a.template, a.tone) for at, a in messages] == [
        ("01 08:00", "payment_failed", Tone.POLITE),  # due 02:00 day 0: waits for morning
        ("04 08:00", "reminder", Tone.POLITE),  # due 02:00 day 3
    ]
    retries = driver.of_type(RetryCharge)
    assert [(local(at).strftime("%d %H:%M"), a.method_id) for at, a in retries] == [
        ("02 02:00", "pm_visa"),
        ("02 02:00", "pm_mc"),
        ("04 02:00", "pm_visa"),
        ("04 02:00", "pm_mc"),
        ("06 02:00", "pm_visa"),
        ("06 02:00", "pm_mc"),  # succeeds
    ]
    assert [a.attempt for _, a in retries] == [1, 2, 3, 4, 5, 6]
    assert driver.case.status == CaseStatus.CLOSED
    assert not driver.of_type(SuspendAccess)
    assert all(at <= FAILED_AT + timedelta(days=5) for at, _ in driver.done)
    assert all(a.language == "th" for _, a in messages)


def test_all_retries_fail_and_access_is_suspended_on_day_seven() -> None:
    driver = Driver(make_case(), POLICY, always_declines())
    driver.run(days=30)

    (suspended,) = driver.of_type(SuspendAccess)
    assert suspended[0] == FAILED_AT + timedelta(days=7)
    (task,) = driver.of_type(Escalate)
    assert task[0] == FAILED_AT + timedelta(days=14)
    (cancel,) = driver.of_type(CancelSubscription)
    assert cancel[0] == FAILED_AT + timedelta(days=21) and cancel[1].mark_uncollectible
    retry_days = sorted({(at - FAILED_AT).days for at, _ in driver.of_type(RetryCharge)})
    assert retry_days == [1, 3, 5, 7]
    assert len(driver.of_type(RetryCharge)) == 8  # two cards, four steps

    messages = driver.of_type(SendMessage)
    schedule = [(local(at).strftime("%d %H:%M"), a.channel, a.template) for at, a in messages]
    assert schedule == [
        ("01 08:00", Channel.EMAIL, "payment_failed"),
        ("04 08:00", Channel.EMAIL, "reminder"),
        ("06 08:00", Channel.EMAIL, "reminder"),
        ("06 08:00", Channel.SMS, "reminder"),
        ("07 08:00", Channel.EMAIL, "suspension_notice"),
        ("08 08:00", Channel.EMAIL, "suspended"),
        ("15 08:00", Channel.EMAIL, "cancellation_notice"),
    ]
    for at, _ in messages:
        assert not in_quiet_hours(at, BANGKOK, POLICY.quiet_hours)
    notice = next(a for _, a in messages if a.template == "suspension_notice")
    assert notice.deadline == FAILED_AT + timedelta(days=7) and notice.legal_notice
    after = next(a for _, a in messages if a.template == "suspended")
    assert after.deadline == FAILED_AT + timedelta(days=21)
    keys = [a.key for _, a in driver.done]
    assert len(keys) == len(set(keys))


def test_stolen_card_is_never_charged_again() -> None:
    case = make_case(last_decline=DeclineReason.STOLEN_CARD)
    driver = Driver(case, POLICY, always_declines())
    driver.run(days=10)
    assert {a.method_id for _, a in driver.of_type(RetryCharge)} == {"pm_mc"}


def test_bank_wants_authentication_so_the_member_gets_the_pay_link() -> None:
    case = make_case(
        last_decline=DeclineReason.AUTHENTICATION_REQUIRED,
        payment_methods=(VISA,),
        failed_at=datetime(2026, 12, 1, 5, 0, tzinfo=UTC),  # 12:00 in Bangkok
    )
    driver = Driver(case, POLICY, always_declines())
    driver.run(days=10)
    assert driver.of_type(RetryCharge) == []
    first_at, first = driver.of_type(SendMessage)[0]
    assert first.template == "confirm_payment" and first_at == case.failed_at
    (suspended,) = driver.of_type(SuspendAccess)
    assert suspended[0] == case.failed_at + timedelta(days=7)


def test_worker_that_wakes_only_when_told_gets_the_same_schedule() -> None:
    from hub.dunning.engine import next_wakeup

    hourly = Driver(make_case(), POLICY, always_declines())
    hourly.run(days=30)

    sleepy = Driver(make_case(), POLICY, always_declines())
    while True:
        sleepy.tick()
        wake = next_wakeup(sleepy.case, sleepy.clock.now(), POLICY, sleepy.history)
        if wake is None:
            break
        sleepy.clock.set(wake)
    assert [(at, a.key) for at, a in sleepy.done] == [(at, a.key) for at, a in hourly.done]
