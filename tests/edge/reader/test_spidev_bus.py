"""``SpidevBus``: the Pi's ``/dev/spidevB.D`` as the MFRC522 driver's bus."""

from __future__ import annotations

import subprocess
import sys

import pytest

from edge.firmware.mfrc522 import MFRC522
from edge.gate.spibus import SpidevBus
from tests.conftest import ROOT
from tests.support.fake_spidev import FakeSpidev
from tests.support.mfrc522_emu import MFRC522Emulator


def test_opens_the_device_with_speed_and_mode() -> None:
    spidev = FakeSpidev({(0, 1): MFRC522Emulator()})
    bus = SpidevBus(0, 1, speed_hz=4_000_000, spidev_module=spidev)
    (dev,) = spidev.opened
    assert (dev.max_speed_hz, dev.mode) == (4_000_000, 0)
    assert repr(bus) == "<SpidevBus /dev/spidev0.1 4000000 Hz>"
    assert MFRC522(bus).version() == 0x92
    assert dev.transfers == 1


def test_one_exchange_is_one_transfer_of_the_same_length() -> None:
    chip = MFRC522Emulator(version=0x91)
    with SpidevBus(spidev_module=FakeSpidev({(0, 0): chip})) as bus:
        # read VersionReg twice in one frame: address, address, end byte
        assert bus.exchange(bytes([0xEE, 0xEE, 0x00])) == b"\x00\x91\x91"
        assert chip.exchanges == 1


def test_close_releases_the_device_and_refuses_further_transfers() -> None:
    spidev = FakeSpidev({(0, 0): MFRC522Emulator()})
    with SpidevBus(spidev_module=spidev) as bus:
        assert not bus.closed
    assert bus.closed
    assert repr(bus) == "<SpidevBus /dev/spidev0.0 closed>"
    bus.close()  # twice is fine
    with pytest.raises(ValueError, match="closed"):
        bus.exchange(b"\xee\x00")


def test_a_missing_device_says_which() -> None:
    with pytest.raises(FileNotFoundError, match="/dev/spidev1.0"):
        SpidevBus(1, 0, spidev_module=FakeSpidev({(0, 0): MFRC522Emulator()}))


def test_the_module_imports_without_spidev_and_opening_names_it() -> None:
    script = (
        "import sys\n"
        "sys.modules['spidev'] = None  # as on a machine without it\n"
        "from edge.gate.spibus import SpidevBus\n"
        "from edge.firmware import mfrc522\n"
        "try:\n"
        "    SpidevBus()\n"
        "except ModuleNotFoundError as err:\n"
        "    print('missing', err.name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "missing spidev"
