"""The dunning console pages (see :mod:`hub.dunning.console`)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select

from hub.api.deps import SessionDep
from hub.billing.money import format_minor
from hub.console.deps import FormDep, PageNotFound, Viewer, need, pick_site
from hub.console.forms import text_field
from hub.console.permissions import Perm
from hub.console.web import render
from hub.dunning.collection_tasks import TaskError, TaskOutcome
from hub.dunning.instalments import plan_state
from hub.dunning.payment_plans import PlanError
from hub.dunning.policy import PolicyError
from hub.dunning.report import dunning_summary
from hub.dunning.store import (
    current_policy,
    current_segmentation,
    policy_versions,
    save_policy,
    save_segmentation,
    segmentation_versions,
)
from hub.dunning.tasks import change_task, create_payment_plan, task_queue
from hub.models import (
    ActionStatus,
    CollectionTask,
    DunningAction,
    DunningCase,
    DunningCaseStatus,
    DunningMessage,
    DunningPolicyRow,
    Invoice,
    Member,
    PaymentPlanRow,
)

router = APIRouter(prefix="/dunning")

BillingViewer = Annotated[Viewer, Depends(need(Perm.BILLING_VIEW))]
BillingManager = Annotated[Viewer, Depends(need(Perm.BILLING_MANAGE))]


def money(amount: int, currency: str) -> str:
    """``THB 1,070.00``: an amount as the console shows it."""
    return format_minor(amount, currency, grouping=True, with_code=True)


def _timezone(db: SessionDep) -> str:
    site = pick_site(db, None)
    return site.timezone if site else "UTC"


def _names(db: SessionDep, member_ids: set[int]) -> dict[int, str]:
    if not member_ids:
        return {}
    rows = db.exec(select(Member).where(col(Member.id).in_(member_ids))).all()
    return {m.id or 0: f"{m.first_name} {m.last_name}" for m in rows}


@router.get("", response_class=HTMLResponse)
def queue(request: Request, db: SessionDep, viewer: BillingViewer) -> HTMLResponse:
    """Open cases, grouped by the policy step they reached, with what comes next."""
    cases = db.exec(
        select(DunningCase)
        .where(DunningCase.status == DunningCaseStatus.OPEN.value)
        .order_by(col(DunningCase.failed_at))
        .limit(500)
    ).all()
    ids = [c.id for c in cases]
    actions = db.exec(
        select(DunningAction).where(col(DunningAction.case_id).in_(ids)).order_by(
            col(DunningAction.id)
        )
    ).all() if ids else []  # fmt: skip
    last: dict[int, DunningAction] = {}
    pending: dict[int, DunningAction] = {}
    for a in actions:
        if a.status == ActionStatus.PENDING.value:
            pending.setdefault(a.case_id, a)
        else:
            last[a.case_id] = a
    now = request.app.state.clock.now()
    rows = [
        {
            "case": c,
            "day": max(0, (now - c.failed_at).days),
            "last": last.get(c.id or 0),
            "pending": pending.get(c.id or 0),
        }
        for c in cases
    ]
    by_step = Counter(r["last"].step if r["last"] else "-" for r in rows)
    return render(
        request, "dunning/queue.html", viewer=viewer, timezone=_timezone(db), rows=rows,
        by_step=sorted(by_step.items()), names=_names(db, {c.member_id for c in cases}),
        money=money, summary=dunning_summary(db),
    )  # fmt: skip


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_detail(
    request: Request, case_id: int, db: SessionDep, viewer: BillingViewer
) -> HTMLResponse:
    """One case: its actions (the outbox is its history), messages, tasks and plans."""
    case = db.get(DunningCase, case_id)
    if case is None:
        raise PageNotFound()
    actions = db.exec(
        select(DunningAction).where(DunningAction.case_id == case_id).order_by(
            col(DunningAction.id)
        )
    ).all()  # fmt: skip
    messages = db.exec(select(DunningMessage).where(DunningMessage.case_id == case_id)).all()
    tasks = db.exec(select(CollectionTask).where(CollectionTask.case_id == case_id)).all()
    rows = db.exec(select(PaymentPlanRow).where(PaymentPlanRow.case_id == case_id)).all()
    invoice = db.get(Invoice, case.invoice_id)
    assert invoice is not None
    plans = [plan_state(db, row, invoice) for row in rows]  # what is paid of each, so far
    return render(
        request, "dunning/case.html", viewer=viewer, timezone=_timezone(db), case=case,
        actions=actions, messages=messages, tasks=tasks, plans=plans,
        member=db.get(Member, case.member_id), money=money,
    )  # fmt: skip


@router.post("/cases/{case_id}/plan")
def plan_create(
    request: Request, case_id: int, db: SessionDep, form: FormDep, viewer: BillingManager
) -> Response:
    """Split the case's amount into monthly instalments."""
    case = db.get(DunningCase, case_id)
    if case is None:
        raise PageNotFound()
    here = f"/console/dunning/cases/{case_id}"
    try:
        count = int(text_field(form, "count", 3))
        first_due = date.fromisoformat(text_field(form, "first_due", 10))
        create_payment_plan(db, case, count=count, first_due=first_due, actor=viewer.actor,
                            clock=request.app.state.clock)  # fmt: skip
    except (ValueError, PlanError):
        db.rollback()
        return RedirectResponse(f"{here}?msg=plan_refused", status_code=303)
    db.commit()
    return RedirectResponse(f"{here}?msg=plan_saved", status_code=303)


