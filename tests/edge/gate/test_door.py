"""The door on gpiozero mock pins: relay pulse, lock kinds, LEDs, buzzer, alarms."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from edge.gate.door import BEEP_REFUSE, Door, DoorPins
from edge.gate.timers import ManualTimers
from gatehouse.clock import ManualClock
from tests.edge.gate.helpers import BUZZER, DOOR_SENSOR, EXIT_BUTTON, GREEN, RED, RELAY, T0


@pytest.fixture
def timers() -> ManualTimers:
    return ManualTimers(ManualClock(T0))


@pytest.fixture
def pins() -> MockFactory:
    return MockFactory()


@pytest.fixture
def door(pins: MockFactory, timers: ManualTimers) -> Iterator[Door]:
    d = Door(DoorPins(), pulse_ms=3000, timers=timers, pin_factory=pins)
    pins.pin(DOOR_SENSOR).drive_low()  # door shut: the contact pulls the pin low
    yield d
    d.close()


def state(pins: MockFactory, number: int) -> bool:
    return bool(pins.pin(number).state)


def test_grant_pulses_the_relay_for_exactly_pulse_ms_and_lights_green(
    door: Door, pins: MockFactory, timers: ManualTimers
) -> None:
    assert not state(pins, RELAY) and not state(pins, GREEN)
    door.grant()
    assert state(pins, RELAY) and state(pins, GREEN) and door.is_unlocked
    assert state(pins, BUZZER)  # the grant beep
    timers.advance(seconds=2.999)
    assert state(pins, RELAY) and state(pins, GREEN)
    assert not state(pins, BUZZER)
    timers.advance(seconds=0.001)
    assert not state(pins, RELAY) and not state(pins, GREEN) and not door.is_unlocked


def test_a_second_grant_extends_the_pulse(
    door: Door, pins: MockFactory, timers: ManualTimers
) -> None:
    door.grant()
    timers.advance(seconds=2)
    door.grant()
    timers.advance(seconds=2)
    assert state(pins, RELAY)
    timers.advance(seconds=1)
    assert not state(pins, RELAY)


def test_refuse_lights_red_beeps_three_times_and_leaves_the_lock(
    door: Door, pins: MockFactory, timers: ManualTimers
) -> None:
    door.refuse()
    assert state(pins, RED) and not state(pins, RELAY) and not state(pins, GREEN)
    beeps = 0
    was_on = False
    for _ in range(100):  # 10 ms steps through the pattern
        on = state(pins, BUZZER)
        beeps += on and not was_on
        was_on = on
        timers.advance(seconds=0.01)
    assert beeps == len(BEEP_REFUSE)
    assert not state(pins, RED) and not state(pins, RELAY)


def test_active_low_relay_board(pins: MockFactory, timers: ManualTimers) -> None:
    door = Door(DoorPins(relay_active_high=False), pulse_ms=500, timers=timers, pin_factory=pins)
    assert state(pins, RELAY)  # idle: pin high = relay off on an active-low board
    door.grant()
    assert not state(pins, RELAY)
    timers.advance(seconds=0.5)
    assert state(pins, RELAY)
    door.close()


def test_fail_safe_lock_is_held_energised_and_released_by_dropping_the_relay(
    pins: MockFactory, timers: ManualTimers
) -> None:
    door = Door(DoorPins(), pulse_ms=1000, lock="fail-safe", timers=timers, pin_factory=pins)
    assert state(pins, RELAY)  # maglock held while the relay is energised
    door.grant()
    assert not state(pins, RELAY) and door.is_unlocked
    timers.advance(seconds=1)
    assert state(pins, RELAY)
    door.close()  # the daemon stops or the Pi loses power: the relay drops, door opens
    assert pins.pin(RELAY).function == "input"


def test_door_forced_open_while_locked_raises_the_alarm(
    door: Door, pins: MockFactory, timers: ManualTimers
) -> None:
    forced: list[bool] = []
    door.when_forced = lambda: forced.append(True)
    pins.pin(DOOR_SENSOR).drive_high()  # opened with no grant
    assert forced == [True] and door.forced == 1 and door.is_open
    assert state(pins, BUZZER)


def test_door_opened_during_a_grant_is_not_forced_but_held_open_alarms(
    door: Door, pins: MockFactory, timers: ManualTimers
) -> None:
    events: list[str] = []
    door.when_forced = lambda: events.append("forced")
    door.when_held_open = lambda: events.append("held")
    door.grant()
    pins.pin(DOOR_SENSOR).drive_high()
    timers.advance(seconds=29)
    assert events == []
    timers.advance(seconds=1)
    assert events == ["held"] and state(pins, BUZZER)
    pins.pin(DOOR_SENSOR).drive_low()  # closed: the alarm stops
    assert not state(pins, BUZZER)


def test_door_pulled_just_after_the_pulse_is_within_grace(
    door: Door, pins: MockFactory, timers: ManualTimers
) -> None:
    door.grant()
    timers.advance(seconds=3.5)
    pins.pin(DOOR_SENSOR).drive_high()
    assert door.forced == 0
    pins.pin(DOOR_SENSOR).drive_low()
    timers.advance(seconds=5)
    pins.pin(DOOR_SENSOR).drive_high()
    assert door.forced == 1


def test_exit_button_calls_its_handler_or_opens(
    door: Door, pins: MockFactory, timers: ManualTimers
) -> None:
    pins.pin(EXIT_BUTTON).drive_low()
    assert state(pins, RELAY)  # no handler: it simply opens
    pins.pin(EXIT_BUTTON).drive_high()
    timers.advance(seconds=3)
    pressed: list[bool] = []
    door.when_exit = lambda: pressed.append(True)
    pins.pin(EXIT_BUTTON).drive_low()
    assert pressed == [True] and not state(pins, RELAY)


def test_parts_can_be_left_out(pins: MockFactory, timers: ManualTimers) -> None:
    door = Door(
        DoorPins(green=None, red=None, buzzer=None, door_sensor=None, exit_button=None),
        timers=timers,
        pin_factory=pins,
    )
    door.grant()
    door.refuse()
    assert door.is_open is None and state(pins, RELAY)
    assert "fail-secure unlocked, no contact" in repr(door)
    door.close()
