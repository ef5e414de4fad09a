"""Console users (argon2 hashes, roles) and bearer tokens (sessions and API tokens)."""

from datetime import datetime
from enum import StrEnum

from pydantic import field_validator
from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime
from hub.models.checks import check_email, check_name


class Role(StrEnum):
    """What a user (or token) may do; see :mod:`hub.api.deps` for who may do what."""

    OWNER = "owner"
    MANAGER = "manager"
    FRONT_DESK = "front_desk"
    INSTALLER = "installer"


class UserBase(SQLModel):
    email: str = Field(max_length=254)
    full_name: str = Field(min_length=1, max_length=120)
    role: Role = Role.FRONT_DESK

    _email = field_validator("email")(check_email)
    _name = field_validator("full_name")(check_name)


class UserCreate(UserBase):
    password: str = Field(min_length=10, max_length=200)


class User(UserBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    role: str = Field(default=Role.FRONT_DESK.value, max_length=16)
    password_hash: str = Field(max_length=200)
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    language: str = Field(default="en", max_length=8, description="console language")
    totp_secret_enc: str | None = Field(
        default=None, max_length=300, description="TOTP secret, sealed; set while enrolling"
    )
    totp_enabled: bool = False
    totp_last_step: int = Field(default=0, sa_type=BigInteger, description="last code used")


class UserPublic(UserBase):
    id: int
    active: bool
    created_at: datetime


class APITokenCreate(SQLModel):
    name: str = Field(min_length=1, max_length=80)
    role: Role = Role.FRONT_DESK
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    _name = field_validator("name")(check_name)


class APIToken(SQLModel, table=True):
    """A bearer token, stored as its SHA-256 hash.

    ``kind`` is ``"api"`` (an integration, made by a manager) or ``"session"`` (a user
    logged in); a token acts with its own ``role``, never more than its maker's.
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    kind: str = Field(default="api", max_length=16)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    role: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked: bool = False


class APITokenPublic(SQLModel):
    id: int
    name: str
    kind: str
    role: Role
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


class APITokenIssued(APITokenPublic):
    """Returned once, when the token is made: ``token`` is never shown again."""

    token: str


class AccessToken(SQLModel):
    """The answer to a login."""

    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
