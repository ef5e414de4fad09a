"""Enroll taps relayed to listeners in the same process (the console's enroll page).

A gate in enroll mode sends the raw UID of each card presented; the hub's MQTT service
publishes it here instead of deciding anything::

    with enroll_taps.listen() as taps:          # a queue of EnrollTap
        tap = taps.get(timeout=30)
        print(tap.site, tap.gate, tap.uid)
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass


@dataclass(frozen=True)
class EnrollTap:
    """A card presented at a gate in enroll mode."""

    site: str
    gate: str
    gate_id: int
    uid: str
    ts: int


class TapRelay:
    """Fan-out of :class:`EnrollTap` events to any number of listening queues."""

    def __init__(self) -> None:
        self._queues: list[queue.Queue[EnrollTap]] = []
        self._lock = threading.Lock()

    @contextmanager
    def listen(self, maxsize: int = 100) -> Iterator[queue.Queue[EnrollTap]]:
        """A queue that receives every tap while the ``with`` block runs."""
        q: queue.Queue[EnrollTap] = queue.Queue(maxsize)
        with self._lock:
            self._queues.append(q)
        try:
            yield q
        finally:
            with self._lock:
                self._queues.remove(q)

    def publish(self, tap: EnrollTap) -> None:
        """Give *tap* to every listener (a full listener misses it)."""
        with self._lock:
            queues = list(self._queues)
        for q in queues:
            with suppress(queue.Full):
                q.put_nowait(tap)


enroll_taps = TapRelay()
