"""The hub's clock: read it, and -- only with a manual (test) clock outside production --
advance it, running what falls due day by day (billing, emails, access refresh, ...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from sqlmodel import SQLModel

from hub.api.deps import ClockDep, CurrentUser, Manager, SettingsDep
from hub.billing.services import billing_services
from hub.clock.advance import ClockRefused, advance_clock, check_manual, parse_span

router = APIRouter(prefix="/clock", tags=["clock"])


class ClockPublic(SQLModel):
    now: datetime
    clock: str


class AdvanceRequest(SQLModel):
    by: str


class AdvanceResult(ClockPublic):
    steps: int
    invoices_issued: int
    paid: int
    failed: int


@router.get("")
def read_clock(clock: ClockDep, settings: SettingsDep, _: CurrentUser) -> ClockPublic:
    return ClockPublic(now=clock.now(), clock=settings.clock)


@router.post("/advance")
def advance(
    body: AdvanceRequest, request: Request, clock: ClockDep, settings: SettingsDep, _: Manager
) -> AdvanceResult:
    try:
        check_manual(settings, clock)
    except ClockRefused as err:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(err)) from None
    try:
        span = parse_span(body.by)
    except ClockRefused as err:
        raise HTTPException(
            422, [{"loc": ["body", "by"], "msg": str(err), "type": "value_error"}]
        ) from None
    state = request.app.state
    steps = advance_clock(engine=state.engine, settings=settings, clock=clock, by=span,
                          services=billing_services(state))  # fmt: skip
    totals: dict[str, Any] = {"invoices_issued": 0, "paid": 0, "failed": 0}
    for step in steps:
        billing = step.results.get("billing")
        for key in totals:
            totals[key] += getattr(billing, key, 0)
    return AdvanceResult(now=clock.now(), clock=settings.clock, steps=len(steps), **totals)
