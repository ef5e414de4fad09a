"""The due work inside the hub server: passes every few seconds, failures retried."""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine

from gatehouse.clock import ManualClock
from hub.clock.hooks import DueContext, register_due_hook, unregister_due_hook
from hub.clock.worker import DueWorker
from hub.core.config import Settings


def test_passes_repeat_and_a_failing_pass_is_counted_and_retried(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    seen: list[object] = []
    ran = threading.Event()

    def hook(ctx: DueContext) -> object:
        seen.append(ctx.clock.now())
        if len(seen) == 2:
            raise RuntimeError("the database went away")
        if len(seen) >= 3:
            ran.set()
        return len(seen)

    register_due_hook("test-counter", hook, order=1)
    worker = DueWorker(engine=engine, settings=settings.model_copy(update={"due_every_s": 0.05}),
                       clock=clock)  # fmt: skip
    try:
        worker.start()
        assert ran.wait(10)
    finally:
        worker.stop()
        unregister_due_hook("test-counter")
    assert worker.errors == 1 and worker.passes >= 2
    assert "1 errors" in repr(worker)
