"""Plans and prices: list, create, edit, archive (and bring back).

A plan nobody subscribes to can change all its terms; once sold, its price and interval
are fixed (members were told them) and only its name changes -- make a new plan and move
members to it.  Archiving stops new sign-ups; subscribers keep their plan.  Every
change is audited (``plan.create``, ``plan.update``, ``plan.archive``, ``plan.restore``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, func, select

from hub.api.deps import SessionDep
from hub.billing.console.forms import PLAN_FIELDS, plan_values, read_plan_form
from hub.billing.console.helpers import helpers
from hub.billing.plans import IntervalUnit
from hub.console.deps import FormDep, PageNotFound, Viewer, need, pick_site, sites
from hub.console.forms import form_fields, text_field
from hub.console.permissions import Perm
from hub.console.web import render
from hub.models import Plan, Subscription
from hub.services.audit import record, snapshot_of

router = APIRouter(prefix="/plans")

BillingViewer = Annotated[Viewer, Depends(need(Perm.BILLING_VIEW))]
BillingManager = Annotated[Viewer, Depends(need(Perm.BILLING_MANAGE))]
#: Terms that may change only while nobody subscribes.
LOCKED_WHEN_SOLD = tuple(f for f in PLAN_FIELDS if f != "name")


def get_plan(db: Session, plan_id: int) -> Plan:
    """The plan, or :class:`PageNotFound`."""
    found = db.get(Plan, plan_id) if 0 < plan_id < 2**31 else None
    if found is None:
        raise PageNotFound()
    return found


def subscriber_counts(db: Session) -> dict[int, int]:
    """Subscriptions per plan (any state)."""
    rows = db.exec(
        select(Subscription.plan_id, func.count()).group_by(Subscription.plan_id)  # type: ignore[arg-type]
    ).all()
    return dict(rows)


@router.get("", response_class=HTMLResponse)
def plan_list(
    request: Request, db: SessionDep, viewer: BillingViewer, archived: str = ""
) -> HTMLResponse:
    """Every plan on sale (``?archived=1``: the archived ones too)."""
    q = select(Plan).order_by(col(Plan.active).desc(), col(Plan.site_id), col(Plan.name))
    show_archived = archived == "1"
    if not show_archived:
        q = q.where(col(Plan.active).is_(True))
    site = pick_site(db, None)
    return render(
        request, "billing/plans.html", viewer=viewer,
        **helpers(viewer.t.language), timezone=site.timezone if site else "UTC",
        plans=db.exec(q).all(), counts=subscriber_counts(db), show_archived=show_archived,
        sites={s.id: s for s in sites(db)},
    )  # fmt: skip


def _form(
    request: Request,
    db: Session,
    viewer: Viewer,
    *,
    plan: Plan | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    sold = bool(plan and subscriber_counts(db).get(plan.id or 0))
    return render(
        request, "billing/plan_form.html", viewer=viewer,
        **helpers(viewer.t.language), plan=plan, values=values,
        errors=errors, sites=sites(db), units=[u.value for u in IntervalUnit], sold=sold,
        status_code=status_code,
    )  # fmt: skip


@router.get("/new", response_class=HTMLResponse)
def new_plan_form(request: Request, db: SessionDep, viewer: BillingManager) -> HTMLResponse:
    """An empty plan form (THB, monthly, 7 % VAT included)."""
    site = pick_site(db, None)
    values = {
        "currency": "THB", "interval_unit": "month", "interval_count": "1", "tax_rate": "7",
        "tax_inclusive": "on", "site_id": str(site.id) if site else "",
    }  # fmt: skip
    return _form(request, db, viewer, plan=None, values=values, errors={})


@router.post("/new", response_class=HTMLResponse)
def create_plan(
    request: Request, db: SessionDep, form: FormDep, viewer: BillingManager
) -> Response:
    """Add a plan; bad terms come back with a message beside each field."""
    values = form_fields(form, PLAN_FIELDS)
    data, errors = read_plan_form(values, viewer.t, sites={s.id or 0 for s in sites(db)})
    if data is None:
        return _form(request, db, viewer, plan=None, values=values, errors=errors, status_code=422)
    clock = request.app.state.clock
    plan = Plan.model_validate(data, update={"created_at": clock.now()})
    db.add(plan)
    db.flush()
    record(db, clock=clock, actor=viewer.actor, action="plan.create", entity="plan",
           entity_id=plan.id, site_id=plan.site_id, after=snapshot_of(plan))  # fmt: skip
    db.commit()
    return RedirectResponse(f"/console/plans?msg=plan_created#plan-{plan.id}", status_code=303)


@router.get("/{plan_id}/edit", response_class=HTMLResponse)
def edit_plan_form(
    request: Request, plan_id: int, db: SessionDep, viewer: BillingManager
) -> HTMLResponse:
    """The plan form, filled in."""
    plan = get_plan(db, plan_id)
    return _form(request, db, viewer, plan=plan, values=plan_values(plan), errors={})


@router.post("/{plan_id}/edit", response_class=HTMLResponse)
def edit_plan(
    request: Request, plan_id: int, db: SessionDep, form: FormDep, viewer: BillingManager
) -> Response:
    """Save the plan form (only the name, once the plan has subscribers)."""
    plan = get_plan(db, plan_id)
    sold = bool(subscriber_counts(db).get(plan.id or 0))
    values = form_fields(form, PLAN_FIELDS)
    if sold:  # the locked terms stay as they are, whatever was posted
        values = {**plan_values(plan), "name": values.get("name")}
    data, errors = read_plan_form(values, viewer.t, sites={s.id or 0 for s in sites(db)})
    if data is None:
        return _form(request, db, viewer, plan=plan, values=values, errors=errors, status_code=422)
    before = snapshot_of(plan)
    for key, value in data.model_dump().items():
        setattr(plan, key, value)
    db.add(plan)
    db.flush()
    clock = request.app.state.clock
    record(db, clock=clock, actor=viewer.actor, action="plan.update", entity="plan",
           entity_id=plan.id, site_id=plan.site_id, before=before,
           after=snapshot_of(plan))  # fmt: skip
    db.commit()
    return RedirectResponse(f"/console/plans?msg=plan_saved#plan-{plan.id}", status_code=303)


@router.post("/{plan_id}/archive")
def archive_plan(
    request: Request, plan_id: int, db: SessionDep, form: FormDep, viewer: BillingManager
) -> Response:
    """Stop selling a plan (``active=0``), or sell it again (``active=1``)."""
    plan = get_plan(db, plan_id)
    active = text_field(form, "active", 1) == "1"
    if plan.active != active:
        before = snapshot_of(plan)
        plan.active = active
        db.add(plan)
        record(db, clock=request.app.state.clock, actor=viewer.actor,
               action="plan.restore" if active else "plan.archive", entity="plan",
               entity_id=plan.id, site_id=plan.site_id, before=before,
               after=snapshot_of(plan))  # fmt: skip
        db.commit()
    msg = "plan_restored" if active else "plan_archived"
    return RedirectResponse(f"/console/plans?archived=1&msg={msg}", status_code=303)
