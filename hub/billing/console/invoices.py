"""Invoices: a filtered list, the detail (lines, VAT, payments, charge attempts, refunds)
and what staff do with one -- void it, refund it (all or part), take cash or a transfer
at the desk (all or part of the balance), write it off -- plus the printable invoice.

Each action is one form on the detail page; a refused one (a paid invoice cannot be
voided, a refund larger than what was paid) comes back on the same page with the reason
beside the form.  Every action is audited (``invoice.void``, ``invoice.refund``,
``invoice.pay``, ``invoice.uncollectible``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, func, or_, select

from hub.api.billing import invoice_detail, prefixes
from hub.api.deps import SessionDep
from hub.billing.collect import collect_invoice
from hub.billing.console.forms import (
    DESK_FIELDS,
    new_form_key,
    parse_amount,
    read_desk_payment,
)
from hub.billing.console.helpers import helpers
from hub.billing.console.plans import BillingManager, BillingViewer
from hub.billing.desk import (
    DESK_METHODS,
    AmountRefused,
    InvoiceActionRefused,
    amount_paid,
    desk_payment,
    mark_uncollectible,
    pay_at_desk,
    void_invoice,
)
from hub.billing.numbering import invoice_label
from hub.billing.refunds import credit_note_for, refundable
from hub.billing.render import invoice_view, render_invoice_html
from hub.billing.run import open_session
from hub.billing.services import billing_services
from hub.console.deps import FormDep, PageNotFound, Viewer, pick_site
from hub.console.forms import bad_characters, form_fields, int_param
from hub.console.web import render
from hub.models import DocumentKind, DunningCase, Invoice, InvoiceStatus, Member
from hub.services.audit import record, snapshot_of

router = APIRouter(prefix="/invoices")

PAGE_SIZE = 50
STATUSES = tuple(s.value for s in InvoiceStatus if s != InvoiceStatus.DRAFT)


def get_invoice(db: Session, invoice_id: int) -> Invoice:
    """The invoice, or :class:`PageNotFound`."""
    found = db.get(Invoice, invoice_id) if 0 < invoice_id < 2**62 else None
    if found is None:
        raise PageNotFound()
    return found


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def _filtered(db: Session, status: str, member: str, first: date | None, last: date | None):  # type: ignore[no-untyped-def]
    q = select(Invoice, Member).join(Member, col(Member.id) == Invoice.member_id)
    count = (
        select(func.count()).select_from(Invoice).join(Member, col(Member.id) == Invoice.member_id)
    )
    conditions: list[Any] = []
    if status in STATUSES:
        conditions.append(col(Invoice.status) == status)
    if member:
        if member.isascii() and member.isdigit() and len(member) < 10:
            conditions.append(col(Invoice.member_id) == int(member))
        else:
            like = f"%{member}%"
            conditions.append(
                or_(
                    col(Member.first_name).ilike(like),
                    col(Member.last_name).ilike(like),
                    col(Member.email).ilike(like),
                    (col(Member.first_name) + " " + col(Member.last_name)).ilike(like),
                )
            )
    if first is not None:
        conditions.append(col(Invoice.issued_on) >= first)
    if last is not None:
        conditions.append(col(Invoice.issued_on) <= last)
    for cond in conditions:
        q, count = q.where(cond), count.where(cond)
    return q, count


@router.get("", response_class=HTMLResponse)
def invoice_list(
    request: Request,
    db: SessionDep,
    viewer: BillingViewer,
    status: str = "",
    member: str = "",
    first: str = "",
    last: str = "",
    offset: str = "",
) -> HTMLResponse:
    """Invoices and credit notes, newest first; filter by status, member (name, email or
    number) and the period they were issued in."""
    status, member = status[:16], member.strip()[:100]
    if "\x00" in member:
        member = ""
    start = int_param(offset, 0, 0, 10**7)
    day_from, day_to = _day(first[:10]), _day(last[:10])
    q, count = _filtered(db, status, member, day_from, day_to)
    rows = db.exec(
        q.order_by(col(Invoice.issued_on).desc(), col(Invoice.id).desc())
        .offset(start)
        .limit(PAGE_SIZE)
    ).all()
    prefix = prefixes(db)
    site = pick_site(db, None)
    filters = {
        "status": status, "member": member, "first": day_from.isoformat() if day_from else "",
        "last": day_to.isoformat() if day_to else "",
    }  # fmt: skip
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    return render(
        request, "billing/invoices.html", viewer=viewer,
        **helpers(viewer.t.language), timezone=site.timezone if site else "UTC",
        rows=[(i, m, invoice_label(prefix.get(i.site_id), i.number)) for i, m in rows],
        total=int(db.exec(count).one()), offset=start, page_size=PAGE_SIZE, filters=filters,
        query=query, statuses=STATUSES,
    )  # fmt: skip


def render_invoice(
    request: Request,
    db: Session,
    viewer: Viewer,
    invoice: Invoice,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The invoice page, with any action's errors (``errors[action]``, ``errors[field]``)."""
    db.expire_all()
    invoice = get_invoice(db, invoice.id or 0)
    detail = invoice_detail(db, invoice)
    member = db.get(Member, invoice.member_id)
    prefix = prefixes(db)
    notes = db.exec(
        select(Invoice).where(Invoice.credit_for_id == invoice.id).order_by(col(Invoice.id))
    ).all()
    credited = db.get(Invoice, invoice.credit_for_id) if invoice.credit_for_id else None
    case = db.exec(select(DunningCase).where(DunningCase.invoice_id == invoice.id)).first()
    site = pick_site(db, None)
    is_invoice = invoice.kind == DocumentKind.INVOICE.value
    unpaid = invoice.status in (InvoiceStatus.OPEN.value, InvoiceStatus.UNCOLLECTIBLE.value)
    paid_in = amount_paid(db, invoice.id or 0)
    can_refund = is_invoice and invoice.status == InvoiceStatus.PAID.value
    left = refundable(db, invoice.id or 0) if can_refund else 0
    actions = {
        "pay": is_invoice and unpaid,
        "void": unpaid and not paid_in,
        "uncollectible": invoice.status == InvoiceStatus.OPEN.value and is_invoice,
        "refund": can_refund and left > 0,
        "payout": not is_invoice and invoice.status == InvoiceStatus.OPEN.value,
    }
    return render(
        request, "billing/invoice.html", viewer=viewer,
        **helpers(viewer.t.language), timezone=site.timezone if site else "UTC",
        invoice=invoice, detail=detail, member=member, case=case, actions=actions,
        refundable=left, due=max(0, invoice.total - paid_in), methods=DESK_METHODS,
        form_key=new_form_key(),
        notes=[(n, invoice_label(prefix.get(n.site_id), n.number)) for n in notes],
        credited=(credited, invoice_label(prefix.get(credited.site_id), credited.number))
        if credited else None,
        errors=errors or {}, values=values or {}, status_code=status_code,
    )  # fmt: skip


