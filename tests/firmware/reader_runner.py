# Runs the shared reader scenarios on MicroPython: the firmware's MFRC522
# driver over MachineSpiBus, the machine shim's SPI and the emulated chip.
#
#     MICROPYPATH=edge/firmware:tests/firmware/shim:tests/support \
#         .venv/bin/micropython tests/firmware/reader_runner.py
#
# Prints "ok NAME" or "FAIL NAME: reason" per case, then "done N".
import sys

import machine
import mfrc522
import reader_cases
from mfrc522_emu import MFRC522Emulator
from spibus import MachineSpiBus

_SPI_ID = 1
_CS = 5


def rig():
    machine.reset()
    chip = MFRC522Emulator()
    machine.SPI.attach(_SPI_ID, chip, cs=_CS)
    spi = machine.SPI(_SPI_ID, baudrate=1000000, polarity=0, phase=0, sck=18, mosi=23, miso=19)
    cs = machine.Pin(_CS, machine.Pin.OUT)
    reader = mfrc522.MFRC522(MachineSpiBus(spi, cs))
    reader.init()
    return chip, reader, spi, cs


def main(names):
    failed = 0
    for name, case in reader_cases.CASES:
        if names and name not in names:
            continue
        chip, reader, spi, cs = rig()
        try:
            case(chip, reader, mfrc522)
            # one chip-select frame per transfer (the shim refuses any with CS high)
            if cs.history.count(0) != spi.transfers or cs.value() != 1:
                raise reader_cases.CaseFailure("chip select not framing the transfers")
            print("ok %s" % name)
        except Exception as err:
            failed += 1
            print("FAIL %s: %s %s" % (name, type(err).__name__, err))
    print("done %d" % failed)
    return failed


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv[1:]) else 0)
