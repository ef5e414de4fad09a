"""What time the gate decides with, and whether it trusts it.

A Pi has no battery-backed clock: it boots in the past until NTP answers.  An access
list carries the hub's issue time, so a gate never decides with a time earlier than
the newest list's issue time plus the seconds it has counted since (its monotonic
clock cannot be rolled back).  A wall clock below that floor is *untrusted*: the gate
decides with the floor instead, flags the check-in and says so in its status.

What that admits: a member whose ``valid_until`` fell between the list's issue time
and the true time is still admitted until the gate learns the time, by NTP or from
the hub's ``cmd/time`` (sent in reply to every ``hello``).  Counting forward from the
floor narrows that window to the time the gate spent powered off::

    gc = GateClock(SystemClock())
    gc.raise_floor(list_issued)        # when a list is swapped in (and at start)
    now, trusted = gc.now()            # (unix seconds, bool)
    gc.set_hub_time(1_800_000_000)     # from a verified cmd/time
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from gatehouse.clock import Clock
from protocol.decision import trusted_now

HUB_TIME_TOLERANCE_S = 5


class GateClock:
    """The gate's idea of the time.

    :param clock: the wall clock (a :class:`gatehouse.clock.Clock`).
    :param monotonic: seconds that never go back (default ``time.monotonic``).
    :param tolerance_s: wall-clock drift from the hub's time that is still accepted;
        beyond it the gate counts from the hub's time instead.
    """

    def __init__(
        self,
        clock: Clock,
        monotonic: Callable[[], float] = time.monotonic,
        tolerance_s: int = HUB_TIME_TOLERANCE_S,
    ) -> None:
        self.clock = clock
        self.monotonic = monotonic
        self.tolerance_s = tolerance_s
        self._lock = threading.Lock()
        self._floor: tuple[int, float] | None = None
        self._hub: tuple[int, float] | None = None

    def _counted(self, anchor: tuple[int, float] | None) -> int | None:
        if anchor is None:
            return None
        base, at = anchor
        return base + int(max(0.0, self.monotonic() - at))

    def raise_floor(self, unix: int) -> None:
        """The true time is at least *unix* now (a list's issue time, for example)."""
        with self._lock:
            current = self._counted(self._floor)
            if current is None or unix > current:
                self._floor = (unix, self.monotonic())

    def set_hub_time(self, unix: int) -> None:
        """The hub says it is *unix* now (from a verified, fresh ``cmd/time``)."""
        with self._lock:
            self._hub = (unix, self.monotonic())

    def floor(self) -> int:
        """The earliest time it can be now (0 when nothing is known)."""
        with self._lock:
            return self._counted(self._floor) or 0

    def wall(self) -> int:
        """The wall clock, or the hub's time counted forward if the two disagree."""
        wall = self.clock.timestamp()
        with self._lock:
            hub = self._counted(self._hub)
        if hub is not None and abs(wall - hub) > self.tolerance_s:
            return hub
        return wall

    def now(self) -> tuple[int, bool]:
        """``(unix_seconds, trusted)`` to decide with; see the module doc."""
        return trusted_now(self.wall(), self.floor())

    def __repr__(self) -> str:
        now, trusted = self.now()
        return f"<GateClock {now} {'trusted' if trusted else 'untrusted'}>"