@router.get("/{invoice_id}", response_class=HTMLResponse)
def invoice_page(
    request: Request, invoice_id: int, db: SessionDep, viewer: BillingViewer
) -> HTMLResponse:
    """One invoice: lines, VAT, totals, payments, charge attempts, refunds, actions."""
    return render_invoice(request, db, viewer, get_invoice(db, invoice_id))


@router.get("/{invoice_id}/print", response_class=HTMLResponse)
def print_invoice(
    request: Request, invoice_id: int, db: SessionDep, viewer: BillingViewer, lang: str = ""
) -> HTMLResponse:
    """The invoice as the member receives it, ready to print (in the viewer's language,
    or ``?lang=th`` / ``?lang=en``)."""
    invoice = get_invoice(db, invoice_id)
    language = lang if lang in ("en", "th") else viewer.t.language
    return HTMLResponse(render_invoice_html(invoice_view(db, invoice.id or 0, language=language)))


def _audit(db: Session, request: Request, viewer: Viewer, action: str, row: Invoice) -> None:
    record(db, clock=request.app.state.clock, actor=viewer.actor, action=action,
           entity="invoice", entity_id=row.id, site_id=row.site_id,
           after=snapshot_of(row))  # fmt: skip


def _done(invoice_id: int, msg: str) -> RedirectResponse:
    return RedirectResponse(f"/console/invoices/{invoice_id}?msg={msg}", status_code=303)


def _refused(
    request: Request, db: Session, viewer: Viewer, invoice: Invoice, action: str, err: Exception,
    values: dict[str, Any] | None = None, field: str | None = None,
) -> HTMLResponse:  # fmt: skip
    db.rollback()
    message = viewer.t("billing.refused", reason=str(err))
    errors = {action: message, **({field: message} if field else {})}
    code = 422 if field else 409
    return render_invoice(
        request, db, viewer, invoice, errors=errors, values=values, status_code=code
    )


@router.post("/{invoice_id}/void")
def void(request: Request, invoice_id: int, db: SessionDep, viewer: BillingManager) -> Response:
    """Cancel an unpaid invoice (it keeps its number; nothing is owed any more)."""
    invoice = get_invoice(db, invoice_id)
    try:
        row = void_invoice(db, invoice_id=invoice_id, clock=request.app.state.clock)
    except InvoiceActionRefused as err:
        return _refused(request, db, viewer, invoice, "void", err)
    _audit(db, request, viewer, "invoice.void", row)
    db.commit()
    return _done(invoice_id, "invoice_voided")


@router.post("/{invoice_id}/uncollectible")
def uncollectible(
    request: Request, invoice_id: int, db: SessionDep, viewer: BillingManager
) -> Response:
    """Write an open invoice off (it can still be paid later)."""
    invoice = get_invoice(db, invoice_id)
    try:
        row = mark_uncollectible(db, invoice_id=invoice_id, clock=request.app.state.clock)
    except InvoiceActionRefused as err:
        return _refused(request, db, viewer, invoice, "uncollectible", err)
    _audit(db, request, viewer, "invoice.uncollectible", row)
    db.commit()
    return _done(invoice_id, "invoice_uncollectible")


