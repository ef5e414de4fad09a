"""Sites (a club's premises), their zones, doors and weekly schedules.

A site's ``slug`` is its id on MQTT topics (``gh/v1/{slug}/...``); its ``timezone`` is
an IANA name whose UTC offsets, DST included, go into every access list it issues.
"""

from datetime import datetime

from pydantic import field_validator
from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime
from hub.models.checks import check_name, check_slug, check_timezone
from protocol.errors import ProtocolError
from protocol.schedule import Schedules


class SiteBase(SQLModel):
    name: str = Field(min_length=1, max_length=120)
    timezone: str = Field(default="UTC", max_length=64)

    _name = field_validator("name")(check_name)
    _tz = field_validator("timezone")(check_timezone)


class SiteCreate(SiteBase):
    slug: str = Field(max_length=32, description="id on MQTT topics: a-z 0-9 _ -")

    _slug = field_validator("slug")(check_slug)


class SiteUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    timezone: str | None = Field(default=None, max_length=64)

    _name = field_validator("name")(check_name)
    _tz = field_validator("timezone")(check_timezone)


class Site(SiteBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=32, unique=True, index=True)
    card_secret_enc: str = Field(max_length=200)
    list_version: int = Field(default=0)
    acl_snapshot_floor: int = Field(default=0)
    acl_built_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class SitePublic(SiteBase):
    id: int
    slug: str
    list_version: int
    created_at: datetime


class ZoneBase(SQLModel):
    number: int = Field(ge=0, le=15, description="bit of the access list's zone mask")
    name: str = Field(min_length=1, max_length=80)

    _name = field_validator("name")(check_name)


class ZoneCreate(ZoneBase):
    site_id: int


class ZoneUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=80)


class Zone(ZoneBase, table=True):
    __table_args__ = (UniqueConstraint("site_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)


class ZonePublic(ZoneBase):
    id: int
    site_id: int


class DoorBase(SQLModel):
    name: str = Field(min_length=1, max_length=80)
    zone: int = Field(default=0, ge=0, le=15, description="zone number the door belongs to")

    _name = field_validator("name")(check_name)


class DoorCreate(DoorBase):
    site_id: int


class DoorUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    zone: int | None = Field(default=None, ge=0, le=15)


class Door(DoorBase, table=True):
    __table_args__ = (UniqueConstraint("site_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)


class DoorPublic(DoorBase):
    id: int
    site_id: int


def _check_windows(value: list[list[int]] | None) -> list[list[int]] | None:
    if value is None:
        return value
    try:
        Schedules({1: value})
    except ProtocolError as err:
        raise ValueError(str(err)) from None
    return value


class ScheduleBase(SQLModel):
    number: int = Field(ge=1, le=255, description="schedule id in access-list records")
    name: str = Field(min_length=1, max_length=80)
    windows: list[list[int]] = Field(
        sa_type=JSON,
        description="[[days_mask (bit 0 = Monday), start_min, end_min], ...] in site time",
    )

    _name = field_validator("name")(check_name)
    _windows = field_validator("windows")(_check_windows)


class ScheduleCreate(ScheduleBase):
    site_id: int


class ScheduleUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    windows: list[list[int]] | None = None

    _windows = field_validator("windows")(_check_windows)


class Schedule(ScheduleBase, table=True):
    __table_args__ = (UniqueConstraint("site_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)


class SchedulePublic(ScheduleBase):
    id: int
    site_id: int
