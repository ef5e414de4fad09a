"""The demo's two gates as real processes, provisioned with the hub's claim tokens.

* :class:`PiGate` runs ``python -m gatehouse gate run --config gate.toml --simulate``:
  the Pi daemon with mock pins, card UIDs written to its stdin.
* :class:`FirmwareGate` runs the MicroPython firmware on the ``micropython`` VM
  (:class:`~gatehouse.services.firmware.FirmwareProcess`).

Both answer the same questions, so the story drives either::

    gate = PiGate.provision(hub_url, token, workdir).start()
    gate.wait_version(3)
    gate.wait_time(n)                   # a ``time`` command numbered >= n was applied
    tap = gate.tap("04a1b2c3...")       # Tap(allow=True, reason='granted', seq=1)
    gate.stop()

Both processes die with the demo (``die_with_parent``) even if it is killed.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.fwbuild.boards import BOARDS
from edge.fwbuild.gateconfig import firmware_config
from edge.gate.config import dump_config
from edge.gate.provision import claim, config_from_claim
from gatehouse.services import die_with_parent
from gatehouse.services.firmware import FirmwareProcess
from gatehouse.services.micropython import micropython_binary

ROOT = Path(__file__).resolve().parents[2]
_PI_TAP = re.compile(r"^tap (\w+) seq=(\d+) (open|refused) (\w+)")
_PI_LIST = re.compile(r"list v(\d+) in force")
_PI_CMD = re.compile(r"command time n=(\d+) applied")
_FW_VALUES = re.compile(r"(\w+)=(\S+)")


@dataclass(frozen=True)
class Tap:
    """One decision a gate printed: who, allowed or not, why, and its check-in seq."""

    gate: str
    uid: str
    allow: bool
    reason: str
    seq: int


def micropython_available() -> bool:
    """Whether the ``micropython`` VM can run here."""
    try:
        micropython_binary()
    except (OSError, RuntimeError, FileNotFoundError):
        return False
    return True


class _Lines:
    """Output lines of a process, with waiting for a line that matches."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.changed = threading.Condition()

    def add(self, line: str) -> None:
        with self.changed:
            self.lines.append(line)
            self.changed.notify_all()

    def mark(self) -> int:
        with self.changed:
            return len(self.lines)

    def wait(self, pattern: re.Pattern[str], start: int, timeout: float, alive: Any) -> re.Match:
        deadline = time.monotonic() + timeout
        seen = start
        with self.changed:
            while True:
                for i in range(seen, len(self.lines)):
                    found = pattern.search(self.lines[i])
                    if found:
                        return found
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or not alive():
                    tail = "\n".join(self.lines[-20:])
                    raise TimeoutError(f"no line matching {pattern.pattern!r}:\n{tail}")
                self.changed.wait(min(left, 0.1))


