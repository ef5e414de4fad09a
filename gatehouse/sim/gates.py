"""A simulated gate that speaks the real protocol over a real broker.

It is what a Pi gate or the firmware does on the wire, with the list in memory and
no hardware: ``hello`` on connect, snapshots and deltas applied through
:class:`protocol.downlink.Downlink`, taps decided by :func:`protocol.decision.decide`,
check-ins sent in batches and dropped when the hub acks them.  Tests and benchmarks
run hundreds of them::

    gate = SimGate(host="127.0.0.1", port=broker.port, site="club1", gate="front-door",
                   key=gate_key, card_secret=card_secret).start()
    gate.wait_version(1)                  # the first snapshot is in
    allow, reason = gate.tap(bytes.fromhex("04a1b2c3"))
    gate.flush()                          # send the outbox
    gate.wait_acked(1)
    gate.stop()

Commands act as on a real gate: ``unlock`` opens the door (:attr:`unlocks`) and queues
a "remote" check-in; ``enroll`` sends the next card given to :meth:`present` within
its ``seconds`` to the hub as an enroll tap, instead of deciding it.

:param key: the gate's 32-byte HMAC key.
:param card_secret: the site's card secret (needed only to :meth:`tap` by UID).
:param mtu: largest payload the gate says it takes (snapshot chunks are sized to it).
:param now: where the gate gets the time (default: the system clock).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from protocol import cardkey, decision, envelope, messages, records, topics
from protocol import delta as deltas
from protocol.downlink import Downlink
from protocol.errors import Gap, ProtocolError
from protocol.schedule import Schedules


class SimGate:
    """One simulated gate; see the module documentation."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        site: str,
        gate: str,
        key: bytes,
        card_secret: bytes | None = None,
        username: str | None = None,
        password: str | None = None,
        zone: int = 0,
        mtu: int = 4096,
        sid: str | None = None,
        now: Callable[[], int] | None = None,
        fw: str = "sim-1",
    ) -> None:
        self.host, self.port = host, port
        self.site, self.gate = site, gate
        self.key = key
        self.card_secret = card_secret
        self.zone = zone
        self.mtu = mtu
        self.fw = fw
        self.now = now or (lambda: int(time.time()))
        self.link = Downlink(key, gate, sid or secrets.token_hex(8))
        self.data = b""
        self.schedules = Schedules()
        self.outbox: list[list[Any]] = []
        self.next_seq = 1
        self.acked = 0
        self.commands: list[dict[str, Any]] = []
        self.applied_at: dict[int, float] = {}
        self.sent_snapshots = 0
        self.deltas = 0
        self.unlocks: list[int] = []
        self.enroll_until = 0
        self._building = bytearray()
        self._manifest: dict[str, Any] | None = None
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"sim-{site}-{gate}-{secrets.token_hex(3)}"
        )
        if username:
            self.client.username_pw_set(username, password)
        self.client.will_set(
            topics.up(site, gate, "status"),
            envelope.seal_json(key, messages.status(gate, "offline")),
            qos=1,
            retain=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_a: self._subscribed.set()
        self.client.on_message = self._on_message

    @property
    def version(self) -> int:
        """The list version in force on this gate."""
        return self.link.version

    # -- connection -----------------------------------------------------------------

    def start(self, timeout: float = 10.0, hello: bool = True) -> SimGate:
        """Connect, subscribe to ``down/#`` and (by default) say hello."""
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(timeout):
            raise TimeoutError(f"gate {self.gate} not subscribed")
        self.publish_status("online")
        if hello:
            self.hello()
        return self

    def stop(self, graceful: bool = True) -> None:
        """Disconnect; *graceful* first publishes the offline status itself."""
        if graceful:
            self.publish_status("offline")
        self.client.disconnect()
        self.client.loop_stop()
        self._subscribed.clear()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            client.subscribe(topics.gate_subscription(self.site, self.gate), qos=1)

    def _publish(self, kind: str, obj: dict[str, Any], retain: bool = False) -> None:
        payload = envelope.seal_json(self.key, obj)
        self.client.publish(topics.up(self.site, self.gate, kind), payload, qos=1, retain=retain)

    def hello(self, want_snapshot: bool = False) -> None:
        """Send ``up/hello`` with what this gate holds."""
        body = messages.hello(
            self.gate,
            self.link.sid,
            self.link.version,
            self.acked,
            len(self.outbox),
            self.fw,
            self.now(),
            self.mtu,
            want_snapshot or self.link.want_snapshot,
        )
        self._publish("hello", body)

    def publish_status(self, state: str) -> None:
        """Send the retained ``up/status``."""
        body = messages.status(
            self.gate, state, self.link.version, len(self.outbox), 0, self.now(), True,
            dict(self.link.rejected), self.fw,
        )  # fmt: skip
        self._publish("status", body, retain=True)

    # -- downlink -------------------------------------------------------------------

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            kind = topics.parse(msg.topic)[3]
            event, value = self.link.open(kind, bytes(msg.payload), self.now())
        except Gap:
            self.hello(want_snapshot=True)
            return
        except ProtocolError:
            return  # counted in self.link.rejected
        with self._cond:
            self._apply(event, value)
            self._cond.notify_all()

    def _apply(self, event: str, value: Any) -> None:
        if event == "manifest":
            self._manifest = value
            self._building = bytearray()
        elif event == "chunk":
            if value is not None:
                self._building += value
            if self.link.assembly is not None and self.link.assembly.done:
                manifest = self.link.finish()
                self.data = bytes(self._building)
                self.schedules = Schedules.from_json(manifest.get("sched"))
                self.link.applied(manifest["v"])
                self.applied_at[manifest["v"]] = time.monotonic()
                self.sent_snapshots += 1
        elif event == "delta":
            version, add, delete = value
            self.data = deltas.apply(self.data, add, delete)
            self.link.applied(version)
            self.applied_at[version] = time.monotonic()
            self.deltas += 1
        elif event == "cmd":
            self.commands.append(value)
            self._obey(value)
        elif event == "ack":
            self.acked = max(self.acked, value)
            self.outbox = [e for e in self.outbox if e[0] > value]

    def _obey(self, cmd: dict[str, Any]) -> None:
        args = cmd.get("args") or {}
        seconds = args.get("seconds")
        seconds = seconds if isinstance(seconds, int) and 0 < seconds <= 600 else None
        if cmd["op"] == "unlock":
            self.unlocks.append(seconds or 5)
            self.outbox.append(
                messages.checkin_entry(
                    self.next_seq, self.now(), None, decision.REMOTE, self.link.version
                )
            )
            self.next_seq += 1
        elif cmd["op"] == "enroll":
            self.enroll_until = self.now() + (seconds or 30)

    @property
    def enrolling(self) -> bool:
        """True while an enroll command is in force (until a card is presented)."""
        return self.now() < self.enroll_until

    def wait_command(self, op: str, timeout: float = 5.0) -> bool:
        """Wait until a command *op* (``unlock``, ``enroll``, ...) has arrived."""
        return self.wait_for(lambda: any(c["op"] == op for c in self.commands), timeout)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until *predicate* holds (checked on every message), up to *timeout* s."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def wait_version(self, version: int, timeout: float = 5.0) -> bool:
        """Wait until list *version* (or newer) is in force."""
        return self.wait_for(lambda: self.link.version >= version, timeout)

    def wait_acked(self, seq: int, timeout: float = 5.0) -> bool:
        """Wait until the hub has acked *seq*."""
        return self.wait_for(lambda: self.acked >= seq, timeout)

    # -- taps and check-ins -----------------------------------------------------------

    def record_for(self, key: bytes) -> bytes | None:
        """The list record of card *key*, or ``None``."""
        with self._cond:
            i = records.find(self.data, key)
            return records.record_at(self.data, i) if i >= 0 else None

    def tap_key(self, key: bytes, now: int | None = None) -> tuple[bool, int]:
        """Decide a tap of card *key* and queue its check-in."""
        ts = self.now() if now is None else now
        allow, reason = decision.decide(self.record_for(key), ts, self.zone, self.schedules)
        with self._cond:
            self.outbox.append(
                messages.checkin_entry(self.next_seq, ts, key, reason, self.link.version)
            )
            self.next_seq += 1
        return allow, reason

    def tap(self, uid: bytes, now: int | None = None) -> tuple[bool, int]:
        """Decide a tap of the card with *uid* (needs *card_secret*)."""
        if self.card_secret is None:
            raise ValueError("this simulated gate has no card secret")
        return self.tap_key(cardkey.card_key(self.card_secret, uid), now)

    def present(self, uid: bytes) -> tuple[bool, int] | None:
        """A card at the reader: in enroll mode its UID goes to the hub (``None`` is
        returned and the mode ends); otherwise it is decided like :meth:`tap`."""
        with self._cond:
            enrolling = self.enrolling
            if enrolling:
                self.enroll_until = 0
        if enrolling:
            self._publish("enroll", messages.enroll(self.gate, uid, self.now()))
            return None
        return self.tap(uid)

    def flush(self, max_batch: int = messages.MAX_BATCH) -> int:
        """Send the outbox in batches (kept until acked); returns check-ins sent."""
        with self._cond:
            pending = list(self.outbox)
        for i in range(0, len(pending), max_batch):
            batch = messages.checkin_batch(self.gate, self.link.sid, pending[i : i + max_batch])
            self._publish("checkin", batch)
        return len(pending)

    def __repr__(self) -> str:
        return f"<SimGate {self.site}/{self.gate} v{self.link.version} outbox={len(self.outbox)}>"
