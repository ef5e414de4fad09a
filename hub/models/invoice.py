"""Invoices and the money that moves for them: lines, charge attempts, payments,
refunds, disputes, and the gateway events already applied.

* ``invoice`` numbers are gap-free per site: :class:`InvoiceCounter` holds the next
  number and is advanced in the same transaction that issues the invoice, so a rolled
  back issue gives its number back. A renewal is unique on (subscription, period start)
  through ``renewal_period_start`` (set on renewals only).
* ``chargeattempt`` rows are written and committed *before* the gateway is called; the
  idempotency key ``invoice:<id>:attempt:<n>`` is unique, so a rerun after a crash sends
  the recorded key again and the processor answers instead of charging twice.
* ``payment`` and ``refund`` rows are what the accounting export lists (a refund is paid
  against a credit note); front-desk cash and transfers are payments too.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.models.base import BigId, UTCDateTime


class InvoiceStatus(StrEnum):
    """``open`` invoices await payment; ``paid``, ``void`` and ``uncollectible`` are final."""

    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class DocumentKind(StrEnum):
    """An invoice asks for money; a credit note gives it back (negative total)."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class AttemptStatus(StrEnum):
    """A charge attempt: ``pending`` until the gateway's answer is recorded."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"
    FAILED = "failed"  # the gateway refused the request itself (e.g. a detached method)


class InvoiceCounter(SQLModel, table=True):
    """The next invoice number of a site (gap-free: taken inside the issuing transaction)."""

    site_id: int = Field(foreign_key="site.id", primary_key=True)
    next_number: int = Field(default=1, sa_type=BigInteger)


class Invoice(SQLModel, table=True):
    """An issued invoice or credit note.

    :param number: gap-free per site (``None`` only for a draft).
    :param kind: ``invoice`` or ``credit_note``.
    :param reason: ``renewal``, ``plan_change``, ``charges`` or ``refund``.
    :param renewal_period_start: the period start of a renewal, else ``None``; unique
        with ``subscription_id``, so a period is never invoiced twice.
    :param credit_for_id: the invoice a credit note gives money back for.
    :param emailed_at: when the issue email went out (``None``: still to send).
    """

    __table_args__ = (
        UniqueConstraint("site_id", "number"),
        UniqueConstraint("subscription_id", "renewal_period_start"),
        Index("ix_invoice_member_issued", "member_id", "issued_on"),
    )
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    site_id: int = Field(foreign_key="site.id")
    number: int | None = Field(default=None, sa_type=BigInteger)
    member_id: int = Field(foreign_key="member.id")
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id", index=True)
    kind: str = Field(default=DocumentKind.INVOICE.value, max_length=16)
    reason: str = Field(max_length=16)
    status: str = Field(default=InvoiceStatus.OPEN.value, max_length=16, index=True)
    currency: str = Field(max_length=3)
    subtotal: int = Field(sa_type=BigInteger)
    tax: int = Field(sa_type=BigInteger)
    total: int = Field(sa_type=BigInteger)
    issued_on: date = Field(index=True)
    due_on: date
    period_start: date | None = None
    period_end: date | None = None
    renewal_period_start: date | None = None
    credit_for_id: int | None = Field(default=None, foreign_key="invoice.id", sa_type=BigInteger)
    memo: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    voided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    emailed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class InvoiceLineRow(SQLModel, table=True):
    """One itemized line, exactly as :class:`~hub.billing.invoices.InvoiceLine` has it."""

    __tablename__ = "invoiceline"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    invoice_id: int = Field(foreign_key="invoice.id", sa_type=BigInteger)
    position: int
    description: str = Field(max_length=300)
    kind: str = Field(max_length=24)
    quantity: int
    unit_amount: int = Field(sa_type=BigInteger)
    tax_rate_bp: int
    tax_inclusive: bool
    net: int = Field(sa_type=BigInteger)
    tax: int = Field(sa_type=BigInteger)
    total: int = Field(sa_type=BigInteger)
    period_start: date | None = None
    period_end: date | None = None


class ChargeAttempt(SQLModel, table=True):
    """One request to the gateway to charge an invoice, recorded before it is sent.

    :param attempt: 1, 2, ... per invoice.
    :param idempotency_key: ``invoice:<invoice id>:attempt:<n>``, sent with the charge.
    :param request_key: the caller's own key (e.g. a dunning action's), so asking twice
        for the same retry finds this attempt instead of making another.
    :param status: ``pending`` until the gateway's answer is recorded.
    """

    __table_args__ = (
        UniqueConstraint("invoice_id", "attempt"),
        Index("ix_chargeattempt_status", "status"),
    )
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    invoice_id: int = Field(foreign_key="invoice.id", sa_type=BigInteger)
    attempt: int
    payment_method_id: int | None = Field(default=None, foreign_key="paymentmethod.id")
    gateway: str = Field(max_length=16)
    idempotency_key: str = Field(max_length=120, unique=True)
    request_key: str | None = Field(default=None, max_length=200, unique=True)
    amount: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    status: str = Field(default=AttemptStatus.PENDING.value, max_length=16)
    decline_reason: str | None = Field(default=None, max_length=32)
    raw_code: str | None = Field(default=None, max_length=64)
    raw_message: str | None = Field(default=None, max_length=500)
    gateway_charge_id: str | None = Field(default=None, max_length=255, index=True)
    tries: int = Field(default=0, description="times the request was sent (same key)")
    created_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Payment(SQLModel, table=True):
    """Money received for an invoice: a card charge, or cash or a transfer at the desk.

    :param method: ``card``, ``cash`` or ``transfer``.
    :param gateway: ``simulated``, ``stripe`` or ``front_desk``.
    :param gateway_charge_id: the processor's charge id (unique), for card payments.
    :param reference: a receipt or transfer reference, for the desk.
    """

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    invoice_id: int = Field(foreign_key="invoice.id", sa_type=BigInteger, index=True)
    member_id: int = Field(foreign_key="member.id")
    site_id: int = Field(foreign_key="site.id")
    amount: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    method: str = Field(max_length=16)
    method_label: str = Field(max_length=64)
    gateway: str = Field(max_length=16)
    gateway_charge_id: str | None = Field(default=None, max_length=255, unique=True)
    charge_attempt_id: int | None = Field(
        default=None, foreign_key="chargeattempt.id", sa_type=BigInteger
    )
    reference: str | None = Field(default=None, max_length=120)
    paid_at: datetime = Field(sa_type=UTCDateTime, index=True)
    recorded_by: str = Field(max_length=80)


class Refund(SQLModel, table=True):
    """Money given back: paid against a credit note (``credit_note_id``) for the
    invoice it refunds (``invoice_id``), through the payment's own channel.

    :param gateway_refund_id: the processor's refund id, for card refunds (unique).
    """

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    payment_id: int | None = Field(default=None, foreign_key="payment.id", sa_type=BigInteger)
    invoice_id: int = Field(foreign_key="invoice.id", sa_type=BigInteger, index=True)
    credit_note_id: int = Field(foreign_key="invoice.id", sa_type=BigInteger)
    member_id: int = Field(foreign_key="member.id")
    site_id: int = Field(foreign_key="site.id")
    amount: int = Field(sa_type=BigInteger, description="positive: the amount given back")
    currency: str = Field(max_length=3)
    method: str = Field(max_length=16)
    method_label: str = Field(max_length=64)
    gateway: str = Field(max_length=16)
    gateway_refund_id: str | None = Field(default=None, max_length=255, unique=True)
    reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    recorded_by: str = Field(max_length=80)


class Dispute(SQLModel, table=True):
    """A chargeback reported by the gateway, kept up to date from its webhooks."""

    id: int | None = Field(default=None, primary_key=True)
    gateway: str = Field(max_length=16)
    dispute_ref: str = Field(max_length=255, unique=True)
    gateway_charge_id: str | None = Field(default=None, max_length=255)
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id", sa_type=BigInteger)
    amount: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    reason: str = Field(max_length=64)
    status: str = Field(max_length=32)
    opened_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class WebhookEventRow(SQLModel, table=True):
    """A gateway event already applied (unique per gateway), so a redelivery is a no-op."""

    __tablename__ = "webhookevent"
    __table_args__ = (UniqueConstraint("gateway", "event_id"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    gateway: str = Field(max_length=16)
    event_id: str = Field(max_length=255)
    type: str = Field(max_length=64)
    outcome: str = Field(max_length=64)
    received_at: datetime = Field(sa_type=UTCDateTime)
    detail: dict[str, Any] | None = Field(default=None, sa_type=JSON)
