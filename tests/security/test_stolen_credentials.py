"""A gate's stolen MQTT credentials, used against the other gates, on a real Mosquitto
running the ACL ``gatehouse hub broker-config`` generates, with the hub's service on it.

Even holding another gate's HMAC key as well, the thief cannot reach that gate: the
broker drops every publish outside the stolen gate's own ``up`` topics and delivers it
nothing of the other gates' traffic, whatever it subscribes to.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlmodel import Session, func, select

from gatehouse.clock import ManualClock
from gatehouse.services import free_port
from gatehouse.services.mosquitto import Mosquitto
from hub.broker import write_broker_config
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.migrations import upgrade
from hub.models import CheckIn
from hub.runtime import Hub
from protocol import envelope, messages, topics
from tests.hub.test_broker_acl import Client
from tests.security.conftest import API, START, club, owner_api

HUB_PW = "hub-broker-password-acl"


def test_a_gates_stolen_credentials_reach_no_other_gate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    settings = Settings(database_url=url, mqtt_port=free_port(), mqtt_username="hub",
                        mqtt_password=HUB_PW, acl_poll_s=0.5)  # fmt: skip
    clock = ManualClock(START)
    c = club(Hub(settings.model_copy(update={"mqtt_enabled": False}), clock=clock, migrate=False))
    run_as = "root" if os.geteuid() == 0 else os.environ.get("USER", "root")
    engine = make_engine(url)
    with Session(engine) as s:
        s.info["settings"] = settings
        conf = write_broker_config(tmp_path / "broker", session=s, settings=settings,
                                   listen=f"127.0.0.1:{settings.mqtt_port}", run_as=run_as,
                                   persistence=False)  # fmt: skip
    engine.dispose()

    a, b = c.pi_conf, c.mpy_conf  # the thief has gate A's password and gate B's key
    b_key = bytes.fromhex(b["gate_key"])
    with (
        Mosquitto(tmp_path / "run", port=settings.mqtt_port, config=conf) as broker,
        Hub(settings, clock=clock, migrate=False) as hub,
    ):
        assert hub.mqtt is not None
        api = owner_api(hub)
        thief = Client(broker.port, a["mqtt"]["username"], a["mqtt"]["password"])
        victim = Client(broker.port, b["mqtt"]["username"], b["mqtt"]["password"])
        try:
            assert thief.ok and victim.ok
            victim.sub("gh/v1/club1/side-door/down/#")
            for pattern in ("#", "gh/#", "gh/v1/club1/side-door/#", "gh/v1/+/+/down/#",
                            "$SYS/#", "gh/v1/club1/front-door/down/#"):  # fmt: skip
                thief.sub(pattern)

            # Forgeries sealed with gate B's real key, through gate A's broker account.
            t = clock.timestamp()
            sid = "00112233aabbccdd"
            batch = messages.checkin_batch(
                "side-door", sid, [messages.checkin_entry(1, t, None, 0, 1)]
            )
            thief.pub(topics.up("club1", "side-door", "checkin"), envelope.seal_json(b_key, batch))
            unlock = messages.command("side-door", 2**50, "unlock", t)
            thief.pub(topics.down("club1", "side-door", "cmd"), envelope.seal_json(b_key, unlock))
            thief.pub(topics.down("club1", "front-door", "cmd"), envelope.seal_json(b_key, unlock))

            # The hub commands both gates; each hears only its own.
            for gate in (c.mpy, c.pi):
                r = api.post(f"{API}/gates/{gate['id']}/commands", json={"op": "resync"})
                assert r.status_code == 202, r.text
            thief_topics = _drain(thief)
            victim_topics = _drain(victim)
            assert thief_topics == ["gh/v1/club1/front-door/down/cmd"]  # its own, from the hub
            assert victim_topics == ["gh/v1/club1/side-door/down/cmd"]  # the hub's, not the forgery
            assert hub.mqtt.wait_idle()
            with Session(hub.engine) as s:
                assert s.exec(select(func.count()).select_from(CheckIn)).one() == 0
            assert hub.mqtt.rejections.get("club1", "side-door") == {}  # never even arrived
        finally:
            thief.close()
            victim.close()


def _drain(client: Client, quiet_s: float = 1.5) -> list[str]:
    """Topics received until nothing more arrives for *quiet_s* (round trips excluded)."""
    out = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            topic, _payload = client.inbox.get(timeout=quiet_s)
        except Exception:
            break
        if not topic.startswith("gh/v1/none/"):
            out.append(topic)
    return out


def test_a_stolen_password_cannot_push_another_gate_or_the_hub_off(tmp_path: Path) -> None:
    """MQTT closes an older connection when a new one brings the same client id; the
    broker files every client under its user name, so the thief only ever replaces its
    own connection, whatever id it sends."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    settings = Settings(database_url=url, mqtt_port=free_port(), mqtt_username="hub",
                        mqtt_password=HUB_PW, mqtt_client_id="gatehouse-hub")  # fmt: skip
    clock = ManualClock(START)
    c = club(Hub(settings.model_copy(update={"mqtt_enabled": False}), clock=clock, migrate=False))
    run_as = "root" if os.geteuid() == 0 else os.environ.get("USER", "root")
    engine = make_engine(url)
    with Session(engine) as s:
        s.info["settings"] = settings
        conf = write_broker_config(tmp_path / "broker", session=s, settings=settings,
                                   listen=f"127.0.0.1:{settings.mqtt_port}", run_as=run_as,
                                   persistence=False)  # fmt: skip
    engine.dispose()
    assert "use_username_as_clientid true" in conf.read_text()

    a, b = c.pi_conf["mqtt"], c.mpy_conf["mqtt"]
    with (
        Mosquitto(tmp_path / "run", port=settings.mqtt_port, config=conf) as broker,
        Hub(settings, clock=clock, migrate=False) as hub,
    ):
        assert hub.mqtt is not None
        hub_drops: list[object] = []
        hub.mqtt.client.on_disconnect = lambda *args: hub_drops.append(args[3])
        # Gate B connects with the client id the Pi gate software uses.
        victim = Client(broker.port, b["username"], b["password"], client_id="gh-club1-side-door")
        thieves = []
        try:
            assert victim.ok
            victim.sub("gh/v1/club1/side-door/down/#")
            for taken in ("gh-club1-side-door", b["username"], "gatehouse-hub", "hub"):
                thief = Client(broker.port, a["username"], a["password"], client_id=taken)
                thieves.append(thief)
                assert thief.ok  # the password is good; the id is not the thief's to take
            time.sleep(1.0)
            assert victim.drops == 0 and hub_drops == []
            # Each new thief connection replaced the previous one: its own, nobody else's.
            assert [t.drops for t in thieves] == [1, 1, 1, 0]

            # Both are still there: the hub's command reaches gate B.
            api = owner_api(hub)
            r = api.post(f"{API}/gates/{c.mpy['id']}/commands", json={"op": "resync"})
            assert r.status_code == 202, r.text
            assert _drain(victim) == ["gh/v1/club1/side-door/down/cmd"]
            assert victim.drops == 0 and hub_drops == []
        finally:
            for client in (victim, *thieves):
                client.close()

        # Sessions are kept per user: gate B's persistent session holds what the hub
        # sent while it was away, even when it comes back under another client id.
        away = Client(broker.port, b["username"], b["password"], "first-id", clean=False)
        away.sub("gh/v1/club1/side-door/down/#")
        away.close()
        r = api.post(f"{API}/gates/{c.mpy['id']}/commands", json={"op": "resync"})
        assert r.status_code == 202, r.text
        assert hub.mqtt.wait_idle()
        back = Client(broker.port, b["username"], b["password"], "second-id", clean=False)
        try:
            assert back.ok and _drain(back) == ["gh/v1/club1/side-door/down/cmd"]
        finally:
            back.close()
