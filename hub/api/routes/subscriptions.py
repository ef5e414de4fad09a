"""Subscriptions: sign up, change plan (prorated), freeze, cancel.

Signing up with a start of today issues and charges the first invoice at once (unless
``collect`` is false); later renewals are the billing run's. Changes "into the past"
and other refusals of the billing rules are 422s naming the field."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import model_validator
from sqlmodel import SQLModel, col, select

from hub.api import crud
from hub.api.billing import (
    BillingDep,
    EngineDep,
    InvoicePublic,
    field_error,
    invoice_public,
    prefixes,
    refusals,
)
from hub.api.deps import ClockDep, SessionDep, SettingsDep, Staff
from hub.billing.collect import collect_invoice
from hub.billing.run import run_billing
from hub.billing.subscriptions import (
    cancel_subscription,
    change_subscription_plan,
    freeze_subscription,
    resume_renewals,
    subscribe,
    today_at,
)
from hub.models import Invoice, Member, PaymentMethod, Plan, Subscription
from hub.models.billing import SubscriptionPublic
from hub.services.audit import snapshot_of

router = APIRouter(prefix="/subscriptions", tags=["billing"])


class SubscriptionCreate(SQLModel):
    member_id: int
    plan_id: int
    start_on: date | None = None
    payment_method_id: int | None = None
    collect: bool = True


class PlanChangeRequest(SQLModel):
    plan_id: int
    effective_on: date | None = None


class FreezeRequest(SQLModel):
    from_on: date
    resume_on: date

    @model_validator(mode="after")
    def _order(self) -> FreezeRequest:
        if self.resume_on <= self.from_on:
            raise ValueError("resume_on must be after from_on")
        return self


class CancelRequest(SQLModel):
    at_period_end: bool = True


class SubscriptionChange(SQLModel):
    """A subscription after a change, and the invoices the change issued."""

    subscription: SubscriptionPublic
    invoices: list[InvoicePublic]


def _answer(session: SessionDep, sub: Subscription, invoice_ids: list[int]) -> SubscriptionChange:
    session.expire_all()
    sub = session.get(Subscription, sub.id) or sub
    prefix = prefixes(session)
    rows = session.exec(select(Invoice).where(col(Invoice.id).in_(invoice_ids))).all()
    return SubscriptionChange(
        subscription=SubscriptionPublic.model_validate(sub),
        invoices=[invoice_public(i, prefix) for i in rows],
    )


@router.get("")
def list_subscriptions(
    session: SessionDep,
    _: Staff,
    member_id: int | None = None,
    site_id: int | None = None,
    sub_status: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    limit: int = crud.Limit,
    offset: int = crud.Offset,
) -> list[SubscriptionPublic]:
    q = select(Subscription)
    if member_id is not None:
        q = q.where(Subscription.member_id == member_id)
    if site_id is not None:
        q = q.where(Subscription.site_id == site_id)
    if sub_status:
        q = q.where(Subscription.status == sub_status)
    rows = session.exec(q.order_by(col(Subscription.id)).offset(offset).limit(limit)).all()
    return [SubscriptionPublic.model_validate(s) for s in rows]


@router.get("/{subscription_id}")
def read_subscription(subscription_id: int, session: SessionDep, _: Staff) -> SubscriptionPublic:
    return SubscriptionPublic.model_validate(
        crud.get_or_404(session, Subscription, subscription_id)
    )


@router.post("", status_code=201)
def add_subscription(
    body: SubscriptionCreate,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    engine: EngineDep,
    billing: BillingDep,
    user: Staff,
) -> SubscriptionChange:
    crud.must_exist(session, Member, body.member_id, "member_id")
    crud.must_exist(session, Plan, body.plan_id, "plan_id")
    crud.must_exist(session, PaymentMethod, body.payment_method_id, "payment_method_id")
    member = session.get(Member, body.member_id)
    plan = session.get(Plan, body.plan_id)
    assert member is not None and plan is not None
    if body.payment_method_id is not None:
        pm = session.get(PaymentMethod, body.payment_method_id)
        if pm is None or pm.member_id != member.id or pm.detached_at is not None:
            raise field_error("payment_method_id", "not a saved method of this member")
    start_on = body.start_on or today_at(session, plan.site_id, clock)
    with refusals("start_on"):
        sub = subscribe(session, member=member, plan=plan, start_on=start_on, clock=clock,
                        payment_method_id=body.payment_method_id)  # fmt: skip
    crud.log(session, clock=clock, user=user, action="subscription.create", row=sub)
    session.commit()
    invoice_ids: list[int] = []
    if body.collect:
        report = run_billing(engine=engine, settings=settings, clock=clock,
                             gateway=billing.gateway, subscription_ids=[sub.id or 0])  # fmt: skip
        invoice_ids = report.invoice_ids
    return _answer(session, sub, invoice_ids)


def _sub(session: SessionDep, subscription_id: int) -> Subscription:
    return crud.get_or_404(session, Subscription, subscription_id)


@router.post("/{subscription_id}/change-plan")
def change_plan_route(
    subscription_id: int,
    body: PlanChangeRequest,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    engine: EngineDep,
    billing: BillingDep,
    user: Staff,
) -> SubscriptionChange:
    sub = _sub(session, subscription_id)
    crud.must_exist(session, Plan, body.plan_id, "plan_id")
    new_plan = session.get(Plan, body.plan_id)
    assert new_plan is not None
    before = snapshot_of(sub)
    effective_on = body.effective_on or today_at(session, sub.site_id, clock)
    field = "effective_on" if body.effective_on is not None else "plan_id"
    with refusals(field):
        change = change_subscription_plan(session, sub=sub, new_plan=new_plan,
                                          effective_on=effective_on, clock=clock)  # fmt: skip
    crud.log(session, clock=clock, user=user, action="subscription.change_plan", row=sub,
             before=before)  # fmt: skip
    session.commit()
    ids = [change.invoice_id] if change.invoice_id is not None else []
    if change.invoice_id is not None:
        with refusals():
            collect_invoice(engine=engine, settings=settings, clock=clock,
                            gateway=billing.gateway, invoice_id=change.invoice_id,
                            actor=user.actor)  # fmt: skip
    return _answer(session, sub, ids)


@router.post("/{subscription_id}/freeze")
def freeze_route(
    subscription_id: int, body: FreezeRequest, session: SessionDep, clock: ClockDep, user: Staff
) -> SubscriptionPublic:
    sub = _sub(session, subscription_id)
    before = snapshot_of(sub)
    if body.from_on < today_at(session, sub.site_id, clock):
        raise field_error("from_on", f"a freeze cannot start in the past ({body.from_on})")
    with refusals("from_on"):
        freeze_subscription(session, sub=sub, from_on=body.from_on, resume_on=body.resume_on,
                            clock=clock)  # fmt: skip
    crud.log(session, clock=clock, user=user, action="subscription.freeze", row=sub, before=before)
    session.commit()
    return SubscriptionPublic.model_validate(sub)


@router.post("/{subscription_id}/cancel")
def cancel_route(
    subscription_id: int, body: CancelRequest, session: SessionDep, clock: ClockDep, user: Staff
) -> SubscriptionPublic:
    sub = _sub(session, subscription_id)
    before = snapshot_of(sub)
    with refusals("at_period_end"):
        cancel_subscription(session, sub=sub, clock=clock, at_period_end=body.at_period_end)
    crud.log(session, clock=clock, user=user, action="subscription.cancel", row=sub, before=before)
    session.commit()
    return SubscriptionPublic.model_validate(sub)


@router.post("/{subscription_id}/resume-renewals")
def resume_route(
    subscription_id: int, session: SessionDep, clock: ClockDep, user: Staff
) -> SubscriptionPublic:
    sub = _sub(session, subscription_id)
    before = snapshot_of(sub)
    with refusals():
        resume_renewals(session, sub=sub, clock=clock)
    crud.log(session, clock=clock, user=user, action="subscription.resume", row=sub, before=before)
    session.commit()
    return SubscriptionPublic.model_validate(sub)
