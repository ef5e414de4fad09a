# The door: relay, green and red LEDs, buzzer and an optional door contact.
#
# Takes pin objects with value() (machine.Pin on a board), so it never touches the
# hardware layer itself.  Nothing here blocks: grant() and deny() switch outputs on and
# note when to switch them off; service() (called every loop pass) does that once
# time.ticks_ms() says so.  The relay is off at start: a gate that reboots keeps the
# door locked (fail-secure).
#
#   door = Door(relay=Pin(26, Pin.OUT), green=Pin(25, Pin.OUT), pulse_ms=3000)
#   door.grant()
#   while True:
#       door.service()
#
# active_low: relay modules that switch on a low input (most opto-isolated boards).

import time

from micropython import const

_BEEP_GRANT = (80,)
_BEEP_DENY = (120, 80, 120, 80, 120)
_FOREVER = const(0x3FFFFFFF)


class _Output:
    # One output pin with an optional timed end.
    def __init__(self, pin, active_low=False):
        self.pin = pin
        self.on_level = 0 if active_low else 1
        self.is_on = False
        self.until = None
        self.set(False)

    def set(self, on):
        self.is_on = on
        if self.pin is not None:
            self.pin.value(self.on_level if on else 1 - self.on_level)

    def pulse(self, ms, now):
        self.set(True)
        self.until = time.ticks_add(now, ms)

    def service(self, now):
        if self.until is not None and time.ticks_diff(now, self.until) >= 0:
            self.until = None
            self.set(False)

    def due_in(self, now):
        if self.until is None:
            return _FOREVER
        return max(0, time.ticks_diff(self.until, now))


class Door:
    def __init__(
        self,
        relay=None,
        green=None,
        red=None,
        buzzer=None,
        contact=None,
        pulse_ms=3000,
        deny_ms=1000,
        relay_active_low=False,
        contact_open_level=1,
    ):
        self.relay = _Output(relay, relay_active_low)
        self.green = _Output(green)
        self.red = _Output(red)
        self.buzzer = _Output(buzzer)
        self.contact = contact
        self.contact_open_level = contact_open_level
        self.pulse_ms = pulse_ms
        self.deny_ms = deny_ms
        self.grants = 0
        self.denials = 0
        self._beeps = ()
        self._beep_i = 0

    def _beep(self, pattern, now):
        # Patterns alternate on and off durations in ms, starting with on.
        self._beeps = pattern
        self._beep_i = 0
        self.buzzer.pulse(pattern[0], now)

    def grant(self, now=None, ms=None):
        # Unlock for ms (default pulse_ms), green LED on meanwhile, one short beep.
        if now is None:
            now = time.ticks_ms()
        if ms is None:
            ms = self.pulse_ms
        self.grants += 1
        self.red.set(False)
        self.red.until = None
        self.relay.pulse(ms, now)
        self.green.pulse(ms, now)
        self._beep(_BEEP_GRANT, now)

    def deny(self, now=None):
        # Stay locked; red LED for deny_ms and three beeps.
        if now is None:
            now = time.ticks_ms()
        self.denials += 1
        self.red.pulse(self.deny_ms, now)
        self._beep(_BEEP_DENY, now)

    def lock(self):
        # Lock at once (e.g. on shutdown).
        for out in (self.relay, self.green, self.red, self.buzzer):
            out.until = None
            out.set(False)
        self._beeps = ()

    def service(self, now=None):
        if now is None:
            now = time.ticks_ms()
        self.relay.service(now)
        self.green.service(now)
        self.red.service(now)
        b = self.buzzer
        if b.until is not None and time.ticks_diff(now, b.until) >= 0:
            i = self._beep_i + 1
            if i < len(self._beeps):
                # the next step starts when the last one was due, not when noticed
                start = b.until
                self._beep_i = i
                b.set(i % 2 == 0)
                b.until = time.ticks_add(start, self._beeps[i])
            else:
                b.until = None
                b.set(False)

    def due_in(self, now=None):
        # ms until service() has something to do (for the loop's wait).
        if now is None:
            now = time.ticks_ms()
        return min(
            self.relay.due_in(now),
            self.green.due_in(now),
            self.red.due_in(now),
            self.buzzer.due_in(now),
        )

    @property
    def is_unlocked(self):
        return self.relay.is_on

    @property
    def is_open(self):
        # True/False from the door contact, None without one.
        if self.contact is None:
            return None
        return self.contact.value() == self.contact_open_level

    def __repr__(self):
        return "<Door %s>" % ("unlocked" if self.is_unlocked else "locked")
