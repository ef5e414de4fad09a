"""The door: lock relay, green and red LEDs, buzzer, door contact and exit button.

:class:`Door` is composed of gpiozero devices, so it runs on a Pi (lgpio pins) and in
tests (``MockFactory`` pins) alike::

    from gpiozero.pins.mock import MockFactory
    door = Door(DoorPins(relay=17, green=27, red=22, buzzer=23, door_sensor=5,
                         exit_button=6), pulse_ms=3000, pin_factory=MockFactory())
    door.grant()          # relay releases the lock for 3 s, green LED on, one beep
    door.refuse()         # red LED for 1 s, three short beeps

Wiring (BCM numbers are defaults; see ``hardware/pi/``): the relay board's input on
``relay``; LEDs through 330 ohm resistors to ground; an active buzzer on ``buzzer``;
the door contact and the exit button each between their pin and ground (the internal
pull-ups hold them high while open).  Both are read as gpiozero ``DigitalInputDevice``
(a ``Button`` without the hold-timer thread: a door stays "pressed" shut for hours).

Locks: ``fail-secure`` (electric strike, fail-secure bolt) is unlocked while the relay
is energised and stays locked on power loss; ``fail-safe`` (maglock) is held by the
relay at rest and released by dropping it — on power loss, a crash or :meth:`close`
the relay drops and the door opens, as fire codes require for maglocks.

Alarms: with a door contact, a door opened while locked (outside the grant and
*forced_grace_s* after it) calls :attr:`when_forced`; a door left open *held_open_s*
after a grant calls :attr:`when_held_open` and sounds the buzzer until it closes.
:attr:`when_exit` is called when the exit button is pressed (the caller records the
event, then calls :meth:`grant`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gpiozero import LED, Buzzer, DigitalInputDevice, OutputDevice

from edge.gate.config import FAIL_SAFE, FAIL_SECURE, PinsSection
from edge.gate.timers import ThreadTimers, TimerHandle, Timers

# Buzzer patterns: (on_ms, off_ms) steps.
BEEP_GRANT: tuple[tuple[int, int], ...] = ((120, 0),)
BEEP_REFUSE: tuple[tuple[int, int], ...] = ((80, 80), (80, 80), (80, 0))
BEEP_ALARM: tuple[tuple[int, int], ...] = ((400, 400),) * 4
BEEP_ENROLL: tuple[tuple[int, int], ...] = ((60, 60), (240, 0))


@dataclass
class DoorPins:
    """Pin numbers of one door; ``None`` leaves a part out."""

    relay: int | None = 17
    relay_active_high: bool = True
    green: int | None = 27
    red: int | None = 22
    buzzer: int | None = 23
    door_sensor: int | None = 5
    exit_button: int | None = 6

    @classmethod
    def from_config(cls, pins: PinsSection) -> DoorPins:
        return cls(
            relay=pins.relay,
            relay_active_high=pins.relay_active_high,
            green=pins.green,
            red=pins.red,
            buzzer=pins.buzzer,
            door_sensor=pins.door_sensor,
            exit_button=pins.exit_button,
        )


class _Pattern:
    """Plays (on_ms, off_ms) steps on an output device; a new pattern replaces the old."""

    def __init__(self, device: OutputDevice | None, timers: Timers) -> None:
        self.device = device
        self.timers = timers
        self._lock = threading.Lock()
        self._handle: TimerHandle | None = None
        self._generation = 0

    def play(self, steps: Sequence[tuple[int, int]], repeat: bool = False) -> None:
        if self.device is None:
            return
        with self._lock:
            self._generation += 1
            if self._handle:
                self._handle.cancel()
            self._step(self._generation, list(steps), 0, repeat)

    def _step(self, generation: int, steps: list[tuple[int, int]], i: int, repeat: bool) -> None:
        if generation != self._generation or self.device is None:
            return
        if i >= len(steps):
            if not repeat:
                self.device.off()
                return
            i = 0
        on_ms, off_ms = steps[i]
        self.device.on()
        self._handle = self.timers.call_later(
            on_ms / 1000, lambda: self._off(generation, steps, i, off_ms, repeat)
        )

    def _off(
        self, generation: int, steps: list[tuple[int, int]], i: int, off_ms: int, repeat: bool
    ) -> None:
        with self._lock:
            if generation != self._generation or self.device is None:
                return
            self.device.off()
            self._handle = self.timers.call_later(
                off_ms / 1000, lambda: self._locked_step(generation, steps, i + 1, repeat)
            )

    def _locked_step(self, generation: int, steps: list[tuple[int, int]], i: int, r: bool) -> None:
        with self._lock:
            self._step(generation, steps, i, r)

    def stop(self) -> None:
        with self._lock:
            self._generation += 1
            if self._handle:
                self._handle.cancel()
            if self.device is not None:
                self.device.off()


class Door:
    """One door's lock and signals.

    :param pins: a :class:`DoorPins`.
    :param pulse_ms: how long a grant releases the lock.
    :param lock: ``"fail-secure"`` (default) or ``"fail-safe"``; see the module doc.
    :param refuse_ms: how long the red LED shows a refusal.
    :param held_open_s: seconds a door may stand open after a grant before the alarm.
    :param forced_grace_s: seconds after relocking in which an opening is not "forced"
        (someone pulling the door as the pulse ends).
    :param timers: a :class:`~edge.gate.timers.Timers` (default: a background thread).
    :param pin_factory: gpiozero pin factory (default: gpiozero's, lgpio on a Pi).
    """

    def __init__(
        self,
        pins: DoorPins | None = None,
        pulse_ms: int = 3000,
        lock: str = FAIL_SECURE,
        refuse_ms: int = 1000,
        held_open_s: float = 30.0,
        forced_grace_s: float = 2.0,
        timers: Timers | None = None,
        pin_factory: object = None,
    ) -> None:
        if lock not in (FAIL_SECURE, FAIL_SAFE):
            raise ValueError(f"lock must be {FAIL_SECURE!r} or {FAIL_SAFE!r}")
        pins = pins or DoorPins()
        self.pins = pins
        self.pulse_ms = pulse_ms
        self.lock = lock
        self.refuse_ms = refuse_ms
        self.held_open_s = held_open_s
        self.forced_grace_s = forced_grace_s
        self._own_timers = timers is None
        self.timers: Timers = timers or ThreadTimers()
        self._mutex = threading.RLock()
        self._energised_when_locked = lock == FAIL_SAFE
        pf = pin_factory
        self.relay = (
            OutputDevice(
                pins.relay,
                active_high=pins.relay_active_high,
                initial_value=self._energised_when_locked,
                pin_factory=pf,
            )
            if pins.relay is not None
            else None
        )
        self.green = LED(pins.green, pin_factory=pf) if pins.green is not None else None
        self.red = LED(pins.red, pin_factory=pf) if pins.red is not None else None
        self.buzzer = Buzzer(pins.buzzer, pin_factory=pf) if pins.buzzer is not None else None
        self.sensor = (
            DigitalInputDevice(pins.door_sensor, pull_up=True, pin_factory=pf)
            if pins.door_sensor is not None
            else None
        )
        self.exit_button = (
            DigitalInputDevice(pins.exit_button, pull_up=True, pin_factory=pf)
            if pins.exit_button is not None
            else None
        )
        self._beeper = _Pattern(self.buzzer, self.timers)
        self._relock: TimerHandle | None = None
        self._red_off: TimerHandle | None = None
        self._held: TimerHandle | None = None
        self._unlocked = False
        self._grace_until = 0.0
        self.when_forced: Callable[[], object] | None = None
        self.when_held_open: Callable[[], object] | None = None
        self.when_exit: Callable[[], object] | None = None
        self.grants = 0
        self.refusals = 0
        self.forced = 0
        self.held_open = 0
        if self.sensor is not None:
            self.sensor.when_deactivated = self._door_opened
            self.sensor.when_activated = self._door_closed
        if self.exit_button is not None:
            self.exit_button.when_activated = self._exit_pressed

    # -- state -------------------------------------------------------------------------
    @property
    def is_unlocked(self) -> bool:
        """True while a grant holds the lock released."""
        return self._unlocked

    @property
    def is_open(self) -> bool | None:
        """True if the door contact says open; ``None`` without a contact."""
        if self.sensor is None:
            return None
        return not self.sensor.is_active

    def _set_relay(self, unlocked: bool) -> None:
        if self.relay is None:
            return
        energise = unlocked != self._energised_when_locked
        if energise:
            self.relay.on()
        else:
            self.relay.off()

    # -- actions -----------------------------------------------------------------------
    def grant(self, pulse_ms: int | None = None) -> None:
        """Release the lock for *pulse_ms* (default :attr:`pulse_ms`), green LED, beep."""
        ms = self.pulse_ms if pulse_ms is None else pulse_ms
        with self._mutex:
            self.grants += 1
            if self._relock is not None:
                self._relock.cancel()
            self._unlocked = True
            self._set_relay(True)
            if self.red is not None:
                self.red.off()
            if self.green is not None:
                self.green.on()
            self._relock = self.timers.call_later(ms / 1000, self._end_grant)
        self._beeper.play(BEEP_GRANT)

    def _end_grant(self) -> None:
        with self._mutex:
            self._unlocked = False
            self._set_relay(False)
            if self.green is not None:
                self.green.off()
            self._relock = None
            self._grace_until = self.timers.monotonic() + self.forced_grace_s

    def refuse(self) -> None:
        """Red LED for :attr:`refuse_ms` and three short beeps; the lock stays as it is."""
        with self._mutex:
            self.refusals += 1
            if self._red_off is not None:
                self._red_off.cancel()
            if self.red is not None:
                self.red.on()
                self._red_off = self.timers.call_later(self.refuse_ms / 1000, self.red.off)
        self._beeper.play(BEEP_REFUSE)

    def signal_enroll(self) -> None:
        """A tap captured for enrolment: a short-long beep, no LED, no lock change."""
        self._beeper.play(BEEP_ENROLL)

    # -- door contact and exit button ------------------------------------------------
    def _door_opened(self) -> None:
        with self._mutex:
            authorised = self._unlocked or self.timers.monotonic() < self._grace_until
            if authorised:
                if self._held is not None:
                    self._held.cancel()
                self._held = self.timers.call_later(self.held_open_s, self._held_too_long)
                return
            self.forced += 1
        self._beeper.play(BEEP_ALARM)
        if self.when_forced is not None:
            self.when_forced()

    def _door_closed(self) -> None:
        with self._mutex:
            if self._held is not None:
                self._held.cancel()
                self._held = None
        self._beeper.stop()

    def _held_too_long(self) -> None:
        with self._mutex:
            self._held = None
            if not self.is_open:
                return
            self.held_open += 1
        self._beeper.play(BEEP_ALARM, repeat=True)
        if self.when_held_open is not None:
            self.when_held_open()

    def _exit_pressed(self) -> None:
        if self.when_exit is not None:
            self.when_exit()
        else:
            self.grant()

    # -- lifecycle -------------------------------------------------------------------
    def close(self) -> None:
        """Release the pins (the relay drops: a fail-safe lock opens, fail-secure locks)."""
        self._beeper.stop()
        for dev in (self.relay, self.green, self.red, self.buzzer, self.sensor, self.exit_button):
            if dev is not None:
                dev.close()
        if self._own_timers:
            self.timers.close()

    def __enter__(self) -> Door:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        lock = "unlocked" if self._unlocked else "locked"
        door = {None: "no contact", True: "open", False: "closed"}[self.is_open]
        return f"<Door {self.lock} {lock}, {door}>"
