"""Check-ins (every tap a gate decided, allowed or not) and the audit log."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.models.base import BigId, UTCDateTime


class CheckInBase(SQLModel):
    gate_id: int = Field(foreign_key="gate.id")
    site_id: int
    door_id: int | None = None
    member_id: int | None = Field(default=None, description="the card's member when stored")
    store_id: str = Field(max_length=16)
    seq: int = Field(sa_type=BigInteger)
    ts: datetime = Field(sa_type=UTCDateTime, description="when the gate decided")
    card_key: str = Field(max_length=16, description="hex; empty for a remote unlock")
    reason: str = Field(max_length=16, description="protocol.decision reason name")
    allowed: bool
    list_version: int
    flags: int = 0
    received_at: datetime = Field(sa_type=UTCDateTime)


class CheckIn(CheckInBase, table=True):
    """Unique on (gate, store id, seq): a batch delivered twice is stored once.

    A log table written thousands of rows a second: only ``gate_id`` is a foreign key;
    ``site_id``, ``door_id`` and ``member_id`` are copied from the gate and the list at
    ingest and kept as they were (members with check-ins are never deleted).
    """

    __table_args__ = (
        UniqueConstraint("gate_id", "store_id", "seq"),
        Index("ix_checkin_site_ts", "site_id", "ts"),
        Index("ix_checkin_member_ts", "member_id", "ts"),
    )
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)


class CheckInPublic(CheckInBase):
    id: int


class AuditLog(SQLModel, table=True):
    """Who did what, when, with the record before and after."""

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=80, description='"user:3", "token:5", "cli", "hub"')
    action: str = Field(max_length=64, index=True)
    entity: str = Field(max_length=32)
    entity_id: int | None = None
    site_id: int | None = None
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class AuditLogPublic(SQLModel):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: int | None
    site_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
