"""Open dunning cases: one per unpaid invoice whose charge failed.

The billing run opens a case when a renewal (or any invoice it charges) fails and closes
it when the invoice is paid or voided; dunning workers pick open cases up, choose the
policy (``policy_name``/``policy_version``, ``segment``) and run
:func:`hub.dunning.engine.advance` on the :class:`hub.dunning.case.DunningCase` built
from the row.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime


class DunningCaseStatus(StrEnum):
    """Open until the invoice is paid, voided or written off."""

    OPEN = "open"
    CLOSED = "closed"


class DunningCase(SQLModel, table=True):
    """One failed invoice being recovered (shaped like :class:`hub.dunning.case.DunningCase`).

    :param invoice_id: unique: an invoice has at most one case.
    :param amount_minor: the amount due when the charge failed.
    :param failed_at: when the charge that opened the case failed.
    :param last_decline: a :class:`~hub.billing.declines.DeclineReason` value, or
        ``None`` when there was nothing to charge (no saved method) or no reason given.
    :param declined_method_id: the :class:`~hub.models.billing.PaymentMethod` declined.
    :param closed_reason: ``paid``, ``void`` or ``uncollectible`` once closed.
    :param next_run_at: when a worker should look at it again (``None``: at once).
    """

    __table_args__ = (Index("ix_dunningcase_status_opened", "status", "opened_at"),)
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", sa_type=BigInteger, unique=True)
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id")
    amount_minor: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    failed_at: datetime = Field(sa_type=UTCDateTime)
    last_decline: str | None = Field(default=None, max_length=32)
    declined_method_id: int | None = Field(default=None, foreign_key="paymentmethod.id")
    status: str = Field(default=DunningCaseStatus.OPEN.value, max_length=16)
    policy_name: str | None = Field(default=None, max_length=64)
    policy_version: str | None = Field(default=None, max_length=32)
    segment: str | None = Field(default=None, max_length=32)
    opened_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_reason: str | None = Field(default=None, max_length=32)
    next_run_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="when a dunning worker looks again"
    )
