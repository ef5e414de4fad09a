"""Building blocks for gate tests: configs, a gate wired to mock pins, waiting."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.gate.config import GateConfig, GateSection, MqttSection, StoreSection

SITE = "club1"
GATE = "front-door"
T0 = 1_800_000_000  # Friday 2027-01-15 15:00 in the site's time (UTC+7)
DAY = 86400
RELAY, GREEN, RED, BUZZER, DOOR_SENSOR, EXIT_BUTTON = 17, 27, 22, 23, 5, 6


def make_config(
    store_path: Path,
    gate_key: bytes,
    card_secret: bytes,
    port: int = 1883,
    **sections: dict[str, Any],
) -> GateConfig:
    """A valid config for a test gate; *sections* override fields per section."""
    config = GateConfig(
        gate=GateSection(
            site=SITE, gate=GATE, gate_key=gate_key.hex(), card_secret=card_secret.hex()
        ),
        mqtt=MqttSection(
            port=port,
            reconnect_min_s=0.05,
            reconnect_max_s=0.2,
            resend_s=2.0,
            status_interval_s=60.0,
        ),
        store=StoreSection(path=str(store_path)),
    )
    for name, values in sections.items():
        section = getattr(config, name)
        for key, value in values.items():
            if not hasattr(section, key):
                raise AttributeError(f"{name}.{key}")
            setattr(section, key, value)
    return config.validate()


def eventually(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Wait (in short steps) until *predicate()* is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)


def committed(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows as another process would see them: only what is committed on disk."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()
