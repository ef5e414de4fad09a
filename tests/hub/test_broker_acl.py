"""Provisioning and the broker: `gate add`, claim, `broker-config`, and the ACL enforced
by a real Mosquitto — tested by delivery, since a SUBACK may grant a forbidden topic."""

from __future__ import annotations

import os
import queue
import re
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import Session
from typer.testing import CliRunner

from gatehouse.cli import app as cli
from gatehouse.clock import ManualClock, SystemClock
from gatehouse.services import free_port
from gatehouse.services.mosquitto import Mosquitto
from gatehouse.sim.gates import SimGate
from hub.broker import read_env_file
from hub.core.config import Settings, get_settings
from hub.core.db import make_engine
from hub.mqtt.service import HubMqtt
from hub.services.gates import claim_gate
from tests.hub.factories import Factory

HUB_PW = "hub-broker-password-1"


class Client:
    """A paho client that records what it receives."""

    def __init__(
        self, port: int, user: str, password: str, client_id: str = "", clean: bool = True
    ) -> None:
        self.inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connected: queue.Queue[bool] = queue.Queue()
        self.drops = 0  # connections the broker closed
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
        self.c.reconnect_delay_set(30, 60)  # a dropped connection stays down while checked
        self.c.username_pw_set(user, password)
        self.c.on_message = lambda _c, _u, m: self.inbox.put((m.topic, bytes(m.payload)))
        self.c.on_connect = lambda _c, _u, _f, rc, _p: self.connected.put(not rc.is_failure)
        self.c.on_disconnect = self._dropped
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        self.ok = self.connected.get(timeout=5)

    def _dropped(self, _c: mqtt.Client, _u: object, _f: object, rc: object, _p: object) -> None:
        self.drops += 1

    def sub(self, topic: str) -> None:
        self.c.subscribe(topic, qos=1)[1]
        self.c.publish("gh/v1/none/none/up/none", b"")  # round trip: subscription active

    def pub(self, topic: str, payload: bytes) -> None:
        self.c.publish(topic, payload, qos=1).wait_for_publish(5)

    def got(self, marker: bytes, timeout: float = 5.0) -> list[str]:
        """Topics received up to and including the message *marker* (round trips only)."""
        out = []
        while True:
            topic, payload = self.inbox.get(timeout=timeout)
            if not topic.startswith("gh/v1/none/"):
                out.append(topic)
            if payload == marker:
                return out

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    port = free_port()
    for name, value in {
        "DATABASE_URL": db_url, "MQTT_USERNAME": "hub", "MQTT_PASSWORD": HUB_PW,
        "MQTT_PORT": str(port), "MQTT_PUBLIC_HOST": "gates.example",
    }.items():  # fmt: skip
        monkeypatch.setenv(f"GATEHOUSE_{name}", value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_gates_reach_only_their_own_topics(env: Settings, tmp_path: Path) -> None:
    clock = ManualClock(SystemClock().now())  # the CLI provisions on the system clock
    engine = make_engine(env.database_url)
    with Session(engine, expire_on_commit=False) as s:
        s.info["settings"] = env
        make = Factory(s, clock)
        site = make.site()
        make.door(site, "Front door")
        make.door(site, "Back door", zone=1)
        member = make.member()
        make.card(member)
        make.entitlement(member, site)
        make.changed(site)
    runner = CliRunner()
    tokens = {}
    for door, gate in (("Front door", "gate-a"), ("Back door", "gate-b")):
        r = runner.invoke(
            cli, ["hub", "gate", "add", "--site", "club1", "--door", door, "--gate", gate]
        )
        assert r.exit_code == 0, r.output
        tokens[gate] = re.search(r"claim token .*: (\S+)", r.output).group(1)  # type: ignore[union-attr]
    missing = runner.invoke(cli, ["hub", "gate", "add", "--site", "club1", "--door", "Nope"])
    assert missing.exit_code != 0 and "no door 'Nope'" in missing.output

    out = tmp_path / "broker"
    run_as = "root" if os.geteuid() == 0 else os.environ.get("USER", "root")
    listen = f"127.0.0.1:{env.mqtt_port}"
    args = ["hub", "broker-config", "--out", str(out), "--listen", listen, "--run-as", run_as]
    r = runner.invoke(cli, args)
    assert r.exit_code == 0, r.output
    passwd = (out / "passwd").read_text()
    assert HUB_PW not in passwd and passwd.count("$7$") == 3
    acl = (out / "acl").read_text()
    assert (
        "topic write gh/v1/club1/gate-a/up/#" in acl
        and "topic read gh/v1/club1/gate-a/down/#" in acl
    )

    with Session(engine) as s:
        s.info["settings"] = env
        conf = {g: claim_gate(s, token=t, clock=clock, settings=env) for g, t in tokens.items()}
        s.commit()
    assert conf["gate-a"]["mqtt"]["host"] == "gates.example"
    assert conf["gate-b"]["zone"] == 1

    with Mosquitto(tmp_path / "run", port=env.mqtt_port, config=out / "mosquitto.conf") as broker:
        a_cfg, b_cfg = conf["gate-a"]["mqtt"], conf["gate-b"]["mqtt"]
        hub = Client(broker.port, "hub", HUB_PW)
        a = Client(broker.port, a_cfg["username"], a_cfg["password"])
        b = Client(broker.port, b_cfg["username"], b_cfg["password"])
        assert hub.ok and a.ok and b.ok
        assert not Client(broker.port, a_cfg["username"], "wrong").ok
        assert not Client(broker.port, "anonymous", "").ok
        try:
            hub.sub("gh/v1/#")
            a.sub("gh/v1/club1/gate-a/down/#")
            a.sub("gh/v1/club1/gate-b/down/#")  # forbidden: SUBACK may say yes
            a.sub("gh/v1/club1/gate-b/up/#")  # forbidden
            # Gate A receives its own down traffic but nothing of gate B's.
            hub.pub("gh/v1/club1/gate-b/down/cmd", b"for b")
            b.pub("gh/v1/club1/gate-b/up/status", b"b status")
            hub.pub("gh/v1/club1/gate-a/down/cmd", b"end-1")
            assert a.got(b"end-1") == ["gh/v1/club1/gate-a/down/cmd"]
            assert hub.got(b"end-1") == [
                "gh/v1/club1/gate-b/down/cmd",
                "gh/v1/club1/gate-b/up/status",
                "gh/v1/club1/gate-a/down/cmd",
            ]
            # Gate A cannot publish as gate B, nor on any down topic, even its own.
            a.pub("gh/v1/club1/gate-b/up/checkin", b"forged")
            a.pub("gh/v1/club1/gate-a/down/acl", b"forged list")
            a.pub("gh/v1/club1/gate-b/down/cmd", b"forged cmd")
            a.pub("gh/v1/club1/gate-a/up/status", b"end-2")
            assert hub.got(b"end-2") == ["gh/v1/club1/gate-a/up/status"]
        finally:
            for c in (hub, a, b):
                c.close()

        # End to end: the hub's service and a gate with its claimed credentials.
        with HubMqtt(engine=engine, settings=env.model_copy(update={"mqtt_port": broker.port}),
                     clock=clock) as service:  # fmt: skip
            gate = SimGate(host="127.0.0.1", port=broker.port, site="club1", gate="gate-a",
                           key=bytes.fromhex(conf["gate-a"]["gate_key"]),
                           username=a_cfg["username"], password=a_cfg["password"],
                           now=clock.timestamp).start()  # fmt: skip
            try:
                assert gate.wait_version(1)
                assert len(gate.data) == 16
            finally:
                gate.stop()
            assert service.rejections.total() == 0
    engine.dispose()


def test_hub_replicas_have_their_own_users_and_share_the_ingest(
    env: Settings, tmp_path: Path
) -> None:
    """Two replicas with one client id and one shared subscription: each logs in as its
    own user, so neither pushes the other off, and the gates' messages go to both."""
    clock = ManualClock(SystemClock().now())
    engine = make_engine(env.database_url)
    with Session(engine, expire_on_commit=False) as s:
        s.info["settings"] = env
        make = Factory(s, clock)
        make.door(make.site(), "Front door")
        s.commit()
    runner = CliRunner()
    r = runner.invoke(
        cli, ["hub", "gate", "add", "--site", "club1", "--door", "Front door", "--gate", "gate-a"]
    )
    assert r.exit_code == 0, r.output
    token = re.search(r"claim token .*: (\S+)", r.output).group(1)  # type: ignore[union-attr]
    with Session(engine) as s:
        s.info["settings"] = env
        gate = claim_gate(s, token=token, clock=clock, settings=env)["mqtt"]
        s.commit()

    out = tmp_path / "broker"
    run_as = "root" if os.geteuid() == 0 else os.environ.get("USER", "root")
    args = ["hub", "broker-config", "--out", str(out), "--hub-replicas", "2",
            "--listen", f"127.0.0.1:{env.mqtt_port}", "--run-as", run_as]  # fmt: skip
    r = runner.invoke(cli, args)
    assert r.exit_code == 0, r.output
    files = [out / "hub-credentials" / f"hub-{i}.env" for i in (1, 2)]
    creds = [read_env_file(f) for f in files]
    assert [c["GATEHOUSE_MQTT_USERNAME"] for c in creds] == ["hub-1", "hub-2"]
    assert creds[0]["GATEHOUSE_MQTT_PASSWORD"] != creds[1]["GATEHOUSE_MQTT_PASSWORD"]
    assert all(f.stat().st_mode & 0o077 == 0 for f in files)
    acl = (out / "acl").read_text()
    assert "user hub-1\ntopic readwrite gh/v1/#" in acl and "user hub\n" not in acl
    # Written again (a gate was added): the replicas' passwords stay.
    assert runner.invoke(cli, args).exit_code == 0
    assert [read_env_file(f) for f in files] == creds

    shared = {**os.environ, "GATEHOUSE_MQTT_SHARE_GROUP": "hub",
              "GATEHOUSE_MQTT_CLIENT_ID": "gatehouse-hub"}  # fmt: skip
    replicas = [Settings.from_env({**shared, **c}) for c in creds]
    with Mosquitto(tmp_path / "run", port=env.mqtt_port, config=out / "mosquitto.conf") as broker:
        drops: list[object] = []
        services = []
        try:
            for settings in replicas:
                service = HubMqtt(engine=engine, settings=settings, clock=clock)
                service.client.on_disconnect = lambda *args: drops.append(args[3])
                services.append(service.start())
            a = Client(broker.port, gate["username"], gate["password"])
            try:
                assert a.ok
                for i in range(20):
                    a.pub("gh/v1/club1/gate-a/up/status", b"not an envelope %d" % i)
            finally:
                a.close()
            for service in services:
                assert service.wait_idle()
            counts = [service.handled for service in services]
            assert sum(counts) == 20 and min(counts) > 0, counts  # each message once, both busy
            assert drops == []
        finally:
            for service in services:
                service.stop()
    engine.dispose()
