"""What the billing routes share: the gateway/mailer dependency, field errors, and the
API's view of invoices.

::

    @router.post("/invoices/{invoice_id}/pay")
    def pay(invoice_id: int, session: SessionDep, billing: BillingDep, ...): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from hub.billing.desk import AmountRefused, InvoiceActionRefused
from hub.billing.gateway import GatewayError
from hub.billing.numbering import invoice_label
from hub.billing.renewals import BillingRefused
from hub.billing.services import BillingServices, billing_services
from hub.models import (
    BillingProfile,
    ChargeAttempt,
    Invoice,
    InvoiceLineRow,
    Payment,
    Refund,
    Site,
)


def get_billing(request: Request) -> BillingServices:
    return billing_services(request.app.state)


BillingDep = Annotated[BillingServices, Depends(get_billing)]


def get_engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


EngineDep = Annotated[Engine, Depends(get_engine)]


def field_error(field: str, message: str) -> HTTPException:
    """A 422 naming one body field, shaped like FastAPI's own validation errors."""
    return HTTPException(
        422,
        [{"loc": ["body", field], "msg": message, "type": "value_error"}],
    )


@contextmanager
def refusals(field: str = "body") -> Iterator[None]:
    """Turn billing refusals into answers: :class:`BillingRefused` and
    :class:`AmountRefused` -> 422 on *field*,
    :class:`InvoiceActionRefused` -> 409, a gateway failure -> 502."""
    try:
        yield
    except (BillingRefused, AmountRefused) as err:
        raise field_error(field, str(err)) from None
    except InvoiceActionRefused as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from None
    except GatewayError as err:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"payment gateway: {err}") from None


class InvoicePublic(SQLModel):
    id: int
    label: str
    number: int | None
    site_id: int
    member_id: int
    subscription_id: int | None
    kind: str
    reason: str
    status: str
    currency: str
    subtotal: int
    tax: int
    total: int
    issued_on: date
    due_on: date
    period_start: date | None
    period_end: date | None
    credit_for_id: int | None
    memo: str | None
    paid_at: datetime | None
    voided_at: datetime | None
    emailed_at: datetime | None


class InvoiceLinePublic(SQLModel):
    position: int
    description: str
    kind: str
    quantity: int
    unit_amount: int
    tax_rate_bp: int
    tax_inclusive: bool
    net: int
    tax: int
    total: int
    period_start: date | None
    period_end: date | None


class ChargeAttemptPublic(SQLModel):
    id: int
    attempt: int
    payment_method_id: int | None
    gateway: str
    idempotency_key: str
    amount: int
    currency: str
    status: str
    decline_reason: str | None
    raw_code: str | None
    gateway_charge_id: str | None
    created_at: datetime
    finished_at: datetime | None


class PaymentPublic(SQLModel):
    id: int
    amount: int
    currency: str
    method: str
    method_label: str
    gateway: str
    gateway_charge_id: str | None
    reference: str | None
    paid_at: datetime
    recorded_by: str


class RefundPublic(SQLModel):
    id: int
    payment_id: int | None
    invoice_id: int
    credit_note_id: int
    amount: int
    currency: str
    method_label: str
    gateway: str
    gateway_refund_id: str | None
    reason: str | None
    created_at: datetime


class InvoiceDetail(InvoicePublic):
    lines: list[InvoiceLinePublic]
    attempts: list[ChargeAttemptPublic]
    payments: list[PaymentPublic]
    refunds: list[RefundPublic]


def prefixes(session: Session) -> dict[int, str]:
    """Each site's invoice-number prefix (its billing profile's, else its slug)."""
    profiles = {p.site_id: p.invoice_prefix for p in session.exec(select(BillingProfile))}
    return {
        site_id or 0: profiles.get(site_id or 0) or slug.upper()
        for site_id, slug in session.exec(select(Site.id, Site.slug))
    }


def invoice_public(invoice: Invoice, prefix: dict[int, str]) -> InvoicePublic:
    """The API view of *invoice*."""
    return InvoicePublic.model_validate(
        invoice, update={"label": invoice_label(prefix.get(invoice.site_id), invoice.number)}
    )


def invoice_detail(session: Session, invoice: Invoice) -> InvoiceDetail:
    """*invoice* with its lines, charge attempts, payments and refunds."""
    iid = invoice.id
    base = invoice_public(invoice, prefixes(session)).model_dump()
    return InvoiceDetail(
        **base,
        lines=[
            InvoiceLinePublic.model_validate(r)
            for r in session.exec(
                select(InvoiceLineRow)
                .where(InvoiceLineRow.invoice_id == iid)
                .order_by(col(InvoiceLineRow.position))
            )
        ],
        attempts=[
            ChargeAttemptPublic.model_validate(a)
            for a in session.exec(
                select(ChargeAttempt)
                .where(ChargeAttempt.invoice_id == iid)
                .order_by(col(ChargeAttempt.attempt))
            )
        ],
        payments=[
            PaymentPublic.model_validate(p)
            for p in session.exec(select(Payment).where(Payment.invoice_id == iid))
        ],
        refunds=[
            RefundPublic.model_validate(r)
            for r in session.exec(
                select(Refund).where(
                    (Refund.invoice_id == iid) | (Refund.credit_note_id == iid)  # type: ignore[arg-type]
                )
            )
        ],
    )
