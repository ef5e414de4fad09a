"""Hostile MQTT: every handler on the hub and on both gates' downlinks, fuzzed.

Random topics, random and forged payloads, sizes past the envelope limit, and bodies
*validly signed* but with random fields go through the real handlers (the hub's MQTT
service on a real database, the Pi gate's sync on its real store and mock pins, the
firmware on the MicroPython VM through a real broker).  Nothing crashes, no door opens,
and every payload refused is counted exactly once.  Replayed and reordered messages are
accepted at most once and in order.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from gpiozero.pins.mock import MockFactory
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import Session, func, select

from edge.gate.daemon import GateDaemon
from edge.gate.reader import ScriptedReader
from edge.gate.timers import ManualTimers
from gatehouse.clock import ManualClock
from gatehouse.services.mosquitto import Mosquitto
from hub.core.config import Settings
from hub.migrations import upgrade
from hub.models import CheckIn
from hub.runtime import Hub
from protocol import envelope, messages, topics
from protocol.errors import ProtocolError
from tests.edge.gate.helpers import RELAY, T0, eventually, make_config
from tests.firmware.conftest import firmware, gate_config
from tests.security.conftest import START, Club, club
from tests.security.fuzz import QUICK, THOROUGH, signed_bodies, unsigned_payloads

SITE = "club1"
KINDS = ["hello", "checkin", "status", "enroll"]
DOWN_KINDS = ["acl", "cmd", "ack"]
segment = st.one_of(st.sampled_from([SITE, "front-door", "side-door", "+", "", "x" * 40]),
                    st.text(max_size=12))  # fmt: skip
random_topics = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda s, g, d, k: f"gh/v1/{s}/{g}/{d}/{k}",
        segment,
        segment,
        st.sampled_from(["up", "down", "sideways"]),
        st.one_of(st.sampled_from(KINDS + DOWN_KINDS), st.text(max_size=10)),
    ),
)


# -- the hub ---------------------------------------------------------------------------


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[tuple[Hub, Club]]:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    settings = Settings(database_url=url, mqtt_port=mosquitto.port, acl_poll_s=0.5)
    with Hub(settings, clock=ManualClock(START)) as running:
        yield running, club(running)


def _checkins(hub: Hub) -> int:
    with Session(hub.engine) as s:
        return s.exec(select(func.count()).select_from(CheckIn)).one()


def _is_up_topic(topic: str) -> bool:
    try:
        return topics.parse(topic)[2] == "up"
    except ProtocolError:
        return True  # a topic the hub cannot parse is refused and counted too


def fuzz_hub_unsigned(hub: Hub, budget: settings) -> None:
    service = hub.mqtt
    assert service is not None
    stored = _checkins(hub)

    @budget
    @given(topic=random_topics, payload=unsigned_payloads)
    def run(topic: str, payload: bytes) -> None:
        before = service.rejections.total()
        service.handle_up(topic, payload)
        assert service.rejections.total() - before == (1 if _is_up_topic(topic) else 0)

    run()
    assert service.rejections.total("error") == 0  # no handler failed unexpectedly
    assert _checkins(hub) == stored


def fuzz_hub_signed(hub: Hub, c: Club, budget: settings) -> None:
    """Bodies sealed with the gates' real keys, with random fields: refused, not crashed."""
    service = hub.mqtt
    assert service is not None
    keys = {g: bytes.fromhex(conf["gate_key"]) for g, conf in
            (("front-door", c.pi_conf), ("side-door", c.mpy_conf))}  # fmt: skip

    @budget
    @given(gate=st.sampled_from(sorted(keys)), kind=st.sampled_from(KINDS), data=st.data())
    def run(gate: str, kind: str, data: st.DataObject) -> None:
        body = data.draw(signed_bodies(gate, KINDS))
        payload = envelope.seal(keys[gate], envelope.dumps(body))
        before = service.rejections.total()
        service.handle_up(topics.up(SITE, gate, kind), payload)
        assert service.rejections.total() - before in (0, 1)

    run()
    assert service.rejections.total("error") == 0


