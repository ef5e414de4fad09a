"""Enroll taps kept for a short while, for pages that poll for them.

When staff start "tap to enroll" at a gate, the console opens a listening window on
:data:`hub.mqtt.events.enroll_taps`; the member page then polls
:meth:`TapLog.taps` and shows the UID a moment after the card touches the reader::

    log = TapLog()
    mark = log.open_window()             # before the enroll command is sent
    ...
    for seq, tap in log.taps(gate_id=3, after=mark):
        print(tap.uid)

The window closes by itself ``window_s`` seconds after the last start or poll, so no
listener lingers.  Taps reach the hub process whose MQTT service received them: with
several hub replicas sharing subscriptions, serve the console from the one that owns
the gate's messages, or from a single replica.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from contextlib import ExitStack

from hub.mqtt.events import EnrollTap, TapRelay, enroll_taps


class TapLog:
    """The most recent enroll taps, numbered in arrival order.

    :param relay: where taps come from (default: the hub's :data:`enroll_taps`).
    :param window_s: how long to keep listening after the last start or poll.
    :param keep: how many taps to remember.
    """

    def __init__(self, relay: TapRelay = enroll_taps, window_s: float = 120.0, keep: int = 50):
        self.relay = relay
        self.window_s = window_s
        self._taps: deque[tuple[int, EnrollTap]] = deque(maxlen=keep)
        self._seq = 0
        self._lock = threading.Lock()
        self._stack: ExitStack | None = None
        self._queue: queue.Queue[EnrollTap] | None = None
        self._deadline = 0.0

    @property
    def listening(self) -> bool:
        """True while a window is open."""
        return self._stack is not None

    def open_window(self) -> int:
        """Start (or extend) listening; returns the number of the last tap so far."""
        with self._lock:
            self._drain()
            if self._stack is None:
                self._stack = ExitStack()
                self._queue = self._stack.enter_context(self.relay.listen())
            self._deadline = time.monotonic() + self.window_s
            return self._seq

    def taps(self, *, gate_id: int | None = None, after: int = 0) -> list[tuple[int, EnrollTap]]:
        """Taps numbered above *after* (of gate *gate_id* only, if given)."""
        with self._lock:
            self._drain()
            if self._stack is not None:
                if time.monotonic() > self._deadline:
                    self._close()
                else:
                    self._deadline = max(self._deadline, time.monotonic() + 10)
            return [
                (n, tap)
                for n, tap in self._taps
                if n > after and (gate_id is None or tap.gate_id == gate_id)
            ]

    def _drain(self) -> None:
        while self._queue is not None:
            try:
                tap = self._queue.get_nowait()
            except queue.Empty:
                return
            self._seq += 1
            self._taps.append((self._seq, tap))

    def _close(self) -> None:
        if self._stack is not None:
            self._stack.close()
        self._stack = None
        self._queue = None

    def close(self) -> None:
        """Stop listening now."""
        with self._lock:
            self._close()

    def __repr__(self) -> str:
        state = "listening" if self.listening else "idle"
        return f"<TapLog {state} {len(self._taps)} taps>"
