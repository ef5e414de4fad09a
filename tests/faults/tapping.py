"""Members tapping at a gate in the background while a fault is played."""

from __future__ import annotations

import threading

from tests.faults.world import FaultGate, FaultWorld, new_uid


class Tapper:
    """Taps at *gate* every *interval_s*: each tap a card of its own, every other one a
    member's (from *members*, admitted) and the rest unknown cards (refused).

    :meth:`pause` and :meth:`resume` hold the taps while a test measures a backlog.
    """

    def __init__(self, world: FaultWorld, gate: FaultGate, members: list[bytes],
                 interval_s: float = 0.05) -> None:  # fmt: skip
        self.world = world
        self.gate = gate
        self.members = list(members)
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._go = threading.Event()
        self._go.set()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tapper", daemon=True)

    def start(self) -> Tapper:
        self._thread.start()
        return self

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            if not self._go.is_set():
                self._idle.set()
                self._go.wait(0.1)
                continue
            self._idle.clear()
            proc = self.gate.process
            if proc.proc is not None and proc.proc.poll() is None:
                if n % 2 == 0 and self.members:
                    uid = self.members.pop()
                    proc.tap(uid, expect_allow=self.world.expect(uid))
                else:
                    proc.tap(new_uid(), expect_allow=False)
                n += 1
            self._stop.wait(self.interval_s)

    def pause(self) -> None:
        """Stop tapping; returns when no tap is being sent."""
        self._go.clear()
        self._idle.wait(2)

    def resume(self) -> None:
        self._go.set()

    def stop(self) -> None:
        self._stop.set()
        self._go.set()
        self._thread.join(5)
