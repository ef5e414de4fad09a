"""Saved payment methods: attached through the gateway, stored as tokens.

``source`` is a processor token (e.g. Stripe's ``pm_...`` from the browser) or, with the
simulated gateway, one of its documented test card numbers; either way only the token,
brand, last four digits and expiry are kept. A refused card is a 422 on ``source``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import field_validator
from sqlmodel import SQLModel, col, select

from hub.api import crud
from hub.api.billing import BillingDep, field_error, refusals
from hub.api.deps import ClockDep, SessionDep, Staff
from hub.billing.gateway import GatewayError, PaymentMethodRefused
from hub.billing.methods import attach_payment_method, detach_payment_method, make_default
from hub.models import Member, PaymentMethod
from hub.models.billing import PaymentMethodPublic

router = APIRouter(prefix="/payment-methods", tags=["billing"])


class PaymentMethodCreate(SQLModel):
    member_id: int
    source: str
    make_default: bool = False

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        value = value.strip()
        if not value or len(value) > 255:
            raise ValueError("a processor token (pm_...) or a test card number")
        return value


@router.get("")
def list_methods(
    session: SessionDep,
    _: Staff,
    member_id: int | None = None,
    include_detached: bool = False,
    limit: int = crud.Limit,
    offset: int = crud.Offset,
) -> list[PaymentMethodPublic]:
    q = select(PaymentMethod)
    if member_id is not None:
        q = q.where(PaymentMethod.member_id == member_id)
    if not include_detached:
        q = q.where(col(PaymentMethod.detached_at).is_(None))
    rows = session.exec(q.order_by(col(PaymentMethod.id)).offset(offset).limit(limit)).all()
    return [PaymentMethodPublic.model_validate(p) for p in rows]


@router.post("", status_code=201)
def add_method(
    body: PaymentMethodCreate,
    session: SessionDep,
    clock: ClockDep,
    billing: BillingDep,
    user: Staff,
) -> PaymentMethodPublic:
    crud.must_exist(session, Member, body.member_id, "member_id")
    member = session.get(Member, body.member_id)
    assert member is not None
    try:
        pm = attach_payment_method(session, member=member, gateway=billing.gateway,
                                   source=body.source, clock=clock,
                                   make_default=body.make_default)  # fmt: skip
    except PaymentMethodRefused as err:
        raise field_error("source", str(err)) from None
    except GatewayError as err:
        raise HTTPException(502, f"payment gateway: {err}") from None
    crud.log(session, clock=clock, user=user, action="payment_method.attach", row=pm)
    session.commit()
    return PaymentMethodPublic.model_validate(pm)


@router.post("/{method_id}/make-default")
def default_method(
    method_id: int, session: SessionDep, clock: ClockDep, user: Staff
) -> PaymentMethodPublic:
    pm = crud.get_or_404(session, PaymentMethod, method_id)
    if pm.detached_at is not None:
        raise field_error("method_id", "the method was removed")
    make_default(session, method=pm)
    crud.log(session, clock=clock, user=user, action="payment_method.default", row=pm)
    session.commit()
    return PaymentMethodPublic.model_validate(pm)


@router.delete("/{method_id}", status_code=204)
def remove_method(
    method_id: int, session: SessionDep, clock: ClockDep, billing: BillingDep, user: Staff
) -> None:
    pm = crud.get_or_404(session, PaymentMethod, method_id)
    if pm.detached_at is None:
        with refusals():
            detach_payment_method(session, method=pm, gateway=billing.gateway, clock=clock)
        crud.log(session, clock=clock, user=user, action="payment_method.detach", row=pm)
        session.commit()
