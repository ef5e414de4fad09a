"""A simulated Pi gate whose clock can be set wrong while it runs.

It is ``gatehouse gate run --simulate`` (card UIDs on stdin, one decision printed per
line) with one difference: its wall clock and its count of elapsed seconds are the real
ones plus offsets read from a small JSON file, so a test can make the gate's clock
fast, slow or rolled back, or let a simulated week pass during a partition::

    python -m tests.faults.gate_runner --config gate.toml --clock-file clock.json
    # clock.json: {"wall": -172800, "elapsed": 0}   a clock two days slow
    # clock.json: {"wall": 604800, "elapsed": 604800}   a week later, truly

``wall`` moves what the gate reads as the date; ``elapsed`` moves its monotonic time
(which never runs backwards on a real gate, so a test only ever raises it).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from edge.gate.config import load_config
from edge.gate.simulate import run_simulated
from edge.gate.timers import ThreadTimers


class SkewedClock:
    """The system clock plus the offsets in *path* (re-read when the file changes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime = -1
        self._wall = 0.0
        self._elapsed = 0.0

    def _offsets(self) -> tuple[float, float]:
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return 0.0, 0.0
        if mtime != self._mtime:
            try:
                data = json.loads(self.path.read_text() or "{}")
            except ValueError:  # caught mid-write: keep the last offsets
                return self._wall, self._elapsed
            self._mtime = mtime
            self._wall = float(data.get("wall", 0))
            self._elapsed = max(self._elapsed, float(data.get("elapsed", 0)))
        return self._wall, self._elapsed

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self._offsets()[0], UTC)

    def timestamp(self) -> int:
        return int(time.time() + self._offsets()[0])

    def monotonic(self) -> float:
        return time.monotonic() + self._offsets()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--clock-file", required=True, type=Path)
    args = parser.parse_args()
    clock = SkewedClock(args.clock_file)
    timers = ThreadTimers(monotonic=clock.monotonic)
    run_simulated(load_config(args.config), stdin=sys.stdin, clock=clock, timers=timers)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    main()
