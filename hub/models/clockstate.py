"""The hub's manual clock, kept in the database so the command line and the server agree.

Used only when the hub runs with ``GATEHOUSE_CLOCK=manual`` (a test clock, never in
production): ``gatehouse hub clock advance 30d`` moves ``now`` and runs what fell due.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime


class ClockState(SQLModel, table=True):
    """One row per named clock (the hub's is ``"hub"``)."""

    name: str = Field(primary_key=True, max_length=32)
    now: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
