"""A manual clock kept in the database (the ``clockstate`` row named ``"hub"``).

With ``GATEHOUSE_CLOCK=manual`` every hub process -- the server, ``gatehouse hub clock
advance``, the billing run -- reads the same time, so a clock moved from the command line
is the time the server bills and builds access lists at::

    clock = DatabaseClock(engine)           # the stored time (first use: the real time)
    clock.now()
    clock.set(datetime(2027, 1, 1, tzinfo=UTC))

Time only moves when told to. It is refused in production mode (see
:class:`~hub.core.config.Settings`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from gatehouse.clock import Clock, SystemClock
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.models import ClockState

HUB_CLOCK = "hub"


def stored_time(engine: Engine, name: str = HUB_CLOCK) -> datetime | None:
    """The time stored for clock *name*, or ``None`` if it was never set."""
    with Session(engine) as session:
        return session.exec(select(ClockState.now).where(ClockState.name == name)).first()


def store_time(engine: Engine, when: datetime, name: str = HUB_CLOCK) -> None:
    """Store *when* as clock *name*'s time (created on first use)."""
    if when.tzinfo is None:
        raise ValueError("the clock keeps aware datetimes (tzinfo=UTC)")
    when = when.astimezone(UTC)
    with Session(engine) as session:
        moved = session.execute(
            update(ClockState)
            .where(ClockState.name == name)  # type: ignore[arg-type]
            .values(now=when, updated_at=when)
        )
        if moved.rowcount == 0:  # type: ignore[attr-defined]
            session.add(ClockState(name=name, now=when, updated_at=when))
            try:
                session.commit()
            except IntegrityError:  # another process created it first: set it
                session.rollback()
                store_time(engine, when, name)
            return
        session.commit()


class DatabaseClock:
    """A :class:`~gatehouse.clock.Clock` whose time is the ``clockstate`` row.

    :param engine: the hub's database.
    :param name: which stored clock (default ``"hub"``).
    :param start: the time to store if none is stored yet (default: the real time).
    """

    def __init__(self, engine: Engine, *, name: str = HUB_CLOCK, start: datetime | None = None):
        self.engine = engine
        self.name = name
        if stored_time(engine, name) is None:
            store_time(engine, start or SystemClock().now(), name)

    def now(self) -> datetime:
        found = stored_time(self.engine, self.name)
        assert found is not None
        return found

    def timestamp(self) -> int:
        return int(self.now().timestamp())

    def set(self, when: datetime) -> None:
        """Move the clock to *when* (either way; advancing is what tests do)."""
        store_time(self.engine, when, self.name)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by *delta* or ``timedelta(**kwargs)``; returns the new time."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError("a clock does not run backwards")
        when = self.now() + step
        self.set(when)
        return when

    def __repr__(self) -> str:
        return f"<DatabaseClock {self.name} {self.now().isoformat()}>"


def clock_for(settings: Settings, engine: Engine | None = None) -> Clock:
    """The clock *settings* ask for: the system clock, or the database's manual clock."""
    if settings.clock == "manual":
        return DatabaseClock(engine or make_engine(settings.database_url))
    return SystemClock()