def test_hub_handlers_refuse_and_count_whatever_arrives(hub: tuple[Hub, Club]) -> None:
    fuzz_hub_unsigned(hub[0], QUICK)
    fuzz_hub_signed(*hub, QUICK)


@pytest.mark.faults
def test_hub_handlers_refuse_and_count_whatever_arrives_thoroughly(hub: tuple[Hub, Club]) -> None:
    fuzz_hub_unsigned(hub[0], THOROUGH)
    fuzz_hub_signed(*hub, THOROUGH)


def test_hub_counts_payloads_of_every_size_through_the_broker(
    hub: tuple[Hub, Club], mosquitto: Mosquitto
) -> None:
    """From empty to 1 MiB, through Mosquitto: each refused once, the hub carries on."""
    running, c = hub
    service = running.mqtt
    assert service is not None
    sizes = [0, 1, 73, 74, 75, 4096, envelope.MAX_PAYLOAD, envelope.MAX_PAYLOAD + 1, 1 << 20]
    client, publish = _publisher(mosquitto.port)
    try:
        before = service.rejections.total()
        for n in sizes:
            publish(topics.up(SITE, "front-door", "checkin"), bytes(n % 251 for n in range(n)))
        eventually(lambda: service.rejections.total() - before == len(sizes), timeout=20)
        counts = service.rejections.get(SITE, "front-door")
        assert counts.get("too_large") == 2 and service.rejections.total("error") == 0
    finally:
        client.disconnect()
        client.loop_stop()


def test_hub_stores_replayed_and_reordered_batches_once(hub: tuple[Hub, Club]) -> None:
    running, c = hub
    service = running.mqtt
    assert service is not None
    key = bytes.fromhex(c.pi_conf["gate_key"])
    sid = secrets.token_hex(8)
    t0 = running.clock.timestamp()
    batches = [
        envelope.seal_json(key, messages.checkin_batch("front-door", sid, [
            messages.checkin_entry(seq, t0 + seq, None, 0, 1) for seq in range(lo, lo + 3)
        ]))
        for lo in (1, 4, 7)
    ]  # fmt: skip

    @QUICK
    @given(order=st.lists(st.sampled_from(batches), min_size=1, max_size=9))
    def run(order: list[bytes]) -> None:
        for payload in order + batches:  # whatever came first, everything arrives at last
            service.handle_up(topics.up(SITE, "front-door", "checkin"), payload)
        with running.session() as s:
            seqs = s.exec(select(CheckIn.seq).where(CheckIn.store_id == sid)).all()
        assert sorted(seqs) == list(range(1, 10))

    run()
    assert service.rejections.total() == 0


# -- the Pi gate ---------------------------------------------------------------------


@pytest.fixture
def pi(tmp_path: Path) -> Iterator[tuple[GateDaemon, MockFactory, bytes]]:
    key = secrets.token_bytes(32)
    config = make_config(tmp_path / "gate.db", key, secrets.token_bytes(32))
    pins = MockFactory()
    clock = ManualClock(T0)
    gate = GateDaemon(config, clock=clock, timers=ManualTimers(clock), pin_factory=pins,
                      reader=ScriptedReader()).start(connect=False, read=False)  # fmt: skip
    try:
        yield gate, pins, key
    finally:
        gate.stop()


def fuzz_pi(gate: GateDaemon, pins: MockFactory, key: bytes, budget: settings) -> None:
    sync = gate.sync
    recorded = gate.store.last_seq

    def total() -> int:
        return sum(sync.rejected.values())

    not_unlock = signed_bodies("front-door", ["cmd", "ack", "delta", "manifest", "x"]).filter(
        lambda b: b.get("op") != "unlock"
    )

    @budget
    @given(
        kind=st.one_of(st.sampled_from(DOWN_KINDS), st.text(max_size=8)),
        payload=st.one_of(unsigned_payloads, not_unlock.map(lambda b: envelope.seal_json(key, b))),
    )
    def run(kind: str, payload: bytes) -> None:
        before = total()
        signed = envelope.kid_of(payload) == envelope.seal(key, b"").split(b":")[0]
        event = sync.handle(kind, payload)
        assert total() - before == (1 if event is None else 0)  # refused <=> counted once
        assert signed or event is None

    run()
    assert not pins.pin(RELAY).state  # the door never opened
    assert gate.store.last_seq == recorded  # nothing recorded: no unlock happened


