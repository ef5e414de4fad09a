"""Entitlements: what a member may enter at a site, when, and until when.

Entitlement rows are the only input of the access-list builder besides cards and
member status.  Billing and dunning create and update them (``source`` says who:
``"manual"``, ``"subscription:12"``) and then call
:func:`hub.access.changes.access_changed`.  How several rows of one member merge into
one record per card is described in :mod:`hub.access.builder`.
"""

from datetime import datetime

from pydantic import model_validator
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime
from protocol.records import FLAG_METERED, FLAG_PASSBACK

#: Flags an entitlement may carry (``FLAG_BLOCKED`` comes from member status only).
ENTITLEMENT_FLAGS = FLAG_PASSBACK | FLAG_METERED


class EntitlementBase(SQLModel):
    zones: int = Field(default=1, ge=1, le=0xFFFF, description="zone bit mask (bit z = zone z)")
    schedule_id: int | None = Field(
        default=None, foreign_key="schedule.id", description="schedule row; none = any time"
    )
    valid_from: datetime = Field(sa_type=UTCDateTime)
    valid_until: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="end (exclusive); none = open-ended"
    )
    source: str = Field(default="manual", min_length=1, max_length=64)
    flags: int = Field(
        default=0, ge=0, le=ENTITLEMENT_FLAGS, description="2 = anti-passback, 4 = metered"
    )

    @model_validator(mode="after")
    def _check_period(self):  # type: ignore[no-untyped-def]
        if self.valid_from.tzinfo is None or (
            self.valid_until is not None and self.valid_until.tzinfo is None
        ):
            raise ValueError("valid_from and valid_until need a time zone, e.g. ...Z")
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if self.flags & ~ENTITLEMENT_FLAGS:
            raise ValueError("flags may only combine 2 (anti-passback) and 4 (metered)")
        return self


class EntitlementCreate(EntitlementBase):
    member_id: int
    site_id: int


class EntitlementUpdate(SQLModel):
    zones: int | None = Field(default=None, ge=1, le=0xFFFF)
    schedule_id: int | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    source: str | None = Field(default=None, min_length=1, max_length=64)
    flags: int | None = Field(default=None, ge=0, le=ENTITLEMENT_FLAGS)


class Entitlement(EntitlementBase, table=True):
    __table_args__ = (Index("ix_entitlement_site_member", "site_id", "member_id"),)
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class EntitlementPublic(EntitlementBase):
    id: int
    member_id: int
    site_id: int
    created_at: datetime
    updated_at: datetime
