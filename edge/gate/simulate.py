"""``gatehouse gate run --simulate``: a gate with mock pins and typed or scripted taps.

Everything but the hardware is real: the store, the decisions, the MQTT link.  The
pins are gpiozero ``MockFactory`` pins and the reader a
:class:`~edge.gate.reader.ScriptedReader` fed from the keyboard (one UID in hex per
line) or from a script file::

    # taps.txt: one command per line
    04a1b2c3            # a tap
    wait 500            # pause 500 ms
    hold 04a1b2c3 4000  # hold a card on the reader for 4 s (debounced to one tap)

Each decision is printed on its own line, after its check-in is committed; a tap the
store could not take (a full disk) is printed as such, and the door stayed shut::

    tap 04a1b2c3 seq=17 open granted
    tap deadbeef seq=18 refused expired
    tap 04a1b2c3 not recorded (database or disk is full): refused
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from gpiozero.pins.mock import MockFactory

from edge.gate.config import GateConfig
from edge.gate.controller import Decision
from edge.gate.daemon import GateDaemon
from edge.gate.reader import ScriptedReader
from edge.gate.timers import Timers
from gatehouse.clock import Clock
from protocol import decision as rules
from protocol.cardkey import parse_uid
from protocol.errors import ProtocolError

_EVENTS = (rules.REMOTE, rules.EXIT, rules.FORCED, rules.HELD_OPEN)


class ScriptError(ValueError):
    """A line of a tap script that cannot be understood."""


def parse_script(lines: Iterable[str]) -> list[tuple[str, bytes | None, int]]:
    """Parse tap-script lines into ``(op, uid, ms)`` steps (op: tap, wait, hold)."""
    steps: list[tuple[str, bytes | None, int]] = []
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        try:
            if parts[0] == "wait" and len(parts) == 2:
                steps.append(("wait", None, int(parts[1])))
            elif parts[0] == "hold" and len(parts) == 3:
                steps.append(("hold", parse_uid(parts[1]), int(parts[2])))
            elif len(parts) == 1:
                steps.append(("tap", parse_uid(parts[0]), 0))
            else:
                raise ScriptError(f"line {number}: expected UID, 'wait MS' or 'hold UID MS'")
        except (ValueError, ProtocolError) as err:
            if isinstance(err, ScriptError):
                raise
            raise ScriptError(f"line {number}: {err}") from None
    return steps


def play(reader: ScriptedReader, steps: list[tuple[str, bytes | None, int]], stop: threading.Event):
    """Feed *steps* to *reader* (in real time for ``wait`` and ``hold``)."""
    for op, uid, ms in steps:
        if stop.is_set():
            return
        if op == "tap" and uid is not None:
            reader.tap(uid)
            while reader.queued > 100 and not stop.is_set():
                stop.wait(0.005)  # let the reader loop keep up
        elif op == "hold" and uid is not None:
            reader.present(uid)
            stop.wait(ms / 1000)
            reader.remove()
        else:
            stop.wait(ms / 1000)


def _keyboard(reader: ScriptedReader, stream: TextIO, out: TextIO, stop: threading.Event) -> None:
    for line in stream:
        if stop.is_set():
            return
        try:
            steps = parse_script([line])
        except ScriptError as err:
            print(f"? {err}", file=out, flush=True)
            continue
        play(reader, steps, stop)


def describe(decision: Decision, uid: bytes | None = None) -> str:
    """One line per decision, as the simulator prints it."""
    verdict = "open" if decision.allow else "refused"
    who = f"tap {uid.hex()}" if uid is not None else "event"
    return f"{who} seq={decision.seq} {verdict} {decision.reason_name}"


def run_simulated(
    config: GateConfig,
    script: Path | None = None,
    stdin: TextIO | None = None,
    out: TextIO = sys.stdout,
    clock: Clock | None = None,
    timers: Timers | None = None,
) -> None:
    """Run a gate with mock pins, taps from *script* or *stdin*, until SIGTERM or SIGINT.

    *clock* and *timers* replace the system clock and the real timers (a gate whose
    clock is wrong, in fault tests).
    """
    config.reader.backend = "scripted"
    reader = ScriptedReader()

    def on_event(decision: Decision) -> None:
        if decision.reason in _EVENTS:  # taps are printed with their UID below
            print(describe(decision), file=out, flush=True)

    pins = MockFactory()
    daemon = GateDaemon(
        config, clock=clock, timers=timers, pin_factory=pins, reader=reader, on_decision=on_event
    )
    if config.pins.door_sensor is not None:
        pins.pin(config.pins.door_sensor).drive_low()  # the door starts closed

    def on_uid(uid: bytes) -> Decision | None:
        try:
            decision = daemon.controller.handle_uid(uid)
        except Exception as err:  # the store could not take it; the door stayed shut
            print(f"tap {uid.hex()} not recorded ({err}): refused", file=out, flush=True)
            return None
        if decision is not None:
            print(describe(decision, uid), file=out, flush=True)
        return decision

    daemon.reader_loop.on_uid = on_uid
    stop = threading.Event()
    print(
        f"gate {config.gate.site}/{config.gate.gate} simulated: list v{daemon.store.version},"
        f" {daemon.store.depth()} check-ins waiting; type a card UID per line",
        file=out,
        flush=True,
    )
    if script is not None:
        steps = parse_script(script.read_text().splitlines())
        threading.Thread(target=play, args=(reader, steps, stop), daemon=True).start()
    elif stdin is not None:
        threading.Thread(target=_keyboard, args=(reader, stdin, out, stop), daemon=True).start()
    try:
        daemon.run_forever()
    finally:
        stop.set()
