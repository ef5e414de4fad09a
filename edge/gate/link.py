"""The gate's MQTT link to the hub (paho-mqtt 2.x).

On every connect (clean session: gates catch up through ``hello``, never through
broker queues) the link subscribes to its ``down/#`` topics and says ``hello``: list
version, last acked seq, outbox depth, firmware, clock, chunk size (``mtu``), and
whether it needs a whole list.  The hub answers with the time, a delta or snapshot and
an ack; from then on the link sends the outbox in batches of up to
:data:`protocol.messages.MAX_BATCH`, a few batches in flight, and drops rows as acks
arrive.  A batch not acked within ``resend_s`` is sent again (the hub stores by seq,
so a repeat is harmless).  Status is retained, with a last will saying ``offline``.

Everything that arrives goes through :class:`~edge.gate.sync.GateSync`; nothing the
hub (or anyone else) sends can stop the gate::

    link = GateLink(config, store, sync, clock)
    link.start()          # connects in the background, reconnects with backoff
    link.kick()           # a new check-in: send it now
    link.stop()           # retained status "offline", disconnect
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.gate.config import GateConfig
from edge.gate.store import GateStore
from edge.gate.sync import GateSync
from edge.gate.timekeeping import GateClock
from protocol import envelope, messages, topics
from protocol.errors import ProtocolError

log = logging.getLogger(__name__)

FIRMWARE = "gatehouse-pi/0.1"
WINDOW_BATCHES = 4


def tls_context(ca: str) -> ssl.SSLContext:
    """A client TLS context that verifies the broker's certificate and name.

    *ca* is the CA certificate as PEM text (what provisioning hands out), a path to a
    PEM file, or empty for the system's trusted CAs.
    """
    if ca.lstrip().startswith("-----BEGIN"):
        return ssl.create_default_context(cadata=ca)
    return ssl.create_default_context(cafile=ca or None)


class GateLink:
    """MQTT connection, ``hello`` handshake, outbox sender and status heartbeat.

    :param config: the gate's configuration (``[gate]`` and ``[mqtt]`` are used).
    :param store: its store (outbox rows are read from it).
    :param sync: the :class:`~edge.gate.sync.GateSync` that applies ``down/*``.
    :param clock: the gate's :class:`~edge.gate.timekeeping.GateClock`.
    :param extra_status: returns more fields for the status body (door, reader).
    :param monotonic: seconds that never go back (timeouts, uptime).
    """

    def __init__(
        self,
        config: GateConfig,
        store: GateStore,
        sync: GateSync,
        clock: GateClock,
        extra_status: Callable[[], dict[str, Any]] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        fw: str = FIRMWARE,
    ) -> None:
        self.config = config
        self.store = store
        self.sync = sync
        self.clock = clock
        self.extra_status = extra_status
        self.monotonic = monotonic
        self.fw = fw
        site, gate = config.gate.site, config.gate.gate
        self.site, self.gate = site, gate
        self.topic = {kind: topics.up(site, gate, kind) for kind in topics.UP_KINDS}
        self.counts: dict[str, int] = {}
        self._started_at = time.monotonic()
        self._wake = threading.Condition()
        self._stop = False
        self._dirty = False
        self._ready = False
        self._want_hello = False
        self._hello_sent_at = 0.0
        self._hello_answered = False
        self._sent_high = 0
        self._session = 0
        self._progress_at = 0.0
        self._next_status = 0.0
        self._status_version = -1
        self._status_disk = (False, 0)
        self._thread: threading.Thread | None = None
        self.client = self._make_client()
        sync.when_resync = self.resync

    @property
    def key(self) -> Any:
        """The key to seal with: the newest the gate holds (it changes on ``rekey``)."""
        return self.sync.downlink.key

    # -- paho ------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        m = self.config.mqtt
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"gh-{self.site}-{self.gate}",
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        if m.username:
            client.username_pw_set(m.username, m.password or None)
        if m.tls:
            client.tls_set_context(tls_context(m.ca))
        client.reconnect_delay_set(m.reconnect_min_s, m.reconnect_max_s)  # type: ignore[arg-type]
        client.max_inflight_messages_set(20)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            self._count("connect_refused")
            return
        client.subscribe(topics.gate_subscription(self.site, self.gate), qos=1)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: Any, _p: Any) -> None:
        if any(getattr(r, "is_failure", False) for r in reasons):
            log.warning("subscription refused: %s", reasons)
            self._count("subscribe_refused")
            return
        with self._wake:
            self._session += 1
            self._ready = True
            self._hello_answered = False
            self._want_hello = True
            self._sent_high = self.store.acked
            self._next_status = 0.0
            self._dirty = True
            self._wake.notify_all()
        log.info("connected to %s:%d", self.config.mqtt.host, self.config.mqtt.port)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        with self._wake:
            was = self._ready
            self._ready = False
        if was:
            log.warning("disconnected from the broker: %s", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            site, gate, direction, kind = topics.parse(msg.topic)
            if (site, gate, direction) != (self.site, self.gate, "down"):
                raise ProtocolError("message on another gate's topic")
        except ProtocolError as err:
            self.sync.downlink.count(err.code)
            return
        acked_before = self.store.acked
        try:
            event = self.sync.handle(kind, bytes(msg.payload))
        except Exception:  # a bug must not take the gate off the network
            log.exception("failed to apply down/%s", kind)
            self._count("error")
            return
        if event in ("swapped", "delta"):
            self.kick()  # the status reports the new version
        if event == "ack":
            with self._wake:
                # Only an ack that moves counts as progress: a hub that keeps acking the
                # same seq (one batch lost on the way) must not hold off the resend of
                # the gap for as long as members keep tapping.
                if self.store.acked > acked_before or not self._hello_answered:
                    self._progress_at = self.monotonic()
                self._hello_answered = True
                self._sent_high = max(self._sent_high, self.store.acked)
                self._dirty = True
                self._wake.notify_all()

    # -- public ----------------------------------------------------------------------
    @property
    def online(self) -> bool:
        """True while connected and subscribed."""
        return self._ready

    def start(self) -> GateLink:
        """Connect in the background; returns at once (the door never waits for it)."""
        m = self.config.mqtt
        will = self._status_payload("offline")
        self.client.will_set(self.topic["status"], will, qos=1, retain=True)
        self.client.connect_async(m.host, m.port, keepalive=m.keepalive_s)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._sender, name="gate-link", daemon=True)
        self._thread.start()
        return self

    def kick(self, *_args: object) -> None:
        """Something new in the outbox: wake the sender."""
        with self._wake:
            self._dirty = True
            self._wake.notify_all()

    def resync(self) -> None:
        """Say ``hello`` again (after a gap, a refused list or a resync command)."""
        with self._wake:
            self._want_hello = True
            self._dirty = True
            self._wake.notify_all()

    def publish_enroll(self, uid: bytes, ts: int) -> None:
        """Send a tap captured in enroll mode to the hub."""
        body = messages.enroll(self.gate, uid, ts)
        self.client.publish(self.topic["enroll"], envelope.seal_json(self.key, body), qos=1)

    def stop(self) -> None:
        """Say ``offline`` (retained), disconnect and stop the threads."""
        with self._wake:
            self._stop = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(5)
        if self._ready:
            info = self.client.publish(
                self.topic["status"], self._status_payload("offline"), qos=1, retain=True
            )
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()

    # -- status ----------------------------------------------------------------------
    def status_body(self, state: str = "online") -> dict[str, Any]:
        """The status message: version, outbox depth, uptime, clock, rejections.

        ``disk_full`` says whether the store is out of disk now; ``rejected`` counts
        the writes it refused for lack of space under ``store_full``.
        """
        now, trusted = self.clock.now()
        rejected = dict(self.sync.rejected)
        for name, n in self.counts.items():
            rejected[name] = rejected.get(name, 0) + n
        if self.store.refused:  # writes refused for lack of disk (kept by the hub)
            rejected["store_full"] = self.store.refused
        body = messages.status(
            self.gate,
            state,
            version=self.store.version,
            depth=self.store.depth(),
            uptime=int(time.monotonic() - self._started_at),
            clock=now,
            trusted=trusted,
            rejected=rejected,
            fw=self.fw,
        )
        body["acked"] = self.store.acked
        body["disk_full"] = self.store.full
        if self.extra_status is not None:
            body.update(self.extra_status())
        return body

    def _status_payload(self, state: str) -> bytes:
        return envelope.seal_json(self.key, self.status_body(state))

    def publish_status(self) -> None:
        """Publish the retained status now."""
        self.client.publish(self.topic["status"], self._status_payload("online"), 1, retain=True)

    # -- sender ----------------------------------------------------------------------
    def _count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def hello_body(self) -> dict[str, Any]:
        store = self.store
        return messages.hello(
            self.gate,
            store.sid,
            store.version,
            store.acked,
            store.depth(),
            self.fw,
            self.clock.wall(),
            self.config.mqtt.mtu,
            want_snapshot=self.sync.want_snapshot,
        )

    def _publish(self, kind: str, body: dict[str, Any]) -> None:
        self.client.publish(self.topic[kind], envelope.seal_json(self.key, body), qos=1)

    def _sender(self) -> None:
        m = self.config.mqtt
        while True:
            with self._wake:
                if self._stop:
                    return
                if not self._dirty:
                    self._wake.wait(timeout=min(1.0, m.resend_s / 2))
                self._dirty = False
                if self._stop:
                    return
                if not self._ready:
                    continue
            try:
                self._send_step()
            except Exception:
                log.exception("sender step failed")
                self._count("error")

    def _send_step(self) -> None:
        m = self.config.mqtt
        now = self.monotonic()
        self.sync.check_stall(max(30.0, 4 * m.resend_s))
        with self._wake:
            want_hello = self._want_hello or (
                not self._hello_answered and now - self._hello_sent_at > m.resend_s
            )
            self._want_hello = False
        if want_hello:
            self._hello_sent_at = now
            self._publish("hello", self.hello_body())
        disk = (self.store.full, self.store.refused)
        if (
            now >= self._next_status
            or self.store.version != self._status_version
            or disk != self._status_disk
        ):
            self._next_status = now + m.status_interval_s
            self._status_version = self.store.version
            self._status_disk = disk  # a disk filling up or freed is said within a second
            self.publish_status()
        if not self._hello_answered:
            return
        store = self.store
        with self._wake:
            if self._sent_high > store.acked and now - self._progress_at > m.resend_s:
                self._sent_high = store.acked  # no ack in time: send again from the ack
                self._count("resent")
        window = WINDOW_BATCHES * messages.MAX_BATCH
        while self._ready and self._sent_high - store.acked < window:
            session, after = self._session, self._sent_high
            rows = store.pending(after=after, limit=messages.MAX_BATCH)
            if not rows:
                break
            entries = [messages.checkin_entry(*row) for row in rows]
            self._publish("checkin", messages.checkin_batch(self.gate, store.sid, entries))
            with self._wake:
                if session != self._session:
                    break  # reconnected meanwhile: that session starts from its ack
                if after <= store.acked:
                    self._progress_at = now
                self._sent_high = max(self._sent_high, rows[-1][0])

    def __repr__(self) -> str:
        state = "online" if self._ready else "offline"
        return f"<GateLink {self.site}/{self.gate} {state} sent={self._sent_high}>"
