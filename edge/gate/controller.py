"""Tap in, decision out: the gate's door logic.

:class:`GateController` turns a card UID into a decision and its effects, in the order
that loses nothing:

1. UID -> :func:`protocol.cardkey.card_key` -> record lookup in the local list;
2. :func:`protocol.decision.decide` with the trusted time (:mod:`edge.gate.timekeeping`);
3. the check-in (allow or deny, with its reason code) is committed to the outbox;
4. only then the relay pulses (or the red LED and buzzer refuse).

If step 3 fails (the store's disk is full), the door refuses and the error is raised:
no opening is ever unrecorded.

A card held on the reader is read again and again; reads of the same UID within
*debounce_s* of its last read are ignored, so holding a card makes one check-in::

    gate = GateController(store, door, card_secret, zone=0, clock=GateClock(clock))
    decision = gate.handle_uid(bytes.fromhex("04a1b2c3"))
    decision.allow, REASONS[decision.reason], decision.seq

Door events become check-ins too, with no card key: the exit button (``exit``), a
forced door (``forced``) and a door held open (``held_open``).

Metered cards (``FLAG_METERED``: visit packs, pay-per-visit, day passes) carry the
visits left when the hub published their record.  The gate subtracts the visits it
admitted since (:meth:`GateStore.metered`), refuses at zero with ``no_visits``, and
admits a tap within the site's re-entry window of the visit's first entry as
``reentry`` without using a visit (:mod:`protocol.metering`).  Every admission is a
check-in, so the hub counts the same visits from the log.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from edge.gate.door import Door
from edge.gate.store import GateStore
from edge.gate.timekeeping import GateClock
from protocol import decision as rules
from protocol.cardkey import card_key
from protocol.messages import CI_OFFLINE, CI_UNTRUSTED_CLOCK
from protocol.metering import reentry_until, visits_left
from protocol.records import FLAG_METERED, FLAG_PASSBACK, FORMAT

log = logging.getLogger(__name__)

_SEEN_PRUNE_AT = 256


class Decision(NamedTuple):
    """What happened to one tap (or door event)."""

    seq: int
    allow: bool
    reason: int
    trusted: bool

    @property
    def reason_name(self) -> str:
        return rules.REASONS[self.reason]


class GateController:
    """Decides taps from the local store and drives the door.

    :param store: the :class:`~edge.gate.store.GateStore`.
    :param door: the :class:`~edge.gate.door.Door`.
    :param card_secret: the site's card secret (bytes).
    :param zone: this door's zone, 0-15.
    :param clock: a :class:`~edge.gate.timekeeping.GateClock`.
    :param debounce_s: repeats of one card within this many seconds are ignored.
    :param enroll_timeout_s: how long enroll mode waits for a tap.
    :param monotonic: seconds that never go back (debounce, enroll timeout).
    :param online: returns True while the hub link is up (flags offline decisions).
    """

    def __init__(
        self,
        store: GateStore,
        door: Door,
        card_secret: bytes,
        zone: int,
        clock: GateClock,
        debounce_s: float = 3.0,
        enroll_timeout_s: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
        online: Callable[[], bool] = lambda: False,
    ) -> None:
        self.store = store
        self.door = door
        self.card_secret = card_secret
        self.zone = zone
        self.clock = clock
        self.debounce_s = debounce_s
        self.enroll_timeout_s = enroll_timeout_s
        self.monotonic = monotonic
        self.online = online
        self.when_checkin: Callable[[Decision], None] | None = None
        self.when_enroll: Callable[[bytes, int], None] | None = None
        self.counts: dict[str, int] = {}
        self._seen: dict[bytes, float] = {}
        self._enroll_until: float | None = None
        self._lock = threading.RLock()
        door.when_exit = self.exit_pressed
        door.when_forced = lambda: self.record_event(rules.FORCED)
        door.when_held_open = lambda: self.record_event(rules.HELD_OPEN)
        clock.raise_floor(store.issued)

    # -- taps --------------------------------------------------------------------------
    def _debounced(self, uid: bytes, now: float) -> bool:
        last = self._seen.get(uid)
        self._seen[uid] = now
        if len(self._seen) > _SEEN_PRUNE_AT:
            cutoff = now - self.debounce_s
            self._seen = {u: t for u, t in self._seen.items() if t >= cutoff}
        return last is not None and 0 <= now - last < self.debounce_s

    @property
    def enrolling(self) -> bool:
        """True while the next tap goes to enrolment instead of a decision."""
        until = self._enroll_until
        return until is not None and self.monotonic() < until

    def start_enroll(self, seconds: float | None = None) -> None:
        """Send the next tap (within *seconds*) to ``up/enroll`` instead of deciding."""
        with self._lock:
            self._enroll_until = self.monotonic() + (seconds or self.enroll_timeout_s)

    def handle_uid(self, uid: bytes) -> Decision | None:
        """Decide one read of *uid*; ``None`` if debounced or captured for enrolment."""
        with self._lock:
            if self._debounced(uid, self.monotonic()):
                self._count("debounced")
                return None
            if self.enrolling:
                self._enroll_until = None
                now, _trusted = self.clock.now()
                self._count("enrolled")
                self.door.signal_enroll()
                if self.when_enroll is not None:
                    self.when_enroll(uid, now)
                return None
            return self._decide(uid)

    def _decide(self, uid: bytes) -> Decision:
        key = card_key(self.card_secret, uid)
        now, trusted = self.clock.now()
        store = self.store
        if store.version == 0:
            allow, reason, record, rflags = False, rules.NO_LIST, None, 0
        else:
            record = store.lookup(key)
            last_admit = None
            passback = False
            rflags = struct.unpack(FORMAT, record)[4] if record is not None else 0
            if record is not None and store.passback_s > 0:
                passback = bool(rflags & FLAG_PASSBACK)
                if passback:
                    last_admit = store.last_admit(key)
            remaining = until = None
            if rflags & FLAG_METERED:
                used, start = store.metered(key)
                remaining = visits_left(rflags, used)
                until = reentry_until(start, rflags, store.reentry_s, store.schedules)
            allow, reason = rules.decide(
                record, now, self.zone, store.schedules, last_admit, store.passback_s,
                remaining, until,
            )  # fmt: skip
        flags = self._flags(trusted)
        visit = reason == rules.GRANTED and bool(rflags & FLAG_METERED)
        try:
            seq = store.record(
                now, key, reason, flags, admitted=allow and record is not None, visit=visit
            )
        except Exception:
            # The store cannot take the check-in (a full disk, an I/O error): the door
            # stays shut, since an opening nobody can account for is worse than a
            # refusal the member can retry.  The caller hears the error.
            self._count("not_recorded")
            self.door.refuse()
            raise
        if allow:
            self.door.grant()
        else:
            self.door.refuse()
        return self._done(Decision(seq, allow, reason, trusted))

    def _flags(self, trusted: bool) -> int:
        flags = 0 if trusted else CI_UNTRUSTED_CLOCK
        if not self.online():
            flags |= CI_OFFLINE
        return flags

    def _done(self, decision: Decision) -> Decision:
        self._count(decision.reason_name)
        if self.when_checkin is not None:
            try:
                self.when_checkin(decision)
            except Exception:
                log.exception("check-in listener failed")
        return decision

    def _count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    # -- door events and commands ------------------------------------------------------
    def remote_unlock(self, command: int | None = None, pulse_ms: int | None = None) -> Decision:
        """Open the door for a hub command; recorded (with the command number) first."""
        with self._lock:
            now, trusted = self.clock.now()
            seq = self.store.record(now, None, rules.REMOTE, self._flags(trusted), command=command)
            self.door.grant(pulse_ms)
            return self._done(Decision(seq, True, rules.REMOTE, trusted))

    def exit_pressed(self) -> Decision:
        """The exit button: record the event, then open the door."""
        with self._lock:
            now, trusted = self.clock.now()
            seq = self.store.record(now, None, rules.EXIT, self._flags(trusted))
            self.door.grant()
            return self._done(Decision(seq, True, rules.EXIT, trusted))

    def record_event(self, reason: int) -> Decision:
        """Record a door alarm (``forced``, ``held_open``) as a check-in with no card."""
        with self._lock:
            now, trusted = self.clock.now()
            seq = self.store.record(now, None, reason, self._flags(trusted))
            return self._done(Decision(seq, False, reason, trusted))

    def __repr__(self) -> str:
        return f"<GateController zone={self.zone} v{self.store.version} seq={self.store.last_seq}>"
