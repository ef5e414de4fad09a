# The gate: taps in, decisions, door, check-ins out, lists in - one pass at a time.
#
# Gate.step() is the whole scheduler: poll the reader, decide a tap from the flash list,
# record the check-in, pulse the door, then service MQTT (connect with backoff, handle
# what the hub sent, send pending check-ins, heartbeat).  Nothing in a pass blocks for
# longer than the MQTT timeout; the wait between passes is the socket poll, cut short
# when the door or the reader needs attention.
#
#   gate = Gate(config, reader, door)
#   gate.run()                        # forever; main.py does this on a board
#
# reader: an object with read_uid() -> UID bytes or None (mfrc522.MFRC522).
# door: a door.Door.  log: a function taking one line of text (print by default).

import binascii
import gc
import json
import time

import files
from clock import Clock
from micropython import const
from mqtt import MQTTClient, MQTTError
from outbox import Outbox
from store import Store, StoreError

from protocol import envelope, messages, snapshot, topics
from protocol.cardkey import card_key
from protocol.decision import NO_LIST, REASONS, REMOTE, decide
from protocol.downlink import Downlink
from protocol.errors import ProtocolError
from protocol.mac import MacKey
from protocol.schedule import Schedules

FW = "gatehouse-mpy/0.1"
_STATE = "state.json"
_HELLO_GAP_MS = const(5000)
_PASSBACK_SLOTS = const(32)
_ENROLL_MAX_S = const(600)


def _is_chunk(payload):
    # True if an envelope's body is a binary list chunk (not JSON).
    return bytes(payload[envelope.HEAD_LEN : envelope.HEAD_LEN + 4]) == snapshot.MAGIC


def _state_ok(data):
    try:
        obj = json.loads(data)
    except ValueError:
        return False
    return isinstance(obj, dict) and "cmd" in obj


class State:
    # The little the gate keeps besides list and outbox: the last command number
    # accepted (so an old command cannot be replayed after a reboot) and the last
    # trusted time seen (a floor for the clock after a reboot).

    def __init__(self, root):
        self.path = files.join(root, _STATE)
        data = files.read_either(self.path, _state_ok)
        obj = json.loads(data) if data else {}
        self.last_cmd = obj.get("cmd", 0)
        self.time = obj.get("time", 0)

    def save(self, last_cmd, now):
        self.last_cmd = last_cmd
        if now is not None and now > self.time:
            self.time = now
        files.write_atomic(self.path, json.dumps({"cmd": self.last_cmd, "time": self.time}))


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


