"""Membership plans, sold per site; and each site's billing profile (how its invoices
look). Bad terms -- a negative price, an unknown currency, a zero-length interval -- are
refused with a 422 naming the field."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import col, select

from hub.api import crud
from hub.api.billing import field_error
from hub.api.deps import ClockDep, CurrentUser, Manager, SessionDep, Staff
from hub.models import BillingProfile, Plan, Schedule, Site
from hub.models.billing import BillingProfileBase, PlanCreate, PlanPublic, PlanUpdate
from hub.services.audit import snapshot_of

router = APIRouter(tags=["billing"])


@router.get("/plans")
def list_plans(
    session: SessionDep,
    _: CurrentUser,
    site_id: int | None = None,
    active: bool | None = None,
    limit: int = crud.Limit,
    offset: int = crud.Offset,
) -> list[PlanPublic]:
    q = select(Plan)
    if site_id is not None:
        q = q.where(Plan.site_id == site_id)
    if active is not None:
        q = q.where(Plan.active == active)
    rows = session.exec(q.order_by(col(Plan.id)).offset(offset).limit(limit)).all()
    return [PlanPublic.model_validate(p) for p in rows]


@router.post("/plans", status_code=201)
def add_plan(body: PlanCreate, session: SessionDep, clock: ClockDep, user: Manager) -> PlanPublic:
    crud.must_exist(session, Site, body.site_id, "site_id")
    if body.schedule_id:
        found = session.exec(
            select(Schedule.id).where(
                Schedule.site_id == body.site_id, Schedule.number == body.schedule_id
            )
        ).first()
        if found is None:
            raise field_error(
                "schedule_id", f"site {body.site_id} has no schedule {body.schedule_id}"
            )
    plan = Plan.model_validate(body, update={"created_at": clock.now()})
    session.add(plan)
    session.flush()
    crud.log(session, clock=clock, user=user, action="plan.create", row=plan)
    session.commit()
    return PlanPublic.model_validate(plan)


@router.get("/plans/{plan_id}")
def read_plan(plan_id: int, session: SessionDep, _: CurrentUser) -> PlanPublic:
    return PlanPublic.model_validate(crud.get_or_404(session, Plan, plan_id))


@router.patch("/plans/{plan_id}")
def edit_plan(
    plan_id: int, body: PlanUpdate, session: SessionDep, clock: ClockDep, user: Manager
) -> PlanPublic:
    plan = crud.get_or_404(session, Plan, plan_id)
    before = snapshot_of(plan)
    if body.name is not None and not body.name.strip():
        raise field_error("name", "a plan needs a name")
    crud.apply_update(plan, body)
    session.add(plan)
    crud.log(session, clock=clock, user=user, action="plan.update", row=plan, before=before)
    session.commit()
    return PlanPublic.model_validate(plan)


class BillingProfilePublic(BillingProfileBase):
    site_id: int


@router.get("/sites/{site_id}/billing-profile")
def read_billing_profile(site_id: int, session: SessionDep, _: Staff) -> BillingProfilePublic:
    crud.get_or_404(session, Site, site_id)
    profile = session.get(BillingProfile, site_id) or BillingProfile(site_id=site_id)
    return BillingProfilePublic.model_validate(profile)


@router.put("/sites/{site_id}/billing-profile")
def set_billing_profile(
    site_id: int, body: BillingProfileBase, session: SessionDep, clock: ClockDep, user: Manager
) -> BillingProfilePublic:
    crud.get_or_404(session, Site, site_id)
    profile = session.get(BillingProfile, site_id)
    before = snapshot_of(profile)
    if profile is None:
        profile = BillingProfile(site_id=site_id)
    for key, value in body.model_dump().items():
        setattr(profile, key, value)
    session.add(profile)
    session.flush()
    crud.log(session, clock=clock, user=user, action="billing_profile.update", row=profile,
             before=before, site_id=site_id)  # fmt: skip
    session.commit()
    return BillingProfilePublic.model_validate(profile)
