"""Properties of :func:`advance` over random cases, policies and histories.

Whatever happened before (actions done, declined, lost in a crash, still pending):

* no action repeats: nothing returned is already in the history, and keys are unique;
* no message is returned while it is quiet hours in the member's timezone;
* suspension (and tasks, cancellation) never come before their policy day;
* retries never charge a method with a hard decline, an expired card or a bank that
  wants the member to authenticate;
* a paid, cancelled or closed case yields nothing; the same input gives the same output;
* outside legal notices, the frequency cap holds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.billing.declines import DeclineReason
from hub.dunning.actions import (
    AUTH_STEP,
    Action,
    CancelSubscription,
    Escalate,
    RetryCharge,
    SendMessage,
    SuspendAccess,
    action_key,
    record,
)
from hub.dunning.case import DunningCase, HistoryEntry, PaymentMethod
from hub.dunning.engine import advance, excluded_methods, next_wakeup
from hub.dunning.kinds import ActionKind, CaseStatus, Channel, Outcome
from hub.dunning.messages import TEMPLATE_NAMES
from hub.dunning.policy import Policy, builtin_policies
from hub.dunning.timing import in_quiet_hours, messages_in_window

TIMEZONES = [
    "Asia/Bangkok",
    "America/New_York",
    "Europe/London",
    "Pacific/Auckland",
    "Asia/Kolkata",
    "UTC",
]
BUILTIN = list(builtin_policies().values())
COUNTED = {Outcome.PENDING, Outcome.SENT, Outcome.SUCCEEDED}


@st.composite
def cases(draw: st.DrawFn) -> DunningCase:
    count = draw(st.integers(1, 3))
    default = draw(st.integers(-1, count - 1))
    methods = tuple(PaymentMethod(f"pm_{i}", is_default=(i == default)) for i in range(count))
    failed_at = draw(
        st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC))
    )
    channels = draw(st.sampled_from([{Channel.EMAIL, Channel.SMS}, {Channel.EMAIL}, set()]))
    return DunningCase(
        case_id="c-1",
        member_id="m-1",
        invoice_id="inv-1",
        amount_minor=draw(st.integers(1, 10_000_000)),
        currency="THB",
        failed_at=failed_at,
        timezone=draw(st.sampled_from(TIMEZONES)),
        language=draw(st.sampled_from(["th", "en"])),
        payment_methods=methods,
        last_decline=draw(st.none() | st.sampled_from(list(DeclineReason))),
        declined_method_id=draw(st.none() | st.sampled_from([m.method_id for m in methods])),
        contact_channels=frozenset(channels),
        marketing_opt_out=draw(st.booleans()),
    )


@st.composite
def random_steps(draw: st.DrawFn) -> list[dict[str, object]]:
    days = sorted(draw(st.lists(st.integers(0, 30), min_size=1, max_size=14)))
    steps: list[dict[str, object]] = []
    once: set[str] = set()
    for day in days:
        kind = draw(
            st.sampled_from(
                [
                    "retry_charge",
                    "send_message",
                    "send_message",
                    "suspend_access",
                    "escalate",
                    "cancel_subscription",
                ]
            )
        )
        if kind in {"suspend_access", "cancel_subscription"}:
            if kind in once:
                kind = "retry_charge"
            once.add(kind)
        step: dict[str, object] = {"day": day, "kind": kind}
        if kind == "retry_charge":
            step["methods"] = draw(st.sampled_from(["default", "default_then_others"]))
        elif kind == "send_message":
            step["channel"] = draw(st.sampled_from(["email", "sms"]))
            step["template"] = draw(st.sampled_from(sorted(TEMPLATE_NAMES)))
            step["tone"] = draw(st.sampled_from(["polite", "firm", "final"]))
            step["legal_notice"] = draw(st.booleans())
        elif kind == "escalate":
            step["task"] = draw(st.sampled_from(["call", "collections"]))
        steps.append(step)
    return steps


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    if draw(st.booleans()):
        return draw(st.sampled_from(BUILTIN))
    start = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45])))
    end = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45])))
    if start == end:
        end = time((end.hour + 9) % 24, end.minute)
    return Policy.model_validate(
        {
            "name": "random",
            "quiet_hours": {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"},
            "frequency_cap": {
                "max_messages": draw(st.integers(1, 5)),
                "per_days": draw(st.integers(1, 7)),
            },
            "on_authentication_required": draw(
                st.sampled_from([None, {"channel": "email"}, {"channel": "sms"}])
            ),
            "steps": draw(random_steps()),
        }
    )


def finished(case: DunningCase, history: list[HistoryEntry]) -> bool:
    return case.status == CaseStatus.CLOSED or any(
        (e.kind == ActionKind.RETRY_CHARGE and e.outcome == Outcome.SUCCEEDED)
        or (e.kind == ActionKind.CANCEL_SUBSCRIPTION and e.outcome in COUNTED)
        for e in history
    )


def check(
    case: DunningCase,
    now: datetime,
    policy: Policy,
    history: list[HistoryEntry],
    actions: list[Action],
) -> None:
    """Every property that must hold for one call of advance."""
    keys = [a.key for a in actions]
    assert len(keys) == len(set(keys)), keys
    assert not set(keys) & {e.key for e in history}
    assert advance(case, now, policy, history) == actions  # pure and deterministic
    if finished(case, history):
        assert actions == []
    excluded = excluded_methods(case, history)
    sent = [e.at for e in history if e.kind == ActionKind.SEND_MESSAGE and e.outcome in COUNTED]
    for action in actions:
        assert action.case_id == case.case_id and action.key.startswith("dunning:c-1:")
        if isinstance(action, SendMessage):
            assert not in_quiet_hours(now, case.zone, policy.quiet_hours), (now, case.timezone)
            assert action.channel in case.contact_channels
            assert action.legal_notice or not case.marketing_opt_out
            if not action.legal_notice:
                assert messages_in_window(sent, now, policy.frequency_cap) < (
                    policy.frequency_cap.max_messages
                )
            sent.append(now)
        if isinstance(action, RetryCharge):
            assert action.method_id not in excluded
        if isinstance(action, SuspendAccess | Escalate | CancelSubscription):
            assert action.step_index is not None
            day = policy.steps[action.step_index].day
            assert now >= case.failed_at + timedelta(days=day)
            assert action.due_at == case.failed_at + timedelta(days=day)
        if isinstance(action, SuspendAccess):
            suspend_day = policy.first_step_day("suspend_access")
            assert suspend_day is not None
            assert now >= case.failed_at + timedelta(days=suspend_day)
    wakeup = next_wakeup(case, now, policy, history)
    assert wakeup is None or wakeup > now


def carry_out(action: Action, data: st.DataObject) -> HistoryEntry | None:
    """What an effector made of *action*: a result, still pending, or lost in a crash."""
    fate = data.draw(st.sampled_from(["done", "done", "done", "pending", "lost"]))
    if fate == "lost":
        return None
    if fate == "pending":
        return record(action, Outcome.PENDING, at=action.due_at)
    if isinstance(action, RetryCharge):
        outcome = data.draw(st.sampled_from([Outcome.SUCCEEDED, Outcome.DECLINED, Outcome.FAILED]))
        reason = None
        if outcome == Outcome.DECLINED:
            reason = data.draw(st.sampled_from(list(DeclineReason)))
        return record(action, outcome, at=action.due_at, decline_reason=reason)
    if isinstance(action, SendMessage):
        return record(
            action, data.draw(st.sampled_from([Outcome.SENT, Outcome.FAILED])), at=action.due_at
        )
    return record(action, Outcome.SUCCEEDED, at=action.due_at)


@settings(max_examples=200, deadline=None)
@given(case=cases(), policy=policies(), data=st.data())
def test_simulated_runs_keep_every_rule(
    case: DunningCase, policy: Policy, data: st.DataObject
) -> None:
    history: dict[str, HistoryEntry] = {}
    ever_returned: dict[str, datetime] = {}
    now = case.failed_at + timedelta(minutes=data.draw(st.integers(-120, 600)))
    for _ in range(data.draw(st.integers(1, 50))):
        entries = list(history.values())
        actions = advance(case, now, policy, entries)
        check(case, now, policy, entries, actions)
        for action in actions:
            # a key comes back only if its action was lost before it was recorded
            if action.key in ever_returned:
                assert action.key not in history
            ever_returned[action.key] = now
            entry = carry_out(action, data)
            if entry is not None:
                history[action.key] = replace(entry, at=now)
        for key, entry in list(history.items()):  # pending results come in later
            if entry.outcome == Outcome.PENDING and data.draw(st.booleans()):
                history[key] = replace(
                    entry,
                    outcome=Outcome.SENT
                    if entry.kind == ActionKind.SEND_MESSAGE
                    else Outcome.DECLINED,
                )
        now += timedelta(minutes=data.draw(st.integers(1, 3 * 24 * 60)))


@st.composite
def arbitrary_history(draw: st.DrawFn, case: DunningCase, policy: Policy) -> list[HistoryEntry]:
    """Entries with plausible keys in any combination, order, time and outcome."""
    universe: list[tuple[str, ActionKind, str | None]] = [
        (
            action_key(case.case_id, AUTH_STEP, ActionKind.SEND_MESSAGE),
            ActionKind.SEND_MESSAGE,
            None,
        )
    ]
    for index, step in enumerate(policy.steps):
        kind = ActionKind(step.kind)
        if kind == ActionKind.RETRY_CHARGE:
            for method in case.payment_methods:
                key = action_key(case.case_id, str(index), kind, method.method_id)
                universe.append((key, kind, method.method_id))
        else:
            universe.append((action_key(case.case_id, str(index), kind), kind, None))
    chosen = draw(st.lists(st.sampled_from(universe), unique=True, max_size=len(universe)))
    entries = []
    for key, kind, method_id in chosen:
        outcome = draw(st.sampled_from(list(Outcome)))
        entries.append(
            HistoryEntry(
                key=key,
                kind=kind,
                at=case.failed_at + timedelta(minutes=draw(st.integers(-60, 40 * 24 * 60))),
                outcome=outcome,
                method_id=method_id,
                decline_reason=draw(st.none() | st.sampled_from(list(DeclineReason))),
                channel=draw(st.sampled_from([None, Channel.EMAIL, Channel.SMS])),
                legal_notice=draw(st.booleans()),
            )
        )
    return entries


@settings(max_examples=150, deadline=None)
@given(case=cases(), policy=policies(), data=st.data())
def test_arbitrary_histories_keep_every_rule(
    case: DunningCase, policy: Policy, data: st.DataObject
) -> None:
    history = data.draw(arbitrary_history(case, policy))
    now = case.failed_at + timedelta(minutes=data.draw(st.integers(-60, 45 * 24 * 60)))
    check(case, now, policy, history, advance(case, now, policy, history))
