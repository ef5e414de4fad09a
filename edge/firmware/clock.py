# Unix time on a board whose real-time clock starts from nothing at every boot.
#
# Some ports count from 2000, others from 1970, and neither knows the date until told.
# The gate takes unix time from the hub's time command (or NTP) and counts forward with
# time.ticks_ms(); it never trusts the board's RTC.  Until it is told, decisions use a
# floor - the newest list's issue time, or the last time saved before a reboot - counted
# forward the same way: protocol.decision.trusted_now() picks the later of the two and
# says whether it is trusted.
#
#   clock = Clock()
#   clock.raise_floor(list_issued)
#   clock.set(hub_now)
#   now, trusted = clock.now()

import time

from protocol.decision import trusted_now

_REBASE_MS = 600000  # fold elapsed ticks into the base well before ticks_ms wraps


class _Count:
    # Unix seconds at a ticks_ms() mark, counted forward.
    def __init__(self, unix, ticks):
        self.unix = unix
        self.ticks = ticks

    def at(self, now_ms):
        elapsed = time.ticks_diff(now_ms, self.ticks)
        if elapsed >= _REBASE_MS:
            whole = elapsed // 1000
            self.unix += whole
            self.ticks = time.ticks_add(self.ticks, whole * 1000)
            elapsed -= whole * 1000
        return self.unix + elapsed // 1000


class Clock:
    def __init__(self):
        self._time = None
        self._floor = _Count(0, time.ticks_ms())

    def set(self, unix, now_ms=None):
        # Unix time from a trusted source (the hub's time command, NTP).
        if now_ms is None:
            now_ms = time.ticks_ms()
        self._time = _Count(unix, now_ms)

    def raise_floor(self, unix, now_ms=None):
        # The gate knows it is at least unix (a list's issue time, a saved time).
        if now_ms is None:
            now_ms = time.ticks_ms()
        if unix > self._floor.at(now_ms):
            self._floor = _Count(unix, now_ms)

    def unix(self, now_ms=None):
        # Time from the trusted source counted forward, or None if never told.
        if self._time is None:
            return None
        if now_ms is None:
            now_ms = time.ticks_ms()
        return self._time.at(now_ms)

    def floor(self, now_ms=None):
        if now_ms is None:
            now_ms = time.ticks_ms()
        return self._floor.at(now_ms)

    def now(self, now_ms=None):
        # (now, trusted) to decide with; see protocol.decision.trusted_now.
        if now_ms is None:
            now_ms = time.ticks_ms()
        return trusted_now(self.unix(now_ms), self.floor(now_ms))