class PiGate:
    """The Pi gate daemon as a process, with simulated pins and taps on stdin.

    :param config_path: the gate's ``gate.toml`` (from :meth:`provision`).
    """

    kind = "pi"

    def __init__(self, config_path: Path, name: str) -> None:
        self.config_path = config_path
        self.name = name
        self.proc: subprocess.Popen[str] | None = None
        self.out = _Lines()
        self._threads: list[threading.Thread] = []
        self._tap_lock = threading.Lock()

    @classmethod
    def provision(
        cls, hub_url: str, token: str, workdir: Path, mqtt_port: int | None = None
    ) -> PiGate:
        """Claim the gate's config with *token* and write ``gate.toml`` in *workdir*.

        :param mqtt_port: reach the broker on this port instead (a relay, for example).
        """
        workdir.mkdir(parents=True, exist_ok=True)
        cfg = config_from_claim(claim(hub_url, token), hub_url, str(workdir / "gate.db"))
        if mqtt_port is not None:
            cfg.mqtt.port = mqtt_port
        cfg.decision.debounce_s = 0.0  # a simulated day passes between two taps of a card
        path = workdir / "gate.toml"
        dump_config(cfg, path)
        return cls(path, cfg.gate.gate)

    def start(self) -> PiGate:
        cmd = [sys.executable, "-m", "gatehouse", "gate", "run", "--config", str(self.config_path),
               "--simulate"]  # fmt: skip
        env = dict(os.environ, PYTHONUNBUFFERED="1", GPIOZERO_PIN_FACTORY="mock")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1, env=env, cwd=ROOT, preexec_fn=die_with_parent,
        )  # fmt: skip
        for stream in (self.proc.stdout, self.proc.stderr):
            t = threading.Thread(target=self._read, args=(stream,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.out.add(line.rstrip("\n"))

    def _alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tap(self, uid: str, timeout: float = 10.0) -> Tap:
        """Present card *uid* (hex) and return the gate's decision."""
        with self._tap_lock:
            start = self.out.mark()
            assert self.proc is not None and self.proc.stdin is not None
            self.proc.stdin.write(uid + "\n")
            self.proc.stdin.flush()
            found = self.out.wait(_PI_TAP, start, timeout, self._alive)
        return Tap(self.name, found[1], found[3] == "open", found[4], int(found[2]))

    def versions(self) -> list[int]:
        with self.out.changed:
            lines = list(self.out.lines)
        return [int(m[1]) for line in lines if (m := _PI_LIST.search(line))]

    def wait_version(self, version: int, timeout: float = 15.0) -> None:
        """Wait until list *version* (or a later one) is in force."""
        deadline = time.monotonic() + timeout
        while max(self.versions(), default=0) < version:
            if time.monotonic() > deadline or not self._alive():
                raise TimeoutError(f"{self.name}: list v{version} not in force")
            time.sleep(0.02)

    def wait_time(self, n: int, timeout: float = 10.0) -> None:
        """Wait until a ``time`` command numbered *n* or later was applied."""
        deadline = time.monotonic() + timeout
        while True:
            with self.out.changed:
                done = any(
                    (m := _PI_CMD.search(line)) and int(m[1]) >= n for line in self.out.lines
                )
            if done:
                return
            if time.monotonic() > deadline or not self._alive():
                raise TimeoutError(f"{self.name}: time command {n} not applied")
            time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM the daemon (it releases the relay and closes its store), or kill it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        self.proc = None

    def __repr__(self) -> str:
        return f"<PiGate {self.name} {'running' if self._alive() else 'stopped'}>"


class FirmwareGate:
    """The MicroPython firmware as a process, answering like :class:`PiGate`."""

    kind = "micropython"

    def __init__(self, config: dict[str, Any], workdir: Path) -> None:
        self.name = str(config["gate"])
        self.process = FirmwareProcess(config, workdir)
        self._tap_lock = threading.Lock()

    @classmethod
    def provision(
        cls, hub_url: str, token: str, workdir: Path, mqtt_port: int | None = None
    ) -> FirmwareGate:
        """Claim the gate's config with *token* and turn it into the firmware's config."""
        config = firmware_config(claim(hub_url, token), BOARDS["esp32"])
        config.update(poll_ms=10, reader_ms=10, hold_ms=0)
        if mqtt_port is not None:
            config["mqtt"]["port"] = mqtt_port
        return cls(config, workdir)

    def start(self) -> FirmwareGate:
        self.process.start()
        return self

    def tap(self, uid: str, timeout: float = 10.0) -> Tap:
        with self._tap_lock:
            start = self.process.mark()
            self.process.tap(uid)
            line = self.process.wait_for("tap ", timeout, start)
        v = dict(_FW_VALUES.findall(line))
        return Tap(self.name, v["uid"], v["allow"] == "1", v["reason"], int(v["seq"]))

    def versions(self) -> list[int]:
        return [int(v["v"]) for v in self.process.values("list ")]

    def wait_version(self, version: int, timeout: float = 15.0) -> None:
        self.process.wait_for(
            lambda line: line.startswith("list ") and int(_fw(line)["v"]) >= version, timeout
        )

    def wait_time(self, n: int, timeout: float = 10.0) -> None:
        self.process.wait_for(
            lambda line: line.startswith("cmd op=time") and int(_fw(line)["n"]) >= n, timeout
        )

    def stop(self) -> None:
        self.process.stop()

    def __repr__(self) -> str:
        return f"<FirmwareGate {self.name} {'running' if self.process.running else 'stopped'}>"


def _fw(line: str) -> dict[str, str]:
    return dict(_FW_VALUES.findall(line))
