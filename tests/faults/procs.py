"""The processes a fault test kills: hub replicas and Pi gates.

:class:`HubProcess` is ``python -m gatehouse hub serve`` with its settings in
``GATEHOUSE_*`` variables; :class:`GateProcess` is ``python -m gatehouse gate run
--simulate`` (or the skewed-clock runner) fed card UIDs on stdin.  The gate prints a
line per decision after its check-in is committed, so what it printed is what it
promised to deliver::

    hub = HubProcess(env, workdir).start()
    gate = GateProcess(config, log).start()
    gate.tap(bytes.fromhex("04a1b2c3"))
    gate.wait_decided(1)
    gate.kill(); hub.kill()          # SIGKILL, as a power cut or an OOM kill would
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from gatehouse.services import die_with_parent, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def _die_with_parent_process() -> object:
    """:func:`die_with_parent` when called on the main thread, else nothing.

    The kernel's parent-death signal follows the *thread* that started the child: a
    replica restarted from a killer thread would be killed when that thread ends.
    Those are killed by :meth:`FaultWorld.close` instead.
    """
    return die_with_parent if threading.current_thread() is threading.main_thread() else None


class HubProcess:
    """One hub replica (API + MQTT service + optional due work) in its own process.

    :param env: ``GATEHOUSE_*`` settings (database, broker, clock, share group ...).
    :param workdir: where its log goes.
    :param name: a replica name (its MQTT client id and log file).
    """

    def __init__(self, env: dict[str, str], workdir: Path, name: str = "hub") -> None:
        self.env = {**os.environ, **env, "GATEHOUSE_MQTT_CLIENT_ID": f"gatehouse-{name}"}
        self.workdir = workdir
        self.name = name
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> HubProcess:
        """Start and wait until it serves HTTP (its MQTT service is subscribed by then)."""
        log = (self.workdir / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gatehouse", "hub", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent_process(),
        )
        log.close()
        try:
            wait_for_port("127.0.0.1", self.port, timeout)
        except TimeoutError:
            self.kill()
            raise RuntimeError(f"{self.name} did not start; see {self.workdir}") from None
        self.starts += 1
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Tap:
    """One card presented at a gate, and what the gate said about it."""

    uid: bytes
    expect_allow: bool
    seq: int | None = None
    allowed: bool | None = None
    not_recorded: bool = False

    @property
    def decided(self) -> bool:
        return self.seq is not None or self.not_recorded


class GateProcess:
    """A simulated Pi gate process fed taps on stdin.

    :param config: its ``gate.toml``.
    :param log: file for its stderr.
    :param clock_file: run the skewed-clock runner reading this file (else the CLI).
    :param wrap: turns the command into the one to run (e.g. inside a namespace).
    """

    def __init__(
        self,
        config: Path,
        log: Path,
        clock_file: Path | None = None,
        wrap: object = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.config = config
        self.log = log
        self.clock_file = clock_file
        self.wrap = wrap
        self.extra_env = extra_env or {}
        self.taps: dict[str, Tap] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self._cond = threading.Condition()

    def command(self) -> list[str]:
        if self.clock_file is not None:
            argv = [sys.executable, "-m", "tests.faults.gate_runner", "--config",
                    str(self.config), "--clock-file", str(self.clock_file)]  # fmt: skip
        else:
            argv = [sys.executable, "-m", "gatehouse", "gate", "run", "--config",
                    str(self.config), "--simulate"]  # fmt: skip
        return self.wrap(argv) if callable(self.wrap) else argv

    def start(self, preexec: object = None) -> GateProcess:
        """Start it; returns once it has printed its first line (store open)."""
        err = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env={**os.environ, **self.extra_env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            preexec_fn=preexec or _die_with_parent_process(),  # type: ignore[arg-type]
        )
        err.close()
        started = threading.Event()
        threading.Thread(target=self._read, args=(self.proc, started), daemon=True).start()
        if not started.wait(60):
            self.kill()
            raise RuntimeError(f"gate did not start; see {self.log}")
        return self

    def _read(self, proc: subprocess.Popen[bytes], started: threading.Event) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            started.set()
            words = raw.decode(errors="replace").split()
            if len(words) >= 3 and words[0] == "tap":
                with self._cond:
                    tap = self.taps.get(words[1])
                    if tap is not None:
                        if words[2].startswith("seq="):
                            tap.seq = int(words[2][4:])
                            tap.allowed = words[3] == "open"
                        elif words[2] == "not":
                            tap.not_recorded = True
                    self._cond.notify_all()
        started.set()

    def tap(self, uid: bytes, expect_allow: bool) -> Tap:
        """Present card *uid* (each tap of a test uses a card of its own)."""
        tap = Tap(uid, expect_allow)
        with self._cond:
            self.taps[uid.hex()] = tap
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(uid.hex().encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # killed: the tap never reached the reader
        return tap

    def wait_decided(self, taps: list[Tap], timeout: float = 20.0) -> bool:
        """Wait until every tap in *taps* was decided (or refused as not recorded)."""
        with self._cond:
            return self._cond.wait_for(lambda: all(t.decided for t in taps), timeout)

    def kill(self) -> None:
        """SIGKILL the gate (its children too, when it runs under ``ip netns exec``)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    @property
    def printed(self) -> list[Tap]:
        """Taps the gate committed and printed."""
        with self._cond:
            return [t for t in self.taps.values() if t.seq is not None]


def eventually(predicate: object, timeout: float, step: float = 0.05) -> float | None:
    """Seconds until *predicate()* holds, or ``None`` after *timeout*."""
    start = time.monotonic()
    while True:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            return None
        time.sleep(step)
