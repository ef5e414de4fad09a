"""Door pulses and the gate's clock on the micropython VM, with time passed in explicitly.

The door runs on the test-only ``machine`` shim's pins (built by ``main.build_door``
from a config, as on a board); every level written is in the pin's history.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.firmware.conftest import run_mp

DOOR = """
import json, sys, time
import machine
import main

cfg = json.loads(sys.argv[1])
door = main.build_door(cfg)
names = ("relay", "led_green", "led_red", "buzzer")
relay, green, red, buzzer = (machine.Pin(cfg["pins"][n]) for n in names)
out = {"start": [relay.value(), relay.history[:]]}
t0 = 1000
door.grant(t0)
out["granted"] = [relay.value(), green.value(), buzzer.value(), door.is_unlocked, door.due_in(t0)]
door.service(t0 + 79)
out["t79"] = [relay.value(), buzzer.value()]
door.service(t0 + 80)
out["t80"] = [relay.value(), buzzer.value()]
door.service(t0 + 2999)
out["t2999"] = relay.value()
door.service(t0 + 3000)
out["t3000"] = [relay.value(), green.value(), door.is_unlocked]
door.deny(t0 + 5000)
beeps = []
for ms in range(0, 1200, 10):
    door.service(t0 + 5000 + ms)
    beeps.append(buzzer.value())
out["deny_red"] = red.history[-2:]
out["beeps"] = beeps
out["contact"] = [door.is_open]
machine.Pin(cfg["pins"]["contact"]).drive(0)
out["contact"].append(door.is_open)
# ticks_ms wraps: a pulse across the wrap still ends on time
edge = time.ticks_add(0, -100)
door.grant(edge)
door.service(time.ticks_add(edge, 2999))
out["wrap"] = [relay.value()]
door.service(time.ticks_add(edge, 3000))
out["wrap"].append(relay.value())
print(json.dumps(out))
"""


def _pins(active_low: bool) -> dict[str, object]:
    return {
        "pins": {
            "relay": 26,
            "relay_active_low": active_low,
            "led_green": 25,
            "led_red": 33,
            "buzzer": 32,
            "contact": 27,
        },
        "pulse_ms": 3000,
        "deny_ms": 1000,
    }


def test_pulse_led_and_beeps_follow_the_ticks(tmp_path: Path) -> None:
    out = json.loads(run_mp(DOOR, tmp_path, json.dumps(_pins(False))))
    assert out["start"] == [0, [0, 0]]  # relay released from the first write: fail-secure
    assert out["granted"] == [1, 1, 1, True, 80]
    assert out["t79"] == [1, 1] and out["t80"] == [1, 0]
    assert out["t2999"] == 1 and out["t3000"] == [0, 0, False]
    assert out["deny_red"] == [1, 0]
    # three 120 ms beeps with 80 ms gaps, sampled every 10 ms
    beeps = out["beeps"]
    runs = [(beeps[i], i) for i in range(len(beeps)) if i == 0 or beeps[i] != beeps[i - 1]]
    assert [level for level, _ in runs] == [1, 0, 1, 0, 1, 0]
    assert [start * 10 for _, start in runs] == [0, 120, 200, 320, 400, 520]
    assert out["contact"] == [True, False]  # pulled up = open; driven low = closed
    assert out["wrap"] == [1, 0]


def test_an_active_low_relay_is_released_high(tmp_path: Path) -> None:
    out = json.loads(run_mp(DOOR, tmp_path, json.dumps(_pins(True))))
    assert out["start"] == [1, [1, 1]]
    assert out["granted"][0] == 0 and out["t3000"][0] == 1


CLOCK = """
import json, time
from clock import Clock

c = Clock()
t = time.ticks_ms()
at = lambda ms: time.ticks_add(t, ms)
out = {"never": [c.unix(at(0)), c.now(at(0))]}
c.raise_floor(1700000000, at(0))
out["floor"] = [c.now(at(0)), c.now(at(5000))]
c.set(1800000000, at(10000))
out["set"] = [c.unix(at(10000)), c.now(at(12500))]
c.set(1600000000, at(20000))   # rolled back before the list's issue time: not trusted
out["rollback"] = c.now(at(20000))
c.set(1800000000, at(0))
for hours in range(1, 200):   # over a week of ticks, in hourly passes, across wraps
    last = c.unix(at(hours * 3600000))
out["week"] = last - 1800000000
print(json.dumps(out))
"""


def test_clock_counts_from_hub_time_and_never_trusts_a_rollback(tmp_path: Path) -> None:
    out = json.loads(run_mp(CLOCK, tmp_path))
    assert out["never"] == [None, [0, False]]
    assert out["floor"] == [[1700000000, False], [1700000005, False]]
    assert out["set"] == [1800000000, [1800000002, True]]
    assert out["rollback"] == [1700000020, False]
    assert out["week"] == 199 * 3600
