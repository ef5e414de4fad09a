"""Production broker config: ``gatehouse hub broker-config --tls`` on a real Mosquitto.

The generated config has one listener, TLS only, with the password file and ACL.  The
hub's MQTT service and a Pi gate provisioned by the hub connect over TLS with their own
passwords and verify the broker against the CA; a plaintext client, a client with no
password and a client trusting another CA are all refused.
"""

from __future__ import annotations

import os
import queue
import ssl
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from gpiozero.pins.mock import MockFactory
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from edge.gate.daemon import GateDaemon
from edge.gate.provision import config_from_claim
from edge.gate.reader import ScriptedReader
from edge.gate.timers import ManualTimers
from gatehouse.cli import app as cli
from gatehouse.clock import ManualClock
from gatehouse.services import free_port
from gatehouse.services.mosquitto import Mosquitto
from hub.core.config import Settings, get_settings
from hub.migrations import upgrade
from hub.runtime import Hub
from tests.edge.gate.helpers import eventually
from tests.security.certs import make_ca_and_server
from tests.security.conftest import CARD, START, club

HUB_PW = "hub-broker-password-tls"


def connects(port: int, user: str | None, password: str | None, ca: Path | None) -> bool:
    """True if the broker accepts this client (CONNACK success) within a few seconds."""
    result: queue.Queue[bool] = queue.Queue()
    c = mqtt.Client(CallbackAPIVersion.VERSION2)
    if user:
        c.username_pw_set(user, password)
    if ca is not None:
        c.tls_set(ca_certs=str(ca), cert_reqs=ssl.CERT_REQUIRED)
    c.on_connect = lambda _c, _u, _f, rc, _p: result.put(not rc.is_failure)
    c.on_disconnect = lambda *_a: result.put(False)
    try:
        c.connect("localhost", port, keepalive=5)
    except (OSError, ssl.SSLError):
        return False
    c.loop_start()
    try:
        return result.get(timeout=5)
    except queue.Empty:
        return False
    finally:
        c.disconnect()
        c.loop_stop()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    certs = make_ca_and_server(tmp_path / "certs")
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    env = {
        "DATABASE_URL": url, "MQTT_USERNAME": "hub", "MQTT_PASSWORD": HUB_PW,
        "MQTT_HOST": "localhost", "MQTT_PORT": str(free_port()), "MQTT_TLS": "true",
        "MQTT_CA_FILE": str(certs / "ca.crt"), "ACL_POLL_S": "0.5",
    }  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(f"GATEHOUSE_{name}", value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_hub_and_gate_talk_over_tls_and_plaintext_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    clock = ManualClock(START)
    offline = settings.model_copy(update={"mqtt_enabled": False})
    c = club(Hub(offline, clock=clock, migrate=False))
    assert c.pi_conf["mqtt"]["tls"] and c.pi_conf["mqtt"]["ca"].startswith("-----BEGIN")

    certs, out = tmp_path / "certs", tmp_path / "broker"
    run_as = "root" if os.geteuid() == 0 else os.environ.get("USER", "root")
    args = ["hub", "broker-config", "--out", str(out), "--tls",
            "--cert", str(certs / "broker.crt"), "--key", str(certs / "broker.key"),
            "--listen", f"127.0.0.1:{settings.mqtt_port}", "--run-as", run_as]  # fmt: skip
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    conf = (out / "mosquitto.conf").read_text()
    assert conf.count("listener ") == 1 and "certfile" in conf and "allow_anonymous false" in conf
    assert "acl_file" in conf and "password_file" in conf
    assert "use_username_as_clientid true" in conf  # no account takes another's id
    missing = CliRunner().invoke(cli, ["hub", "broker-config", "--out", str(out), "--tls"])
    assert missing.exit_code != 0 and "--cert" in missing.output

    pi_mqtt = c.pi_conf["mqtt"]
    with Mosquitto(tmp_path / "run", port=settings.mqtt_port, config=out / "mosquitto.conf"):
        port = settings.mqtt_port
        assert connects(port, "hub", HUB_PW, certs / "ca.crt")
        assert connects(port, pi_mqtt["username"], pi_mqtt["password"], certs / "ca.crt")
        assert not connects(port, "hub", HUB_PW, None)  # plaintext
        assert not connects(port, pi_mqtt["username"], "wrong", certs / "ca.crt")
        assert not connects(port, None, None, certs / "ca.crt")  # anonymous
        other = make_ca_and_server(tmp_path / "other")
        assert not connects(port, "hub", HUB_PW, other / "ca.crt")  # broker not trusted

        with Hub(settings, clock=clock, migrate=False) as hub:  # TLS, verified
            assert hub.mqtt is not None
            cfg = config_from_claim(c.pi_conf, "", store_path=str(tmp_path / "pi.db"))
            assert cfg.mqtt.tls and cfg.mqtt.host == "localhost"
            timers = ManualTimers(clock)
            gate = GateDaemon(cfg, clock=clock, timers=timers, pin_factory=MockFactory(),
                              reader=ScriptedReader()).start(read=False)  # fmt: skip
            try:
                eventually(lambda: gate.store.version >= 1, timeout=10)
                decision = gate.tap(bytes.fromhex(CARD))
                assert decision is not None and decision.reason_name == "granted"
                eventually(lambda: gate.store.acked == 1, timeout=10)
            finally:
                gate.stop()
            assert hub.mqtt.rejections.total() == 0
