"""Readers: the scripted one, the MFRC522 driver on an emulated chip, the PyPI backend."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from edge.gate.config import ReaderSection
from edge.gate.daemon import GateDaemon
from edge.gate.reader import ReaderFault, ReaderLoop, ScriptedReader
from edge.gate.rfid import Mfrc522Reader, PypiMfrc522Reader, ReaderUnavailable, open_reader
from edge.gate.timers import ManualTimers
from gatehouse.clock import ManualClock
from protocol import decision as rules
from protocol import records
from protocol.cardkey import card_key
from protocol.schedule import Schedules
from tests.edge.gate.conftest import Keys
from tests.edge.gate.helpers import DAY, T0, make_config
from tests.support.fake_spidev import FakeSpidev
from tests.support.mfrc522_emu import MFRC522Emulator

UID4 = bytes.fromhex("04a1b2c3")
UID7 = bytes.fromhex("04a1b2c3d4e5f6")
UID10 = bytes.fromhex("04a1b2c3d4e5f6071829")


# -- the scripted reader -------------------------------------------------------------------
def test_scripted_reader_holds_taps_and_fails_on_request() -> None:
    reader = ScriptedReader()
    assert reader.read_uid() is None
    reader.present(UID4)
    assert reader.read_uid() == UID4 and reader.read_uid() == UID4
    reader.tap(UID7)
    reader.fail("crc")
    assert reader.read_uid() == UID7  # a tap goes before the card held
    with pytest.raises(ReaderFault) as err:
        reader.read_uid()
    assert err.value.code == "crc"
    assert reader.read_uid() == UID4
    reader.remove()
    assert reader.read_uid() is None


def test_reader_loop_hands_on_uids_counts_faults_and_keeps_going() -> None:
    reader = ScriptedReader()
    seen: list[bytes] = []
    got_two = threading.Event()

    def on_uid(uid: bytes) -> None:
        seen.append(uid)
        if len(seen) == 2:
            got_two.set()

    loop = ReaderLoop(reader, on_uid, poll_ms=5).start()
    try:
        reader.tap(UID4)
        reader.fail("collision")
        reader.tap(UID7)
        assert got_two.wait(5)
    finally:
        loop.stop()
    assert seen == [UID4, UID7] and loop.faults == {"collision": 1}


# -- the MFRC522 driver on an emulated chip, inside a gate ---------------------------------
@pytest.fixture
def chip() -> MFRC522Emulator:
    return MFRC522Emulator()


@pytest.fixture
def gate(tmp_path: Path, chip: MFRC522Emulator, keys: Keys) -> Iterator[GateDaemon]:
    clock = ManualClock(T0)
    reader = Mfrc522Reader(spidev_module=FakeSpidev({(0, 0): chip}))
    config = make_config(tmp_path / "gate.db", keys.gate_key, keys.card_secret)
    daemon = GateDaemon(
        config, clock=clock, timers=ManualTimers(clock), pin_factory=MockFactory(), reader=reader
    )
    listed = [records.pack(card_key(keys.card_secret, u), T0 + DAY, 1) for u in (UID4, UID7)]
    daemon.store.stage(records.build(listed))
    daemon.store.swap_in(1, T0, Schedules(), 0)
    daemon.start(connect=False, read=False)
    yield daemon
    daemon.stop()


def advance(gate: GateDaemon, seconds: float) -> None:
    timers = gate.timers
    assert isinstance(timers, ManualTimers)
    timers.advance(seconds=seconds)


def test_4_and_7_byte_cards_are_read_and_decided_once_per_presentation(
    gate: GateDaemon, chip: MFRC522Emulator
) -> None:
    loop = gate.reader_loop
    chip.present(UID4)
    assert loop.poll() == UID4
    assert gate.store.pending()[-1][3] == rules.GRANTED
    assert gate.door.relay is not None and gate.door.relay.value
    for _ in range(5):  # held on the reader: halted, silent
        assert loop.poll() is None
    assert gate.store.last_seq == 1
    chip.present(UID7, sak=0x00)
    advance(gate, 4)
    assert loop.poll() == UID7
    assert gate.store.last_seq == 2 and gate.store.pending()[-1][3] == rules.GRANTED
    chip.present(UID10, sak=0x20)  # a 10-byte card this list does not hold
    advance(gate, 4)
    assert loop.poll() == UID10
    assert gate.store.pending()[-1][3] == rules.UNKNOWN
    assert loop.faults == {}


def test_no_card_collision_crc_error_and_removal_mid_read_make_no_check_in(
    gate: GateDaemon, chip: MFRC522Emulator
) -> None:
    loop = gate.reader_loop
    assert loop.poll() is None  # no card
    chip.present_many([UID4, UID4], [0x08, 0x18])  # a clone on top of the card
    assert loop.poll() is None
    chip.present(UID4)
    chip.corrupt_crc(1)
    assert loop.poll() is None
    chip.present(UID7, sak=0x00)
    chip.remove_after(3)  # pulled away between cascade levels
    assert loop.poll() is None
    assert loop.faults == {"collision": 1, "crc": 1, "timeout": 1}
    assert gate.store.last_seq == 0
    relay = gate.door.relay
    assert relay is not None and not relay.value
    chip.present(UID4)  # presented again, cleanly
    assert loop.poll() == UID4 and gate.store.last_seq == 1


def test_no_chip_on_the_bus_or_no_device_is_a_clear_error(tmp_path: Path) -> None:
    class Silent:
        def exchange(self, tx: bytes) -> bytes:
            return bytes(len(tx))

    with pytest.raises(ReaderUnavailable, match="no MFRC522 answers"):
        Mfrc522Reader(spidev_module=FakeSpidev({(0, 0): Silent()}))
    with pytest.raises(ReaderUnavailable, match="spidev0.1"):
        Mfrc522Reader(spi_device=1, spidev_module=FakeSpidev({(0, 0): MFRC522Emulator()}))


def test_open_reader_off_a_pi() -> None:
    assert isinstance(open_reader(ReaderSection(backend="scripted")), ScriptedReader)
    with pytest.raises(ReaderUnavailable, match="spidev"):
        open_reader(ReaderSection(backend="mfrc522"))  # no spidev on this machine
    with pytest.raises(ReaderUnavailable, match="mfrc522 package"):
        open_reader(ReaderSection(backend="mfrc522-pypi"))


# -- the PyPI mfrc522 package --------------------------------------------------------------
class PypiLowLevel:
    """The calls of the PyPI package's ``MFRC522`` class this backend makes.

    The package itself imports RPi.GPIO and cannot run off a Pi; this stands in for it
    with the same answers: status codes, and the UID as a list of 4 bytes plus BCC.
    """

    MI_OK, MI_NOTAGERR, MI_ERR = 0, 1, 2
    PICC_REQIDL = 0x26

    def __init__(self, bus: int = 0, device: int = 0) -> None:
        self.opened = (bus, device)
        self.answer: list[int] | None = None
        self.status = self.MI_OK

    def MFRC522_Request(self, mode: int) -> tuple[int, Any]:
        assert mode == self.PICC_REQIDL
        return (self.MI_OK, 0x10) if self.answer is not None else (self.MI_ERR, None)

    def MFRC522_Anticoll(self) -> tuple[int, list[int]]:
        return self.status, list(self.answer or [])


def test_pypi_backend_strips_the_bcc_byte_the_package_folds_into_its_id() -> None:
    module = SimpleNamespace(MFRC522=PypiLowLevel)
    reader = PypiMfrc522Reader(0, 1, module=module)
    dev = reader._dev
    assert dev.opened == (0, 1)
    assert reader.read_uid() is None
    bcc = UID4[0] ^ UID4[1] ^ UID4[2] ^ UID4[3]
    dev.answer = [*UID4, bcc]
    assert reader.read_uid() == UID4
    dev.answer = [*UID4, bcc ^ 1]
    with pytest.raises(ReaderFault) as err:
        reader.read_uid()
    assert err.value.code == "bcc"
    dev.answer = [0x88, 0x04, 0xA1, 0xB2, 0x88 ^ 0x04 ^ 0xA1 ^ 0xB2]  # cascade tag: 7 bytes
    with pytest.raises(ReaderFault, match="7-byte"):
        reader.read_uid()
    dev.answer, dev.status = [*UID4, bcc], PypiLowLevel.MI_ERR
    with pytest.raises(ReaderFault):
        reader.read_uid()
