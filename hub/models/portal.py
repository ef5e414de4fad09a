"""What the member portal keeps: sign-in links, member sessions and freeze requests.

``PortalLink`` is one emailed sign-in link: the email carries a random token (signed);
the row holds only its SHA-256 hash, the member, when it expires and when it was used
(a link signs in once).  ``PortalSession`` is a member's signed-in browser, kept on the
server like a console session: token hash, CSRF token of its forms, expiry.
``FreezeRequest`` is a member asking the club to pause their membership between two
dates; staff decide on it.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime


class PortalLink(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    client: str | None = Field(default=None, max_length=64, description="who asked for it")


class PortalSession(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)


class FreezeRequestStatus(StrEnum):
    """``pending`` until staff approve (and freeze the subscription) or decline it."""

    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class FreezeRequest(SQLModel, table=True):
    """A member's request to pause their membership from ``from_on`` until
    ``resume_on`` (excluded)."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id")
    from_on: date
    resume_on: date
    reason: str | None = Field(default=None, max_length=500)
    status: str = Field(default=FreezeRequestStatus.PENDING.value, max_length=16, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=80)
