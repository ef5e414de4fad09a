"""Collections in the database: the task queue staff work, the changes they make, and
payment plans.

The rules live in :mod:`hub.dunning.collection_tasks` (pure functions over a
:class:`~hub.dunning.collection_tasks.CollectionTask`); this module reads a
:class:`hub.models.CollectionTask` row into one, applies the change and writes it
back, so a closed task refuses edits and a promise to pay cannot be in the past, here
as in the core::

    change_task(session, row, action="promise", by="user:3", clock=clock,
                promised_to_pay_on=date(2027, 1, 20))
    session.commit()
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.desk import amount_paid
from hub.dunning import collection_tasks as core
from hub.dunning.kinds import TaskKind
from hub.dunning.payment_plans import PlanError, make_plan
from hub.models import CollectionTask, DunningCase, Invoice, PaymentPlanRow

#: What :func:`change_task` can do.
TASK_ACTIONS = ("assign", "note", "promise", "close")


def to_core(row: CollectionTask) -> core.CollectionTask:
    """The core's view of a task row."""
    return core.CollectionTask(
        task_id=str(row.id),
        case_id=str(row.case_id),
        member_id=str(row.member_id),
        kind=TaskKind(row.kind),
        amount_minor=row.amount_minor,
        currency=row.currency,
        created_at=row.created_at,
        brief=row.brief,
        assignee=row.assignee,
        notes=tuple(
            core.TaskNote(at=datetime.fromisoformat(n["at"]), author=n["author"], text=n["text"])
            for n in row.notes
        ),
        promised_to_pay_on=row.promised_to_pay_on,
        outcome=core.TaskOutcome(row.outcome) if row.outcome else None,
        closed_at=row.closed_at,
    )


def _write(row: CollectionTask, task: core.CollectionTask) -> None:
    row.assignee = task.assignee
    row.notes = [{"at": n.at.isoformat(), "author": n.author, "text": n.text} for n in task.notes]
    row.promised_to_pay_on = task.promised_to_pay_on
    row.outcome = task.outcome.value if task.outcome else None
    row.closed_at = task.closed_at


def change_task(
    session: Session,
    row: CollectionTask,
    *,
    action: str,
    by: str,
    clock: Clock,
    assignee: str = "",
    note: str = "",
    promised_to_pay_on: date | None = None,
    outcome: str = "",
) -> CollectionTask:
    """Apply one staff change to task *row* (in the session; the caller commits).

    :param action: ``assign`` (to *assignee*), ``note`` (*note*), ``promise``
        (*promised_to_pay_on*) or ``close`` (with *outcome*, a
        :class:`~hub.dunning.collection_tasks.TaskOutcome` value).
    :raises TaskError: a closed task, an empty note, a promise in the past.
    :raises ValueError: an unknown action or outcome.
    """
    now = clock.now()
    task = to_core(row)
    if action == "assign" and assignee.strip():
        task = core.assign(task, assignee.strip(), now=now, by=by)
    elif action == "note":
        task = core.add_note(task, by, note, now=now)
    elif action == "promise" and promised_to_pay_on is not None:
        task = core.promise_to_pay(task, promised_to_pay_on, by=by, now=now)
    elif action == "close":
        task = core.close(task, core.TaskOutcome(outcome), by=by, now=now)
    else:
        raise ValueError(f"not a task change: {action!r}")
    _write(row, task)
    session.add(row)
    session.flush()
    return row


def task_queue(
    session: Session, *, today: date, closed_limit: int = 50
) -> tuple[list[CollectionTask], list[CollectionTask]]:
    """Open tasks in working order (broken promises first, then the oldest without a
    promise, then promises to come) and the latest closed ones."""
    open_rows = session.exec(
        select(CollectionTask).where(col(CollectionTask.outcome).is_(None))
    ).all()
    by_id = {str(r.id): r for r in open_rows}
    ordered = [
        by_id[t.task_id] for t in core.work_queue([to_core(r) for r in open_rows], today=today)
    ]
    closed = session.exec(
        select(CollectionTask)
        .where(col(CollectionTask.outcome).is_not(None))
        .order_by(col(CollectionTask.closed_at).desc())
        .limit(closed_limit)
    ).all()
    return ordered, list(closed)


def create_payment_plan(
    session: Session,
    case: DunningCase,
    *,
    count: int,
    first_due: date,
    actor: str,
    clock: Clock,
    every_days: int | None = None,
) -> PaymentPlanRow:
    """Split what the case's member still owes into *count* monthly instalments from
    *first_due* (exact: they sum to the amount, see :func:`hub.dunning.payment_plans.make_plan`).

    :param every_days: days between instalments instead of a month.
    :raises PlanError: a count that does not fit the amount, or a first date in the past.
    """
    if first_due < clock.now().date():
        raise PlanError(f"the first instalment cannot be due in the past ({first_due})")
    invoice = session.get(Invoice, case.invoice_id)
    balance = case.amount_minor
    if invoice is not None:  # what is left after any part payments
        balance = invoice.total - amount_paid(session, case.invoice_id)
    plan = make_plan(plan_id=f"case-{case.id}", balance_minor=balance,
                     currency=case.currency, count=count, first_due=first_due,
                     every_days=every_days)  # fmt: skip
    row = PaymentPlanRow(
        case_id=case.id or 0,
        member_id=case.member_id,
        currency=case.currency,
        instalments=[
            {
                "number": i.number,
                "due_on": i.due_on.isoformat(),
                "amount_minor": i.amount_minor,
                "paid_minor": i.paid_minor,
            }
            for i in plan.instalments
        ],  # fmt: skip
        created_by=actor,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row
