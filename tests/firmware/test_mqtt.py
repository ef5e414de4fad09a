"""The firmware's MQTT client on the micropython VM.

Against a real Mosquitto: credentials, QoS 1 with PUBACK tracking, subscribe, keepalive
pings, the last will.  Against a raw TCP peer sending crafted bytes: every kind of bad
wire data raises an error with a code (never an assert, never a hang), and a message
larger than the gate accepts is skipped, acknowledged and reported.
"""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gatehouse.services import free_port
from gatehouse.services.mosquitto import Mosquitto
from tests.firmware.conftest import run_mp

BROKER_SCRIPT = """
import sys, time
from mqtt import MQTTClient, MQTTError

port = int(sys.argv[1])
bad = MQTTClient("gate-a", "127.0.0.1", port, user="gate-a", password="wrong", timeout_ms=2000)
try:
    bad.connect()
    print("bad ok")
except MQTTError as err:
    print("bad", err.code, err.args[1])

c = MQTTClient("gate-a", "127.0.0.1", port, user="gate-a", password="pw-a", keepalive=1,
               timeout_ms=2000)
c.set_last_will("test/will", b"gone", retain=True, qos=1)
got = []
c.on_message = lambda topic, payload, retained: got.append((bytes(topic), bytes(payload)))
pings = [0]
ping = c.ping
def counted():
    pings[0] += 1
    ping()
c.ping = counted
print("session", c.connect())
print("granted", c.subscribe("test/echo", 1))
pid = c.publish("test/echo", b"x" * 3000, qos=1)
print("inflight", list(c.inflight) == [pid])
start = time.ticks_ms()
while time.ticks_diff(time.ticks_ms(), start) < 1700:
    c.poll(100)
print("echo", len(got), got[0][0], len(got[0][1]), "inflight", len(c.inflight))
print("pings", pings[0] >= 2, "connected", c.connected)
c.close()  # no DISCONNECT: the broker publishes the will
"""


def test_credentials_qos1_subscribe_keepalive_and_last_will(tmp_path: Path) -> None:
    acl = "user gate-a\ntopic readwrite test/#\n\nuser watcher\ntopic read test/#\n"
    users = {"gate-a": "pw-a", "watcher": "pw-w"}
    with Mosquitto(tmp_path / "mq", users=users, acl=acl) as broker:
        wills: queue.Queue[bytes] = queue.Queue()
        watcher = paho.Client(CallbackAPIVersion.VERSION2, client_id="watcher")
        watcher.username_pw_set("watcher", "pw-w")
        watcher.on_message = lambda _c, _u, m: wills.put(m.payload)
        watcher.connect("127.0.0.1", broker.port)
        watcher.subscribe("test/will", qos=1)
        watcher.loop_start()
        try:
            out = run_mp(BROKER_SCRIPT, tmp_path, str(broker.port)).splitlines()
            assert wills.get(timeout=5) == b"gone"
        finally:
            watcher.loop_stop()
            watcher.disconnect()
    assert out[0] == "bad refused CONNACK return code 5"
    assert out[1:] == [
        "session 0",
        "granted 1",
        "inflight True",
        "echo 1 b'test/echo' 3000 inflight 0",
        "pings True connected True",
    ]


