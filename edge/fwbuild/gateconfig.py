"""One gate's ``config.json``: the hub's provisioning config plus the board's pins.

The hub provisions a gate with ``{"site", "gate", "kind", "door", "zone", "mqtt":
{"host", "port", "username", "password", "tls", "ca"}, "gate_key", "card_secret",
"hub_url"}``.  :func:`firmware_config` checks every field, adds the board's default
pins and the firmware's own settings, and returns what the board reads at boot::

    cfg = firmware_config(json.loads(Path("gate.json").read_text()), BOARDS["esp32"])
    Path("build/config.json").write_text(json.dumps(cfg, indent=1))

A field out of shape raises :class:`ConfigError` naming it.  The schema is documented
in ``edge/firmware/README.md``.
"""

from __future__ import annotations

import copy
from typing import Any

from edge.fwbuild.boards import Board
from protocol.topics import valid_id

DEFAULTS: dict[str, Any] = {
    "pulse_ms": 3000,
    "deny_ms": 1000,
    "mtu": 4096,
    "status_s": 60,
    "keepalive_s": 60,
    "timeout_ms": 5000,
    "outbox_capacity": 4096,
    "passback_s": 0,
    "data_dir": "",
    "wdt_ms": 0,
}

# field: (lowest, highest) for the integers a gate's config may set
RANGES: dict[str, tuple[int, int]] = {
    "zone": (0, 15),
    "pulse_ms": (100, 30000),
    "deny_ms": (100, 10000),
    "mtu": (1024, 16384),
    "status_s": (5, 3600),
    "keepalive_s": (5, 3600),
    "timeout_ms": (500, 60000),
    "outbox_capacity": (64, 100000),
    "passback_s": (0, 86400),
    "wdt_ms": (0, 60000),
}


class ConfigError(ValueError):
    """A gate config field is missing or out of shape."""


def _hex_key(cfg: dict[str, Any], name: str) -> str:
    value = cfg.get(name)
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a hex string")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise ConfigError(f"{name} must be hex") from None
    if len(raw) < 16:
        raise ConfigError(f"{name} must be at least 16 bytes (32 hex characters)")
    return value.lower()


def _int(cfg: dict[str, Any], name: str) -> None:
    value = cfg[name]
    low, high = RANGES[name]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer from {low} to {high}")


def _mqtt(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError("mqtt must be an object with host, port, username, password")
    host = raw.get("host")
    if not isinstance(host, str) or not host:
        raise ConfigError("mqtt.host must name the broker")
    tls = bool(raw.get("tls", False))
    port = raw.get("port", 8883 if tls else 1883)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ConfigError("mqtt.port must be 1-65535")
    out = {
        "host": host,
        "port": port,
        "username": raw.get("username"),
        "password": raw.get("password"),
        "tls": tls,
        "ca": raw.get("ca"),
    }
    for name in ("username", "password", "ca"):
        if out[name] is not None and not isinstance(out[name], str):
            raise ConfigError(f"mqtt.{name} must be a string")
    if tls and not out["ca"]:
        raise ConfigError("mqtt.ca is required with tls: the gate verifies the broker with it")
    return out


def firmware_config(provisioned: dict[str, Any], board: Board) -> dict[str, Any]:
    """The ``config.json`` for *board* from a hub-provisioned gate config."""
    if not isinstance(provisioned, dict):
        raise ConfigError("the gate config must be a JSON object")
    cfg = copy.deepcopy(DEFAULTS)
    cfg.update(copy.deepcopy(provisioned))
    for name in ("site", "gate"):
        if not valid_id(cfg.get(name)):
            raise ConfigError(f"{name} must be 1-32 characters of a-z, 0-9, _ and -")
    cfg["gate_key"] = _hex_key(cfg, "gate_key")
    cfg["card_secret"] = _hex_key(cfg, "card_secret")
    cfg["mqtt"] = _mqtt(cfg.get("mqtt"))
    cfg.setdefault("zone", 0)
    cfg.setdefault("kind", "micropython")
    cfg["board"] = board.name
    for name in RANGES:
        _int(cfg, name)
    pins = copy.deepcopy(board.pins)
    pins.update(cfg.get("pins") or {})
    cfg["pins"] = pins
    wifi = cfg.get("wifi")
    if wifi is not None and (not isinstance(wifi, dict) or not wifi.get("ssid")):
        raise ConfigError("wifi must be an object with ssid (and password)")
    return cfg
