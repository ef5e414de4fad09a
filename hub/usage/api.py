"""Usage billing over the API (``/api/v1``): usage plans, passes sold to members, a
site's re-entry window and a member's usage.  Bad terms are 422s naming the field::

    POST /api/v1/usage-plans     {"site_id": 1, "name": "10 visits", "kind": "visit_pack",
                                  "visits": 10, "valid_days": 90, "price_minor": 150000}
    POST /api/v1/usage-passes    {"member_id": 7, "plan_id": 3}
    PUT  /api/v1/sites/1/usage   {"reentry_s": 10800}
    GET  /api/v1/members/7/usage
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from sqlmodel import SQLModel

from hub.api import crud
from hub.api.billing import field_error
from hub.api.deps import ClockDep, CurrentUser, Manager, SessionDep, Staff
from hub.models import Member, Site, UsagePlan
from hub.usage.metering import reentry_window, set_reentry_window
from hub.usage.passes import UsageRefused, create_plan, sell_pass
from hub.usage.plans import UsagePlanCreate, UsageSiteUpdate
from hub.usage.views import member_usage

router = APIRouter(tags=["usage"])


class PassCreate(SQLModel):
    member_id: int
    plan_id: int


def _refused(err: UsageRefused) -> Exception:
    field, _, message = str(err).partition(": ")
    return field_error(field if message else "plan_id", message or str(err))


@router.post("/usage-plans", status_code=201)
def add_usage_plan(
    body: UsagePlanCreate, session: SessionDep, clock: ClockDep, user: Manager
) -> dict[str, Any]:
    crud.must_exist(session, Site, body.site_id, "site_id")
    plan = create_plan(session, body, clock=clock)
    crud.log(session, clock=clock, user=user, action="usageplan.create", row=plan)
    session.commit()
    return plan.model_dump(mode="json")


@router.get("/usage-plans/{plan_id}")
def read_usage_plan(plan_id: int, session: SessionDep, _: CurrentUser) -> dict[str, Any]:
    return crud.get_or_404(session, UsagePlan, plan_id).model_dump(mode="json")


@router.post("/usage-passes", status_code=201)
def add_usage_pass(
    body: PassCreate, session: SessionDep, clock: ClockDep, user: Staff
) -> dict[str, Any]:
    crud.must_exist(session, Member, body.member_id, "member_id")
    try:
        p = sell_pass(session, member_id=body.member_id, plan_id=body.plan_id, clock=clock)
    except UsageRefused as err:
        session.rollback()
        raise _refused(err) from None
    crud.log(session, clock=clock, user=user, action="usagepass.create", row=p)
    session.commit()
    return p.model_dump(mode="json")


@router.get("/sites/{site_id}/usage")
def read_site_usage(site_id: int, session: SessionDep, _: CurrentUser) -> UsageSiteUpdate:
    crud.get_or_404(session, Site, site_id)
    return UsageSiteUpdate(reentry_s=reentry_window(session, site_id))


@router.put("/sites/{site_id}/usage")
def set_site_usage(
    site_id: int, body: UsageSiteUpdate, session: SessionDep, clock: ClockDep, _: Manager
) -> UsageSiteUpdate:
    crud.get_or_404(session, Site, site_id)
    set_reentry_window(session, site_id=site_id, seconds=body.reentry_s, clock=clock)
    session.commit()
    return body


@router.get("/members/{member_id}/usage")
def read_member_usage(member_id: int, session: SessionDep, _: Staff) -> dict[str, Any]:
    crud.get_or_404(session, Member, member_id)
    usage = member_usage(session, member_id)
    return {
        "used": usage.used,
        "remaining": usage.remaining,
        "overuse": usage.overuse,
        "passes": [asdict(p) for p in usage.passes],
        "visits": [asdict(v) for v in usage.visits],
    }
