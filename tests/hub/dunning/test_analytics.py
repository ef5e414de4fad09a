"""Dunning analytics over hand-made records and over histories of played cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.billing.declines import DeclineReason
from hub.dunning.actions import RetryCharge, SendMessage
from hub.dunning.analytics import (
    CaseRecord,
    CaseResult,
    MessageRecord,
    Rate,
    StepChannel,
    attempts_from_history,
    involuntary_churn,
    median_time_to_collect,
    message_funnel,
    messages_from_history,
    recovered_amount,
    recovery_rate,
    success_per_attempt,
)
from hub.dunning.kinds import Channel, Outcome
from hub.dunning.policy import builtin_policy
from tests.hub.dunning.factories import FAILED_AT, Driver, always_declines, make_case

T0 = datetime(2026, 12, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def case(n: int, result: CaseResult, days: float | None = None, **kw: object) -> CaseRecord:
    values: dict[str, object] = {
        "case_id": f"c-{n}",
        "member_id": f"m-{n}",
        "segment": "standard",
        "amount_minor": 150000,
        "currency": "THB",
        "opened_at": T0,
        "result": result,
        "closed_at": None if days is None else T0 + days * DAY,
        "recovered_minor": 150000 if result == CaseResult.RECOVERED else 0,
    }
    values.update(kw)
    return CaseRecord(**values)  # type: ignore[arg-type]


CASES = [
    case(1, CaseResult.RECOVERED, 1),
    case(2, CaseResult.RECOVERED, 3),
    case(3, CaseResult.RECOVERED, 6, currency="USD", amount_minor=4000, recovered_minor=4000),
    case(4, CaseResult.RECOVERED, 10),
    case(5, CaseResult.CANCELLED, 21),
    case(6, CaseResult.WRITTEN_OFF, 21),
    case(7, CaseResult.OPEN),
]


def test_recovery_rate_amount_and_median() -> None:
    assert recovery_rate(CASES) == Rate(4, 6)
    assert str(recovery_rate(CASES)) == "66.7% (4/6)"
    assert recovered_amount(CASES) == {"THB": 450000, "USD": 4000}
    assert median_time_to_collect(CASES) == 4.5 * DAY
    assert median_time_to_collect(CASES[:3]) == 3 * DAY
    assert median_time_to_collect([CASES[-1]]) is None
    assert recovery_rate([]).value is None and str(recovery_rate([])) == "n/a (0/0)"


def test_involuntary_churn_counts_members_lost_in_the_period() -> None:
    churn = involuntary_churn(CASES, active_at_start=200, start=T0, end=T0 + 30 * DAY)
    assert churn == Rate(2, 200) and churn.value == 0.01
    early = involuntary_churn(CASES, active_at_start=200, start=T0, end=T0 + 21 * DAY)
    assert early == Rate(0, 200)


def test_message_funnel() -> None:
    def message(n: int, step: str, channel: Channel, **kw: object) -> MessageRecord:
        return MessageRecord(
            key=f"dunning:c-{n}:{step}:send_message",
            case_id=f"c-{n}",
            step=step,
            channel=channel,
            template="reminder",
            sent_at=T0,
            **kw,  # type: ignore[arg-type]
        )

    funnel = message_funnel(
        [
            message(1, "3", Channel.EMAIL, opened_at=T0 + DAY, clicked_at=T0 + DAY,
                    paid_at=T0 + DAY),
            message(2, "3", Channel.EMAIL, opened_at=T0 + DAY),
            message(3, "3", Channel.EMAIL, paid_at=T0 + 10 * DAY),  # too late to credit
            message(4, "3", Channel.EMAIL, clicked_at=T0 + DAY),  # images off: click, no pixel
            message(1, "6", Channel.SMS, clicked_at=T0 + DAY, paid_at=T0 + 2 * DAY),
        ]
    )  # fmt: skip
    email = funnel[StepChannel("3", "email", "reminder")]
    assert (email.sent, email.opened, email.clicked, email.paid) == (4, 3, 2, 1)
    assert email.open_rate == Rate(3, 4) and email.pay_rate == Rate(1, 4)
    sms = funnel[StepChannel("6", "sms", "reminder")]
    assert sms.click_rate == Rate(1, 1) and sms.pay_rate == Rate(1, 1)


def test_analytics_from_played_cases() -> None:
    policy = builtin_policy("default")

    def pays_on(attempt: int):
        def bank(action: RetryCharge, now: datetime) -> tuple[Outcome, DeclineReason | None]:
            if action.attempt == attempt:
                return Outcome.SUCCEEDED, None
            return Outcome.DECLINED, DeclineReason.INSUFFICIENT_FUNDS

        return bank

    drivers = [
        Driver(make_case(case_id="c-a"), policy, pays_on(2)),
        Driver(make_case(case_id="c-b"), policy, pays_on(5)),
        Driver(make_case(case_id="c-c"), policy, always_declines()),
    ]
    history = []
    templates = {}
    for driver in drivers:
        driver.run(days=25)
        history += driver.history
        templates.update({a.key: a.template for _, a in driver.of_type(SendMessage)})

    rates = success_per_attempt(attempts_from_history(history))
    assert rates[1] == Rate(0, 3)
    assert rates[2] == Rate(1, 3)
    assert rates[5] == Rate(1, 2)
    assert rates[8] == Rate(0, 1)
    assert max(rates) == 8

    paid = {"c-a": FAILED_AT + DAY, "c-b": FAILED_AT + 5 * DAY}
    first_email = "dunning:c-b:0:send_message"
    messages = messages_from_history(
        history, templates=templates, opens={first_email: FAILED_AT + DAY}, paid=paid
    )
    funnel = message_funnel(messages)
    day0 = funnel[StepChannel("0", "email", "payment_failed")]
    assert (day0.sent, day0.opened, day0.paid) == (3, 1, 1)  # c-a paid within a day
    firm_sms = funnel[StepChannel("6", "sms", "reminder")]
    assert firm_sms.sent == 1  # only c-c was still open on day 5
    assert {m.case_id for m in messages if m.template == "suspended"} == {"c-c"}
