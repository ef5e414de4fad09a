"""Taking money at the front desk from the member page: the member's open invoices,
each with a form for cash or a transfer -- the whole balance or a part of it.

Front desk staff hold ``billing.desk`` (so do managers and owners): they see what a
member owes and record what is handed over, and nothing else of billing -- no revenue
tiles, reports, plans, voids, refunds or write-offs::

    GET  /console/members/7/invoices/41/pay    the form, amount preset to the balance
    POST /console/members/7/invoices/41/pay    method, reference, amount, form_key

The form carries a one-time ``form_key``: the payment is recorded under it, so the same
form sent twice records one payment.  Once the balance reaches zero the invoice is paid,
its dunning case closed and the member's access extended, exactly as for a card payment.
Each payment is audited (``invoice.pay``, with the amount and method).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from hub.api.billing import prefixes
from hub.api.deps import SessionDep
from hub.billing.console.forms import DESK_FIELDS, new_form_key, read_desk_payment
from hub.billing.console.helpers import helpers
from hub.billing.desk import (
    DESK_METHODS,
    AmountRefused,
    InvoiceActionRefused,
    amount_paid,
    desk_payment,
    pay_at_desk,
)
from hub.billing.money import format_minor
from hub.billing.numbering import invoice_label
from hub.console.deps import FormDep, PageNotFound, Viewer, need, pick_site
from hub.console.forms import form_fields
from hub.console.permissions import Perm
from hub.console.web import render
from hub.models import DocumentKind, Invoice, InvoiceStatus, Member
from hub.services.audit import record, snapshot_of

router = APIRouter(prefix="/members")

DeskViewer = Annotated[Viewer, Depends(need(Perm.BILLING_DESK))]

#: Invoice states in which money can still be taken.
PAYABLE = (InvoiceStatus.OPEN.value, InvoiceStatus.UNCOLLECTIBLE.value)


def member_invoice(db: Session, member_id: int, invoice_id: int) -> tuple[Member, Invoice]:
    """The member and one of their invoices, or :class:`PageNotFound`."""
    member = db.get(Member, member_id) if 0 < member_id < 2**62 else None
    invoice = db.get(Invoice, invoice_id) if 0 < invoice_id < 2**62 else None
    if member is None or invoice is None or invoice.member_id != member.id:
        raise PageNotFound()
    return member, invoice


def balance_of(db: Session, invoice: Invoice) -> int:
    """What is still due on *invoice*, minor units (0 once paid, void or a credit note)."""
    if invoice.kind != DocumentKind.INVOICE.value or invoice.status not in PAYABLE:
        return 0
    return max(0, invoice.total - amount_paid(db, invoice.id or 0))


def _page(
    request: Request, db: Session, viewer: Viewer, member: Member, invoice: Invoice, *,
    errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    db.expire_all()
    fresh = db.get(Invoice, invoice.id)
    assert fresh is not None
    site = pick_site(db, None)
    label = invoice_label(prefixes(db).get(fresh.site_id), fresh.number)
    return render(
        request, "billing/desk_pay.html", viewer=viewer, **helpers(viewer.t.language),
        timezone=site.timezone if site else "UTC", member=member, invoice=fresh,
        label=label, paid_in=amount_paid(db, fresh.id or 0), due=balance_of(db, fresh),
        methods=DESK_METHODS, plain=format_minor, form_key=new_form_key(), errors=errors or {},
        values=values or {}, status_code=status_code,
    )  # fmt: skip


@router.get("/{member_id}/invoices/{invoice_id}/pay", response_class=HTMLResponse)
def desk_pay_form(
    request: Request, member_id: int, invoice_id: int, db: SessionDep, viewer: DeskViewer
) -> HTMLResponse:
    """The desk payment form for one of the member's invoices (amount preset to the
    balance), or what was paid if nothing is left due."""
    member, invoice = member_invoice(db, member_id, invoice_id)
    return _page(request, db, viewer, member, invoice)


@router.post("/{member_id}/invoices/{invoice_id}/pay")
def desk_pay(
    request: Request, member_id: int, invoice_id: int, db: SessionDep, form: FormDep,
    viewer: DeskViewer,
) -> Response:  # fmt: skip
    """Record cash or a transfer for the invoice: the whole balance or a part of it."""
    member, invoice = member_invoice(db, member_id, invoice_id)
    values = form_fields(form, DESK_FIELDS)
    due = balance_of(db, invoice)
    taken, errors = read_desk_payment(
        values, viewer.t, due=due, currency=invoice.currency, methods=DESK_METHODS
    )
    if taken is None:
        errors["pay"] = errors.get("form") or viewer.t("form.fix_errors")
        return _page(request, db, viewer, member, invoice, errors=errors, values=values,
                     status_code=422)  # fmt: skip
    clock = request.app.state.clock
    key = taken.form_key or ""
    if desk_payment(db, invoice.id or 0, key) is not None:  # the same form, sent again
        return _done(db, member, invoice)
    try:
        payment = pay_at_desk(
            db, invoice_id=invoice.id or 0, method=taken.method, clock=clock,
            actor=viewer.actor, reference=taken.reference, amount=taken.amount, form_key=key,
        )  # fmt: skip
    except AmountRefused as err:
        db.rollback()
        message = viewer.t("billing.refused", reason=str(err))
        return _page(request, db, viewer, member, invoice, errors={"amount": message,
                     "pay": message}, values=values, status_code=422)  # fmt: skip
    except InvoiceActionRefused as err:
        db.rollback()
        message = viewer.t("billing.refused", reason=str(err))
        return _page(request, db, viewer, member, invoice, errors={"pay": message},
                     values=values, status_code=409)  # fmt: skip
    after = db.get(Invoice, invoice.id)
    assert after is not None
    db.refresh(payment)  # settling the invoice expired what was loaded
    record(db, clock=clock, actor=viewer.actor, action="invoice.pay", entity="invoice",
           entity_id=invoice.id, site_id=invoice.site_id,
           after={**(snapshot_of(after) or {}), "payment": snapshot_of(payment)})  # fmt: skip
    db.commit()
    return _done(db, member, invoice)


def _done(db: Session, member: Member, invoice: Invoice) -> RedirectResponse:
    db.expire_all()
    paid = db.get(Invoice, invoice.id)
    paid_now = paid is not None and paid.status == InvoiceStatus.PAID.value
    msg = "desk_paid" if paid_now else "desk_part_paid"
    return RedirectResponse(f"/console/members/{member.id}?msg={msg}", status_code=303)