class Gate:
    def __init__(self, cfg, reader, door, root=None, log=None):
        self.cfg = cfg
        self.reader = reader
        self.door = door
        self.log = log or print
        self.site = cfg["site"]
        self.gate = cfg["gate"]
        self.zone = cfg.get("zone", 0)
        self.mtu = cfg.get("mtu", 4096)
        self.poll_ms = cfg.get("poll_ms", 50)
        self.reader_ms = cfg.get("reader_ms", 50)
        self.hold_ms = cfg.get("hold_ms", 1500)
        self.status_ms = cfg.get("status_s", 60) * 1000
        self.save_time_ms = cfg.get("save_time_s", 1800) * 1000
        self.ack_timeout_ms = cfg.get("ack_timeout_ms", 10000)
        self.passback_s = cfg.get("passback_s", 0)
        self.batch = min(messages.MAX_BATCH, max(1, (self.mtu - 256) // 56))
        self.key = MacKey(binascii.unhexlify(cfg["gate_key"]))
        self.card_secret = MacKey(binascii.unhexlify(cfg["card_secret"]))
        if root is None:
            root = cfg.get("data_dir", "")
        self.store = Store(root, verify=cfg.get("verify_list", True))
        self.outbox = Outbox(root, cfg.get("outbox_capacity", 4096))
        self.state = State(root)
        self.clock = Clock()
        self.clock.raise_floor(max(self.store.issued, self.state.time))
        self.link = Downlink(
            self.key,
            self.gate,
            self.outbox.sid,
            version=self.store.version,
            last_cmd=self.state.last_cmd,
            limit=self.mtu,
        )
        self.schedules = self._load_schedules()
        self.topic = {}
        for kind in topics.UP_KINDS:
            self.topic[kind] = topics.up(self.site, self.gate, kind)
        self._down = ("gh/v1/%s/%s/down/" % (self.site, self.gate)).encode()
        m = cfg["mqtt"]
        self.mqtt = MQTTClient(
            self.gate,
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
        self.booted = time.ticks_ms()
        self.errors = 0
        self.taps = 0
        self.reader_errors = 0
        self._reader_failing = 0
        self._sent = self.outbox.acked
        self._sent_at = 0
        self._status_at = self.booted
        self._time_saved_at = self.booted
        self._hello_at = None
        self._hello_due = False
        self._enroll_until = None
        self._next_read = self.booted
        self._last_uid = None
        self._last_seen = 0
        self._admits = {}
        self.log(
            "boot sid=%s v=%d n=%d acked=%d last=%d torn=%d discarded=%d"
            % (
                self.outbox.sid,
                self.store.version,
                self.store.count,
                self.outbox.acked,
                self.outbox.last,
                self.outbox.torn,
                self.store.discarded,
            )
        )

    def _load_schedules(self):
        try:
            return Schedules.from_json(self.store.schedules())
        except (ValueError, ProtocolError):
            self.log("schedules unreadable: none apply")
            return Schedules()

    # -- taps -------------------------------------------------------------------------

    def _read_reader(self, now):
        reader = self.reader
        try:
            uid = reader.read_uid()
            if uid is not None:
                uid = bytes(uid)
                reader.halt()  # quiet until the card leaves the field and returns
            self._reader_failing = 0
        except Exception as err:  # a flaky reader never stops the gate
            self.reader_errors += 1
            self._reader_failing += 1
            if self._reader_failing % 20 == 1:
                self.log("reader error %r" % (err,))
            if self._reader_failing % 20 == 0:
                self._reinit_reader()
            return None
        if uid is None:
            return None
        if len(uid) not in (4, 7, 10):
            self.reader_errors += 1
            return None
        if uid == self._last_uid and time.ticks_diff(now, self._last_seen) < self.hold_ms:
            self._last_seen = now  # the same card again at once: still one tap
            return None
        self._last_uid = uid
        self._last_seen = now
        return uid

    def _reinit_reader(self):
        try:
            self.reader.init()
        except Exception as err:
            self.log("reader init failed %r" % (err,))

    def tap(self, uid, now_ms=None):
        # Decide one card, record it, then move the door.  Returns (allow, reason, seq).
        if now_ms is None:
            now_ms = time.ticks_ms()
        self.taps += 1
        if self._enroll_until is not None:
            if time.ticks_diff(self._enroll_until, now_ms) > 0:
                self._enroll_until = None
                return self._enroll(uid)
            self._enroll_until = None
        key = card_key(self.card_secret, uid)
        now, trusted = self.clock.now(now_ms)
        if self.store.version == 0:
            allow, reason = False, NO_LIST
        else:
            last = self._admits.get(key) if self.passback_s else None
            allow, reason = decide(
                self.store.find(key), now, self.zone, self.schedules, last, self.passback_s
            )
        flags = 0 if trusted else messages.CI_UNTRUSTED_CLOCK
        if not self.mqtt.connected:
            flags |= messages.CI_OFFLINE
        seq = self.outbox.append(now, key, reason, self.store.version, flags)
        if allow:
            self.door.grant(now_ms)
            if self.passback_s:
                if len(self._admits) >= _PASSBACK_SLOTS:
                    self._admits.pop(next(iter(self._admits)))
                self._admits[key] = now
        else:
            self.door.deny(now_ms)
        self.log(
            "tap uid=%s allow=%d reason=%s seq=%d"
            % (binascii.hexlify(uid).decode(), allow, REASONS[reason], seq)
        )
        return allow, reason, seq

    def _enroll(self, uid):
        self.log("enroll uid=%s" % binascii.hexlify(uid).decode())
        if self.mqtt.connected:
            now = self.clock.now()[0]
            self._publish("enroll", messages.enroll(self.gate, uid, now), qos=1)
        return False, None, 0

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
            if kind == "acl" and not self.store.writing:
                self._resync()  # e.g. a delta bigger than the mtu: a snapshot fits
            return
        now = self.clock.now()[0]
        try:
            event, value = self.link.open(kind, payload, now)
        except ProtocolError as err:
            self.log("reject kind=%s code=%s" % (kind, err.code))
            if kind == "acl" and self.store.writing and _is_chunk(payload):
                self._abandon()  # the snapshot being received is broken
            elif err.code == "gap":
                # a list change we cannot apply: hello again (after the snapshot being
                # received, if any) and ask for a snapshot
                if not self.store.writing:
                    self.link.want_snapshot = True
                self._hello_due = True
            return
        try:
            self._handle(event, value)
        except (OSError, StoreError, ValueError, KeyError) as err:
            # e.g. flash full: keep the list in force, ask again later
            self.errors += 1
            self.log("error handling %s: %r" % (event, err))
            self._abandon()

    def _handle(self, event, value):
        if event == "manifest":
            self.store.begin(value)
            self.log("manifest v=%d n=%d chunks=%d" % (value["v"], value["n"], value["chunks"]))
        elif event == "chunk":
            self._chunk(value)
        elif event == "delta":
            if self.store.writing:
                # a snapshot is on its way in: finish it, then hello for what follows
                self.log("delta v=%d deferred" % value[0])
                self._hello_due = True
                return
            version, add, delete = value
            self.store.apply_delta(version, add, delete)
            self._applied("delta")
        elif event == "cmd":
            self._command(value)
        elif event == "ack" and self.outbox.ack(value):
            self.log("ack seq=%d" % value)

    def _chunk(self, records):
        asm = self.link.assembly
        if asm is None:
            return
        if records is not None and self.store.writing:
            self.store.write(records)
            self.log("chunk %d/%d" % (asm.next_index, asm.total))
        if not asm.done:
            return
        try:
            self.link.finish()
            self.store.commit()
        except (ProtocolError, StoreError) as err:
            self.log("snapshot refused: %s" % (err,))
            self._abandon()
            return
        self._applied("snapshot")

    def _abandon(self):
        # Drop a list being received and ask the hub for a fresh snapshot.
        self.store.abort()
        self.link.assembly = None
        self._resync()

    def _applied(self, how):
        self.link.applied(self.store.version)
        self.schedules = self._load_schedules()
        self.clock.raise_floor(self.store.issued)
        self.log("list v=%d n=%d via=%s" % (self.store.version, self.store.count, how))
        self._status_at = time.ticks_add(time.ticks_ms(), -self.status_ms)

    def _command(self, cmd):
        op = cmd["op"]
        args = cmd.get("args") or {}
        if op == "time":
            self.clock.set(args["now"])
        self.state.save(cmd["n"], self.clock.unix())
        self.log("cmd op=%s n=%d" % (op, cmd["n"]))
        if op == "unlock":
            now, trusted = self.clock.now()
            flags = 0 if trusted else messages.CI_UNTRUSTED_CLOCK
            self.outbox.append(now, None, REMOTE, self.store.version, flags)
            self.door.grant()
        elif op == "enroll":
            seconds = args.get("s", 60)
            if not isinstance(seconds, int) or seconds <= 0:
                seconds = 60
            self._enroll_until = time.ticks_add(time.ticks_ms(), min(seconds, _ENROLL_MAX_S) * 1000)
        elif op == "resync":
            self._resync()

    def _resync(self):
        self.link.want_snapshot = True
        self._hello_due = True

    # -- messages to the hub ----------------------------------------------------------

    def _publish(self, kind, obj, qos=1, retain=False):
        self.mqtt.publish(self.topic[kind], envelope.seal_json(self.key, obj), retain, qos)

    def _status(self, state):
        now, trusted = self.clock.now()
        body = messages.status(
            self.gate,
            state,
            self.store.version,
            self.outbox.pending,
            time.ticks_diff(time.ticks_ms(), self.booted) // 1000,
            self.clock.unix(),
            trusted,
            self.link.rejected,
            FW,
        )
        body["dropped"] = self.outbox.dropped
        body["reader_errors"] = self.reader_errors
        body["door_open"] = self.door.is_open
        return body

    def _hello(self):
        ob = self.outbox
        body = messages.hello(
            self.gate,
            ob.sid,
            self.store.version,
            ob.acked,
            ob.pending,
            FW,
            self.clock.unix(),
            self.mtu,
            self.link.want_snapshot,
        )
        self._publish("hello", body)
        self._hello_at = time.ticks_ms()
        self._hello_due = False

    def _on_connect(self):
        # Clean session: every connect starts over, and hello says where we are.
        self.store.abort()
        self.link.assembly = None
        self._sent = self.outbox.acked
        self.mqtt.subscribe(topics.gate_subscription(self.site, self.gate), 1)
        self._publish("status", self._status("online"), retain=True)
        self._hello()
        self._status_at = time.ticks_ms()
        self.log("connected")

    def _refresh_will(self):
        will = envelope.seal_json(self.key, self._status("offline"))
        self.mqtt.set_last_will(self.topic["status"], will, True, 1)

    def _flush(self, now):
        # Send the next batch of pending check-ins; resend if the ack is overdue.
        ob = self.outbox
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
        self._publish("checkin", messages.checkin_batch(self.gate, ob.sid, entries))
        self._sent = entries[-1][0]
        self._sent_at = now

    def _uplink(self, now):
        if (
            self._hello_due
            and not self.store.writing
            and (self._hello_at is None or time.ticks_diff(now, self._hello_at) >= _HELLO_GAP_MS)
        ):
            self._hello()
        self._flush(now)
        if time.ticks_diff(now, self._status_at) >= self.status_ms:
            self._status_at = now
            self._publish("status", self._status("online"), retain=True)
        if time.ticks_diff(now, self._time_saved_at) >= self.save_time_ms:
            self._time_saved_at = now
            t = self.clock.unix(now)
            if t is not None:
                self.state.save(self.state.last_cmd, t)

    # -- the loop -----------------------------------------------------------------------

    def step(self):
        # One pass of the scheduler; waits at most poll_ms.
        now = time.ticks_ms()
        if time.ticks_diff(now, self._next_read) >= 0:
            self._next_read = time.ticks_add(now, self.reader_ms)
            uid = self._read_reader(now)
            if uid is not None:
                self.tap(uid, now)
        self.door.service()
        mqtt = self.mqtt
        if not mqtt.connected and mqtt.retry_in() == 0:
            self._refresh_will()
        now = time.ticks_ms()
        wait = min(
            self.poll_ms, self.door.due_in(now), max(0, time.ticks_diff(self._next_read, now))
        )
        was = mqtt.connected
        if mqtt.service(wait):
            try:
                self._uplink(time.ticks_ms())
            except (OSError, MQTTError) as err:
                mqtt.fail(err)
        if was and not mqtt.connected:
            self.store.abort()
            self.link.assembly = None
            self.log("disconnected %r" % (mqtt.last_error,))

    def run(self, wdt=None):
        # Forever.  An error in one pass is logged and counted; the door keeps working.
        while True:
            try:
                self.step()
            except MemoryError:
                gc.collect()
                self.errors += 1
            except Exception as err:
                self.errors += 1
                self.log("error %r" % (err,))
                time.sleep_ms(100)
            if wdt is not None:
                wdt.feed()

    def close(self):
        self.mqtt.disconnect()
        self.door.lock()
        self.store.close()
        self.outbox.close()
