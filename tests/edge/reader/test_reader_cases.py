"""The MFRC522 driver on CPython, the way the Pi gate runs it.

Every shared scenario of ``tests/support/reader_cases.py`` runs through the real
:class:`edge.gate.spibus.SpidevBus` over a ``spidev`` stand-in whose device
``/dev/spidev0.0`` is the register-level chip emulator. The same scenarios run on
MicroPython in ``tests/firmware/test_reader_on_micropython.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from edge.firmware import mfrc522
from edge.gate.spibus import SpidevBus
from tests.support import reader_cases
from tests.support.fake_spidev import FakeSpidev
from tests.support.mfrc522_emu import MFRC522Emulator

Case = Callable[[MFRC522Emulator, mfrc522.MFRC522, object], None]


@pytest.fixture
def chip() -> MFRC522Emulator:
    return MFRC522Emulator()


@pytest.fixture
def reader(chip: MFRC522Emulator) -> Iterator[mfrc522.MFRC522]:
    with SpidevBus(0, 0, spidev_module=FakeSpidev({(0, 0): chip})) as bus:
        reader = mfrc522.MFRC522(bus)
        reader.init()
        yield reader


@pytest.mark.parametrize(
    ("name", "case"), reader_cases.CASES, ids=[n for n, _ in reader_cases.CASES]
)
def test_reader_case(name: str, case: Case, chip: MFRC522Emulator, reader: mfrc522.MFRC522) -> None:
    case(chip, reader, mfrc522)


def test_init_configures_the_chip(chip: MFRC522Emulator, reader: mfrc522.MFRC522) -> None:
    regs = chip.regs
    assert regs[0x2A] & 0x80, "TAuto: the no-answer timer starts after each frame"
    assert (regs[0x2B], regs[0x2C], regs[0x2D]) == (0xA9, 0x03, 0xE8), "25 ms timer"
    assert regs[0x15] == 0x40, "100 % ASK"
    assert regs[0x11] & 0x03 == 0x01, "CRC preset 0x6363"
    assert regs[0x14] & 0x03 == 0x03, "antenna on"
    assert regs[0x0E] & 0x80 == 0, "bits after a collision read as 0"


def test_a_card_in_the_field_before_init_is_read_once_the_antenna_is_on() -> None:
    chip = MFRC522Emulator()
    chip.present(reader_cases.UID4)
    reader = mfrc522.MFRC522(chip)
    assert reader.read_uid() is None, "antenna off after power-on: the card has no power"
    reader.init()
    assert reader.read_uid() == reader_cases.UID4


def test_errors_carry_a_stable_code_and_are_counted(chip: MFRC522Emulator, reader) -> None:
    chip.present(reader_cases.UID4)
    chip.corrupt_crc(2)
    for _ in range(2):
        with pytest.raises(mfrc522.ReaderError) as caught:
            reader.read_uid()
        assert caught.value.code == "crc"
        assert str(caught.value) == "crc: SAK"
    assert reader.errors == {"timeout": 0, "crc": 2, "bcc": 0, "collision": 0, "protocol": 0}
    assert reader.read_uid() == reader_cases.UID4
    assert reader.reads == 1


def test_a_card_answering_hlta_is_a_protocol_error(chip: MFRC522Emulator, reader) -> None:
    chip.present(reader_cases.UID4)
    assert reader.read_uid() == reader_cases.UID4
    chip.cards[0].hear = lambda data, nbits: (0x0A, 4, "ack")  # a card that says ACK to all
    with pytest.raises(mfrc522.ReaderError) as caught:
        reader.halt()
    assert caught.value.code == "protocol"
    assert reader.errors["protocol"] == 1


class FloatingBus:
    """An SPI bus with no chip on it: MISO pulled high, every byte reads 0xFF."""

    def __init__(self) -> None:
        self.transfers = 0

    def exchange(self, tx: bytes | bytearray | memoryview) -> bytes:
        self.transfers += 1
        return b"\xff" * len(tx)


def test_no_chip_on_the_bus_fails_init_with_a_bounded_wait() -> None:
    bus = FloatingBus()
    reader = mfrc522.MFRC522(bus)
    assert reader.version() == 0xFF
    with pytest.raises(mfrc522.ReaderError) as caught:
        reader.init()
    assert caught.value.code == "timeout"
    assert bus.transfers <= 1 + 1 + 3000, "PowerDown polled a bounded number of times"


@pytest.mark.parametrize(
    ("data", "crc"),
    [
        (b"\x50\x00", b"\x57\xcd"),  # HLTA, ISO/IEC 14443-3
        (b"\x00\x00", b"\xa0\x1e"),  # ISO/IEC 14443-3 annex B
        (b"\x12\x34", b"\x26\xcf"),  # annex B
        (b"\x08", b"\xb6\xdd"),  # SAK of a MIFARE Classic 1K
    ],
)
def test_crc_a(data: bytes, crc: bytes) -> None:
    value = mfrc522.crc_a(data, len(data))
    assert bytes([value & 0xFF, value >> 8]) == crc
