"""A whole gate in one object: store, door, reader, decisions, hub link.

``gatehouse gate run`` builds a :class:`GateDaemon` from ``gate.toml`` and runs it until
SIGTERM.  Tests and the demo build one in-process with mock pins, a scripted reader and
a manual clock::

    from gpiozero.pins.mock import MockFactory
    clock = ManualClock(1_800_000_000)
    timers = ManualTimers(clock)
    gate = GateDaemon(config, clock=clock, timers=timers, pin_factory=MockFactory(),
                      reader=ScriptedReader())
    gate.start()                       # connects to the broker in the background
    gate.tap(bytes.fromhex("04a1b2c3")) # same path as a card read by the reader loop
    timers.advance(seconds=3)          # the relay drops after its pulse
    gate.stop()

With ``simulate=True`` it makes its own mock pins and scripted reader (see
:func:`edge.gate.simulate.run_simulated`).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from edge.gate.config import GateConfig
from edge.gate.controller import Decision, GateController
from edge.gate.door import Door, DoorPins
from edge.gate.link import GateLink
from edge.gate.reader import Reader, ReaderLoop
from edge.gate.rfid import open_reader
from edge.gate.store import GateStore
from edge.gate.sync import GateSync
from edge.gate.timekeeping import GateClock
from edge.gate.timers import ThreadTimers, Timers
from gatehouse.clock import Clock, SystemClock

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 1.0


class GateDaemon:
    """Everything a gate runs, wired together.

    :param config: a validated :class:`~edge.gate.config.GateConfig`.
    :param clock: the wall clock (default: the system's).
    :param timers: door timers (default: a background thread on ``time.monotonic``);
        a :class:`~edge.gate.timers.ManualTimers` also drives the gate's monotonic time.
    :param pin_factory: gpiozero pin factory (default: gpiozero's own).
    :param reader: a card reader (default: the one ``[reader] backend`` names).
    :param on_decision: called after each decision (the simulator prints them).
    """

    def __init__(
        self,
        config: GateConfig,
        clock: Clock | None = None,
        timers: Timers | None = None,
        pin_factory: object = None,
        reader: Reader | None = None,
        on_decision: Callable[[Decision], None] | None = None,
    ) -> None:
        self.config = config
        self.timers = timers or ThreadTimers()
        monotonic = self.timers.monotonic
        self.store = GateStore(config.store.path)
        self.clock = GateClock(clock or SystemClock(), monotonic)
        d = config.door
        self.door = Door(
            DoorPins.from_config(config.pins),
            pulse_ms=d.pulse_ms,
            lock=d.lock,
            refuse_ms=d.refuse_ms,
            held_open_s=d.held_open_s,
            forced_grace_s=d.forced_grace_s,
            timers=self.timers,
            pin_factory=pin_factory,
        )
        self.reader = reader if reader is not None else open_reader(config.reader)
        self.controller = GateController(
            self.store,
            self.door,
            config.card_secret,
            config.gate.zone,
            self.clock,
            debounce_s=config.decision.debounce_s,
            enroll_timeout_s=config.decision.enroll_timeout_s,
            monotonic=monotonic,
            online=lambda: self.link.online,
        )
        self.sync = GateSync(config, self.store, self.controller, self.clock)
        self.link = GateLink(
            config, self.store, self.sync, self.clock, extra_status=self._extra_status
        )
        self.on_decision = on_decision
        self.controller.when_checkin = self._on_checkin
        self.controller.when_enroll = self.link.publish_enroll
        self.reader_loop = ReaderLoop(
            self.reader, self.controller.handle_uid, config.reader.poll_ms
        )
        self._started = False
        self._stopped = threading.Event()
        self._maintenance = threading.Thread(
            target=self._maintain, name="gate-maintenance", daemon=True
        )

    def _on_checkin(self, decision: Decision) -> None:
        self.link.kick()
        if self.on_decision is not None:
            self.on_decision(decision)

    def _maintain(self) -> None:
        """Checkpoint the store's WAL in the background, never inside a tap, and put
        its disk reserve back once a full disk has room again."""
        while not self._stopped.wait(CHECKPOINT_EVERY_S):
            was_full = self.store.full
            try:
                self.store.maintain()
            except Exception:  # a busy or closing database: try again next round
                log.debug("checkpoint skipped", exc_info=True)
            if was_full and not self.store.full:
                log.info("store disk has room again")
                self.link.kick()  # the status says so now

    def _extra_status(self) -> dict[str, Any]:
        door = self.door
        return {
            "door": {
                "lock": door.lock,
                "open": door.is_open,
                "forced": door.forced,
                "held_open": door.held_open,
            },
            "reader": dict(self.reader_loop.faults),
            "list_records": self.store.count(),
            "disk": self.store.disk(),
        }

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, connect: bool = True, read: bool = True) -> GateDaemon:
        """Start the hub link and the reader loop (each optional for tests)."""
        if connect:
            self.link.start()
        if read:
            self.reader_loop.start()
        self._maintenance.start()
        self._started = True
        return self

    def tap(self, uid: bytes) -> Decision | None:
        """Decide *uid* as if the reader had just read it."""
        return self.controller.handle_uid(uid)

    def stop(self) -> None:
        """Stop reading, say offline, release pins and close the store."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.reader_loop.stop()
        if self._started:
            self.link.stop()
            self._maintenance.join(5)
        self.door.close()
        self.reader.close()
        self.timers.close()
        self.store.close()

    def run_forever(self) -> None:
        """Start, then block until SIGTERM or SIGINT; then stop cleanly."""
        done = threading.Event()

        def _handler(signum: int, _frame: object) -> None:
            log.info("signal %d: stopping", signum)
            done.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _handler)
            signal.signal(signal.SIGINT, _handler)
        self.start()
        try:
            while not done.wait(1.0):
                pass
        finally:
            self.stop()

    def __enter__(self) -> GateDaemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<GateDaemon {self.config.gate.site}/{self.config.gate.gate} {self.store!r}>"
