"""Invoices: list and read them (printable HTML too), sell other things on one (PT
sessions, class packs, items), take cash or a transfer at the desk, charge now, void,
refund."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from pydantic import Field, field_validator
from sqlmodel import SQLModel, col, select

from hub.api import crud
from hub.api.billing import (
    BillingDep,
    EngineDep,
    InvoiceDetail,
    InvoicePublic,
    field_error,
    invoice_detail,
    invoice_public,
    prefixes,
    refusals,
)
from hub.api.deps import ClockDep, Manager, SessionDep, SettingsDep, Staff
from hub.billing.collect import collect_invoice
from hub.billing.desk import mark_uncollectible, pay_at_desk, void_invoice
from hub.billing.invoices import ChargeItem, LineKind, charges_invoice
from hub.billing.issuing import ToIssue, issue_invoices
from hub.billing.money import UnknownCurrency, normalize_currency
from hub.billing.plans import MAX_AMOUNT_MINOR
from hub.billing.refunds import credit_note_for
from hub.billing.render import LANGUAGES, invoice_view, render_invoice_html
from hub.billing.sitetime import site_today
from hub.models import BillingProfile, DocumentKind, Invoice, InvoiceStatus, Member, Site

router = APIRouter(prefix="/invoices", tags=["billing"])


class ItemIn(SQLModel):
    """One thing sold: a PT session, a class pack or an item."""

    name: str = Field(min_length=1, max_length=200)
    unit_price: int = Field(ge=0, le=MAX_AMOUNT_MINOR, description="minor units")
    quantity: int = Field(default=1, ge=1, le=10_000)
    kind: Literal["pt_session", "class_pack", "item"] = "item"
    tax_rate_bp: int = Field(default=0, ge=0, le=10_000)
    tax_inclusive: bool = False


class ChargesCreate(SQLModel):
    member_id: int
    site_id: int
    currency: str = Field(min_length=3, max_length=3)
    items: list[ItemIn] = Field(min_length=1, max_length=100)
    collect: bool = Field(default=True, description="charge the member's saved method now")

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: object) -> str:
        try:
            return normalize_currency(value)  # type: ignore[arg-type]
        except UnknownCurrency as err:
            raise ValueError(str(err)) from None


class DeskPayment(SQLModel):
    method: Literal["cash", "transfer"]
    reference: str | None = Field(default=None, max_length=120)
    amount: int | None = Field(default=None, gt=0, le=MAX_AMOUNT_MINOR)


class RefundRequest(SQLModel):
    amount: int | None = Field(default=None, gt=0, le=MAX_AMOUNT_MINOR)
    reason: str | None = Field(default=None, max_length=200)


class CollectRequest(SQLModel):
    payment_method_id: int | None = None


@router.get("")
def list_invoices(
    session: SessionDep,
    _: Staff,
    member_id: int | None = None,
    site_id: int | None = None,
    subscription_id: int | None = None,
    invoice_status: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    issued_from: date | None = None,
    issued_to: date | None = None,
    limit: int = crud.Limit,
    offset: int = crud.Offset,
) -> list[InvoicePublic]:
    q = select(Invoice)
    for column, value in (
        (Invoice.member_id, member_id),
        (Invoice.site_id, site_id),
        (Invoice.subscription_id, subscription_id),
        (Invoice.status, invoice_status),
    ):
        if value is not None:
            q = q.where(column == value)
    if issued_from is not None:
        q = q.where(Invoice.issued_on >= issued_from)
    if issued_to is not None:
        q = q.where(Invoice.issued_on <= issued_to)
    rows = session.exec(q.order_by(col(Invoice.id)).offset(offset).limit(limit)).all()
    prefix = prefixes(session)
    return [invoice_public(i, prefix) for i in rows]


@router.get("/{invoice_id}")
def read_invoice(invoice_id: int, session: SessionDep, _: Staff) -> InvoiceDetail:
    return invoice_detail(session, crud.get_or_404(session, Invoice, invoice_id))


@router.get("/{invoice_id}/html", response_class=HTMLResponse)
def print_invoice(
    invoice_id: int,
    session: SessionDep,
    _: Staff,
    language: Annotated[str | None, Query(max_length=2)] = None,
) -> HTMLResponse:
    crud.get_or_404(session, Invoice, invoice_id)
    if language is not None and language not in LANGUAGES:
        raise field_error("language", f"invoices are written in {' or '.join(LANGUAGES)}")
    view = invoice_view(session, invoice_id, language=language)
    return HTMLResponse(render_invoice_html(view))


@router.post("", status_code=201)
def sell(
    body: ChargesCreate,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    engine: EngineDep,
    billing: BillingDep,
    user: Staff,
) -> InvoiceDetail:
    crud.must_exist(session, Member, body.member_id, "member_id")
    crud.must_exist(session, Site, body.site_id, "site_id")
    site = session.get(Site, body.site_id)
    assert site is not None
    profile = session.get(BillingProfile, body.site_id)
    items = [
        ChargeItem(name=i.name.strip() or "item", unit_price=i.unit_price, currency=body.currency,
                   quantity=i.quantity, kind=LineKind(i.kind), tax_rate_bp=i.tax_rate_bp,
                   tax_inclusive=i.tax_inclusive)
        for i in body.items
    ]  # fmt: skip
    today = site_today(clock.now(), site.timezone)
    draft = charges_invoice(items, issued_on=today, due_days=profile.due_days if profile else 0)
    (invoice_id,) = issue_invoices(
        session, [ToIssue(draft, site_id=body.site_id, member_id=body.member_id)], now=clock.now()
    )
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    crud.log(session, clock=clock, user=user, action="invoice.create", row=invoice)
    session.commit()
    if body.collect or draft.total == 0:
        with refusals():
            collect_invoice(engine=engine, settings=settings, clock=clock,
                            gateway=billing.gateway, invoice_id=invoice_id,
                            actor=user.actor)  # fmt: skip
    session.expire_all()
    return invoice_detail(session, crud.get_or_404(session, Invoice, invoice_id))


@router.post("/{invoice_id}/pay")
def pay_route(
    invoice_id: int, body: DeskPayment, session: SessionDep, clock: ClockDep, user: Staff
) -> InvoiceDetail:
    crud.get_or_404(session, Invoice, invoice_id)
    with refusals("amount"):
        pay_at_desk(session, invoice_id=invoice_id, method=body.method, clock=clock,
                    actor=user.actor, reference=body.reference, amount=body.amount)  # fmt: skip
    invoice = crud.get_or_404(session, Invoice, invoice_id)
    crud.log(session, clock=clock, user=user, action="invoice.pay", row=invoice)
    session.commit()
    session.expire_all()
    return invoice_detail(session, crud.get_or_404(session, Invoice, invoice_id))


@router.post("/{invoice_id}/collect")
def collect_route(
    invoice_id: int,
    body: CollectRequest,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    engine: EngineDep,
    billing: BillingDep,
    user: Staff,
) -> InvoiceDetail:
    """Charge a saved method now (the default, or *payment_method_id*)."""
    crud.get_or_404(session, Invoice, invoice_id)
    with refusals("payment_method_id"):
        collect_invoice(engine=engine, settings=settings, clock=clock, gateway=billing.gateway,
                        invoice_id=invoice_id, payment_method_id=body.payment_method_id,
                        actor=user.actor)  # fmt: skip
    session.expire_all()
    return invoice_detail(session, crud.get_or_404(session, Invoice, invoice_id))


@router.post("/{invoice_id}/void")
def void_route(
    invoice_id: int, session: SessionDep, clock: ClockDep, user: Manager
) -> InvoiceDetail:
    crud.get_or_404(session, Invoice, invoice_id)
    with refusals():
        invoice = void_invoice(session, invoice_id=invoice_id, clock=clock)
    crud.log(session, clock=clock, user=user, action="invoice.void", row=invoice)
    session.commit()
    return invoice_detail(session, invoice)


@router.post("/{invoice_id}/uncollectible")
def uncollectible_route(
    invoice_id: int, session: SessionDep, clock: ClockDep, user: Manager
) -> InvoiceDetail:
    crud.get_or_404(session, Invoice, invoice_id)
    with refusals():
        invoice = mark_uncollectible(session, invoice_id=invoice_id, clock=clock)
    crud.log(session, clock=clock, user=user, action="invoice.uncollectible", row=invoice)
    session.commit()
    return invoice_detail(session, invoice)


@router.post("/{invoice_id}/refund")
def refund_route(
    invoice_id: int,
    body: RefundRequest,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    engine: EngineDep,
    billing: BillingDep,
    user: Manager,
) -> InvoiceDetail:
    """Refund a paid invoice (all, or *amount*): a credit note, then the money back the
    way it came. On an open credit note: pay it out (again, after a failure)."""
    invoice = crud.get_or_404(session, Invoice, invoice_id)
    note_id = invoice_id
    if invoice.kind == DocumentKind.INVOICE.value:
        with refusals("amount"):
            note_id = credit_note_for(session, invoice_id=invoice_id, amount=body.amount,
                                      reason=body.reason, clock=clock)  # fmt: skip
        note = session.get(Invoice, note_id)
        assert note is not None
        crud.log(session, clock=clock, user=user, action="invoice.refund", row=note)
        session.commit()
    elif invoice.status != InvoiceStatus.OPEN.value:
        raise field_error("amount", f"credit note {invoice_id} is {invoice.status}")
    with refusals():
        collect_invoice(engine=engine, settings=settings, clock=clock, gateway=billing.gateway,
                        invoice_id=note_id, actor=user.actor)  # fmt: skip
    session.expire_all()
    return invoice_detail(session, crud.get_or_404(session, Invoice, note_id))
