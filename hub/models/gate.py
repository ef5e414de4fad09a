"""Gates (the door nodes), their one-time claim tokens and their check-in stores.

A gate's HMAC key is kept sealed with the hub's secret key (``key_enc``) and named by its
key id (``key_id``, public); while a key is rotated, the previous one is kept sealed
too (``prev_key_enc``) and accepted until ``prev_key_until``.  Its MQTT password exists
only as the Mosquitto hash.  The fleet view (``online``, ``last_seen``,
``list_version_acked``, ``outbox_depth``, ``clock_trusted``, rejection counters) is kept
up to date by the hub's MQTT service.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON, BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime
from hub.models.checks import check_slug


class GateKind(StrEnum):
    """Which gate software runs at the door."""

    PI = "pi"
    MICROPYTHON = "micropython"


class GateBase(SQLModel):
    slug: str = Field(max_length=32, description="gate id on MQTT topics: a-z 0-9 _ -")
    kind: GateKind = GateKind.PI

    _slug = field_validator("slug")(check_slug)


class GateCreate(GateBase):
    site_id: int
    door_id: int


class Gate(GateBase, table=True):
    __table_args__ = (UniqueConstraint("site_id", "slug"),)
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    door_id: int = Field(foreign_key="door.id", index=True)
    kind: str = Field(default=GateKind.PI.value, max_length=16)
    mqtt_username: str = Field(max_length=80, unique=True)
    mqtt_password_hash: str = Field(max_length=200)
    key_enc: str = Field(max_length=300)
    key_id: str = Field(max_length=8)
    prev_key_enc: str | None = Field(default=None, max_length=300)
    prev_key_id: str | None = Field(default=None, max_length=8)
    prev_key_until: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="the old key is accepted until then"
    )
    fw: str | None = Field(default=None, max_length=64)
    sid: str | None = Field(default=None, max_length=16, description="current store id")
    online: bool = False
    last_seen: datetime | None = Field(default=None, sa_type=UTCDateTime)
    list_version_acked: int = 0
    outbox_depth: int = 0
    clock_trusted: bool | None = None
    gate_rejected: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    hub_rejected: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    last_cmd_n: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=UTCDateTime)


class GatePublic(GateBase):
    id: int
    site_id: int
    door_id: int
    mqtt_username: str
    key_id: str
    fw: str | None
    online: bool
    last_seen: datetime | None
    list_version_acked: int
    outbox_depth: int
    clock_trusted: bool | None
    gate_rejected: dict[str, Any]
    hub_rejected: dict[str, Any]
    created_at: datetime


class GateProvisioned(GatePublic):
    """A new gate and the one-time token its installer claims the config with."""

    claim_token: str
    claim_expires_at: datetime


class GateClaim(SQLModel, table=True):
    """A one-time token that hands a gate its configuration once, before it expires.

    The MQTT password waits here sealed under the token itself; the database holds
    only the token's hash, and the sealed password is erased when it is claimed.
    """

    id: int | None = Field(default=None, primary_key=True)
    gate_id: int = Field(foreign_key="gate.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    sealed_password: str | None = Field(default=None, max_length=300)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class GateStore(SQLModel, table=True):
    """One check-in store of a gate (a random ``sid``) and the highest seq acked."""

    __table_args__ = (UniqueConstraint("gate_id", "store_id"),)
    id: int | None = Field(default=None, primary_key=True)
    gate_id: int = Field(foreign_key="gate.id", index=True)
    store_id: str = Field(max_length=16)
    acked: int = Field(default=0, sa_type=BigInteger)


class CommandOp(StrEnum):
    """What a command asks a gate to do."""

    UNLOCK = "unlock"
    ENROLL = "enroll"
    RESYNC = "resync"
    TIME = "time"


class GateCommand(SQLModel):
    """A command for a gate, with its arguments (e.g. ``{"seconds": 5}``)."""

    op: CommandOp
    args: dict[str, Any] = Field(default_factory=dict)
