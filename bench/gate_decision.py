"""Pi gate decision latency: UID in -> relay command issued + outbox row committed.

Builds a gate store holding 100,000 access-list records, runs the real gate (store,
decision, door on gpiozero mock pins, MQTT link to its own Mosquitto with a small hub
that acks every batch, so the outbox drains while taps are decided) and times
``GateDaemon.tap(uid)`` for a stream of taps: 90 % listed cards, 10 % unknown.  Each
timed call covers card key (HMAC), SQLite lookup, the decision, the outbox insert
committed with ``synchronous=FULL`` (an fsync) and the relay command.

    .venv/bin/python bench/gate_decision.py [--quick] [--no-link]

``--no-link`` leaves the MQTT link off (the gate offline), to separate what the link's
threads add to the tail from what the disk and the decision cost.  The
``bare_sqlite_commit`` lines measure the disk's floor in the same folder first: a
one-row insert committed with ``synchronous=FULL`` and no gate code at all.  Set
``TMPDIR`` to put the store elsewhere (an SD card on a Pi; tmpfs to take the disk out).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from gpiozero.pins.mock import MockFactory
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.gate.config import GateConfig, GateSection, MqttSection, StoreSection  # noqa: E402
from edge.gate.daemon import GateDaemon  # noqa: E402
from edge.gate.reader import ScriptedReader  # noqa: E402
from gatehouse.services.mosquitto import Mosquitto  # noqa: E402
from protocol import envelope, messages, records, topics  # noqa: E402
from protocol.cardkey import card_key  # noqa: E402
from protocol.schedule import Schedules  # noqa: E402

SITE, GATE = "bench", "front-door"
RECORDS = 100_000
PAUSE_S = 0.002  # between taps; a busy door sees one every few seconds


class Acker:
    """The hub's part that matters here: store nothing, ack every check-in batch."""

    def __init__(self, port: int, key: bytes) -> None:
        self.key = key
        self.batches = 0
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-hub")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topics.hub_subscription(), qos=1)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        _site, gate, _d, kind = topics.parse(msg.topic)
        obj = envelope.open_json(self.key, msg.payload, gate=gate)
        if kind == "hello":
            sid, seq = obj["sid"], obj["acked"]
        elif kind == "checkin":
            sid, entries = messages.parse_checkin_batch(obj)
            seq = entries[-1][0]
            self.batches += 1
        else:
            return
        ack = envelope.seal_json(self.key, messages.ack(gate, sid, seq))
        self.client.publish(topics.down(SITE, gate, "ack"), ack, qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def bare_commit_latencies(folder: Path, n: int) -> list[float]:
    """The disk's floor: a one-row insert committed with synchronous=FULL, no gate code."""
    db = sqlite3.connect(str(folder / "floor.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, body BLOB)")
    out = []
    for i in range(n):
        start = time.perf_counter_ns()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (?, ?)", (i, b"x" * 40))
        db.execute("COMMIT")
        out.append((time.perf_counter_ns() - start) / 1e6)
    db.close()
    return sorted(out)


def percentile(sorted_values: list[float], p: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer taps (under 30 s)")
    parser.add_argument("--no-link", action="store_true", help="no MQTT link: an offline gate")
    args = parser.parse_args()
    taps = 3_000 if args.quick else 20_000
    rng = random.Random(42)
    gate_key, secret = secrets.token_bytes(32), secrets.token_bytes(32)
    now = int(time.time())
    uids = [rng.randbytes(7) for _ in range(RECORDS)]
    listed = [records.pack(card_key(secret, uid), now + 30 * 86400, 0b1, 0, 0) for uid in uids]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"python: {platform.python_version()}, sqlite WAL synchronous=FULL")
    print(f"records: {RECORDS}")
    print(f"taps: {taps} (90 % listed, 10 % unknown), {PAUSE_S * 1000:.0f} ms apart")
    print(f"link: {'off (offline gate)' if args.no_link else 'on, outbox acked as it fills'}")
    with tempfile.TemporaryDirectory() as tmp, Mosquitto(Path(tmp) / "mqtt") as broker:
        floor = bare_commit_latencies(Path(tmp), 500 if args.quick else 2000)
        print(f"store folder: {tmp}")
        acker = Acker(broker.port, gate_key)
        config = GateConfig(
            gate=GateSection(
                site=SITE, gate=GATE, gate_key=gate_key.hex(), card_secret=secret.hex()
            ),
            mqtt=MqttSection(port=broker.port, reconnect_min_s=0.1, reconnect_max_s=1.0),
            store=StoreSection(path=str(Path(tmp) / "gate.db")),
        )
        config.decision.debounce_s = 0.0
        gate = GateDaemon(config.validate(), pin_factory=MockFactory(), reader=ScriptedReader())
        gate.store.stage(records.build(listed))
        gate.store.swap_in(1, now, Schedules(), 0)
        gate.sync.downlink.applied(1)
        gate.start(connect=not args.no_link, read=False)
        deadline = time.monotonic() + 10
        while not args.no_link and not gate.link.online and time.monotonic() < deadline:
            time.sleep(0.01)
        relay = gate.door.relay
        assert relay is not None
        commits: list[float] = []  # the outbox commit alone, to show what the disk costs
        record = gate.store.record

        def timed_record(*a: object, **kw: object) -> int:
            start = time.perf_counter_ns()
            try:
                return record(*a, **kw)  # type: ignore[arg-type]
            finally:
                commits.append((time.perf_counter_ns() - start) / 1e6)

        gate.store.record = timed_record  # type: ignore[method-assign]
        stream = [rng.choice(uids) if rng.random() < 0.9 else rng.randbytes(7) for _ in range(taps)]
        latencies: list[float] = []
        opened = 0
        pause = threading.Event()
        clock = time.perf_counter_ns
        for i, uid in enumerate(stream):
            start = clock()
            decision = gate.tap(uid)
            latencies.append((clock() - start) / 1e6)
            assert decision is not None and decision.seq == i + 1
            opened += decision.allow and bool(relay.value)
            pause.wait(PAUSE_S)  # people arrive apart: the link's threads run in between
        settle = time.monotonic() + 10
        while not args.no_link and gate.store.depth() and time.monotonic() < settle:
            time.sleep(0.05)
        depth = gate.store.depth()
        gate.stop()
        acker.close()
    rest = sorted(t - c for t, c in zip(latencies, commits, strict=True))
    latencies.sort()
    commits.sort()
    print(f"opened: {opened} of {taps}")
    print(f"outbox_left: {depth} rows")
    print(f"decision_p50: {percentile(latencies, 50):.3f} ms")
    print(f"decision_p99: {percentile(latencies, 99):.3f} ms")
    print(f"decision_max: {latencies[-1]:.3f} ms")
    print(f"decision_mean: {sum(latencies) / len(latencies):.3f} ms")
    print(f"outbox_commit_p50: {percentile(commits, 50):.3f} ms")
    print(f"outbox_commit_p99: {percentile(commits, 99):.3f} ms")
    print(f"decision_without_commit_p99: {percentile(rest, 99):.3f} ms")
    print(f"bare_sqlite_commit_p50: {percentile(floor, 50):.3f} ms")
    print(f"bare_sqlite_commit_p99: {percentile(floor, 99):.3f} ms")


if __name__ == "__main__":
    main()
