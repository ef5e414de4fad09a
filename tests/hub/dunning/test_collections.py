"""The collections queue, payment plans and partial payments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.dunning.actions import Escalate
from hub.dunning.collection_tasks import (
    TaskError,
    TaskOutcome,
    add_note,
    assign,
    close,
    open_task,
    promise_to_pay,
    work_queue,
)
from hub.dunning.kinds import TaskKind
from hub.dunning.payment_plans import (
    PlanError,
    add_months,
    apply_payment,
    make_plan,
    remaining_balance,
    split_balance,
)

NOW = datetime(2026, 12, 15, 3, 0, tzinfo=UTC)


def escalation(case_id: str = "c-1") -> Escalate:
    return Escalate(
        key=f"dunning:{case_id}:11:escalate",
        case_id=case_id,
        member_id="m-1",
        invoice_id="inv-1",
        step="11",
        due_at=NOW,
        task=TaskKind.COLLECTIONS,
        amount_minor=150000,
        currency="THB",
        note="call, offer a payment plan",
    )


def test_a_task_is_worked_and_closed() -> None:
    task = open_task(escalation(), task_id="t-1", now=NOW)
    assert task.is_open and task.kind == TaskKind.COLLECTIONS and task.brief.startswith("call")
    task = assign(task, "nok", now=NOW)
    task = add_note(task, "nok", "  Lost her job; offered 3 instalments ", now=NOW)
    task = promise_to_pay(task, date(2026, 12, 20), by="nok", now=NOW)
    task = close(task, TaskOutcome.PAYMENT_PLAN, by="nok", now=NOW + timedelta(hours=1))
    assert task.assignee == "nok" and task.promised_to_pay_on == date(2026, 12, 20)
    assert [n.text for n in task.notes] == [
        "assigned to nok",
        "Lost her job; offered 3 instalments",
        "promised to pay on 2026-12-20",
        "closed: payment_plan",
    ]
    assert not task.is_open and task.closed_at == NOW + timedelta(hours=1)
    with pytest.raises(TaskError, match="closed"):
        add_note(task, "nok", "too late", now=NOW)


def test_bad_changes_are_refused() -> None:
    task = open_task(escalation(), task_id="t-1", now=NOW)
    with pytest.raises(TaskError, match="past"):
        promise_to_pay(task, date(2026, 12, 14), by="nok", now=NOW)
    with pytest.raises(TaskError, match="author"):
        add_note(task, "nok", "   ", now=NOW)


def test_work_queue_puts_broken_promises_first() -> None:
    today = date(2026, 12, 22)
    fresh = open_task(escalation("c-1"), task_id="t-1", now=NOW + timedelta(days=2))
    old = open_task(escalation("c-2"), task_id="t-2", now=NOW)
    broken = promise_to_pay(
        open_task(escalation("c-3"), task_id="t-3", now=NOW), date(2026, 12, 20), by="a", now=NOW
    )
    later = promise_to_pay(
        open_task(escalation("c-4"), task_id="t-4", now=NOW), date(2026, 12, 30), by="a", now=NOW
    )
    done = close(open_task(escalation("c-5"), task_id="t-5", now=NOW), "paid", by="a", now=NOW)
    queue = work_queue([later, fresh, done, old, broken], today=today)
    assert [t.task_id for t in queue] == ["t-3", "t-2", "t-1", "t-4"]
    mine = assign(old, "nok", now=NOW)
    theirs = assign(fresh, "pim", now=NOW)
    assert [t.task_id for t in work_queue([mine, theirs, broken], today=today, assignee="nok")] == [
        "t-3",
        "t-2",
    ]


def test_plan_splits_exactly_and_falls_monthly() -> None:
    plan = make_plan(
        plan_id="pp-1", balance_minor=100_000, currency="THB", count=3, first_due=date(2027, 1, 31)
    )
    assert [i.amount_minor for i in plan.instalments] == [33334, 33333, 33333]
    assert [i.due_on for i in plan.instalments] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
    ]
    weekly = make_plan(
        plan_id="pp-2",
        balance_minor=1000,
        currency="THB",
        count=2,
        first_due=date(2027, 1, 1),
        every_days=7,
    )
    assert [i.due_on for i in weekly.instalments] == [date(2027, 1, 1), date(2027, 1, 8)]


def test_partial_payments_fill_the_earliest_instalments() -> None:
    plan = make_plan(
        plan_id="pp-1", balance_minor=90_000, currency="THB", count=3, first_due=date(2027, 1, 15)
    )
    plan, change = apply_payment(plan, 40_000)
    assert change == 0 and plan.paid_minor == 40_000 and plan.outstanding_minor == 50_000
    assert [i.paid_minor for i in plan.instalments] == [30_000, 10_000, 0]
    assert plan.next_due() is not None and plan.next_due().number == 2
    assert [i.number for i in plan.overdue(date(2027, 3, 1))] == [2]
    plan, change = apply_payment(plan, 60_000)
    assert change == 10_000 and plan.is_complete and plan.next_due() is None


def test_leap_year_and_bad_input() -> None:
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    with pytest.raises(PlanError):
        split_balance(0, 1)
    with pytest.raises(PlanError):
        split_balance(5, 6)
    with pytest.raises(PlanError):
        apply_payment(make_plan(plan_id="p", balance_minor=5, currency="THB", count=1,
                                first_due=date(2027, 1, 1)), -1)  # fmt: skip
    assert remaining_balance(1000, [300, 300]) == 400
    assert remaining_balance(1000, [3000]) == 0


@given(balance=st.integers(1, 10**10), count=st.integers(1, 60))
def test_instalments_always_sum_to_the_balance(balance: int, count: int) -> None:
    if count > balance:
        with pytest.raises(PlanError):
            split_balance(balance, count)
        return
    parts = split_balance(balance, count)
    assert sum(parts) == balance and len(parts) == count
    assert max(parts) - min(parts) <= 1 and min(parts) >= 1
    assert parts == sorted(parts, reverse=True)


@given(
    balance=st.integers(1, 10**7),
    count=st.integers(1, 24),
    payments=st.lists(st.integers(1, 10**7), max_size=12),
)
def test_payments_are_never_lost_or_invented(balance: int, count: int, payments: list[int]) -> None:
    count = min(count, balance)
    plan = make_plan(
        plan_id="pp", balance_minor=balance, currency="THB", count=count, first_due=date(2027, 1, 1)
    )
    change_total = 0
    for payment in payments:
        plan, change = apply_payment(plan, payment)
        change_total += change
        assert all(0 <= i.paid_minor <= i.amount_minor for i in plan.instalments)
        assert plan.paid_minor + plan.outstanding_minor == balance
    assert plan.paid_minor + change_total == sum(payments)
    assert plan.paid_minor == min(balance, sum(payments))
    assert plan.outstanding_minor == remaining_balance(balance, payments)
