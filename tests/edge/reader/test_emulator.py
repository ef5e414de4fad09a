"""The MFRC522 emulator itself, poked at the register level as the datasheet describes.

The driver tests lean on it, so its chip and card behaviour is pinned down here without
the driver in the way.
"""

from __future__ import annotations

import pytest

from tests.support.mfrc522_emu import (
    ACTIVE,
    HALT,
    IDLE,
    READY,
    Card,
    MFRC522Emulator,
    with_crc,
)


def write(chip: MFRC522Emulator, reg: int, *values: int) -> None:
    chip.exchange(bytes([reg << 1, *values]))


def read(chip: MFRC522Emulator, reg: int) -> int:
    return chip.exchange(bytes([0x80 | reg << 1, 0]))[1]


def transceive(chip: MFRC522Emulator, frame: bytes, tx_last_bits: int = 0) -> bytes:
    write(chip, 0x0A, 0x80)
    write(chip, 0x04, 0x7F)
    write(chip, 0x09, *frame)
    write(chip, 0x01, 0x0C)
    write(chip, 0x0D, 0x80 | tx_last_bits)
    level = read(chip, 0x0A)
    return bytes(read(chip, 0x09) for _ in range(level))


@pytest.fixture
def chip() -> MFRC522Emulator:
    chip = MFRC522Emulator()
    write(chip, 0x14, 0x83)  # antenna on
    write(chip, 0x2A, 0x80)  # TAuto
    write(chip, 0x2D, 0xE8)
    return chip


def test_address_byte_lsb_must_be_zero(chip: MFRC522Emulator) -> None:
    with pytest.raises(ValueError, match="bit 0"):
        chip.exchange(b"\x6f\x00")


def test_fifo_level_flush_and_overflow(chip: MFRC522Emulator) -> None:
    write(chip, 0x09, *range(64))
    assert read(chip, 0x0A) == 64
    assert read(chip, 0x06) & 0x10 == 0
    write(chip, 0x09, 0xAA)
    assert read(chip, 0x06) & 0x10, "BufferOvfl"
    assert [read(chip, 0x09) for _ in range(2)] == [0, 1]
    write(chip, 0x0A, 0x80)
    assert (read(chip, 0x0A), read(chip, 0x06) & 0x10) == (0, 0)


def test_com_irq_bits_set_with_set1_and_clear_without(chip: MFRC522Emulator) -> None:
    write(chip, 0x04, 0x7F)
    assert read(chip, 0x04) == 0
    write(chip, 0x04, 0x80 | 0x21)
    assert read(chip, 0x04) == 0x21
    write(chip, 0x04, 0x01)
    assert read(chip, 0x04) == 0x20


def test_soft_reset_restores_registers_and_wakes_up(chip: MFRC522Emulator) -> None:
    write(chip, 0x01, 0x0F)
    assert read(chip, 0x01) & 0x10, "PowerDown while the oscillator starts"
    while read(chip, 0x01) & 0x10:
        pass
    assert (read(chip, 0x14), read(chip, 0x11), read(chip, 0x37)) == (0x80, 0x3F, 0x92)


def test_reqa_must_be_a_short_frame(chip: MFRC522Emulator) -> None:
    card = chip.present(b"\x04\xa1\xb2\xc3")
    assert transceive(chip, b"\x26") == b""
    assert read(chip, 0x04) & 0x01, "TimerIRq: no answer"
    assert card.state == IDLE
    assert transceive(chip, b"\x26", tx_last_bits=7) == b"\x04\x00"
    assert card.state == READY


def test_card_states_through_select_and_halt(chip: MFRC522Emulator) -> None:
    card = chip.present(b"\x04\xa1\xb2\xc3")
    transceive(chip, b"\x26", tx_last_bits=7)
    assert transceive(chip, b"\x93\x20") == b"\x04\xa1\xb2\xc3\xd4"
    select = b"\x93\x70\x04\xa1\xb2\xc3\xd4"
    assert transceive(chip, select + b"\x00\x00") == b"", "bad CRC_A: ignored"
    assert card.state == READY
    assert transceive(chip, with_crc(select)) == with_crc(b"\x08")
    assert card.state == ACTIVE
    assert transceive(chip, with_crc(b"\x50\x00")) == b""
    assert card.state == HALT
    assert transceive(chip, b"\x26", tx_last_bits=7) == b"", "REQA leaves HALT alone"
    assert transceive(chip, b"\x52", tx_last_bits=7) == b"\x04\x00"


def test_collision_position_counts_from_the_first_fifo_bit(chip: MFRC522Emulator) -> None:
    chip.present_many([b"\x04\xa1\xb2\xc3", b"\x04\xa1\xb6\xc3"])
    transceive(chip, b"\x26", tx_last_bits=7)
    write(chip, 0x0E, 0x00)  # ValuesAfterColl = 0
    write(chip, 0x0A, 0x80)
    write(chip, 0x09, 0x93, 0x42, 0x04, 0xA1, 0x02)  # 18 UID bits known: ...b2/b6 low 2 bits
    write(chip, 0x01, 0x0C)
    write(chip, 0x0D, 0x80 | 0x20 | 0x02)  # StartSend, RxAlign 2, TxLastBits 2
    assert read(chip, 0x06) & 0x08, "CollErr"
    assert read(chip, 0x0E) & 0x3F == 3, "UID bit 18 is the 3rd bit from RxAlign 2 on"


def test_a_uid_has_4_7_or_10_bytes() -> None:
    with pytest.raises(ValueError):
        Card(b"\x01\x02\x03")
    assert Card(b"\x01" * 7).atqa == b"\x44\x00"
    assert Card(b"\x01" * 10).atqa == b"\x84\x00"
