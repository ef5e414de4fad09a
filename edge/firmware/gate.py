# The gate: taps in, decisions, door - and the loop that also runs its hub link.
#
# Gate.step() is the whole scheduler: poll the reader, decide a tap from the flash list,
# record the check-in, pulse the door, then service the link to the hub (hublink.py:
# connect with backoff, handle what the hub sent, send pending check-ins, heartbeat).
# Nothing in a pass blocks for longer than the MQTT timeout; the wait between passes is
# the socket poll, cut short when the door or the reader needs attention.
#
#   gate = Gate(config, reader, door)
#   gate.run()                        # forever; main.py does this on a board
#
# reader: an object with read_uid() -> UID bytes or None, halt() and init()
# (mfrc522.MFRC522).  door: a door.Door.  log: takes one line of text (print by default).

import binascii
import gc
import time

from clock import Clock
from hublink import HubLink
from meter import Meter
from micropython import const
from outbox import Outbox
from state import State
from store import Store

from protocol import messages
from protocol.cardkey import card_key
from protocol.decision import GRANTED, NO_LIST, REASONS, REMOTE, decide
from protocol.errors import ProtocolError
from protocol.mac import MacKey
from protocol.metering import reentry_until, visits_left
from protocol.schedule import Schedules

_PASSBACK_SLOTS = const(32)
_METERED = const(4)


class Gate:
    def __init__(self, cfg, reader, door, root=None, log=None):
        self.cfg = cfg
        self.reader = reader
        self.door = door
        self.log = log or print
        self.zone = cfg.get("zone", 0)
        self.poll_ms = cfg.get("poll_ms", 50)
        self.reader_ms = cfg.get("reader_ms", 50)
        self.hold_ms = cfg.get("hold_ms", 1500)
        self.passback_s = cfg.get("passback_s", 0)
        self.card_secret = MacKey(binascii.unhexlify(cfg["card_secret"]))
        if root is None:
            root = cfg.get("data_dir", "")
        self.store = Store(root, verify=cfg.get("verify_list", True))
        self.outbox = Outbox(root, cfg.get("outbox_capacity", 4096))
        self.state = State(root)
        self.meter = Meter(root)
        self.clock = Clock()
        self.clock.raise_floor(max(self.store.issued, self.state.time))
        self.schedules = self._load_schedules()
        self.booted = time.ticks_ms()
        self.errors = 0
        self.taps = 0
        self.reader_errors = 0
        self._reader_failing = 0
        self._enroll_until = None
        self._next_read = self.booted
        self._last_uid = None
        self._last_seen = 0
        self._admits = {}
        st = self.state
        keys = [MacKey(binascii.unhexlify(st.key or cfg["gate_key"]))]
        if st.key and st.old:
            keys.append(MacKey(binascii.unhexlify(st.old)))
        self.hub = HubLink(self, cfg, keys, st.until)
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
        rflags = 0
        if self.store.version == 0:
            allow, reason = False, NO_LIST
        else:
            last = self._admits.get(key) if self.passback_s else None
            rec = self.store.find(key)
            left = until = None
            if rec is not None:
                rflags = rec[15]
            if rflags & _METERED:
                # visits left after those admitted here since the record was made
                used, start = self.meter.get(key)
                left = visits_left(rflags, used)
                until = reentry_until(start, rflags, self.meter.reentry_s, self.schedules)
            allow, reason = decide(
                rec, now, self.zone, self.schedules, last, self.passback_s, left, until
            )
        flags = 0 if trusted else messages.CI_UNTRUSTED_CLOCK
        if not self.hub.connected:
            flags |= messages.CI_OFFLINE
        seq = self.outbox.append(now, key, reason, self.store.version, flags)
        if reason == GRANTED and rflags & _METERED:
            self.meter.visit(key, now, seq)
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
        self.hub.enroll(uid)
        return False, None, 0

    # -- what the hub asks for --------------------------------------------------------

    def list_changed(self):
        # A new list is in force: its schedules and issue time apply from now on.
        self.schedules = self._load_schedules()
        self.clock.raise_floor(self.store.issued)

    def unlock(self, now, flags, ms=None):
        # Remote unlock: recorded like a tap (reason "remote"), then the door opens for
        # ms (default: the configured pulse).
        seq = self.outbox.append(now, None, REMOTE, self.store.version, flags)
        self.door.grant(None, ms)
        self.log("unlock ms=%d seq=%d" % (ms or self.door.pulse_ms, seq))

    def enroll_for(self, seconds):
        # The next tap within seconds is sent to the hub as a UID, not decided.
        self._enroll_until = time.ticks_add(time.ticks_ms(), int(seconds * 1000))

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
        now = time.ticks_ms()
        wait = min(
            self.poll_ms, self.door.due_in(now), max(0, time.ticks_diff(self._next_read, now))
        )
        self.hub.service(wait)

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
        self.hub.close()
        self.door.lock()
        self.store.close()
        self.outbox.close()
