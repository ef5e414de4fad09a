"""Invoices for people: printable HTML (and a plain-text summary) in Thai or English.

:func:`invoice_view` gathers what an invoice shows from the database -- the club's
name, logo, address and tax id (the site's :class:`~hub.models.BillingProfile`), the
member, the itemized lines with their VAT, the totals, the payments -- and
:func:`render_invoice_html` lays it out with Jinja2 (autoescaped: a member called
``<b>Ann</b>`` is printed, not obeyed)::

    view = invoice_view(session, invoice_id=41)
    html = render_invoice_html(view, language="th")   # ใบแจ้งหนี้ / ใบกำกับภาษี
    text = render_invoice_text(view, language="en")

Thai dates are written in the Buddhist era (2569 for 2026), as Thai readers expect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlmodel import Session, col, select

from hub.billing.money import format_minor
from hub.billing.numbering import invoice_label
from hub.billing.tax import format_rate
from hub.models import (
    BillingProfile,
    DocumentKind,
    Invoice,
    InvoiceLineRow,
    Member,
    Payment,
    Site,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"

_TH_MONTHS = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)  # fmt: skip

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "Invoice", "credit_note": "Credit note", "number": "Number",
        "issued": "Issued", "due": "Due", "period": "Period", "bill_to": "Bill to",
        "tax_id": "Tax ID", "item": "Item", "qty": "Qty", "unit": "Unit price",
        "vat": "VAT", "amount": "Amount", "subtotal": "Subtotal (before VAT)",
        "total": "Total", "status": "Status", "paid": "Paid", "open": "Due",
        "void": "Void", "uncollectible": "Unpaid", "draft": "Draft",
        "payments": "Payments", "incl": "incl.", "excl": "excl.",
        "credit_for": "Credit for invoice", "to": "to",
    },
    "th": {
        "invoice": "ใบแจ้งหนี้ / ใบกำกับภาษี", "credit_note": "ใบลดหนี้", "number": "เลขที่",
        "issued": "วันที่ออก", "due": "ครบกำหนดชำระ", "period": "รอบบริการ",
        "bill_to": "ลูกค้า", "tax_id": "เลขประจำตัวผู้เสียภาษี", "item": "รายการ",
        "qty": "จำนวน", "unit": "ราคาต่อหน่วย", "vat": "ภาษีมูลค่าเพิ่ม", "amount": "จำนวนเงิน",
        "subtotal": "มูลค่าก่อนภาษี", "total": "ยอดรวมทั้งสิ้น", "status": "สถานะ",
        "paid": "ชำระแล้ว", "open": "รอชำระ", "void": "ยกเลิก", "uncollectible": "ค้างชำระ",
        "draft": "ร่าง", "payments": "การชำระเงิน", "incl": "รวม", "excl": "ไม่รวม",
        "credit_for": "ลดหนี้สำหรับใบแจ้งหนี้", "to": "ถึง",
    },
}  # fmt: skip

#: Languages an invoice can be rendered in; anything else falls back to English.
LANGUAGES = tuple(LABELS)


@dataclass(frozen=True)
class LineView:
    """One line as printed."""

    description: str
    quantity: int
    unit_amount: int
    tax_rate_bp: int
    tax_inclusive: bool
    net: int
    tax: int
    total: int


@dataclass(frozen=True)
class PaymentView:
    """One payment as printed."""

    paid_on: date
    method_label: str
    amount: int


@dataclass(frozen=True)
class InvoiceView:
    """Everything an invoice shows."""

    invoice_id: int
    label: str
    kind: str
    status: str
    club_name: str
    club_address: str | None
    club_tax_id: str | None
    logo_url: str | None
    member_name: str
    member_email: str
    currency: str
    issued_on: date
    due_on: date
    period_start: date | None
    period_end: date | None
    lines: tuple[LineView, ...]
    subtotal: int
    tax: int
    total: int
    tax_by_rate: tuple[tuple[int, int, int], ...]
    payments: tuple[PaymentView, ...]
    credit_for_label: str | None
    language: str


def invoice_view(session: Session, invoice_id: int, *, language: str | None = None) -> InvoiceView:
    """Gather invoice *invoice_id* for printing (language: the site's, unless given)."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise LookupError(f"invoice {invoice_id} not found")
    site = session.get(Site, invoice.site_id)
    profile = session.get(BillingProfile, invoice.site_id)
    member = session.get(Member, invoice.member_id)
    assert site is not None and member is not None
    prefix = (profile.invoice_prefix if profile else None) or site.slug.upper()
    rows = session.exec(
        select(InvoiceLineRow)
        .where(InvoiceLineRow.invoice_id == invoice_id)
        .order_by(col(InvoiceLineRow.position))
    ).all()
    lines = tuple(
        LineView(r.description, r.quantity, r.unit_amount, r.tax_rate_bp, r.tax_inclusive,
                 r.net, r.tax, r.total)
        for r in rows
    )  # fmt: skip
    rates: dict[int, list[int]] = {}
    for line in lines:
        pair = rates.setdefault(line.tax_rate_bp, [0, 0])
        pair[0] += line.net
        pair[1] += line.tax
    payments = tuple(
        PaymentView(p.paid_at.date(), p.method_label, p.amount)
        for p in session.exec(
            select(Payment).where(Payment.invoice_id == invoice_id).order_by(col(Payment.id))
        )
    )
    credit_for = session.get(Invoice, invoice.credit_for_id) if invoice.credit_for_id else None
    return InvoiceView(
        invoice_id=invoice_id,
        label=invoice_label(prefix, invoice.number),
        kind=invoice.kind,
        status=invoice.status,
        club_name=(profile.legal_name if profile and profile.legal_name else site.name),
        club_address=profile.address if profile else None,
        club_tax_id=profile.tax_id if profile else None,
        logo_url=profile.logo_url if profile else None,
        member_name=f"{member.first_name} {member.last_name}",
        member_email=member.email,
        currency=invoice.currency,
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        lines=lines,
        subtotal=invoice.subtotal,
        tax=invoice.tax,
        total=invoice.total,
        tax_by_rate=tuple((rate, net, tax) for rate, (net, tax) in sorted(rates.items()) if rate),
        payments=payments,
        credit_for_label=invoice_label(prefix, credit_for.number) if credit_for else None,
        language=language or (profile.language if profile else "en"),
    )


def format_day(day: date, language: str) -> str:
    """``'31 January 2026'``, or ``'31 มกราคม 2569'`` (Buddhist era) in Thai."""
    if language == "th":
        return f"{day.day} {_TH_MONTHS[day.month - 1]} {day.year + 543}"
    return f"{day.day} {day:%B} {day.year}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["rate"] = format_rate
    return env


_ENV = _environment()


def _context(view: InvoiceView, language: str | None) -> dict[str, object]:
    lang = language or view.language
    lang = lang if lang in LABELS else "en"

    def money(amount: int) -> str:
        return format_minor(amount, view.currency, grouping=True)

    title_key = "credit_note" if view.kind == DocumentKind.CREDIT_NOTE.value else "invoice"
    return {
        "v": view,
        "t": LABELS[lang],
        "lang": lang,
        "title": LABELS[lang][title_key],
        "money": money,
        "day": lambda d: format_day(d, lang),
        "period_last": (
            date.fromordinal(view.period_end.toordinal() - 1) if view.period_end else None
        ),
    }


def render_invoice_html(view: InvoiceView, *, language: str | None = None) -> str:
    """A printable HTML page of the invoice."""
    return _ENV.get_template("invoice.html").render(_context(view, language))


def render_invoice_text(view: InvoiceView, *, language: str | None = None) -> str:
    """A plain-text version (the text part of the invoice email)."""
    return _ENV.get_template("invoice.txt").render(_context(view, language)).strip() + "\n"


def invoice_subject(view: InvoiceView, *, language: str | None = None) -> str:
    """``'Invoice CLUB1-000041 from Club 1'`` (in the invoice's language)."""
    lang = language or view.language
    if lang == "th":
        title = "ใบลดหนี้" if view.kind == DocumentKind.CREDIT_NOTE.value else "ใบแจ้งหนี้"
        return f"{title} {view.label} จาก {view.club_name}"
    title = "Credit note" if view.kind == DocumentKind.CREDIT_NOTE.value else "Invoice"
    return f"{title} {view.label} from {view.club_name}"