@router.get("/tasks", response_class=HTMLResponse)
def tasks(request: Request, db: SessionDep, viewer: BillingViewer) -> HTMLResponse:
    """The collections queue in working order, and the tasks closed lately."""
    tz = _timezone(db)
    today = request.app.state.clock.now().date()
    open_tasks, closed = task_queue(db, today=today)
    members = {t.member_id for t in (*open_tasks, *closed)}
    return render(
        request, "dunning/tasks.html", viewer=viewer, timezone=tz, open_tasks=open_tasks,
        closed=closed, names=_names(db, members), outcomes=[o.value for o in TaskOutcome],
        today=today, money=money,
    )  # fmt: skip


@router.post("/tasks/{task_id}")
def task_change(
    request: Request, task_id: int, db: SessionDep, form: FormDep, viewer: BillingManager
) -> Response:
    """Assign, add a note, record a promise to pay, or close with an outcome."""
    task = db.get(CollectionTask, task_id)
    if task is None:
        raise PageNotFound()
    action = text_field(form, "action", 16)
    promised: date | None = None
    if action == "promise":
        try:
            promised = date.fromisoformat(text_field(form, "promised_to_pay_on", 10))
        except ValueError:
            return RedirectResponse("/console/dunning/tasks?msg=task_refused", status_code=303)
    try:
        change_task(
            db, task, action=action, by=viewer.actor, clock=request.app.state.clock,
            assignee=text_field(form, "assignee", 120), note=text_field(form, "note", 2000),
            promised_to_pay_on=promised, outcome=text_field(form, "outcome", 32),
        )  # fmt: skip
    except (TaskError, ValueError):
        db.rollback()
        return RedirectResponse("/console/dunning/tasks?msg=task_refused", status_code=303)
    db.commit()
    return RedirectResponse("/console/dunning/tasks?msg=task_saved", status_code=303)


def _policies_page(
    request: Request,
    db: SessionDep,
    viewer: Viewer,
    *,
    problems: list[str] | None = None,
    text: str = "",
    segment_problems: list[str] | None = None,
    segment_text: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    clock = request.app.state.clock
    versions = policy_versions(db, clock=clock)
    db.commit()
    newest: dict[str, DunningPolicyRow] = {}
    for row in versions:
        newest.setdefault(row.name, row)
    parsed = {name: current_policy(db, name, clock=clock) for name in newest}
    segment_versions = segmentation_versions(db, clock=clock)
    rules = current_segmentation(db, clock=clock)
    db.commit()
    return render(
        request, "dunning/policies.html", viewer=viewer, timezone=_timezone(db),
        versions=versions, newest=newest, parsed=parsed, problems=problems or [], text=text,
        segment_versions=segment_versions, rules=rules,
        segment_problems=segment_problems or [], segment_text=segment_text,
        status_code=status_code,
    )  # fmt: skip


@router.get("/policies", response_class=HTMLResponse)
def policies(request: Request, db: SessionDep, viewer: BillingViewer) -> HTMLResponse:
    """Every stored policy version; the newest of each with its steps."""
    return _policies_page(request, db, viewer)


@router.post("/policies", response_model=None)
def policy_save(
    request: Request, db: SessionDep, form: FormDep, viewer: BillingManager
) -> Response:
    """Store an edited policy as its next version (open cases keep theirs)."""
    text = text_field(form, "text", 20000)
    try:
        saved = save_policy(db, text, actor=viewer.actor, clock=request.app.state.clock)
    except PolicyError as err:
        db.rollback()
        return _policies_page(
            request, db, viewer, problems=err.problems, text=text, status_code=422
        )
    db.commit()
    return RedirectResponse(
        f"/console/dunning/policies?msg=policy_saved#policy-{saved.name}", status_code=303
    )


@router.post("/policies/segments", response_model=None)
def segments_save(
    request: Request, db: SessionDep, form: FormDep, viewer: BillingManager
) -> Response:
    """Store edited segmentation rules as their next version (running cases keep their
    segment and policy)."""
    text = text_field(form, "text", 20000)
    try:
        save_segmentation(db, text, actor=viewer.actor, clock=request.app.state.clock)
    except PolicyError as err:
        db.rollback()
        return _policies_page(request, db, viewer, segment_problems=err.problems,
                              segment_text=text, status_code=422)  # fmt: skip
    db.commit()
    return RedirectResponse(
        "/console/dunning/policies?msg=segments_saved#segments", status_code=303
    )
