"""Billing's tables: plans, subscriptions, saved payment methods, gateway customers and
each site's billing profile.

A :class:`Plan` is a :class:`~hub.billing.plans.PlanBase` sold at one site. A
:class:`Subscription` keeps the columns of :class:`~hub.billing.renewals.BillingState`
(so the pure billing rules run on it unchanged) plus what the hub adds: ``status``,
the current period, ``paid_through`` (the last day paid for, included) and ``due_on``,
the next day the billing run has something to do for it. Payment methods hold a gateway
token, brand, last four digits and expiry -- never a card number.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import field_validator
from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.billing.plans import IntervalUnit, PlanBase
from hub.billing.renewals import SubscriptionStatus
from hub.models.base import UTCDateTime

#: Languages an invoice can be written in.
INVOICE_LANGUAGES = ("en", "th")


class PlanCreate(PlanBase):
    """A new plan: :class:`~hub.billing.plans.PlanBase` at a site (``site_id`` needed)."""

    site_id: int  # type: ignore[assignment]


class PlanUpdate(SQLModel):
    """What may change on a plan with subscribers: its name, and whether it is sold.

    Prices and intervals are fixed once sold; make a new plan and move members to it.
    """

    name: str | None = Field(default=None, min_length=1, max_length=120)
    active: bool | None = None


class Plan(PlanBase, table=True):
    """A plan sold at one site (``site_id``); ``active=False`` stops new sign-ups."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)  # type: ignore[assignment]
    price_minor: int = Field(sa_type=BigInteger)
    setup_fee_minor: int = Field(default=0, sa_type=BigInteger)
    interval_unit: str = Field(default=IntervalUnit.MONTH.value, max_length=8)  # type: ignore[assignment]
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)

    def terms(self) -> PlanBase:
        """The plan's terms as the pure billing rules take them."""
        return PlanBase.model_validate(self.model_dump(exclude={"id", "active", "created_at"}))


class PlanPublic(PlanBase):
    id: int
    site_id: int  # type: ignore[assignment]
    active: bool
    created_at: datetime


class Subscription(SQLModel, table=True):
    """A member's subscription to a plan.

    The :class:`~hub.billing.renewals.BillingState` columns are ``anchor`` ..
    ``freeze_settled``; see :mod:`hub.billing.renewals` for their meaning.

    :param status: trialing, active, past_due, suspended, frozen or cancelled.
    :param paid_through: last day paid for (included); access runs to the end of that
        day plus the plan's grace days. ``None`` until the first payment (or the trial).
    :param next_bill_on: the day the next renewal invoice is issued (``None``: no more).
    :param due_on: the next day the billing run must look at it (a renewal, or a trial,
        freeze or cancellation taking effect).
    :param payment_method_id: the method renewals charge; ``None`` = the member's default.
    """

    __table_args__ = (Index("ix_subscription_site_due", "site_id", "due_on"),)
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    site_id: int = Field(foreign_key="site.id")
    status: str = Field(default=SubscriptionStatus.ACTIVE.value, max_length=16, index=True)
    started_on: date
    anchor: date
    next_index: int = 0
    trial_ends_on: date | None = None
    setup_fee_pending: bool = False
    commitment_ends_on: date | None = None
    cancel_on: date | None = None
    freeze_from: date | None = None
    resume_on: date | None = None
    freeze_settled: bool = True
    paid_through_moved: bool = Field(
        default=True, description="the latest freeze has moved paid_through past its resume"
    )
    current_period_start: date | None = None
    current_period_end: date | None = None
    paid_through: date | None = None
    cancel_at_period_end: bool = False
    next_bill_on: date | None = None
    due_on: date | None = None
    payment_method_id: int | None = Field(default=None, foreign_key="paymentmethod.id")
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class SubscriptionPublic(SQLModel):
    id: int
    member_id: int
    plan_id: int
    site_id: int
    status: SubscriptionStatus
    started_on: date
    trial_ends_on: date | None
    commitment_ends_on: date | None
    current_period_start: date | None
    current_period_end: date | None
    paid_through: date | None
    cancel_at_period_end: bool
    cancel_on: date | None
    freeze_from: date | None
    resume_on: date | None
    next_bill_on: date | None
    payment_method_id: int | None
    created_at: datetime
    updated_at: datetime


class GatewayCustomer(SQLModel, table=True):
    """The payment processor's customer id for a member (one per member and gateway)."""

    __table_args__ = (UniqueConstraint("member_id", "gateway"),)
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    gateway: str = Field(max_length=16)
    customer_ref: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)


class PaymentMethod(SQLModel, table=True):
    """A saved payment method: the gateway's token and what a person recognises it by.

    Several per member; one ``is_default``. ``detached_at`` set = removed (kept for the
    history of the charges made with it).
    """

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    gateway: str = Field(max_length=16)
    token: str = Field(max_length=255, unique=True)
    brand: str = Field(max_length=32)
    last4: str = Field(max_length=4)
    exp_month: int
    exp_year: int
    is_default: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)
    detached_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def label(self) -> str:
        """``'visa 4242'``: how receipts and the console name it."""
        return f"{self.brand} {self.last4}"


class PaymentMethodPublic(SQLModel):
    id: int
    member_id: int
    gateway: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool
    created_at: datetime


class BillingProfileBase(SQLModel):
    """How a site's invoices look: who issues them, in which language, due when."""

    legal_name: str | None = Field(default=None, max_length=200)
    tax_id: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=500)
    logo_url: str | None = Field(default=None, max_length=500)
    invoice_prefix: str | None = Field(default=None, max_length=16)
    language: str = Field(default="en", max_length=2)
    due_days: int = Field(default=0, ge=0, le=90)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in INVOICE_LANGUAGES:
            raise ValueError(f"invoices are written in {' or '.join(INVOICE_LANGUAGES)}")
        return value


class BillingProfile(BillingProfileBase, table=True):
    """One per site; a site without one bills under its own name, in English."""

    site_id: int = Field(foreign_key="site.id", primary_key=True)
