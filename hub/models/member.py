"""Members and their cards.

A card's UID is kept (for re-keying when a site's card secret changes) but never shown
beyond its last four hex digits; access lists and check-ins carry only card keys,
``HMAC(site card secret, UID)[:8]``, computed per site.
"""

from datetime import date, datetime
from enum import StrEnum

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime
from hub.models.checks import check_email, check_name, check_phone
from protocol.cardkey import parse_uid
from protocol.errors import ProtocolError


class MemberStatus(StrEnum):
    """``active`` members get access per their entitlements; ``suspended`` ones are
    listed as blocked (the door says "blocked"); ``cancelled`` ones are not listed."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


class MemberBase(SQLModel):
    first_name: str = Field(min_length=1, max_length=80)
    last_name: str = Field(min_length=1, max_length=80)
    email: str = Field(max_length=254)
    phone: str | None = Field(default=None, max_length=32)
    emergency_contact: str | None = Field(default=None, max_length=200)
    date_of_birth: date | None = None
    notes: str | None = Field(default=None, max_length=4000)

    _names = field_validator("first_name", "last_name")(check_name)
    _email = field_validator("email")(check_email)
    _phone = field_validator("phone")(check_phone)


class MemberCreate(MemberBase):
    status: MemberStatus = MemberStatus.ACTIVE


class MemberUpdate(SQLModel):
    first_name: str | None = Field(default=None, min_length=1, max_length=80)
    last_name: str | None = Field(default=None, min_length=1, max_length=80)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)
    emergency_contact: str | None = Field(default=None, max_length=200)
    date_of_birth: date | None = None
    notes: str | None = Field(default=None, max_length=4000)
    status: MemberStatus | None = None

    _names = field_validator("first_name", "last_name")(check_name)
    _email = field_validator("email")(check_email)
    _phone = field_validator("phone")(check_phone)


class Member(MemberBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    status: str = Field(default=MemberStatus.ACTIVE.value, max_length=16, index=True)
    language: str | None = Field(
        default=None, max_length=2, description="portal and email language; None: the club's"
    )
    marketing_opt_out_at: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        description="when the member unsubscribed from marketing messages (notices still go)",
    )
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class MemberPublic(MemberBase):
    id: int
    status: MemberStatus
    created_at: datetime
    updated_at: datetime


def _check_uid(value: str) -> str:
    try:
        return parse_uid(value).hex()
    except ProtocolError as err:
        raise ValueError(str(err)) from None


class CardBase(SQLModel):
    label: str | None = Field(default=None, max_length=80)
    active: bool = True


class CardCreate(CardBase):
    member_id: int
    uid: str = Field(
        max_length=40, description="card UID in hex, 4, 7 or 10 bytes, e.g. 04:A1:B2:C3"
    )

    _uid = field_validator("uid")(_check_uid)


class CardUpdate(SQLModel):
    label: str | None = Field(default=None, max_length=80)
    active: bool | None = None


class Card(CardBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    uid_hex: str = Field(max_length=20, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class CardPublic(CardBase):
    id: int
    member_id: int
    uid_last4: str = Field(description="last four hex digits of the UID")
    created_at: datetime

    @classmethod
    def of(cls, card: Card) -> "CardPublic":
        """The public view of *card*: never the whole UID."""
        return cls(
            id=card.id or 0,
            member_id=card.member_id,
            label=card.label,
            active=card.active,
            uid_last4=card.uid_hex[-4:].upper(),
            created_at=card.created_at,
        )
