"""Clocks: the only way domain code learns the time.

Nothing in the hub's or the gates' domain code calls ``datetime.now()`` or
``time.time()``; it asks a :class:`Clock`.  Production passes a :class:`SystemClock`;
tests and the demo pass a :class:`ManualClock` and move it like a Stripe test clock::

    clock = ManualClock(datetime(2026, 12, 1, tzinfo=UTC))
    clock.advance(days=30)       # a billing month later, in no time at all
    clock.now()                  # datetime(2026, 12, 31, 0, 0, tzinfo=UTC)
    clock.timestamp()            # 1798675200
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the time: ``now()`` (aware UTC datetime) and ``timestamp()``."""

    def now(self) -> datetime: ...

    def timestamp(self) -> int: ...


class SystemClock:
    """The real time, from the operating system."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def timestamp(self) -> int:
        return int(time.time())

    def __repr__(self) -> str:
        return "<SystemClock>"


class ManualClock:
    """A clock that only moves when told to; safe to share between threads.

    :param start: the initial time (an aware datetime, or unix seconds).
    """

    def __init__(self, start: datetime | int | float) -> None:
        if isinstance(start, int | float):
            start = datetime.fromtimestamp(start, UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime (tzinfo=UTC)")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def timestamp(self) -> int:
        return int(self.now().timestamp())

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by *delta* or by ``timedelta(**kwargs)``; returns the new time."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError("a clock does not run backwards; use set() in a test")
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: datetime | int) -> None:
        """Jump to *when*, in either direction (for clock-skew tests)."""
        if isinstance(when, int):
            when = datetime.fromtimestamp(when, UTC)
        with self._lock:
            self._now = when.astimezone(UTC)

    def __repr__(self) -> str:
        return f"<ManualClock {self.now().isoformat()}>"
