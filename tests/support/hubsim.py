"""The hub's side of the protocol, for testing gates on their own.

:class:`HubSim` connects to a real broker and behaves as the hub does towards gates:
it answers ``hello`` with the time, a delta or a snapshot (sized to the gate's ``mtu``)
and an ack; it stores check-ins idempotently by (gate, store id, seq) and acks the highest
contiguous seq; it pushes a delta to every gate when access changes.  It keeps no
database: gate tests use it to run against the protocol without the whole hub::

    hub = HubSim(broker.port, site="club1", card_secret=SECRET, now=clock.timestamp)
    hub.add_gate("front-door", key)
    hub.start()
    hub.grant(uid, valid_until=..., zones=0b1)      # version 1, pushed to the gate
    hub.wait_for(lambda: hub.stored_seqs("front-door"), timeout=5)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from protocol import cardkey, delta, envelope, messages, records, snapshot, topics
from protocol.errors import ProtocolError
from protocol.schedule import Schedules

SNAPSHOT_AFTER = 100


class HubSim:
    """A protocol-level hub for one site.

    :param port: broker port on 127.0.0.1.
    :param site: site id.
    :param card_secret: the site's card secret (bytes).
    :param now: callable returning unix seconds (pass a ManualClock's ``timestamp``).
    :param username: MQTT username when the broker requires one.
    """

    def __init__(
        self,
        port: int,
        site: str,
        card_secret: bytes,
        now: Callable[[], int] = lambda: int(time.time()),
        username: str | None = None,
        password: str | None = None,
        schedules: Schedules | None = None,
    ) -> None:
        self.port = port
        self.site = site
        self.card_secret = card_secret
        self.now = now
        self.schedules = schedules or Schedules()
        self.manifest_extra: dict[str, Any] = {}  # e.g. {"reentry": 10800}
        self.keys: dict[str, bytes] = {}
        self.versions: dict[int, bytes] = {0: b""}
        self.version = 0
        self.entries: dict[tuple[str, str], dict[int, list[Any]]] = {}
        self.duplicates = 0
        self.rejected: dict[str, int] = {}
        self.hellos: list[dict[str, Any]] = []
        self.status: dict[str, dict[str, Any]] = {}
        self.enrolls: list[tuple[str, bytes]] = []
        self.acks_sent: list[tuple[str, str, int]] = []
        self.sid_of: dict[str, str] = {}
        self._cmd_n = int(time.time() * 1000)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hubsim-{site}")
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.max_inflight_messages_set(100)

    # -- lifecycle ---------------------------------------------------------------
    def add_gate(self, gate: str, key: bytes) -> None:
        """Know *gate* and its HMAC key."""
        self.keys[gate] = key

    def start(self) -> HubSim:
        """Connect and subscribe; returns once subscribed."""
        self._subscribed = threading.Event()
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        if not self._subscribed.wait(5):
            raise RuntimeError("hub simulator could not subscribe")
        return self

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def __enter__(self) -> HubSim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        client.subscribe(topics.hub_subscription(), qos=1)
        client.subscribe(f"{topics.PREFIX}+/+/up/status", qos=1)
        self._subscribed.set()

    # -- access list -------------------------------------------------------------
    def key_of(self, uid: bytes) -> bytes:
        return cardkey.card_key(self.card_secret, uid)

    def set_list(self, recs: list[bytes], push: bool = True) -> int:
        """Make *recs* the new list version; push a delta to every gate."""
        with self._lock:
            self.version += 1
            self.versions[self.version] = records.build(recs)
            version = self.version
        if push:
            for gate in self.keys:
                self.push(gate, self.version - 1)
        return version

    def current(self) -> dict[bytes, bytes]:
        data = self.versions[self.version]
        return {records.key_of(data, i): records.record_at(data, i) for i in range(len(data) // 16)}

    def grant(
        self,
        uid: bytes,
        valid_until: int,
        zones: int = 1,
        schedule: int = 0,
        flags: int = 0,
        push: bool = True,
    ) -> int:
        """Add or replace a card's record; returns the new version."""
        recs = self.current()
        k = self.key_of(uid)
        recs[k] = records.pack(k, valid_until, zones, schedule, flags)
        return self.set_list(list(recs.values()), push)

    def revoke(self, uid: bytes, push: bool = True) -> int:
        """Remove a card's record; returns the new version."""
        recs = self.current()
        recs.pop(self.key_of(uid), None)
        return self.set_list(list(recs.values()), push)

    def push(
        self, gate: str, from_version: int, mtu: int = 16384, want_snapshot: bool = False
    ) -> str:
        """Bring *gate* from *from_version* to the current version; returns what was sent."""
        with self._lock:
            target = self.version
            data = self.versions[target]
            old = self.versions.get(from_version)
        if from_version == target and not want_snapshot:
            return "none"
        if (
            old is None
            or want_snapshot
            or from_version == 0
            or target - from_version > SNAPSHOT_AFTER
        ):
            self.send_snapshot(gate, target, data, mtu)
            return "snapshot"
        before = {records.key_of(old, i): records.record_at(old, i) for i in range(len(old) // 16)}
        after = {
            records.key_of(data, i): records.record_at(data, i) for i in range(len(data) // 16)
        }
        add = [r for k, r in after.items() if before.get(k) != r]
        dele = [k for k in before if k not in after]
        body = delta.make(gate, from_version, target, add, dele, self.now())
        self._publish(gate, "acl", envelope.dumps(body))
        return "delta"

    def send_snapshot(self, gate: str, version: int, data: bytes, mtu: int = 16384) -> None:
        per_chunk = max(
            1,
            min(snapshot.MAX_CHUNK_RECORDS, (mtu - envelope.HEAD_LEN - snapshot.HEADER_SIZE) // 16),
        )
        chunks = snapshot.make_chunks(version, data, per_chunk)
        man = snapshot.manifest(
            gate, version, data, self.now(), len(chunks), self.schedules, self.manifest_extra
        )
        self._publish(gate, "acl", envelope.dumps(man))
        for c in chunks:
            self._publish(gate, "acl", c)

    def send_cmd(
        self, gate: str, op: str, args: dict[str, Any] | None = None, issued: int | None = None
    ) -> int:
        """Send a command; returns its number."""
        with self._lock:
            self._cmd_n += 1
            n = self._cmd_n
        body = messages.command(gate, n, op, self.now() if issued is None else issued, args)
        self._publish(gate, "cmd", envelope.dumps(body))
        return n

    def _publish(self, gate: str, kind: str, body: bytes) -> None:
        payload = envelope.seal(self.keys[gate], body)
        self.client.publish(topics.down(self.site, gate, kind), payload, qos=1)

    # -- uplink ------------------------------------------------------------------
    def _count(self, code: str) -> None:
        with self._lock:
            self.rejected[code] = self.rejected.get(code, 0) + 1
            self._changed.notify_all()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            site, gate, _direction, kind = topics.parse(msg.topic)
            if site != self.site or gate not in self.keys:
                raise ProtocolError("unknown gate")
            obj = envelope.open_json(self.keys[gate], msg.payload, gate=gate, kind=kind)
            getattr(self, "_on_" + kind)(gate, obj)
        except ProtocolError as err:
            self._count(err.code)

    def _on_hello(self, gate: str, obj: dict[str, Any]) -> None:
        messages.parse_hello(obj)
        with self._lock:
            self.hellos.append(obj)
            self.sid_of[gate] = obj["sid"]
            self._changed.notify_all()
        self.send_cmd(gate, "time", {"now": self.now()})
        self.push(gate, obj["v"], obj["mtu"], obj["want_snapshot"])
        self._ack(gate, obj["sid"])

    def _on_checkin(self, gate: str, obj: dict[str, Any]) -> None:
        sid, entries = messages.parse_checkin_batch(obj)
        with self._lock:
            stored = self.entries.setdefault((gate, sid), {})
            for e in entries:
                if e[0] in stored:
                    self.duplicates += 1
                else:
                    stored[e[0]] = list(e)
            self._changed.notify_all()
        self._ack(gate, sid)

    def _ack(self, gate: str, sid: str) -> None:
        with self._lock:
            high = messages.contiguous_high(0, self.entries.get((gate, sid), {}).keys())
            self.acks_sent.append((gate, sid, high))
        self._publish(gate, "ack", envelope.dumps(messages.ack(gate, sid, high)))

    def _on_status(self, gate: str, obj: dict[str, Any]) -> None:
        messages.parse_status(obj)
        with self._lock:
            self.status[gate] = obj
            self._changed.notify_all()

    def _on_enroll(self, gate: str, obj: dict[str, Any]) -> None:
        uid, _ts = messages.parse_enroll(obj)
        with self._lock:
            self.enrolls.append((gate, uid))
            self._changed.notify_all()

    # -- assertions --------------------------------------------------------------
    def stored_seqs(self, gate: str, sid: str | None = None) -> set[int]:
        """Seqs stored for *gate* (one store id, or all)."""
        with self._lock:
            out: set[int] = set()
            for (g, s), rows in self.entries.items():
                if g == gate and (sid is None or s == sid):
                    out |= set(rows)
            return out

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until *predicate()* is truthy (re-checked on every message); return it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"condition not met in {timeout:.1f} s")
                self._changed.wait(min(left, 0.05))
