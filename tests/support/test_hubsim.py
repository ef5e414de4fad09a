"""The hub simulator speaks the protocol as the hub does (checked with a protocol-level gate)."""

from __future__ import annotations

import queue
import secrets

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gatehouse.services.mosquitto import Mosquitto
from protocol import envelope, messages, topics
from protocol.downlink import Downlink
from tests.support.hubsim import HubSim

SITE, GATE = "club1", "front-door"


def test_hello_gets_time_snapshot_and_ack_then_checkins_are_stored_once(
    mosquitto: Mosquitto,
) -> None:
    key, secret = secrets.token_bytes(32), secrets.token_bytes(32)
    hub = HubSim(mosquitto.port, SITE, secret, now=lambda: 1_800_000_000)
    hub.add_gate(GATE, key)
    inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
    gate = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=GATE)
    gate.on_message = lambda _c, _u, m: inbox.put((m.topic, m.payload))
    with hub:
        hub.grant(bytes.fromhex("04a1b2c3"), 1_900_000_000, push=False)
        gate.connect("127.0.0.1", mosquitto.port)
        gate.subscribe(topics.gate_subscription(SITE, GATE), qos=1)
        gate.loop_start()
        sid = secrets.token_hex(8)
        link = Downlink(key, GATE, sid)
        hello = messages.hello(GATE, sid, 0, 0, 0, "test", None, 4096)
        gate.publish(topics.up(SITE, GATE, "hello"), envelope.seal_json(key, hello), qos=1)
        events = []
        while not events or events[-1] != "ack":
            topic, payload = inbox.get(timeout=5)
            event, value = link.open(topics.parse(topic)[3], payload)
            events.append(event)
            if event == "chunk" and link.assembly.done:
                link.applied(link.finish()["v"])
        assert events == ["cmd", "manifest", "chunk", "ack"]
        assert link.version == 1
        batch = messages.checkin_batch(GATE, sid, [[1, 5, "", 1, 1, 0], [2, 6, "", 1, 1, 0]])
        for _ in range(3):
            gate.publish(topics.up(SITE, GATE, "checkin"), envelope.seal_json(key, batch), qos=1)
        hub.wait_for(lambda: len(hub.acks_sent) >= 4)
        assert hub.stored_seqs(GATE) == {1, 2}
        assert hub.duplicates == 4
        gate.publish(topics.up(SITE, GATE, "checkin"), b"garbage", qos=1)
        hub.wait_for(lambda: hub.rejected.get("malformed"))
        gate.loop_stop()
        gate.disconnect()
