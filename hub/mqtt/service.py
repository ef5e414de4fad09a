"""The hub's MQTT service: one paho client, one worker thread, every gate of the fleet.

It subscribes to ``gh/v1/+/+/up/#`` (``$share/<group>/...`` with
``GATEHOUSE_MQTT_SHARE_GROUP``, so several hub replicas split the load) and, for each
message, verifies the ``KID:MAC.BODY`` envelope with that gate's key, checks the body
names the topic's gate, and then:

* ``up/hello`` — replies ``cmd`` ``time``, then on ``down/acl`` nothing (current), one
  compacted delta, or a snapshot sized to the gate's ``mtu``; then ``down/ack`` with
  the highest contiguous seq stored for the gate's store id.
* ``up/checkin`` — stores the batch exactly once, commits, then acks.
* ``up/status`` — online/offline (the last will), list version, outbox depth, clock.
* ``up/enroll`` — relays the tap to :data:`hub.mqtt.events.enroll_taps`.

Anything refused is counted per gate and kind (:attr:`HubMqtt.rejections`) and the
service carries on.  New list versions (announced by
:func:`hub.access.changes.access_changed`, or found by polling) are pushed to every
online gate of the site.  Start it in-process, as ``gatehouse hub serve`` and tests do::

    with HubMqtt(engine=engine, settings=settings, clock=clock) as service:
        ...
        service.wait_idle()        # every message received so far is handled
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from gatehouse.clock import Clock
from hub.access.bus import access_bus
from hub.access.changes import refresh_due
from hub.access.lists import (
    ListUpdate,
    current_list,
    plan_update,
    site_schedules,
    snapshot_bodies,
)
from hub.core.config import Settings
from hub.models import Gate, Site
from hub.mqtt import fleet, ingest
from hub.mqtt.commands import issue_command
from hub.mqtt.events import EnrollTap, enroll_taps
from hub.mqtt.registry import GateInfo, GateRegistry
from hub.usage.metering import reentry_window
from protocol import delta, envelope, messages, topics
from protocol.errors import Malformed, ProtocolError, WrongGate, WrongKey
from protocol.mac import MacKey

log = logging.getLogger(__name__)

DEFAULT_MTU = 4096
REFRESH_EVERY_S = 60.0
FLUSH_EVERY_S = 1.0


class HubMqtt:
    """The MQTT side of the hub.

    :param engine: the hub's database engine.
    :param settings: broker address, credentials, shared-subscription group.
    :param clock: the hub's clock (command times, check-in receipt, list issue times).
    """

    def __init__(self, *, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.registry = GateRegistry(engine, settings)
        self.rejections = fleet.RejectionCounter()
        self.sent_version: dict[int, int] = {}
        self.mtu: dict[int, int] = {}
        self.pushed: dict[int, int] = {}
        self.last_kid: dict[int, bytes] = {}
        self._snapshots: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self.workers = settings.mqtt_workers or (1 if engine.dialect.name == "sqlite" else 4)
        self._queues: list[queue.Queue[tuple[Any, ...]]] = [
            queue.Queue() for _ in range(self.workers)
        ]
        self._pending = 0
        self.handled = 0
        self._stopping = threading.Event()
        self._handled = threading.Condition()
        self._subscribed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._next_poll = 0.0
        self._next_refresh = 0.0
        self._next_flush = 0.0
        self.client = self._make_client()

    # -- lifecycle ------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        # MQTT v5 only for shared subscriptions: brokers that speak 3.1.1 alone (the
        # demo's embedded amqtt) serve a single hub.
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=s.mqtt_client_id or f"gatehouse-hub-{id(self):x}",
            protocol=mqtt.MQTTv5 if s.mqtt_share_group else mqtt.MQTTv311,
        )
        if s.mqtt_username:
            client.username_pw_set(s.mqtt_username, s.mqtt_password)
        if s.mqtt_tls:
            client.tls_set(ca_certs=s.mqtt_ca_file)
        client.max_inflight_messages_set(100)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(1, 10)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def start(self, timeout: float = 10.0) -> HubMqtt:
        """Connect, subscribe and start the worker; waits until subscribed."""
        access_bus.subscribe(self._on_version)
        for i in range(self.workers):
            t = threading.Thread(target=self._run, args=(i,), name=f"hub-mqtt-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        self.client.connect(self.settings.mqtt_host, self.settings.mqtt_port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(timeout):
            self.stop()
            raise TimeoutError(
                f"no subscription on {self.settings.mqtt_host}:{self.settings.mqtt_port}"
            )
        return self

    def stop(self) -> None:
        """Disconnect and stop the worker (messages not yet handled are dropped)."""
        access_bus.unsubscribe(self._on_version)
        self._stopping.set()
        self.client.disconnect()
        self.client.loop_stop()
        for t in self._threads:
            t.join(10)
        self._threads = []

    def __enter__(self) -> HubMqtt:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued message and push has been handled."""
        with self._handled:
            return self._handled.wait_for(lambda: self._pending == 0, timeout)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Block until *predicate* holds, checking it after each handled message."""
        with self._handled:
            return self._handled.wait_for(predicate, timeout)

    def __repr__(self) -> str:
        state = "subscribed" if self._subscribed.is_set() else "connecting"
        return f"<HubMqtt {self.settings.mqtt_host}:{self.settings.mqtt_port} {state}>"

    # -- paho callbacks (network thread) --------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.error("hub MQTT connection refused: %s", rc)
            return
        client.subscribe(topics.hub_subscription(self.settings.mqtt_share_group), qos=1)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, codes: Any, _p: Any) -> None:
        if codes and not codes[0].is_failure:
            self._subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        # One gate's messages always go to the same worker, so they are handled in order.
        parts = msg.topic.split("/", 4)
        shard = hash(tuple(parts[2:4])) % self.workers if len(parts) > 4 else 0
        self._enqueue(shard, ("up", msg.topic, bytes(msg.payload)))

    def _on_version(self, site_id: int, _version: int) -> None:
        self._enqueue(0, ("push", site_id))

    def _enqueue(self, shard: int, item: tuple[Any, ...]) -> None:
        with self._handled:
            self._pending += 1
        self._queues[shard].put(item)

    # -- worker ---------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A database session carrying this service's settings."""
        with Session(self.engine, expire_on_commit=False) as s:
            s.info["settings"] = self.settings
            yield s

    def _run(self, index: int) -> None:
        own = self._queues[index]
        while not self._stopping.is_set():
            try:
                item = own.get(timeout=0.2)
            except queue.Empty:
                item = None
            try:
                if item is not None:
                    self._handle(item)
                if index == 0:
                    self._maintain()
            except Exception:
                log.exception("hub MQTT worker error")
            finally:
                if item is not None:
                    with self._handled:
                        self._pending -= 1
                        self._handled.notify_all()

    def _handle(self, item: tuple[Any, ...]) -> None:
        if item[0] == "up":
            self.handled += 1
            self.handle_up(item[1], item[2])
        elif item[0] == "push":
            self.push_site(item[1])

    def _maintain(self) -> None:
        now = time.monotonic()
        if now >= self._next_flush:
            self._next_flush = now + FLUSH_EVERY_S
            with self.session() as s:
                self.rejections.flush(s)
                s.commit()
            with self._handled:
                self._handled.notify_all()
        if now >= self._next_poll:
            self._next_poll = now + self.settings.acl_poll_s
            with self.session() as s:
                versions = s.exec(select(Site.id, Site.list_version)).all()
            for site_id, version in versions:
                if version > self.pushed.get(site_id or 0, 0):
                    self.push_site(site_id or 0)
        if now >= self._next_refresh:
            self._next_refresh = now + REFRESH_EVERY_S
            with self.session() as s:
                refresh_due(s, clock=self.clock)
                s.commit()

    # -- up messages ------------------------------------------------------------------

    def handle_up(self, topic: str, payload: bytes) -> None:
        """Verify and handle one ``up`` message; refusals are counted, never raised."""
        try:
            site, gate, direction, kind = topics.parse(topic)
        except ProtocolError as err:
            self.rejections.count("?", "?", err.code)
            return
        if direction != "up":
            return
        # A hello (once per connect) reads the gate afresh: its key may have been rotated
        # by another process (the CLI) since it was cached.
        info = self.registry.get(site, gate, reload=kind == "hello")
        if info is None:
            self.rejections.count(site, gate, "unknown_gate")
            return
        try:
            now = self.clock.timestamp()
            try:
                body = envelope.open(info.keys(now), payload)
            except WrongKey:
                info = self.registry.get(site, gate, reload=True) or info
                body = envelope.open(info.keys(now), payload)
            kid = bytes(payload[: envelope.KID_LEN])
            self.last_kid[info.id] = kid
            obj = envelope.loads(body)
            if obj.get("g") != gate:
                raise WrongGate(f"body names gate {obj.get('g')!r}, topic {gate!r}")
            if obj.get("t") != kind:
                raise Malformed(f"a {obj.get('t')!r} body on up/{kind}")
            self._handlers[kind](self, info, obj)
            if kind == "hello" and info.prev is not None and kid == info.prev.kid:
                self._resend_rekey(info)
        except ProtocolError as err:
            self.rejections.count(site, gate, err.code, info.id)
        except Exception:
            log.exception("error handling %s", topic)
            self.rejections.count(site, gate, "error", info.id)

    def _hello(self, info: GateInfo, obj: dict[str, Any]) -> None:
        hello = messages.parse_hello(obj)
        self.mtu[info.id] = max(128, hello["mtu"]) if hello["mtu"] else DEFAULT_MTU
        with self.session() as s:
            fleet.seen(s, info.id, self.clock, fw=hello["fw"][:64], sid=hello["sid"])
            s.commit()
        self.send_command(info.id, "time", {"now": self.clock.timestamp()}, actor="hub")
        self.send_list(info, gate_version=hello["v"], want_snapshot=hello["want_snapshot"])
        with self.session() as s:
            high = ingest.acked_seq(s, gate_id=info.id, sid=hello["sid"])
        self._publish(info, "ack", self._seal(info, messages.ack(info.gate, hello["sid"], high)))

    def _checkin(self, info: GateInfo, obj: dict[str, Any]) -> None:
        sid, entries = messages.parse_checkin_batch(obj)
        with self.session() as s:
            high = ingest.store_batch(s, gate=info, sid=sid, entries=entries, clock=self.clock)
            s.commit()
        self._publish(info, "ack", self._seal(info, messages.ack(info.gate, sid, high)))

    def _status(self, info: GateInfo, obj: dict[str, Any]) -> None:
        status = messages.parse_status(obj)
        with self.session() as s:
            fleet.apply_status(s, info.id, status, self.clock)
            s.commit()
        if status["state"] == "offline":
            self.sent_version.pop(info.id, None)
        else:
            self.sent_version.setdefault(info.id, status["v"])

    def _enroll(self, info: GateInfo, obj: dict[str, Any]) -> None:
        uid, ts = messages.parse_enroll(obj)
        enroll_taps.publish(EnrollTap(info.site, info.gate, info.id, uid.hex(), ts))

    _handlers: dict[str, Callable[[HubMqtt, GateInfo, dict[str, Any]], None]] = {
        "hello": _hello,
        "checkin": _checkin,
        "status": _status,
        "enroll": _enroll,
    }

    def _resend_rekey(self, info: GateInfo) -> None:
        """A gate still on its old key said hello: send it the new key again."""
        from hub.models import Gate
        from hub.services.key_rotation import rekey_command

        with self.session() as s:
            gate = s.get(Gate, info.id)
            if gate is None:
                return
            body = rekey_command(s, gate=gate, clock=self.clock, actor="hub")
            s.commit()
        self.publish_command(info.id, body)

    # -- down messages ----------------------------------------------------------------

    def seal_key(self, info: GateInfo) -> MacKey:
        """The key to seal for *info*'s gate: while it switches keys, the one it last used.

        A gate that has not yet received (or saved) its new key only opens messages
        under the old one; once it has used the new key, the hub follows.
        """
        switching = info.prev is not None and self.clock.timestamp() < info.prev_until
        if switching and self.last_kid.get(info.id) != info.key.kid:
            return info.prev  # type: ignore[return-value]
        return info.key

    def _seal(self, info: GateInfo, body: dict[str, Any]) -> bytes:
        return envelope.seal_json(self.seal_key(info), body)

    def _publish(self, info: GateInfo, kind: str, payload: bytes) -> None:
        self.client.publish(topics.down(info.site, info.gate, kind), payload, qos=1)

    def send_command(
        self, gate_id: int, op: str, args: dict[str, Any] | None, *, actor: str
    ) -> dict[str, Any]:
        """Number, record (commit) and send a command; returns its body."""
        info = self.registry.by_id(gate_id)
        if info is None:
            raise LookupError(f"no gate {gate_id}")
        with self.session() as s:
            body = issue_command(
                s, gate_id=gate_id, op=op, args=args, actor=actor, clock=self.clock
            )
            s.commit()
        self.publish_command(gate_id, body)
        return body

    def publish_command(self, gate_id: int, body: dict[str, Any]) -> None:
        """Seal and send a command body already recorded by :func:`issue_command`."""
        info = self.registry.by_id(gate_id)
        if info is None:
            raise LookupError(f"no gate {gate_id}")
        self._publish(info, "cmd", self._seal(info, body))

    def _snapshot_data(self, s: Session, site_id: int) -> tuple[int, bytes]:
        version = s.exec(select(Site.list_version).where(Site.id == site_id)).one()
        cached = self._snapshots.get((site_id, version))
        if cached is not None:
            return version, cached
        version, data = current_list(s, site_id)
        self._snapshots[(site_id, version)] = data
        while len(self._snapshots) > 4:
            self._snapshots.popitem(last=False)
        return version, data

    def send_list(self, info: GateInfo, *, gate_version: int, want_snapshot: bool) -> str:
        """Bring one gate to its site's current list; returns what was sent."""
        with self.session() as s:
            site = s.get(Site, info.site_id)
            if site is None:
                return "none"
            plan = self._plan(s, site, gate_version, want_snapshot)
            return self._send_plan(s, site, info, plan, gate_version)

    def _plan(self, s: Session, site: Site, gate_version: int, want: bool) -> ListUpdate:
        return plan_update(
            s,
            site,
            gate_version=gate_version,
            want_snapshot=want,
            max_versions=self.settings.acl_max_delta_versions,
        )

    def _send_plan(
        self, s: Session, site: Site, info: GateInfo, plan: ListUpdate, gate_version: int
    ) -> str:
        now = self.clock.timestamp()
        if plan.kind == "none":
            self.sent_version[info.id] = gate_version
            return "none"
        if plan.kind == "delta":
            d = delta.make(info.gate, plan.version_from, plan.version, plan.add, plan.delete, now)
            bodies = [envelope.dumps(d)]
            version = plan.version
        else:
            version, data = self._snapshot_data(s, info.site_id)
            sched = site_schedules(s, site, now)
            mtu = self.mtu.get(info.id, DEFAULT_MTU)
            extra = {"reentry": reentry_window(s, info.site_id)}
            bodies = snapshot_bodies(info.gate, version, data, now, sched, mtu, extra)
        key = self.seal_key(info)
        for body in bodies:
            self._publish(info, "acl", envelope.seal(key, body))
        self.sent_version[info.id] = version
        return plan.kind

    def push_site(self, site_id: int) -> None:
        """Send the current list (delta or snapshot) to every online gate of a site.

        Gates holding the same version share one plan (one read of the change log).
        """
        with self.session() as s:
            site = s.get(Site, site_id)
            if site is None:
                return
            version = site.list_version
            gates = s.exec(
                select(Gate.id, Gate.list_version_acked).where(
                    Gate.site_id == site_id,
                    Gate.online == True,  # noqa: E712
                )
            ).all()
            plans: dict[int, ListUpdate] = {}
            for gate_id, acked in gates:
                held = self.sent_version.get(gate_id or 0, acked)
                if held >= version:
                    continue
                if held == 0 and (gate_id or 0) not in self.mtu:
                    continue  # not said hello yet: its hello will fetch the list
                info = self.registry.by_id(gate_id or 0)
                if info is None:
                    continue
                if held not in plans:
                    plans[held] = self._plan(s, site, held, False)
                self._send_plan(s, site, info, plans[held], held)
        self.pushed[site_id] = max(version, self.pushed.get(site_id, 0))
