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
