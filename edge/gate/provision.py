"""Provisioning: trade an installer's one-time token for the gate's configuration.

The console gives an installer a token for a new gate; on the Pi::

    gatehouse gate provision --hub https://hub.example.org --token T --out /etc/gatehouse/gate.toml

POSTs ``{"token": T}`` to ``<hub>/api/v1/provision/claim``.  The hub answers with the
gate's identity, broker credentials and secrets::

    {"site": "club1", "gate": "front-door", "kind": "pi", "door": "Front door", "zone": 0,
     "mqtt": {"host": ..., "port": 8883, "username": ..., "password": ..., "tls": true,
              "ca": ""},
     "gate_key": "<hex>", "card_secret": "<hex>", "hub_url": "https://..."}

which is merged with the default pin settings and written with mode 0600.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from edge.gate.config import ConfigError, GateConfig, GateSection, MqttSection, StoreSection

CLAIM_PATH = "/api/v1/provision/claim"


class ProvisionError(RuntimeError):
    """The hub refused the token, could not be reached, or answered nonsense."""


def claim(hub_url: str, token: str, timeout: float = 15.0) -> dict[str, Any]:
    """POST the token to the hub and return its JSON answer."""
    url = hub_url.rstrip("/") + CLAIM_PATH
    request = urllib.request.Request(
        url,
        data=json.dumps({"token": token}).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as err:
        detail = _detail(err.read())
        if err.code == 404:
            raise ProvisionError(
                f"no provisioning endpoint at {url} (HTTP 404): is --hub the hub's address?"
            ) from None
        if err.code in (400, 401, 403, 409, 410, 422):
            raise ProvisionError(
                f"the hub refused the token (HTTP {err.code}{': ' + detail if detail else ''});"
                " ask for a new one in the console"
            ) from None
        raise ProvisionError(f"the hub answered HTTP {err.code}: {detail or err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise ProvisionError(f"cannot reach the hub at {url}: {reason}") from None
    try:
        data = json.loads(raw)
    except ValueError:
        raise ProvisionError("the hub's answer is not JSON") from None
    if not isinstance(data, dict):
        raise ProvisionError("the hub's answer is not a JSON object")
    return data


def _detail(raw: bytes) -> str:
    try:
        body = json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")[:200].strip()
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("error") or ""
        return detail if isinstance(detail, str) else json.dumps(detail)[:200]
    return ""


def config_from_claim(
    data: dict[str, Any], hub_url: str, store_path: str | None = None
) -> GateConfig:
    """The gate's configuration: the hub's answer merged with default pins and timings."""
    mqtt = data.get("mqtt")
    if not isinstance(mqtt, dict):
        raise ProvisionError("the hub's answer has no 'mqtt' object")
    try:
        gate = GateSection(
            site=str(data["site"]),
            gate=str(data["gate"]),
            kind=str(data.get("kind") or "pi"),
            door=str(data.get("door") or ""),
            zone=int(data.get("zone") or 0),
            gate_key=str(data["gate_key"]),
            card_secret=str(data["card_secret"]),
            hub_url=str(data.get("hub_url") or hub_url),
        )
        broker = MqttSection(
            host=str(mqtt["host"]),
            port=int(mqtt.get("port") or (8883 if mqtt.get("tls") else 1883)),
            username=str(mqtt.get("username") or ""),
            password=str(mqtt.get("password") or ""),
            tls=bool(mqtt.get("tls", False)),
            ca=str(mqtt.get("ca") or ""),
        )
    except KeyError as err:
        raise ProvisionError(f"the hub's answer is missing {err.args[0]!r}") from None
    except (TypeError, ValueError) as err:
        raise ProvisionError(f"the hub's answer has a bad value: {err}") from None
    config = GateConfig(gate=gate, mqtt=broker)
    if store_path:
        config.store = StoreSection(path=store_path)
    try:
        return config.validate()
    except ConfigError as err:
        raise ProvisionError(f"the hub's answer is not a usable configuration: {err}") from None
