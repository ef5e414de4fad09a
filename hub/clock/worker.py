"""The due work run inside the hub server, every few seconds, on every replica.

``gatehouse hub serve`` with ``GATEHOUSE_DUE_EVERY_S=30`` runs the due hooks (billing
run, invoice emails, entitlement refresh, ...) on a background thread every 30 s, so a
chain needs no cron.  Several replicas may all do it: the billing run claims
subscriptions and charge attempts with ``FOR UPDATE SKIP LOCKED``, so two replicas take
different ones and a replica killed in the middle leaves work the next pass finishes::

    worker = DueWorker(engine=engine, settings=settings, clock=clock).start()
    worker.passes, worker.errors          # how often it ran, and failed
    worker.stop()

A failing pass (the database restarting, say) is logged and counted; the next one
tries again.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.engine import Engine

from gatehouse.clock import Clock
from hub.clock.hooks import DueContext, run_due_work
from hub.core.config import Settings

log = logging.getLogger(__name__)


class DueWorker:
    """Runs :func:`~hub.clock.hooks.run_due_work` every ``settings.due_every_s`` seconds.

    :param engine: the hub's database.
    :param settings: the hub's settings (``due_every_s`` is the period).
    :param clock: the hub's clock.
    """

    def __init__(self, *, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.every_s = settings.due_every_s
        self.passes = 0
        self.errors = 0
        self._stop = threading.Event()
        self._services: Any = None
        self._thread = threading.Thread(target=self._loop, name="hub-due-work", daemon=True)

    def start(self) -> DueWorker:
        """Start the background thread (first pass at once)."""
        self._thread.start()
        return self

    def run_once(self) -> dict[str, object]:
        """One pass over every due hook; returns each hook's result."""
        ctx = DueContext(
            engine=self.engine, settings=self.settings, clock=self.clock, services=self._services
        )
        try:
            return run_due_work(ctx)
        finally:
            self._services = ctx.services  # the gateway and mailer are kept between passes

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
                self.passes += 1
            except Exception:
                self.errors += 1
                log.exception("due work failed; trying again in %.1f s", self.every_s)
            self._stop.wait(self.every_s)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the pass in progress; close the gateway and mailer."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._services is not None:
            self._services.close()
            self._services = None

    def __repr__(self) -> str:
        return f"<DueWorker every {self.every_s} s, {self.passes} passes, {self.errors} errors>"
