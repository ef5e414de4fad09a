"""Timers: "call this in 3 seconds", with a real and a manual implementation.

The door relocks after its pulse, LEDs go out and buzzer patterns step on timers.  Code
never sleeps; it asks a :class:`Timers` for a callback instead, so tests can play a
whole door cycle without waiting::

    timers = ManualTimers(clock)          # clock: a gatehouse.clock.ManualClock
    door = Door(pins, timers=timers)
    door.grant()                          # relay on
    timers.advance(seconds=3)             # pulse over: relay off, at once

On a gate, :class:`ThreadTimers` runs callbacks on one background thread.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from gatehouse.clock import ManualClock

log = logging.getLogger(__name__)


class TimerHandle:
    """A scheduled callback; :meth:`cancel` stops it if it has not run yet."""

    __slots__ = ("due", "callback", "cancelled")

    def __init__(self, due: float, callback: Callable[[], None]) -> None:
        self.due = due
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __repr__(self) -> str:
        state = "cancelled" if self.cancelled else f"due {self.due:.3f}"
        return f"<TimerHandle {state}>"


class Timers(Protocol):
    """Anything that can run a callback after a delay."""

    def call_later(self, seconds: float, callback: Callable[[], None]) -> TimerHandle: ...

    def monotonic(self) -> float: ...

    def close(self) -> None: ...


class _Queue:
    """A heap of handles ordered by due time (ties keep insertion order)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._order = itertools.count()

    def push(self, handle: TimerHandle) -> None:
        heapq.heappush(self._heap, (handle.due, next(self._order), handle))

    def pop_due(self, now: float) -> TimerHandle | None:
        while self._heap:
            due, _n, handle = self._heap[0]
            if handle.cancelled:
                heapq.heappop(self._heap)
                continue
            if due > now:
                return None
            heapq.heappop(self._heap)
            return handle
        return None

    def next_due(self) -> float | None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return sum(1 for _d, _n, h in self._heap if not h.cancelled)


def _run(handle: TimerHandle) -> None:
    try:
        handle.callback()
    except Exception:  # a failing callback must not stop the others
        log.exception("timer callback failed")


class ThreadTimers:
    """Runs callbacks on one background thread, in due order.

    :param monotonic: the clock that measures delays (default ``time.monotonic``).
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self._queue = _Queue()
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="gate-timers", daemon=True)
        self._thread.start()

    def call_later(self, seconds: float, callback: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle(self.monotonic() + max(0.0, seconds), callback)
        with self._wake:
            self._queue.push(handle)
            self._wake.notify()
        return handle

    def _loop(self) -> None:
        while True:
            with self._wake:
                if self._closed:
                    return
                handle = self._queue.pop_due(self.monotonic())
                if handle is None:
                    due = self._queue.next_due()
                    wait = None if due is None else max(0.0, due - self.monotonic())
                    self._wake.wait(wait)
                    continue
            _run(handle)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(2)

    def __repr__(self) -> str:
        return f"<ThreadTimers pending={len(self._queue)}>"


class ManualTimers:
    """Timers driven by a :class:`~gatehouse.clock.ManualClock`, for tests and the demo.

    Callbacks run when :meth:`advance` (or :meth:`run_due` after the clock was moved
    elsewhere) passes their due time, on the caller's thread::

        clock = ManualClock(1_800_000_000)
        timers = ManualTimers(clock)
        timers.call_later(2.5, lambda: print("relock"))
        timers.advance(seconds=3)        # prints "relock"

    :param clock: the manual clock shared with the rest of the gate.
    """

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self._queue = _Queue()
        self._lock = threading.RLock()

    def monotonic(self) -> float:
        """Seconds on the manual clock; pass as the gate's monotonic clock."""
        return self.clock.now().timestamp()

    def call_later(self, seconds: float, callback: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle(self.monotonic() + max(0.0, seconds), callback)
        with self._lock:
            self._queue.push(handle)
        return handle

    def run_due(self) -> int:
        """Run every callback due by the clock's current time; returns how many ran."""
        ran = 0
        while True:
            with self._lock:
                handle = self._queue.pop_due(self.monotonic())
            if handle is None:
                return ran
            _run(handle)
            ran += 1

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> int:
        """Move the clock forward and run what fell due; returns how many ran."""
        self.clock.advance(delta, **kwargs)
        return self.run_due()

    @property
    def pending(self) -> int:
        """Callbacks scheduled and not yet run or cancelled."""
        with self._lock:
            return len(self._queue)

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<ManualTimers pending={self.pending}>"
