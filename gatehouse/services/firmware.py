"""The MicroPython gate firmware as a process on the ``micropython`` unix port.

The firmware modules in ``edge/firmware/`` run unchanged; ``edge/firmware/host.py``
stands in for the board (a scripted reader, pins that print their changes). Tests, the
demo and benchmarks start it like any other service::

    with FirmwareProcess(config, tmp_path / "gate") as gate:
        gate.wait_for("connected")
        gate.tap("04a1b2c3")
        line = gate.wait_for("tap ")          # 'tap uid=04a1b2c3 allow=1 reason=granted seq=1'
        print(gate.status()["acked"])

The command line it runs is ``micropython edge/firmware/host.py WORKDIR/gate.json
WORKDIR/data`` with ``MICROPYPATH=edge/firmware:<repository root>`` (plus *path*).

:param config: the gate's ``config.json`` content (see ``edge/firmware/README.md``).
:param workdir: folder for ``gate.json`` and the gate's flash (``data/``); a restart
    with the same *workdir* finds the list, outbox and state the last run left.
:param path: more folders for ``MICROPYPATH``, searched before the firmware (e.g. a
    ``machine`` module for tests).
:param heap: MicroPython heap size, e.g. ``"512K"`` (``-X heapsize``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from gatehouse.services import die_with_parent
from gatehouse.services.micropython import micropython_binary

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "edge" / "firmware"


class FirmwareProcess:
    """One firmware process; see the module documentation."""

    def __init__(
        self,
        config: dict[str, Any],
        workdir: str | Path,
        path: Sequence[str | Path] = (),
        heap: str | None = None,
        entry: str | Path | None = None,
    ) -> None:
        self.config = config
        self.workdir = Path(workdir)
        self.data_dir = self.workdir / "data"
        self.config_path = self.workdir / "gate.json"
        self.path = [str(p) for p in path]
        self.heap = heap
        self.entry = Path(entry) if entry else FIRMWARE / "host.py"
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader: threading.Thread | None = None

    def command(self) -> tuple[list[str], dict[str, str]]:
        """The command line and environment the process runs with."""
        cmd = [micropython_binary()]
        if self.heap:
            cmd += ["-X", f"heapsize={self.heap}"]
        cmd += [str(self.entry), str(self.config_path), str(self.data_dir)]
        env = dict(os.environ)
        env["MICROPYPATH"] = ":".join([*self.path, str(FIRMWARE), str(ROOT)])
        return cmd, env

    def start(self) -> FirmwareProcess:
        """Write the config and start the process (the data folder is kept)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        self.config_path.write_text(json.dumps(self.config))
        cmd, env = self.command()
        with self._changed:
            self.lines = []
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
            bufsize=1,
            preexec_fn=die_with_parent,
        )
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()
        return self

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def send(self, line: str) -> None:
        """Write one command line to the firmware's stdin (see ``host.py``)."""
        if self.proc is None or self.proc.stdin is None:
            raise RuntimeError("firmware process is not running")
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def tap(self, uid_hex: str) -> None:
        """Present a card until the gate has read it once."""
        self.send(f"tap {uid_hex}")

    def wait_for(
        self, match: str | Callable[[str], bool], timeout: float = 10.0, start: int = 0
    ) -> str:
        """The first output line from index *start* that starts with (or satisfies)
        *match*; raises :class:`TimeoutError` with the output so far."""
        test = match if callable(match) else (lambda line: line.startswith(match))
        deadline = time.monotonic() + timeout
        seen = start
        with self._changed:
            while True:
                for i in range(seen, len(self.lines)):
                    if test(self.lines[i]):
                        return self.lines[i]
                seen = len(self.lines)
                exited = self.proc is None or self.proc.poll() is not None
                if exited and self._reader is not None and not self._reader.is_alive():
                    raise RuntimeError("firmware exited:\n" + "\n".join(self.lines[-40:]))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"no line matching {match!r} in {timeout} s:\n"
                        + "\n".join(self.lines[-40:])
                    )
                self._changed.wait(min(left, 0.1))

    def mark(self) -> int:
        """Index of the next output line (pass it to :meth:`wait_for` as *start*)."""
        with self._changed:
            return len(self.lines)

    def status(self, timeout: float = 5.0) -> dict[str, Any]:
        """The gate's state: list version and size, outbox seqs, connection, door."""
        start = self.mark()
        self.send("status")
        line = self.wait_for("status ", timeout, start)
        return json.loads(line[len("status ") :])

    def values(self, prefix: str) -> list[dict[str, str]]:
        """``key=value`` fields of every output line starting with *prefix*."""
        with self._changed:
            lines = list(self.lines)
        return [dict(re.findall(r"(\w+)=(\S+)", line)) for line in lines if line.startswith(prefix)]

    def kill(self) -> None:
        """``kill -9`` the firmware, as pulling its power would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the firmware to stop (it releases the relay), or kill it."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._close()

    def _close(self) -> None:
        if self._reader is not None:
            self._reader.join(2)
        if self.proc is not None:
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> FirmwareProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<FirmwareProcess {self.config.get('gate')} {state}>"
