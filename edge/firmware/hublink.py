# The gate's conversation with the hub over MQTT: lists, acks and commands in;
# hello, check-ins, status and enroll taps out.
#
# Every payload is sealed or opened with the gate's key through protocol.envelope, and
# everything that arrives goes through protocol.downlink.Downlink, which refuses and
# counts forgeries, stale versions and replayed commands.  A snapshot is written to the
# store as its chunks verify; a delta is merged; an ack drains the outbox.  Sessions are
# clean: each connect says hello with the list version and outbox position, and the hub
# answers with the time, what the list is missing, and an ack.
#
#   hub = HubLink(gate, config)
#   while True:
#       hub.service(wait_ms)     # connect with backoff, receive, send, heartbeat

import binascii
import time

from micropython import const
from mqtt import MQTTClient, MQTTError
from store import StoreError

from protocol import envelope, messages, snapshot, topics
from protocol.downlink import Downlink
from protocol.errors import ProtocolError
from protocol.metering import check_window

FW = "gatehouse-mpy/0.1"
_HELLO_GAP_MS = const(5000)
_ENROLL_S = const(60)
_ENROLL_MAX_S = const(600)
_UNLOCK_MAX_S = const(3600)


def _seconds(args, limit):
    # args["seconds"] if it is a number in (0, limit], else None (use the default).
    value = args.get("seconds")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if 0 < value <= limit else None


def _is_chunk(payload):
    # True if an envelope's body is a binary list chunk (not JSON).
    return bytes(payload[envelope.HEAD_LEN : envelope.HEAD_LEN + 4]) == snapshot.MAGIC


def _der(ca):
    # The first certificate of PEM text (or bytes) as DER, which MicroPython's TLS reads.
    if isinstance(ca, str):
        ca = ca.encode()
    if not ca.startswith(b"-----BEGIN"):
        return ca
    body = b""
    for line in ca.split(b"\n"):
        line = line.strip()
        if line.startswith(b"-----END"):
            break
        if line and not line.startswith(b"-----"):
            body += line
    return binascii.a2b_base64(body)


def _tls_context(m):
    # TLS to the broker, verifying its certificate against the configured CA (PEM text,
    # or a PEM or DER file on the board).  Without a CA the handshake fails: a gate
    # never talks TLS to a broker it cannot verify.
    if not m.get("tls"):
        return None
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED  # type: ignore[attr-defined]  # (not in the stubs)
    ca = m.get("ca")
    if ca:
        if not ca.startswith("-----BEGIN"):
            with open(ca, "rb") as f:
                ca = f.read()
        ctx.load_verify_locations(cadata=_der(ca))
    return ctx