@router.post("/{invoice_id}/pay")
def pay(
    request: Request, invoice_id: int, db: SessionDep, form: FormDep, viewer: BillingManager
) -> Response:
    """Record cash or a bank transfer taken at the front desk: the whole amount due
    (amount left empty) or a part of it."""
    invoice = get_invoice(db, invoice_id)
    values = form_fields(form, DESK_FIELDS)
    due = max(0, invoice.total - amount_paid(db, invoice_id))
    taken, errors = read_desk_payment(values, viewer.t, due=due, currency=invoice.currency,
                                      methods=DESK_METHODS, need_key=False)  # fmt: skip
    if taken is None:
        errors["pay"] = errors.get("form") or viewer.t("form.fix_errors")
        return render_invoice(request, db, viewer, invoice, errors=errors, values=values,
                              status_code=422)  # fmt: skip
    if taken.form_key and desk_payment(db, invoice_id, taken.form_key) is not None:
        return _done(invoice_id, "invoice_paid")  # the same form, sent again
    try:
        pay_at_desk(db, invoice_id=invoice_id, method=taken.method,
                    clock=request.app.state.clock, actor=viewer.actor,
                    reference=taken.reference, amount=taken.amount,
                    form_key=taken.form_key)  # fmt: skip
    except AmountRefused as err:
        return _refused(request, db, viewer, invoice, "pay", err, values, field="amount")
    except InvoiceActionRefused as err:
        return _refused(request, db, viewer, invoice, "pay", err, values)
    _audit(db, request, viewer, "invoice.pay", get_invoice(db, invoice_id))
    db.commit()
    paid = get_invoice(db, invoice_id).status == InvoiceStatus.PAID.value
    return _done(invoice_id, "invoice_paid" if paid else "desk_part_paid")


@router.post("/{invoice_id}/refund")
def refund(
    request: Request, invoice_id: int, db: SessionDep, form: FormDep, viewer: BillingManager
) -> Response:
    """Refund a paid invoice -- all of it (amount left empty) or part -- with a credit
    note, then give the money back the way it came (card refund, or cash at the desk)."""
    invoice = get_invoice(db, invoice_id)
    if invoice.kind == DocumentKind.CREDIT_NOTE.value:
        return _pay_out(request, db, viewer, invoice)
    values = form_fields(form, ("amount", "reason"))
    errors = bad_characters(values, viewer.t)
    amount = None
    if values.get("amount") is not None:
        amount = parse_amount(values["amount"], invoice.currency)
        if amount is None or amount <= 0:
            errors["amount"] = viewer.t("billing.error.amount")
    reason = values.get("reason")
    if reason is not None and len(reason) > 200:
        errors["reason"] = viewer.t("form.too_long", max_length=200)
    if errors:
        errors["refund"] = viewer.t("form.fix_errors")
        return render_invoice(request, db, viewer, invoice, errors=errors, values=values,
                              status_code=422)  # fmt: skip
    clock = request.app.state.clock
    try:
        note_id = credit_note_for(db, invoice_id=invoice_id, amount=amount, reason=reason,
                                  clock=clock)  # fmt: skip
    except AmountRefused as err:
        return _refused(request, db, viewer, invoice, "refund", err, values, field="amount")
    except InvoiceActionRefused as err:
        return _refused(request, db, viewer, invoice, "refund", err, values)
    note = get_invoice(db, note_id)
    _audit(db, request, viewer, "invoice.refund", note)
    db.commit()
    paid_out = _give_back(request, viewer, note_id)
    return _done(invoice_id, "invoice_refunded" if paid_out else "refund_pending")


def _give_back(request: Request, viewer: Viewer, note_id: int) -> bool:
    """Pay an open credit note out through the payments it refunds; ``True`` once it is
    paid (a gateway that refuses leaves it open, to try again from its page)."""
    app = request.app
    collect_invoice(engine=app.state.engine, settings=app.state.settings,
                    clock=app.state.clock, gateway=billing_services(app.state).gateway,
                    invoice_id=note_id, actor=viewer.actor)  # fmt: skip
    with open_session(app.state.engine, app.state.settings) as s:
        note = s.get(Invoice, note_id)
        return note is not None and note.status == InvoiceStatus.PAID.value


def _pay_out(request: Request, db: Session, viewer: Viewer, note: Invoice) -> Response:
    """Try again to give back what an open credit note owes."""
    if note.status != InvoiceStatus.OPEN.value:
        err = InvoiceActionRefused(f"credit note {note.id} is {note.status}")
        return _refused(request, db, viewer, note, "refund", err)
    db.rollback()
    paid_out = _give_back(request, viewer, note.id or 0)
    return _done(note.id or 0, "refund_paid_out" if paid_out else "refund_pending")
