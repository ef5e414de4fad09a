"""Rotating a gate's HMAC key with no downtime, on a real broker, for both gate kinds.

The hub sends each gate its new key sealed under the old one; the gates save it and
switch; taps keep being decided and stored throughout; once the overlap window is over,
anything sealed under the old key is refused — by the hub and by both gates — and
counted.  A restarted Pi gate comes back with the new key from its store.
"""

from __future__ import annotations

import json
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from gpiozero.pins.mock import MockFactory
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from edge.fwbuild.boards import BOARDS
from edge.fwbuild.gateconfig import firmware_config
from edge.gate.config import GateConfig
from edge.gate.daemon import GateDaemon
from edge.gate.provision import config_from_claim
from edge.gate.reader import ScriptedReader
from edge.gate.timers import ManualTimers
from gatehouse.cli import app as gatehouse_app
from gatehouse.clock import ManualClock, SystemClock
from gatehouse.services.mosquitto import Mosquitto
from hub.core.config import Settings, get_settings
from hub.migrations import upgrade
from hub.models import Gate
from hub.runtime import Hub
from protocol import envelope, messages, topics
from protocol.mac import MacKey
from tests.edge.gate.helpers import eventually
from tests.firmware.conftest import firmware
from tests.security.conftest import API, CARD, START, club

OVERLAP_S = 300


def pi_gate(config: GateConfig, timers: ManualTimers) -> GateDaemon:
    return GateDaemon(
        config,
        clock=timers.clock,
        timers=timers,
        pin_factory=MockFactory(),
        reader=ScriptedReader(),
    ).start(read=False)


