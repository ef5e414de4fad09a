"""The gate's configuration file, ``gate.toml``.

``gatehouse gate provision`` writes it from what the hub returns for an installer's
token; every section but ``[gate]`` and ``[mqtt]`` has defaults, so a hand-written file
can be short::

    [gate]
    site = "club1"
    gate = "front-door"
    door = "Front door"
    zone = 0
    gate_key = "9f2c..."        # 32 bytes hex: HMAC key for every payload
    card_secret = "51aa..."     # 32 bytes hex: the site's card secret

    [mqtt]
    host = "hub.example.org"
    port = 8883
    username = "club1.front-door"
    password = "..."
    tls = true

    [pins]                      # BCM numbers; "" leaves a part out
    relay = 17

Load it with :func:`load_config`; :func:`dump_config` writes one back (mode 0600: it
holds the gate's secrets).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protocol import topics

FAIL_SECURE = "fail-secure"
FAIL_SAFE = "fail-safe"
READER_BACKENDS = ("mfrc522", "mfrc522-pypi", "scripted")


class ConfigError(ValueError):
    """The configuration file is missing something or holds a bad value."""


@dataclass
class GateSection:
    """Who the gate is and its secrets."""

    site: str = ""
    gate: str = ""
    kind: str = "pi"
    door: str = ""
    zone: int = 0
    gate_key: str = ""
    card_secret: str = ""
    hub_url: str = ""


@dataclass
class MqttSection:
    """How to reach the broker."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    ca: str = ""
    keepalive_s: int = 30
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    resend_s: float = 15.0
    status_interval_s: float = 60.0
    mtu: int = 65536


@dataclass
class StoreSection:
    """Where the local SQLite store lives."""

    path: str = "/var/lib/gatehouse/gate.db"


@dataclass
class DoorSection:
    """Lock behaviour and signal patterns."""

    pulse_ms: int = 3000
    lock: str = FAIL_SECURE
    refuse_ms: int = 1000
    held_open_s: float = 30.0
    forced_grace_s: float = 2.0


@dataclass
class PinsSection:
    """BCM pin numbers; ``None`` (``""`` in the file) leaves that part out."""

    relay: int | None = 17
    relay_active_high: bool = True
    green: int | None = 27
    red: int | None = 22
    buzzer: int | None = 23
    door_sensor: int | None = 5
    exit_button: int | None = 6


@dataclass
class ReaderSection:
    """Which card reader, on which SPI device."""

    backend: str = "mfrc522"
    spi_bus: int = 0
    spi_device: int = 0
    spi_hz: int = 1_000_000
    poll_ms: int = 50


@dataclass
class DecisionSection:
    """Tap handling around the protocol's decision."""

    debounce_s: float = 3.0
    enroll_timeout_s: float = 60.0


@dataclass
class GateConfig:
    """A whole ``gate.toml``."""

    gate: GateSection = field(default_factory=GateSection)
    mqtt: MqttSection = field(default_factory=MqttSection)
    store: StoreSection = field(default_factory=StoreSection)
    door: DoorSection = field(default_factory=DoorSection)
    pins: PinsSection = field(default_factory=PinsSection)
    reader: ReaderSection = field(default_factory=ReaderSection)
    decision: DecisionSection = field(default_factory=DecisionSection)

    @property
    def gate_key(self) -> bytes:
        return bytes.fromhex(self.gate.gate_key)

    @property
    def card_secret(self) -> bytes:
        return bytes.fromhex(self.gate.card_secret)

    def validate(self) -> GateConfig:
        """Raise :class:`ConfigError` naming the first bad field; return self."""
        g = self.gate
        if not topics.valid_id(g.site):
            raise ConfigError("gate.site must be 1-32 of a-z 0-9 _ -")
        if not topics.valid_id(g.gate):
            raise ConfigError("gate.gate must be 1-32 of a-z 0-9 _ -")
        if not 0 <= g.zone <= 15:
            raise ConfigError("gate.zone must be 0-15")
        for name in ("gate_key", "card_secret"):
            try:
                value = bytes.fromhex(getattr(g, name))
            except ValueError:
                raise ConfigError(f"gate.{name} must be hex") from None
            if len(value) < 16:
                raise ConfigError(f"gate.{name} must be at least 16 bytes")
        if self.door.lock not in (FAIL_SECURE, FAIL_SAFE):
            raise ConfigError(f"door.lock must be {FAIL_SECURE!r} or {FAIL_SAFE!r}")
        if self.door.pulse_ms <= 0:
            raise ConfigError("door.pulse_ms must be positive")
        if self.reader.backend not in READER_BACKENDS:
            raise ConfigError(f"reader.backend must be one of {', '.join(READER_BACKENDS)}")
        if not 512 <= self.mqtt.mtu <= 131072:
            raise ConfigError("mqtt.mtu must be 512-131072")
        return self


_SECTIONS: dict[str, type] = {
    "gate": GateSection,
    "mqtt": MqttSection,
    "store": StoreSection,
    "door": DoorSection,
    "pins": PinsSection,
    "reader": ReaderSection,
    "decision": DecisionSection,
}


def _section(cls: type, name: str, values: Any) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}] must be a table")
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        f = known.get(key)
        if f is None:
            raise ConfigError(f"unknown setting {name}.{key}")
        default = f.default
        if value == "" and name == "pins":
            value = None
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{name}.{key} must be true or false")
        elif isinstance(default, int) and not isinstance(default, bool):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(f"{name}.{key} must be an integer")
        elif isinstance(default, float):
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"{name}.{key} must be a number")
            value = float(value)
        elif isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"{name}.{key} must be a string")
        kwargs[key] = value
    return cls(**kwargs)


def from_dict(data: dict[str, Any]) -> GateConfig:
    """Build and validate a config from parsed TOML."""
    parts: dict[str, Any] = {}
    for name, values in data.items():
        if name not in _SECTIONS:
            raise ConfigError(f"unknown section [{name}]")
        parts[name] = _section(_SECTIONS[name], name, values)
    return GateConfig(**parts).validate()


def load_config(path: str | Path) -> GateConfig:
    """Read and validate ``gate.toml``."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"no configuration at {path}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: {err}") from None
    return from_dict(data)


def _toml_value(value: Any) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def dumps_config(config: GateConfig) -> str:
    """The TOML text of *config*."""
    lines: list[str] = []
    for name in _SECTIONS:
        section = getattr(config, name)
        lines.append(f"[{name}]")
        for f in dataclasses.fields(section):
            lines.append(f"{f.name} = {_toml_value(getattr(section, f.name))}")
        lines.append("")
    return "\n".join(lines)


def dump_config(config: GateConfig, path: str | Path) -> Path:
    """Write *config* to *path* with mode 0600 (atomically: a temp file, then rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(dumps_config(config))
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path
