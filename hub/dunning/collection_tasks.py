"""The collections queue: staff tasks opened by escalation steps, worked by people.

A task records who works it, what was said, a promise to pay and how it ended. Every
change is a pure function returning a new task, so the hub can store each version and
the history of a negotiation is never lost::

    task = open_task(action, task_id="t-1", now=clock.now())        # from an Escalate
    task = assign(task, "nok", now=clock.now())
    task = add_note(task, "nok", "Lost her job; offered 3 instalments", now=clock.now())
    task = promise_to_pay(task, date(2026, 12, 20), by="nok", now=clock.now())
    task = close(task, TaskOutcome.PAYMENT_PLAN, by="nok", now=clock.now())

:func:`work_queue` orders open tasks for staff: broken promises first, then the oldest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from hub.dunning.actions import Escalate
from hub.dunning.case import check_aware
from hub.dunning.kinds import TaskKind


class TaskError(ValueError):
    """A change a task cannot take (e.g. editing a closed task)."""


class TaskOutcome(StrEnum):
    """How a collections task ended."""

    PAID = "paid"
    PAYMENT_PLAN = "payment_plan"
    DISPUTED = "disputed"
    UNREACHABLE = "unreachable"
    WRITTEN_OFF = "written_off"


@dataclass(frozen=True)
class TaskNote:
    """One line in a task's log."""

    at: datetime
    author: str
    text: str


@dataclass(frozen=True)
class CollectionTask:
    """A staff task for one dunning case.

    :param task_id: stable id (the escalation action's key makes a good one).
    :param case_id: the dunning case.
    :param member_id: the member to contact.
    :param kind: a personal call or a collections case.
    :param amount_minor: amount owed when opened, minor units.
    :param currency: ISO currency.
    :param created_at: when it was opened.
    :param brief: what the policy tells staff.
    :param assignee: the staff member working it, or ``None``.
    :param notes: the log, oldest first.
    :param promised_to_pay_on: the date the member promised, or ``None``.
    :param outcome: how it ended; ``None`` while open.
    :param closed_at: when it ended.
    """

    task_id: str
    case_id: str
    member_id: str
    kind: TaskKind
    amount_minor: int
    currency: str
    created_at: datetime
    brief: str = ""
    assignee: str | None = None
    notes: tuple[TaskNote, ...] = ()
    promised_to_pay_on: date | None = None
    outcome: TaskOutcome | None = None
    closed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.outcome is None

    def promise_broken(self, today: date) -> bool:
        """An open task whose promised date has passed."""
        return (
            self.is_open and self.promised_to_pay_on is not None and self.promised_to_pay_on < today
        )


def open_task(action: Escalate, *, task_id: str, now: datetime) -> CollectionTask:
    """The task an :class:`~hub.dunning.actions.Escalate` action opens."""
    check_aware("now", now)
    return CollectionTask(
        task_id=task_id,
        case_id=action.case_id,
        member_id=action.member_id,
        kind=action.task,
        amount_minor=action.amount_minor,
        currency=action.currency,
        created_at=now,
        brief=action.note,
    )


def _editable(task: CollectionTask) -> None:
    if not task.is_open:
        raise TaskError(f"task {task.task_id} is closed ({task.outcome})")


def _logged(task: CollectionTask, author: str, text: str, now: datetime) -> tuple[TaskNote, ...]:
    check_aware("now", now)
    if not author.strip() or not text.strip():
        raise TaskError("a note needs an author and some text")
    return (*task.notes, TaskNote(at=now, author=author, text=text.strip()))


def assign(
    task: CollectionTask, assignee: str, *, now: datetime, by: str = "system"
) -> CollectionTask:
    """Give *task* to *assignee*."""
    _editable(task)
    return replace(task, assignee=assignee, notes=_logged(task, by, f"assigned to {assignee}", now))


def add_note(task: CollectionTask, author: str, text: str, *, now: datetime) -> CollectionTask:
    """Log what was said or done."""
    _editable(task)
    return replace(task, notes=_logged(task, author, text, now))


def promise_to_pay(task: CollectionTask, on: date, *, by: str, now: datetime) -> CollectionTask:
    """Record the member's promise to pay on *on* (today or later)."""
    _editable(task)
    if on < now.date():
        raise TaskError(f"a promise to pay cannot be in the past ({on})")
    return replace(
        task, promised_to_pay_on=on, notes=_logged(task, by, f"promised to pay on {on}", now)
    )


def close(task: CollectionTask, outcome: TaskOutcome, *, by: str, now: datetime) -> CollectionTask:
    """End *task* with *outcome*."""
    _editable(task)
    return replace(
        task,
        outcome=TaskOutcome(outcome),
        closed_at=now,
        notes=_logged(task, by, f"closed: {outcome}", now),
    )


def work_queue(
    tasks: Iterable[CollectionTask], *, today: date, assignee: str | None = None
) -> list[CollectionTask]:
    """Open tasks in the order staff should work them: broken promises first, then tasks
    with no promise (oldest first), then promises still to come (soonest first).

    :param assignee: only this person's tasks (and unassigned ones) when given.
    """

    def rank(task: CollectionTask) -> tuple[int, object, datetime]:
        if task.promise_broken(today):
            return (0, task.promised_to_pay_on, task.created_at)
        if task.promised_to_pay_on is None:
            return (1, task.created_at, task.created_at)
        return (2, task.promised_to_pay_on, task.created_at)

    chosen = [
        t for t in tasks if t.is_open and (assignee is None or t.assignee in (None, assignee))
    ]
    return sorted(chosen, key=rank)
