"""A stand-in for the ``spidev`` module whose devices are emulated chips.

It has the shape of ``spidev`` — ``SpiDev()`` objects with ``open``, ``max_speed_hz``,
``mode``, ``xfer2`` and ``close`` — so :class:`edge.gate.spibus.SpidevBus` runs unmodified
over it::

    chip = MFRC522Emulator()
    spidev = FakeSpidev({(0, 0): chip})  # /dev/spidev0.0 is the emulated reader
    bus = SpidevBus(0, 0, spidev_module=spidev)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Chip(Protocol):
    """A device on the bus: one chip-select frame in, the bytes it clocks out back."""

    def exchange(self, tx: bytes) -> bytes | bytearray: ...


class FakeSpiDev:
    """One ``spidev.SpiDev`` handle."""

    def __init__(self, devices: dict[tuple[int, int], Chip]) -> None:
        self._devices = devices
        self._chip: Chip | None = None
        self.max_speed_hz = 0
        self.mode = 0
        self.transfers = 0

    def open(self, bus: int, device: int) -> None:
        if (bus, device) not in self._devices:
            raise FileNotFoundError(2, "No such file or directory", f"/dev/spidev{bus}.{device}")
        self._chip = self._devices[(bus, device)]

    def xfer2(self, values: Sequence[int]) -> list[int]:
        if self._chip is None:
            raise OSError(9, "Bad file descriptor")  # what spidev raises when not open
        if self.max_speed_hz <= 0 or self.mode not in (0, 1, 2, 3):
            raise OSError(22, "Invalid argument")
        self.transfers += 1
        return list(self._chip.exchange(bytes(values)))

    def close(self) -> None:
        self._chip = None


class FakeSpidev:
    """The module: ``SpiDev()`` handles onto the chips wired at ``(bus, device)``."""

    def __init__(self, devices: dict[tuple[int, int], Chip]) -> None:
        self.devices = devices
        self.opened: list[FakeSpiDev] = []

    def SpiDev(self) -> FakeSpiDev:
        dev = FakeSpiDev(self.devices)
        self.opened.append(dev)
        return dev
