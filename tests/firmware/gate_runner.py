# Runs the gate on the MicroPython unix port with its real hardware code: main.py
# builds the reader (the MFRC522 driver over MachineSpiBus) and the door from the
# config's pins, on the test-only machine shim whose SPI bus is wired to the
# register-level MFRC522 emulator.  Cards are put in the emulator's field.
#
#     MICROPYPATH=tests/firmware/shim:tests/support:edge/firmware:. \
#         micropython tests/firmware/gate_runner.py gate.json DATA_DIR
#
# stdin and stdout as edge/firmware/host.py, with "pin NAME LEVEL" for every level
# the firmware writes to the relay, LED and buzzer pins.
import sys

import host
import machine
import main
from mfrc522_emu import MFRC522Emulator

_OUTPUTS = ("relay", "led_green", "led_red", "buzzer")


class PinReport:
    # Prints each level written to the door's output pins, in order.
    def __init__(self, pins):
        self.watch = []
        for name in _OUTPUTS:
            if pins.get(name) is not None:
                pin = machine.Pin(pins[name])
                self.watch.append((name, pin, len(pin.history)))

    def __call__(self):
        for i in range(len(self.watch)):
            name, pin, seen = self.watch[i]
            history = pin.history
            if len(history) > seen:
                for level in history[seen:]:
                    print("pin " + name + " " + str(level))
                self.watch[i] = (name, pin, len(history))


def run(config_path, data_dir):
    cfg = main.load_config(config_path)
    pins = cfg["pins"]
    chip = MFRC522Emulator()
    machine.SPI.attach(pins["spi"]["id"], chip, cs=pins["rc522_cs"])
    reader = main.build_reader(cfg)
    door = main.build_door(cfg)
    host.start(
        config_path, data_dir, reader=reader, door=door, card=chip, after_step=PinReport(pins)
    )


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2])
