# Run the gate on the MicroPython unix port: for tests, the demo and trying it out.
#
#   MICROPYPATH=edge/firmware:. micropython edge/firmware/host.py gate.json [DATA_DIR]
#
# The firmware modules run unchanged; only the reader and the pins are stand-ins.
# Lines on stdin drive the reader:
#   tap 04a1b2c3      a card enters the field, is read once and leaves
#   present 04a1b2c3  hold a card at the reader      remove   take it away
#   status            print the gate's state as one JSON line
#   quit              stop (the relay is released)
# Everything the gate logs, and every pin change ("pin relay 1"), goes to stdout.
# This file is not shipped to boards.

import binascii
import json
import select
import sys
import time

import gate
import main
from door import Door


class ScriptedReader:
    # A reader with one card slot, behaving like the MFRC522 driver: a card in the
    # field is read until halt(); a halted card stays quiet until it is presented again.
    def __init__(self):
        self.uid = None
        self.halted = False

    def present(self, uid):
        self.uid = bytes(uid)
        self.halted = False

    def remove(self):
        self.uid = None

    def read_uid(self):
        return None if self.halted else self.uid

    def halt(self):
        self.halted = True

    def init(self):
        pass


class HostPin:
    # An output pin that prints its changes.
    def __init__(self, name, out):
        self.name = name
        self.out = out
        self.level = None

    def value(self, v=None):
        if v is None:
            return self.level
        if v != self.level:
            self.level = v
            self.out("pin %s %d" % (self.name, v))
        return None


def host_door(cfg, out):
    pins = cfg.get("pins", {})
    return Door(
        relay=HostPin("relay", out),
        green=HostPin("green", out),
        red=HostPin("red", out),
        buzzer=HostPin("buzzer", out),
        pulse_ms=cfg.get("pulse_ms", 3000),
        deny_ms=cfg.get("deny_ms", 1000),
        relay_active_low=pins.get("relay_active_low", False),
    )


def say(line):
    print(line)


def status_line(g):
    return json.dumps(
        {
            "sid": g.outbox.sid,
            "v": g.store.version,
            "n": g.store.count,
            "acked": g.outbox.acked,
            "last": g.outbox.last,
            "pending": g.outbox.pending,
            "connected": g.hub.connected,
            "rejected": g.hub.link.rejected,
            "unlocked": g.door.is_unlocked,
            "grants": g.door.grants,
            "denials": g.door.denials,
            "clock": g.clock.unix(),
            "meter": g.meter.cards,
            "reentry": g.meter.reentry_s,
        }
    )


class Host:
    # Runs the gate's loop and reads stdin between passes.  card: the object a test
    # puts cards in front of (present(uid) / remove()).  after_step: called after
    # every pass (e.g. to report pin changes).
    def __init__(self, g, card, after_step=None):
        self.g = g
        self.card = card
        self.after_step = after_step
        self._tap_mark = None
        self._tap_until = time.ticks_ms()

    def command(self, line):
        # Handle one stdin line; returns False to stop.
        parts = line.split()
        if not parts:
            return True
        op = parts[0]
        if op == "tap" and len(parts) == 2:
            # the card enters the field, is read once, and leaves
            self.card.present(binascii.unhexlify(parts[1]))
            self._tap_mark = self.g.taps + self.g.reader_errors
            self._tap_until = time.ticks_add(time.ticks_ms(), 2000)
        elif op == "present" and len(parts) == 2:
            self.card.present(binascii.unhexlify(parts[1]))
        elif op == "clock" and len(parts) == 2:
            # the gate's clock jumps to unix time N (a day passing, offline)
            self.g.clock.set(int(parts[1]))
        elif op == "remove":
            self.card.remove()
        elif op == "status":
            say("status " + status_line(self.g))
        elif op == "quit":
            return False
        else:
            say("unknown command %r" % line)
        return True

    def serve(self):
        poller = select.poll()
        poller.register(sys.stdin, select.POLLIN)
        stdin_open = True
        g = self.g
        while True:
            if stdin_open and poller.poll(0):
                line = sys.stdin.readline()
                if not line:
                    poller.unregister(sys.stdin)
                    stdin_open = False
                elif not self.command(line.strip()):
                    break
            g.step()
            if self._tap_mark is not None and (
                g.taps + g.reader_errors > self._tap_mark
                or time.ticks_diff(time.ticks_ms(), self._tap_until) > 0
            ):
                self._tap_mark = None
                self.card.remove()
            if self.after_step is not None:
                self.after_step()
        g.close()
        say("stopped")


def start(config_path, data_dir=None, reader=None, door=None, card=None, after_step=None):
    cfg = main.load_config(config_path)
    if data_dir is not None:
        cfg["data_dir"] = data_dir
    if reader is None:
        reader = ScriptedReader()
        card = reader
    if door is None:
        door = host_door(cfg, say)
    g = gate.Gate(cfg, reader, door, log=say)
    Host(g, card, after_step).serve()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: host.py CONFIG [DATA_DIR]")
        sys.exit(2)
    start(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