def test_pi_gate_downlink_refuses_and_counts_whatever_arrives(pi: Any) -> None:
    fuzz_pi(*pi, QUICK)


@pytest.mark.faults
def test_pi_gate_downlink_refuses_and_counts_whatever_arrives_thoroughly(pi: Any) -> None:
    fuzz_pi(*pi, THOROUGH)


def test_pi_gate_accepts_replayed_and_reordered_commands_once_in_order(pi: Any) -> None:
    gate, _pins, key = pi
    sync = gate.sync
    now = gate.clock.now()[0]
    commands = {n: envelope.seal_json(key, messages.command("front-door", n, "time", now,
                                                            {"now": now}))
                for n in range(1, 9)}  # fmt: skip
    accepted: list[int] = []

    @QUICK
    @given(order=st.lists(st.sampled_from(sorted(commands)), max_size=20))
    def run(order: list[int]) -> None:
        for n in order:
            before = sum(sync.rejected.values())
            if sync.handle("cmd", commands[n]) == "time":
                accepted.append(n)
            else:
                assert sync.rejected.get("replay") and sum(sync.rejected.values()) == before + 1

    run()
    assert accepted == sorted(set(accepted))  # each number once, only ever increasing


# -- the firmware, through a real broker -----------------------------------------------


def _publisher(port: int) -> tuple[mqtt.Client, Callable[[str, bytes], None]]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()

    def publish(topic: str, payload: bytes) -> None:
        client.publish(topic, payload, qos=1).wait_for_publish(5)

    return client, publish


def fuzz_firmware(tmp_path: Path, broker: Mosquitto, budget: settings) -> None:
    key, secret = secrets.token_bytes(32), secrets.token_bytes(32)
    cfg = gate_config(broker.port, key, secret)
    client, publish = _publisher(broker.port)
    base = f"gh/v1/{cfg['site']}/{cfg['gate']}/down/"
    sent = 0
    with firmware(cfg, tmp_path / "fw") as fw:
        fw.wait_for("connected", timeout=10)

        def refused() -> int:
            return sum(fw.status()["rejected"].values())

        start = refused()

        @budget
        @given(kind=st.one_of(st.sampled_from(DOWN_KINDS), st.from_regex(r"\A[a-z]{1,8}\Z")),
               payload=unsigned_payloads)  # fmt: skip
        def run(kind: str, payload: bytes) -> None:
            nonlocal sent
            publish(base + kind, payload)
            sent += 1

        run()
        # Signed with the real key: a replayed command and a command for another gate.
        now = json.loads(json.dumps(fw.status()["clock"] or T0))
        cmd = messages.command(cfg["gate"], 10**12, "time", now, {"now": now})
        for body in (cmd, cmd, dict(cmd, n=10**12 + 1, g="other-gate")):
            publish(base + "cmd", envelope.seal_json(key, body))
        sent += 2  # the first one is accepted
        eventually(lambda: refused() - start == sent, timeout=30)
        status = fw.status()
        assert status["rejected"].get("replay") == 1 and status["rejected"].get("wrong_gate") == 1
        assert status["grants"] == 0 and not status["unlocked"]
        assert fw.running  # still alive
    client.disconnect()
    client.loop_stop()


def test_firmware_downlink_refuses_and_counts_whatever_arrives(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    fuzz_firmware(tmp_path, mosquitto, QUICK)


@pytest.mark.faults
def test_firmware_downlink_refuses_and_counts_whatever_arrives_thoroughly(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    fuzz_firmware(tmp_path, mosquitto, settings(THOROUGH, max_examples=1000))