CONNACK = b"\x20\x02\x00\x00"
SCENARIOS: list[tuple[str, bytes, str]] = [
    ("refused", b"\x20\x02\x00\x05", "refused"),
    ("no_connack", b"", "timeout"),
    ("connack_flags", b"\x21\x02\x00\x00", "bad_packet"),
    ("length_over_4_bytes", CONNACK + b"\x30\xff\xff\xff\xff\x01", "bad_packet"),
    ("connect_from_server", CONNACK + b"\x10\x00", "bad_packet"),
    ("puback_3_bytes", CONNACK + b"\x40\x03\x00\x01\x00", "bad_packet"),
    ("suback_from_nowhere_bad_code", CONNACK + b"\x90\x03\x00\x01\x07", "bad_packet"),
    ("topic_past_packet", CONNACK + b"\x30\x05\x00\x10abc", "bad_packet"),
    ("empty_topic", CONNACK + b"\x30\x03\x00\x00x", "bad_packet"),
    ("qos3", CONNACK + b"\x36\x05\x00\x01a\x00\x01", "bad_packet"),
    ("pingresp_with_body", CONNACK + b"\xd0\x01\x00", "bad_packet"),
    ("half_a_packet", CONNACK + b"\x30\x0a\x00\x03ab", "timeout"),
    ("closed", CONNACK, "closed"),
    (
        "oversized_then_normal",
        CONNACK + b"\x32\xe8\x07\x00\x03big\x00\x07" + b"z" * 993 + b"\x30\x0a\x00\x03ok!hello",
        "ok",
    ),
]

RAW_SCRIPT = """
import sys
from mqtt import MQTTClient, MQTTError

port = int(sys.argv[1])
for name in sys.argv[2:]:
    c = MQTTClient("gate", "127.0.0.1", port, keepalive=0, timeout_ms=300, max_packet=256)
    got = []
    c.on_message = lambda t, p, r: got.append((bytes(t), None if p is None else bytes(p)))
    try:
        c.connect()
        for _ in range(4):
            c.poll(60)
        result = "ok"
    except MQTTError as err:
        result = err.code
    print(name, result, c.oversized, got)
    c.close()
"""


@pytest.fixture
def raw_peer() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP peer that reads each CONNECT and answers with the next scenario's bytes;
    collects what the client sent after that (e.g. its PUBACKs)."""
    port = free_port()
    server = socket.create_server(("127.0.0.1", port))
    received: list[bytes] = []

    def serve() -> None:
        for _name, reply, expected in SCENARIOS:
            conn, _ = server.accept()
            with conn:
                conn.settimeout(2)
                head = conn.recv(2)
                rest = head[1]
                while len(head) - 2 < rest:
                    head += conn.recv(rest - len(head) + 2)
                conn.sendall(reply)
                if expected == "closed":
                    continue
                conn.settimeout(0.8)
                after = b""
                try:
                    while chunk := conn.recv(64):
                        after += chunk
                except (TimeoutError, OSError):
                    pass
                received.append(after)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, received
    server.close()


def test_bad_wire_data_raises_coded_errors_and_big_messages_are_skipped(
    tmp_path: Path, raw_peer: tuple[int, list[bytes]]
) -> None:
    port, received = raw_peer
    names = [name for name, _reply, _expected in SCENARIOS]
    out = run_mp(RAW_SCRIPT, tmp_path, str(port), *names).splitlines()
    results = {line.split()[0]: line.split(None, 3)[1:] for line in out}
    for name, _reply, expected in SCENARIOS:
        assert results[name][0] == expected, (name, results[name])
    assert results["oversized_then_normal"] == [
        "ok",
        "1",
        "[(b'big', None), (b'ok!', b'hello')]",
    ]
    # The oversized QoS 1 message was acknowledged with its packet id.
    assert received[-1] == b"\x40\x02\x00\x07"


BACKOFF_SCRIPT = """
import sys, time
from mqtt import MQTTClient

c = MQTTClient("gate", "127.0.0.1", int(sys.argv[1]), timeout_ms=500, backoff_ms=(1000, 8000))
for _ in range(5):
    c._retry_at = time.ticks_ms()  # due now: try at once instead of waiting
    print(c.service(0), c.retry_in(), type(c.last_error).__name__)
"""


def test_failed_connects_back_off_exponentially_with_jitter(tmp_path: Path) -> None:
    out = run_mp(BACKOFF_SCRIPT, tmp_path, str(free_port())).splitlines()
    bounds = [(1000, 1250), (2000, 2500), (4000, 5000), (8000, 10000), (8000, 10000)]
    for line, (low, high) in zip(out, bounds, strict=True):
        ok, wait, error = line.split()
        assert ok == "False" and error == "OSError"
        assert low - 50 <= int(wait) <= high, line