def publish(port: int, topic: str, payload: bytes) -> None:
    """One message from an outsider who kept an old gate key."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2)
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        c.publish(topic, payload, qos=1).wait_for_publish(5)
    finally:
        c.disconnect()
        c.loop_stop()


def test_taps_keep_working_across_a_rotation_and_the_old_key_dies_after_it(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    clock = ManualClock(START)
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    settings = Settings(database_url=url, mqtt_port=mosquitto.port, acl_poll_s=0.5)
    uid = bytes.fromhex(CARD)
    with Hub(settings, clock=clock) as hub:
        assert hub.mqtt is not None
        c = club(hub)
        old = {
            "front-door": bytes.fromhex(c.pi_conf["gate_key"]),
            "side-door": bytes.fromhex(c.mpy_conf["gate_key"]),
        }
        pi_cfg = config_from_claim(c.pi_conf, "", store_path=str(tmp_path / "pi.db"))
        pi_cfg.mqtt.reconnect_min_s, pi_cfg.mqtt.reconnect_max_s = 0.05, 0.2
        fw_cfg = firmware_config(c.mpy_conf, BOARDS["esp32"])
        fw_cfg.update(poll_ms=10, reader_ms=10, hold_ms=0)
        timers = ManualTimers(clock)
        pi = pi_gate(pi_cfg, timers)
        with firmware(fw_cfg, tmp_path / "fw") as fw:

            def tap_both(n: int) -> None:
                timers.advance(seconds=5)  # past the door pulse and the card debounce
                decision = pi.tap(uid)
                assert decision is not None and decision.reason_name == "granted"
                eventually(lambda: pi.store.acked == n, timeout=10)  # stored by the hub
                start = fw.mark()
                fw.tap(CARD)
                assert "reason=granted" in fw.wait_for("tap ", start=start)
                fw.wait_for(f"ack seq={n}", start=start, timeout=10)

            try:
                eventually(lambda: pi.store.version >= 1, timeout=10)
                fw.wait_for("list v=1 n=1", timeout=10)
                tap_both(1)

                new_kid = {}
                for gate in (c.pi, c.mpy):
                    r = c.api.post(
                        f"{API}/gates/{gate['id']}/rotate-key", params={"overlap_s": OVERLAP_S}
                    )
                    assert r.status_code == 202, r.text
                    answer = r.json()
                    assert answer["previous_key_id"] == MacKey(old[gate["slug"]]).kid.decode()
                    assert "key" not in answer
                    new_kid[gate["slug"]] = answer["key_id"]
                again = c.api.post(f"{API}/gates/{c.pi['id']}/rotate-key")
                assert again.status_code == 409  # one rotation at a time

                # Both gates save the new key and seal with it; taps go on being stored.
                eventually(lambda: pi.link.key.kid.decode() == new_kid["front-door"])
                fw.wait_for("rekey kid=" + new_kid["side-door"], timeout=10)
                saved = pi.store.saved_keys()
                assert saved is not None and saved[1] == old["front-door"]
                state = json.loads((tmp_path / "fw" / "data" / "state.json").read_text())
                assert MacKey(bytes.fromhex(state["key"])).kid.decode() == new_kid["side-door"]
                tap_both(2)
                assert hub.mqtt.rejections.total() == 0

                # The window ends (the firmware learns the hub's time from a command).
                clock.advance(seconds=OVERLAP_S + 1)
                r = c.api.post(
                    f"{API}/gates/{c.mpy['id']}/commands",
                    json={"op": "time", "args": {"now": clock.timestamp()}},
                )
                assert r.status_code == 202, r.text
                fw.wait_for("cmd op=time", timeout=10)
                tap_both(3)

                # Someone holding an old key: refused by the hub and by both gates.
                for gate, key in old.items():
                    forged = messages.status("gate", "online")
                    forged["g"] = gate
                    publish(
                        mosquitto.port,
                        topics.up("club1", gate, "status"),
                        envelope.seal_json(key, forged),
                    )
                    cmd = messages.command(gate, 2**52, "unlock", clock.timestamp())
                    publish(
                        mosquitto.port,
                        topics.down("club1", gate, "cmd"),
                        envelope.seal_json(key, cmd),
                    )
                for gate in old:
                    eventually(lambda g=gate: hub.mqtt.rejections.get("club1", g).get("wrong_key"))
                eventually(lambda: pi.sync.rejected.get("wrong_key") == 1)
                eventually(lambda: fw.status()["rejected"].get("wrong_key") == 1)
                assert fw.status()["grants"] == 3  # no forged unlock
                assert hub.mqtt.rejections.total() == 2
            finally:
                pi.stop()

        # The Pi gate restarts with its original config file: the store's key wins.
        pi = pi_gate(pi_cfg, timers)
        try:
            assert pi.link.key.kid.decode() == new_kid["front-door"]
            decision = pi.tap(uid)
            assert decision is not None and decision.reason_name == "granted"
            eventually(lambda: pi.store.acked == 4, timeout=10)
        finally:
            pi.stop()
        assert hub.mqtt.rejections.total() == 2


def test_a_gate_offline_during_a_cli_rotation_gets_its_new_key_when_it_says_hello(
    tmp_path: Path, mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(SystemClock().now())  # the CLI rotates on the system clock
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    settings = Settings(database_url=url, mqtt_port=mosquitto.port, acl_poll_s=0.5)
    uid = bytes.fromhex(CARD)
    with Hub(settings, clock=clock) as hub:
        assert hub.mqtt is not None
        c = club(hub)
        cfg = config_from_claim(c.pi_conf, "", store_path=str(tmp_path / "pi.db"))
        cfg.mqtt.reconnect_min_s, cfg.mqtt.reconnect_max_s = 0.05, 0.2
        timers = ManualTimers(clock)
        pi = pi_gate(cfg, timers)
        try:
            eventually(lambda: pi.store.count() == 1, timeout=10)  # the member's card
        finally:
            pi.stop()  # offline while the key is rotated

        for name, value in {"DATABASE_URL": url, "MQTT_PORT": str(mosquitto.port)}.items():
            monkeypatch.setenv(f"GATEHOUSE_{name}", value)
        get_settings.cache_clear()
        try:
            args = ["hub", "gate", "rotate-key", "--site", "club1", "--gate", "front-door"]
            r = CliRunner().invoke(gatehouse_app, [*args, "--overlap", "600"])
        finally:
            get_settings.cache_clear()
        assert r.exit_code == 0, r.output
        assert "rekey command sent" in r.output
        with hub.session() as s:
            row = s.get(Gate, c.pi["id"])
            assert (
                row is not None
                and row.prev_key_id == MacKey(bytes.fromhex(c.pi_conf["gate_key"])).kid.decode()
            )
            new_kid = row.key_id

        pi = pi_gate(cfg, timers)  # hello under the old key: the hub sends the key again
        try:
            eventually(lambda: pi.link.key.kid.decode() == new_kid, timeout=10)
            timers.advance(seconds=5)
            decision = pi.tap(uid)
            assert decision is not None and decision.reason_name == "granted"
            eventually(lambda: pi.store.acked == 1, timeout=10)
        finally:
            pi.stop()
        assert hub.mqtt.rejections.total() == 0
