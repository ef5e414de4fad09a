"""``gatehouse demo``: the protocol at work over a real (embedded) MQTT broker.

A hub-side publisher signs an access list for one gate and sends it as a snapshot; the
gate verifies and assembles it, decides a scripted series of card taps locally, reports
them as a signed check-in batch and drops them when the hub acks.  Then the hub revokes a
card with a delta, and the same card is refused.  Everything goes through an amqtt
broker started inside this process, using the very ``protocol`` modules the gates run.
"""

from __future__ import annotations

import queue
import secrets
import time
from typing import Any

import paho.mqtt.client as mqtt
import typer
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console
from rich.table import Table

from gatehouse.services.amqtt_broker import EmbeddedBroker
from protocol import cardkey, decision, delta, envelope, messages, records, snapshot, topics
from protocol.downlink import Downlink
from protocol.schedule import Schedules

SITE = "demo-club"
GATE = "front-door"
MEMBERS = [
    ("Somchai (monthly, all hours)", "04a1b2c3", 30, 0),
    ("Ana (off-peak)", "04a1b2c3d4e5f6", 30, 1),
    ("Ben (lapsed yesterday)", "deadbeef", -1, 0),
]


class _Inbox:
    """A paho client that collects messages into a queue."""

    def __init__(self, port: int, client_id: str, subscription: str) -> None:
        self.queue: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.on_message = lambda _c, _u, m: self.queue.put((m.topic, m.payload))
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(subscription, qos=1)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def get(self, timeout: float = 5.0) -> tuple[str, bytes]:
        return self.queue.get(timeout=timeout)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def run_demo(console: Console) -> int:
    """Play the story; returns the number of check-ins the hub stored."""
    site_secret = secrets.token_bytes(32)
    gate_key = secrets.token_bytes(32)
    now = int(time.time())
    sched = Schedules({1: [[0b1111111, 6 * 60, 16 * 60]]}, tz=[[0, 7 * 3600]])
    recs = [
        records.pack(cardkey.card_key(site_secret, bytes.fromhex(uid)), now + days * 86400, 1, s)
        for _, uid, days, s in MEMBERS
    ]
    data = records.build(recs)
    table = Table(title=f"Taps at {GATE}")
    for col in ("member", "decision", "reason"):
        table.add_column(col)

    with EmbeddedBroker() as broker:
        console.print(f"[green]broker ready[/] on 127.0.0.1:{broker.port}")
        hub = _Inbox(broker.port, "hub", topics.hub_subscription())
        gate = _Inbox(broker.port, GATE, topics.gate_subscription(SITE, GATE))
        time.sleep(0.2)
        try:
            chunks = snapshot.make_chunks(1, data, per_chunk=2)
            man = snapshot.manifest(GATE, 1, data, now, len(chunks), sched)
            for body in [envelope.dumps(man), *chunks]:
                hub.publish(topics.down(SITE, GATE, "acl"), envelope.seal(gate_key, body))
            link = Downlink(gate_key, GATE, sid=secrets.token_hex(8))
            held = bytearray()
            while link.version == 0:
                _, payload = gate.get()
                event, value = link.open("acl", payload, now)
                if event == "chunk" and value is not None:
                    held += value
                if event == "chunk" and link.assembly is not None and link.assembly.done:
                    link.applied(link.finish()["v"])
            console.print(f"gate holds list v{link.version}: {len(held) // 16} cards, verified")

            outbox: list[list[Any]] = []

            def tap(name: str, uid: str) -> None:
                key = cardkey.card_key(site_secret, bytes.fromhex(uid))
                i = records.find(bytes(held), key)
                rec = records.record_at(held, i) if i >= 0 else None
                allow, reason = decision.decide(rec, now, 0, sched)
                outbox.append(
                    messages.checkin_entry(len(outbox) + 1, now, key, reason, link.version)
                )
                verdict = "[green]open[/]" if allow else "[red]refused[/]"
                table.add_row(name, verdict, decision.REASONS[reason])

            for name, uid, _, _ in MEMBERS:
                tap(name, uid)

            revoked = cardkey.card_key(site_secret, bytes.fromhex(MEMBERS[0][1]))
            d = delta.make(GATE, 1, 2, [], [revoked], now)
            hub.publish(topics.down(SITE, GATE, "acl"), envelope.seal_json(gate_key, d))
            _, payload = gate.get()
            _, (version, add, dele) = link.open("acl", payload, now)
            held = bytearray(delta.apply(bytes(held), add, dele))
            link.applied(version)
            tap(MEMBERS[0][0] + " after revoke", MEMBERS[0][1])
            console.print(table)

            batch = messages.checkin_batch(GATE, link.sid, outbox)
            gate.publish(topics.up(SITE, GATE, "checkin"), envelope.seal_json(gate_key, batch))
            _, payload = hub.get()
            sid, entries = messages.parse_checkin_batch(envelope.open_json(gate_key, payload, GATE))
            high = messages.contiguous_high(0, [e[0] for e in entries])
            ack = envelope.seal_json(gate_key, messages.ack(GATE, sid, high))
            hub.publish(topics.down(SITE, GATE, "ack"), ack)
            _, payload = gate.get()
            _, acked = link.open("ack", payload, now)
            del outbox[:acked]
            stored = f"hub stored {len(entries)} check-ins, acked seq {acked}"
            console.print(f"{stored}; gate outbox now {len(outbox)}")
            return len(entries)
        finally:
            gate.close()
            hub.close()


def demo_command() -> None:
    """Run a club on this machine: embedded broker, signed lists, taps and check-ins."""
    console = Console()
    stored = run_demo(console)
    if stored != len(MEMBERS) + 1:
        raise typer.Exit(1)
