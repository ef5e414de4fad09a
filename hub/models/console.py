"""What the web console keeps: login sessions, login throttles and member interactions.

``ConsoleSession`` is a server-side session: the browser holds only a random token
(signed, in an HttpOnly cookie); the row holds its SHA-256 hash, the user, the CSRF
token of its forms, whether the second factor was given, and when it expires.
``LoginThrottle`` counts failed sign-ins per email and per client address so a
password cannot be guessed at speed.  ``MemberInteraction`` is the front desk's notes
on a member: calls, visits, emails, remarks.
"""

from datetime import datetime
from enum import StrEnum

from pydantic import field_validator
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime
from hub.models.checks import check_name


class ConsoleSession(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    csrf_token: str = Field(max_length=64)
    second_factor_ok: bool = Field(default=True, description="False while a TOTP code is due")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    client: str | None = Field(default=None, max_length=64, description="client address")


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins for one key (``email:ana@club.example`` or ``ip:10.0.0.7``)."""

    key: str = Field(primary_key=True, max_length=300)
    failures: int = 0
    window_started_at: datetime = Field(sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InteractionKind(StrEnum):
    """How the club was in touch with a member."""

    NOTE = "note"
    CALL = "call"
    EMAIL = "email"
    VISIT = "visit"
    MESSAGE = "message"


class MemberInteractionCreate(SQLModel):
    kind: InteractionKind = InteractionKind.NOTE
    text: str = Field(min_length=1, max_length=2000)

    _text = field_validator("text")(check_name)


class MemberInteraction(SQLModel, table=True):
    __table_args__ = (Index("ix_memberinteraction_member_at", "member_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(default=InteractionKind.NOTE.value, max_length=16)
    text: str = Field(max_length=2000)
    author: str = Field(max_length=80, description='who wrote it: "user:3"')
    author_name: str = Field(default="", max_length=120)
