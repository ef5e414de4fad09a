"""Card readers: anything whose :meth:`~Reader.read_uid` returns the UID in the field.

A reader is polled: ``read_uid()`` returns the UID of the card in the field (4, 7 or
10 bytes) or ``None``, and raises :class:`ReaderFault` on a failed read (collision,
CRC error, card pulled away mid-read).  :class:`ReaderLoop` polls one on a thread and
hands each UID to the gate; the gate debounces a card held in the field.

:class:`ScriptedReader` is the reader of tests and ``--simulate``, in the spirit of
gpiozero's mock pins::

    reader = ScriptedReader()
    reader.present(bytes.fromhex("04a1b2c3"))   # card held in the field
    reader.read_uid()                           # b'\\x04\\xa1\\xb2\\xc3', and again...
    reader.remove()
    reader.read_uid()                           # None
    reader.tap(uid)                             # in the field for exactly one read

The hardware backends (:func:`open_reader`) import their libraries only when opened,
so this module imports on any machine.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

FAULT_CODES = ("timeout", "crc", "bcc", "collision", "protocol", "io")


class ReaderFault(Exception):
    """A read that failed; ``code`` is one of :data:`FAULT_CODES`."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


class Reader(Protocol):
    """A polled card reader."""

    def read_uid(self) -> bytes | None: ...

    def close(self) -> None: ...


class ScriptedReader:
    """A reader driven by code: tests, the demo, ``gatehouse gate run --simulate``.

    Safe to drive from one thread while :class:`ReaderLoop` polls from another.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: bytes | None = None
        self._queue: collections.deque[bytes | ReaderFault] = collections.deque()
        self.reads = 0
        self._arrived = threading.Event()

    def present(self, uid: bytes) -> None:
        """Hold a card in the field until :meth:`remove`."""
        with self._lock:
            self._held = bytes(uid)
        self._arrived.set()

    def remove(self) -> None:
        """Take the held card away."""
        with self._lock:
            self._held = None

    def tap(self, uid: bytes) -> None:
        """A card that is in the field for exactly one read (queued behind others)."""
        with self._lock:
            self._queue.append(bytes(uid))
        self._arrived.set()

    def fail(self, code: str) -> None:
        """Make the next read raise :class:`ReaderFault` with *code*."""
        with self._lock:
            self._queue.append(ReaderFault(code))
        self._arrived.set()

    def read_uid(self) -> bytes | None:
        with self._lock:
            self.reads += 1
            if self._queue:
                item = self._queue.popleft()
                if isinstance(item, ReaderFault):
                    raise item
                return item
            if self._held is None:
                self._arrived.clear()
            return self._held

    def wait_for_card(self, timeout: float | None = None) -> bool:
        """Block until a card is presented or tapped (lets a poll loop idle)."""
        return self._arrived.wait(timeout)

    @property
    def queued(self) -> int:
        """Taps not yet read."""
        with self._lock:
            return len(self._queue)

    def close(self) -> None:
        with self._lock:
            self._queue.clear()
            self._held = None

    def __repr__(self) -> str:
        held = self._held.hex() if self._held else "none"
        return f"<ScriptedReader held={held} queued={len(self._queue)}>"


class ReaderLoop:
    """Polls a reader every *poll_ms* on a thread; calls ``on_uid(uid)`` per read.

    Read faults are counted in :attr:`faults` by code and never stop the loop.

    :param reader: a :class:`Reader`.
    :param on_uid: called with each UID read (the gate debounces repeats).
    :param poll_ms: pause between reads when no card is in the field.
    """

    def __init__(self, reader: Reader, on_uid: Callable[[bytes], object], poll_ms: int = 50):
        self.reader = reader
        self.on_uid = on_uid
        self.poll_ms = poll_ms
        self.faults: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> bytes | None:
        """One read; returns the UID handed on, if any."""
        try:
            uid = self.reader.read_uid()
        except ReaderFault as err:
            self.faults[err.code] = self.faults.get(err.code, 0) + 1
            return None
        except Exception as err:  # a driver raising its own error type
            code = getattr(err, "code", "io")
            self.faults[code] = self.faults.get(code, 0) + 1
            log.debug("reader error: %s", err)
            return None
        if uid is not None:
            try:
                self.on_uid(uid)
            except Exception:
                log.exception("tap handling failed")
        return uid

    def _run(self) -> None:
        wait_for_card = getattr(self.reader, "wait_for_card", None)
        pause = self.poll_ms / 1000
        while not self._stop.is_set():
            uid = self.poll()
            if uid is None and wait_for_card is not None:
                wait_for_card(pause)  # idle until a card arrives
            elif uid is None or not getattr(self.reader, "queued", 0):
                self._stop.wait(pause)  # a card held in the field is read every poll

    def start(self) -> ReaderLoop:
        self._thread = threading.Thread(target=self._run, name="gate-reader", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