class HubLink:
    # gate: the Gate whose store, outbox, clock, state and door this link serves.
    # cfg: the gate's config (site, gate, mqtt, gate_key, mtu, timings).

    def __init__(self, gate, cfg, key, until=None):
        # key: the gate's MacKey, or [new, old] while a rotation's overlap runs (until).
        self.g = gate
        self._reentry = 0  # the re-entry window of the snapshot being received
        self.log = gate.log
        self.site = cfg["site"]
        self.gate_id = cfg["gate"]
        self.mtu = cfg.get("mtu", 4096)
        self.status_ms = cfg.get("status_s", 60) * 1000
        self.save_time_ms = cfg.get("save_time_s", 1800) * 1000
        self.ack_timeout_ms = cfg.get("ack_timeout_ms", 10000)
        self.batch = min(messages.MAX_BATCH, max(1, (self.mtu - 256) // 56))
        self.link = Downlink(
            key,
            self.gate_id,
            gate.outbox.sid,
            version=gate.store.version,
            last_cmd=gate.state.last_cmd,
            limit=self.mtu,
            until=until,
        )
        self.topic = {}
        for kind in topics.UP_KINDS:
            self.topic[kind] = topics.up(self.site, self.gate_id, kind)
        self._down = ("gh/v1/%s/%s/down/" % (self.site, self.gate_id)).encode()
        m = cfg["mqtt"]
        self.mqtt = MQTTClient(
            self.gate_id,
            m["host"],
            m.get("port", 1883),
            user=m.get("username"),
            password=m.get("password"),
            keepalive=cfg.get("keepalive_s", 60),
            max_packet=self.mtu + 256,
            timeout_ms=cfg.get("timeout_ms", 5000),
            tls=_tls_context(m),
        )
        self.mqtt.on_connect = self._on_connect
        self.mqtt.on_message = self._on_message
        now = time.ticks_ms()
        self._sent = gate.outbox.acked
        self._sent_at = now
        self._status_at = now
        self._time_saved_at = now
        self._hello_at = None
        self._hello_due = False

    @property
    def key(self):
        # The key to seal with: the newest held (a rekey command changes it).
        return self.link.key

    @property
    def connected(self):
        return self.mqtt.connected

    # -- messages from the hub --------------------------------------------------------

    def _on_message(self, topic, payload, retained):
        down = self._down
        if bytes(topic[: len(down)]) != down:
            self.link.count("bad_topic")
            return
        kind = bytes(topic[len(down) :]).decode()
        if payload is None:
            self.link.count("too_large")
            self.log("reject kind=%s code=too_large" % kind)
            if kind == "acl" and not self.g.store.writing:
                self._resync()  # e.g. a delta bigger than the mtu: a snapshot fits
            return
        now = self.g.clock.now()[0]
        try:
            event, value = self.link.open(kind, payload, now)
        except ProtocolError as err:
            self.log("reject kind=%s code=%s" % (kind, err.code))
            if kind == "acl" and self.g.store.writing and _is_chunk(payload):
                self._abandon()  # the snapshot being received is broken
            elif err.code == "gap":
                # a list change we cannot apply: hello again (after the snapshot being
                # received, if any) and ask for a snapshot
                if not self.g.store.writing:
                    self.link.want_snapshot = True
                self._hello_due = True
            return
        try:
            self._handle(event, value)
        except (OSError, StoreError, ValueError, KeyError) as err:
            # e.g. flash full: keep the list in force, ask again later
            self.g.errors += 1
            self.log("error handling %s: %r" % (event, err))
            self._abandon()

    def _handle(self, event, value):
        if event == "manifest":
            try:
                self._reentry = check_window(value.get("reentry"))
            except ProtocolError:
                self._reentry = 0
            self.g.store.begin(value)
            self.log("manifest v=%d n=%d chunks=%d" % (value["v"], value["n"], value["chunks"]))
        elif event == "chunk":
            self._chunk(value)
        elif event == "delta":
            if self.g.store.writing:
                # a snapshot is on its way in: finish it, then hello for what follows
                self.log("delta v=%d deferred" % value[0])
                self._hello_due = True
                return
            version, add, delete = value
            self.g.store.apply_delta(version, add, delete)
            keys = [binascii.hexlify(r[:8]).decode() for r in add]
            self.g.meter.refresh(keys, self.g.outbox.acked)
            self._applied("delta")
        elif event == "cmd":
            self._command(value)
        elif event == "ack" and self.g.outbox.ack(value):
            self.log("ack seq=%d" % value)

    def _chunk(self, records):
        asm = self.link.assembly
        if asm is None:
            return
        if records is not None and self.g.store.writing:
            self.g.store.write(records)
            self.log("chunk %d/%d" % (asm.next_index, asm.total))
        if not asm.done:
            return
        try:
            self.link.finish()
            self.g.store.commit()
        except (ProtocolError, StoreError) as err:
            self.log("snapshot refused: %s" % (err,))
            self._abandon()
            return
        self.g.meter.refresh(None, self.g.outbox.acked, self._reentry)
        self._applied("snapshot")

    def _abandon(self):
        # Drop a list being received and ask the hub for a fresh snapshot.
        self.g.store.abort()
        self.link.assembly = None
        self._resync()

    def _applied(self, how):
        self.link.applied(self.g.store.version)
        self.g.list_changed()
        self.log("list v=%d n=%d via=%s" % (self.g.store.version, self.g.store.count, how))
        self._status_at = time.ticks_add(time.ticks_ms(), -self.status_ms)

    def _command(self, cmd):
        op = cmd["op"]
        args = cmd.get("args") or {}
        if op == "time":
            self.g.clock.set(args["now"])
        self.g.state.save(cmd["n"], self.g.clock.unix())
        self.log("cmd op=%s n=%d" % (op, cmd["n"]))
        if op == "unlock":
            now, trusted = self.g.clock.now()
            flags = 0 if trusted else messages.CI_UNTRUSTED_CLOCK
            seconds = _seconds(args, _UNLOCK_MAX_S)
            self.g.unlock(now, flags, int(seconds * 1000) if seconds else None)
        elif op == "enroll":
            self.g.enroll_for(_seconds(args, _ENROLL_MAX_S) or _ENROLL_S)
        elif op == "resync":
            self._resync()
        elif op == "rekey":
            self._rekey(args)

    def _rekey(self, args):
        # A new key sealed under the one held: saved before it is used to seal.
        try:
            new = self.link.rekey_key(args)
        except ProtocolError as err:
            self.link.count(err.code)
            self.log("reject rekey code=%s" % err.code)
            return
        old = self.link.key.key
        if new != old:
            h = binascii.hexlify
            self.g.state.set_keys(h(new).decode(), h(old).decode(), args["until"])
            self.link.rotate(new, args["until"])
            self.log("rekey kid=%s" % self.link.key.kid.decode())

    def _resync(self):
        self.link.want_snapshot = True
        self._hello_due = True

    # -- messages to the hub ----------------------------------------------------------

    def _publish(self, kind, obj, qos=1, retain=False):
        self.mqtt.publish(self.topic[kind], envelope.seal_json(self.key, obj), retain, qos)

    def _status(self, state):
        now, trusted = self.g.clock.now()
        body = messages.status(
            self.gate_id,
            state,
            self.g.store.version,
            self.g.outbox.pending,
            time.ticks_diff(time.ticks_ms(), self.g.booted) // 1000,
            self.g.clock.unix(),
            trusted,
            self.link.rejected,
            FW,
        )
        body["dropped"] = self.g.outbox.dropped
        body["reader_errors"] = self.g.reader_errors
        body["door_open"] = self.g.door.is_open
        return body

    def _hello(self):
        ob = self.g.outbox
        body = messages.hello(
            self.gate_id,
            ob.sid,
            self.g.store.version,
            ob.acked,
            ob.pending,
            FW,
            self.g.clock.unix(),
            self.mtu,
            self.link.want_snapshot,
        )
        self._publish("hello", body)
        self._hello_at = time.ticks_ms()
        self._hello_due = False

    def _on_connect(self):
        # Clean session: every connect starts over, and hello says where we are.
        self.g.store.abort()
        self.link.assembly = None
        self._sent = self.g.outbox.acked
        self.mqtt.subscribe(topics.gate_subscription(self.site, self.gate_id), 1)
        self._publish("status", self._status("online"), retain=True)
        self._hello()
        self._status_at = time.ticks_ms()
        self.log("connected")

    def _refresh_will(self):
        will = envelope.seal_json(self.key, self._status("offline"))
        self.mqtt.set_last_will(self.topic["status"], will, True, 1)

    def _flush(self, now):
        # Send the next batch of pending check-ins; resend if the ack is overdue.
        ob = self.g.outbox
        if self._sent < ob.acked:
            self._sent = ob.acked
        if self._sent > ob.acked and time.ticks_diff(now, self._sent_at) > self.ack_timeout_ms:
            self._sent = ob.acked
        if self._sent >= ob.last or self._sent - ob.acked >= 4 * self.batch:
            return
        if len(self.mqtt.inflight) >= self.mqtt.max_inflight:
            return
        entries = ob.entries(self._sent + 1, self.batch)
        if not entries:
            return
        self._publish("checkin", messages.checkin_batch(self.gate_id, ob.sid, entries))
        self._sent = entries[-1][0]
        self._sent_at = now

    def _uplink(self, now):
        if (
            self._hello_due
            and not self.g.store.writing
            and (self._hello_at is None or time.ticks_diff(now, self._hello_at) >= _HELLO_GAP_MS)
        ):
            self._hello()
        self._flush(now)
        if time.ticks_diff(now, self._status_at) >= self.status_ms:
            self._status_at = now
            self._publish("status", self._status("online"), retain=True)
        if time.ticks_diff(now, self._time_saved_at) >= self.save_time_ms:
            self._time_saved_at = now
            t = self.g.clock.unix(now)
            if t is not None:
                self.g.state.save(self.g.state.last_cmd, t)

    def enroll(self, uid):
        # Send a UID read in enroll mode to the hub (nothing is decided).
        if self.mqtt.connected:
            now = self.g.clock.now()[0]
            self._publish("enroll", messages.enroll(self.gate_id, uid, now), qos=1)

    def service(self, wait_ms):
        # Connect when due, handle what arrived (waiting up to wait_ms), send what is
        # due.  Returns True while connected.
        mqtt = self.mqtt
        if not mqtt.connected and mqtt.retry_in() == 0:
            self._refresh_will()
        was = mqtt.connected
        if mqtt.service(wait_ms):
            try:
                self._uplink(time.ticks_ms())
            except (OSError, MQTTError) as err:
                mqtt.fail(err)
        if was and not mqtt.connected:
            self.g.store.abort()
            self.link.assembly = None
            self.log("disconnected %r" % (mqtt.last_error,))
        return mqtt.connected

    def close(self):
        self.mqtt.disconnect()
