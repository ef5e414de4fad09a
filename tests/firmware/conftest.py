"""Fixtures for the MicroPython gate: the firmware on the real ``micropython`` VM."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatehouse.services.firmware import FirmwareProcess
from gatehouse.services.micropython import run_micropython
from gatehouse.services.mosquitto import Mosquitto

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "edge" / "firmware"
SHIM = ROOT / "tests" / "firmware" / "shim"
RUNNER = ROOT / "tests" / "firmware" / "gate_runner.py"
SITE, GATE = "club1", "front-door"
NOW = 1_800_000_000

ACL = f"""user hub
topic readwrite gh/v1/#

user {GATE}
topic write gh/v1/{SITE}/{GATE}/up/#
topic read gh/v1/{SITE}/{GATE}/down/#
"""


def mp_path() -> list[Path]:
    """MICROPYPATH for firmware tests: the test-only machine shim (when present), the
    firmware and the repository root (for ``protocol``)."""
    paths = [FIRMWARE, ROOT]
    if SHIM.exists():
        paths.insert(0, SHIM)
    return paths


def run_mp(script: str, tmp_path: Path, *args: str, heap: str | None = None) -> str:
    """Run *script* on the micropython VM with the firmware importable; return stdout."""
    path = tmp_path / "script.py"
    path.write_text(script)
    result = run_micropython([str(path), *args], path=mp_path(), heap=heap, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def gate_config(port: int, key: bytes, secret: bytes, **extra: Any) -> dict[str, Any]:
    """A gate's config.json for a broker on 127.0.0.1:*port*."""
    cfg: dict[str, Any] = {
        "site": SITE,
        "gate": GATE,
        "kind": "micropython",
        "door": "front",
        "zone": 0,
        "mqtt": {
            "host": "127.0.0.1",
            "port": port,
            "username": GATE,
            "password": "gate-pw",
            "tls": False,
            "ca": None,
        },
        "gate_key": key.hex(),
        "card_secret": secret.hex(),
        "hub_url": "http://127.0.0.1:8000",
        "pins": {
            "spi": {"id": 1, "sck": 18, "mosi": 23, "miso": 19, "baudrate": 1000000},
            "rc522_cs": 5,
            "rc522_rst": 22,
            "relay": 26,
            "relay_active_low": False,
            "led_green": 25,
            "led_red": 33,
            "buzzer": 32,
            "contact": 27,
        },
        "pulse_ms": 300,
        "deny_ms": 200,
        "mtu": 4096,
        "poll_ms": 10,
        "reader_ms": 10,
        "timeout_ms": 3000,
    }
    cfg.update(extra)
    return cfg


def firmware(config: dict[str, Any], workdir: Path) -> FirmwareProcess:
    """The gate firmware with its real reader driver and pin code, on the machine shim
    with the MFRC522 emulator as the chip (``tests/firmware/gate_runner.py``)."""
    return FirmwareProcess(config, workdir, path=[SHIM, ROOT / "tests" / "support"], entry=RUNNER)


@pytest.fixture
def keys() -> tuple[bytes, bytes]:
    """(gate HMAC key, site card secret)."""
    return secrets.token_bytes(32), secrets.token_bytes(32)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A Mosquitto with a hub user and one gate user restricted to its own topics."""
    users = {"hub": "hub-pw", GATE: "gate-pw"}
    with Mosquitto(tmp_path / "mosquitto", users=users, acl=ACL) as mq:
        yield mq
