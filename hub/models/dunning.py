"""What dunning keeps beside its cases: the action outbox, messages sent, staff tasks,
payment plans and the policies themselves.

* :class:`DunningAction` -- the outbox. One row per action the step function planned,
  unique on its idempotency key (``dunning:<case>:<step>:<kind>[:<method>]``), written
  and committed *before* the effect; ``status`` goes ``pending`` -> ``done`` (or
  ``failed``), ``outcome`` says what came of it. The rows are also the case's history.
* :class:`DunningMessage` -- each email or SMS that went out: channel, template,
  language, step, and when it was opened and clicked (pixel and redirect).
* :class:`CollectionTask` -- a staff task from an escalation step: assignee, notes,
  promise-to-pay date, outcome.
* :class:`PaymentPlanRow` -- a balance split into instalments (amounts and what is paid,
  as JSON, in minor units).
* :class:`DunningPolicyRow` -- a policy's YAML per (name, version); the shipped files are
  loaded on first use and an edit stores a new version (open cases keep theirs).
* :class:`DunningSegmentsRow` -- the segmentation rules' YAML per version, the same way
  (the shipped ``segments.yaml`` is version 1).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Text
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime


class ActionStatus(StrEnum):
    """Where an outbox row is: waiting for its effect, effected, or given up on."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class DunningAction(SQLModel, table=True):
    """One planned dunning action (the outbox row and the case's history entry).

    :param key: the action's idempotency key; unique, so planning twice records once.
    :param payload: the action as :func:`hub.dunning.actions.action_to_dict` gives it.
    :param outcome: a :class:`hub.dunning.kinds.Outcome` value (``pending`` until known).
    :param tries: how many times an effect was tried (temporary failures retry).
    :param charge_attempt_id: for charges, the billing attempt that carried it.
    """

    __table_args__ = (Index("ix_dunningaction_status_case", "status", "case_id"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="dunningcase.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    key: str = Field(max_length=160, unique=True)
    kind: str = Field(max_length=32)
    step: str = Field(max_length=16)
    method_id: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=8)
    legal_notice: bool = False
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default=ActionStatus.PENDING.value, max_length=16)
    outcome: str = Field(default="pending", max_length=16)
    decline_reason: str | None = Field(default=None, max_length=32)
    tries: int = 0
    error: str | None = Field(default=None, max_length=500)
    charge_attempt_id: int | None = Field(default=None, sa_type=BigInteger)
    due_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DunningMessage(SQLModel, table=True):
    """A dunning message that went out, and whether it was opened and clicked.

    :param case_id: the case, or ``None`` for a reminder before any failure (a card that
        expires before the renewal, ``step = "card_expiry"``).
    """

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=160, unique=True)
    case_id: int | None = Field(default=None, foreign_key="dunningcase.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    channel: str = Field(max_length=8)
    template: str = Field(max_length=64)
    tone: str = Field(max_length=16)
    language: str = Field(max_length=8)
    step: str = Field(max_length=16)
    legal_notice: bool = False
    recipient: str = Field(max_length=254)
    provider_id: str | None = Field(default=None, max_length=255)
    sent_at: datetime = Field(sa_type=UTCDateTime)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    clicked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CollectionTask(SQLModel, table=True):
    """A staff task opened by an escalation step (see :mod:`hub.dunning.collection_tasks`).

    :param notes: the log, ``[{"at": iso, "author": ..., "text": ...}, ...]``.
    :param outcome: a :class:`hub.dunning.collection_tasks.TaskOutcome` value once closed.
    """

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=160, unique=True)
    case_id: int = Field(foreign_key="dunningcase.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    kind: str = Field(max_length=16)
    amount_minor: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    brief: str = Field(default="", max_length=500)
    assignee: str | None = Field(default=None, max_length=120)
    notes: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    promised_to_pay_on: date | None = None
    outcome: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PaymentPlanRow(SQLModel, table=True):
    """A case's balance split into instalments (see :mod:`hub.dunning.payment_plans`).

    :param instalments: ``[{"number", "due_on", "amount_minor", "paid_minor"}, ...]``.
    """

    __tablename__ = "paymentplan"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="dunningcase.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    currency: str = Field(max_length=3)
    instalments: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    created_by: str = Field(max_length=120)
    created_at: datetime = Field(sa_type=UTCDateTime)


class DunningPolicyRow(SQLModel, table=True):
    """One version of a dunning policy, as YAML text (validated before it is stored)."""

    __tablename__ = "dunningpolicy"
    name: str = Field(primary_key=True, max_length=40)
    version: int = Field(primary_key=True)
    text: str = Field(sa_type=Text)
    created_by: str = Field(max_length=120)
    created_at: datetime = Field(sa_type=UTCDateTime)


class DunningSegmentsRow(SQLModel, table=True):
    """One version of the segmentation rules, as YAML text (validated before it is stored)."""

    __tablename__ = "dunningsegments"
    version: int = Field(primary_key=True)
    text: str = Field(sa_type=Text)
    created_by: str = Field(max_length=120)
    created_at: datetime = Field(sa_type=UTCDateTime)
