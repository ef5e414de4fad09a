"""The member's invoices: the list, one invoice (with its pay form while open), the
printable copy, and paying it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from hub.api.deps import SessionDep
from hub.billing.render import invoice_view, render_invoice_html
from hub.console.deps import FormDep
from hub.console.forms import int_param
from hub.models import Invoice, InvoiceStatus
from hub.portal import account
from hub.portal.deps import MemberDep, MemberView, PortalNotFound
from hub.portal.routes.paying import PayAttempt, gateway_of, new_pay_key, pay, takes_test_cards
from hub.portal.web import render

router = APIRouter()

PAYABLE = (InvoiceStatus.OPEN.value, InvoiceStatus.UNCOLLECTIBLE.value)


def _own(db: Session, viewer: MemberView, invoice_id: str) -> Invoice:
    found = account.own_invoice(
        db, member_id=viewer.member.id or 0, invoice_id=int_param(invoice_id, default=0)
    )
    if found is None:
        raise PortalNotFound()
    return found


@router.get("/invoices", response_class=HTMLResponse)
def invoice_list(request: Request, db: SessionDep, viewer: MemberDep) -> Response:
    """Every invoice and credit note of the member, newest first."""
    rows = account.invoices(db, viewer.member.id or 0)
    return render(
        request, "invoices.html", t=viewer.t, member=viewer.member,
        csrf_token=viewer.csrf_token, timezone=viewer.timezone, invoices=rows,
        labels=account.labels(db, rows),
    )  # fmt: skip


def _detail(
    request: Request,
    db: Session,
    viewer: MemberView,
    invoice: Invoice,
    attempt: PayAttempt | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = invoice_view(db, invoice.id or 0, language=viewer.t.language)
    gateway = gateway_of(request)
    methods = account.saved_methods(db, viewer.member.id or 0, gateway.name)
    attempt = attempt or PayAttempt()
    return render(
        request, "invoice.html", t=viewer.t, member=viewer.member,
        csrf_token=viewer.csrf_token, timezone=viewer.timezone, invoice=invoice, view=view,
        payable=invoice.status in PAYABLE and invoice.total > 0, methods=methods,
        test_cards=takes_test_cards(request), pay_key=new_pay_key(),
        errors={k: viewer.t(v) for k, v in attempt.errors.items()},
        values=attempt.values, alert=attempt.alert(viewer.t),
        action=f"/portal/invoices/{invoice.id}/pay",
        status_code=status_code,
    )  # fmt: skip


@router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
def invoice_page(request: Request, db: SessionDep, viewer: MemberDep, invoice_id: str) -> Response:
    """One invoice: lines, payments, and the pay form while it is open."""
    return _detail(request, db, viewer, _own(db, viewer, invoice_id))


@router.get("/invoices/{invoice_id}/print", response_class=HTMLResponse)
def invoice_print(request: Request, db: SessionDep, viewer: MemberDep, invoice_id: str) -> Response:
    """The printable invoice or receipt (the same page the invoice email carries)."""
    invoice = _own(db, viewer, invoice_id)
    view = invoice_view(db, invoice.id or 0, language=viewer.t.language)
    return HTMLResponse(render_invoice_html(view, language=viewer.t.language))


@router.post("/invoices/{invoice_id}/pay", response_class=HTMLResponse)
def invoice_pay(
    request: Request, db: SessionDep, viewer: MemberDep, form: FormDep, invoice_id: str
) -> Response:
    """Charge the invoice with a saved method or a new test card."""
    invoice = _own(db, viewer, invoice_id)
    if invoice.status not in PAYABLE:
        return RedirectResponse(f"/portal/invoices/{invoice.id}?msg=nothing_due", status_code=303)
    attempt = pay(request, db, member=viewer.member, invoice=invoice, form=form,
                  actor=viewer.actor)  # fmt: skip
    if attempt.outcome is not None and attempt.outcome.paid:
        return RedirectResponse(f"/portal/invoices/{invoice.id}?msg=paid", status_code=303)
    db.expire_all()
    fresh = db.get(Invoice, invoice.id)
    assert fresh is not None
    code = 422 if attempt.errors else 402
    return _detail(request, db, viewer, fresh, attempt, status_code=code)
