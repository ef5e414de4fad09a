"""SPI transport for the MFRC522 card reader on a Raspberry Pi, over Linux ``spidev``.

The reader driver (:mod:`edge.firmware.mfrc522`, shared with the MicroPython firmware)
needs one thing from a bus: ``exchange(tx) -> rx``, a single full-duplex transfer with
chip select held low around it, ``rx`` as long as ``tx``. :class:`SpidevBus` gives it
that over ``/dev/spidevBUS.DEVICE``::

    from edge.firmware.mfrc522 import MFRC522
    from edge.gate.spibus import SpidevBus

    with SpidevBus(bus=0, device=0) as bus:
        reader = MFRC522(bus)
        reader.init()
        uid = reader.read_uid()  # bytes, or None when no card is on the reader

Wiring (RC522 → Pi header, 3.3 V only): SDA/SS → CE0 (GPIO 8) for ``device=0``, SCK →
GPIO 11, MOSI → GPIO 10, MISO → GPIO 9, RST → 3.3 V, GND → GND. Enable SPI with
``dtparam=spi=on`` in ``/boot/firmware/config.txt``.

``spidev`` is imported only when a bus is opened, so this module imports on any machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Protocol


class SpiBus(Protocol):
    """What the MFRC522 driver calls: one chip-select-framed full-duplex transfer."""

    def exchange(self, tx: bytes | bytearray | memoryview) -> bytes | bytearray | memoryview:
        """Send ``tx`` and return the bytes clocked in meanwhile (same length)."""
        ...


class SpiDevice(Protocol):
    """The part of ``spidev.SpiDev`` this bus uses."""

    max_speed_hz: int
    mode: int

    def open(self, bus: int, device: int) -> None: ...

    def xfer2(self, values: Sequence[int]) -> list[int]: ...

    def close(self) -> None: ...


class SpidevModule(Protocol):
    """The ``spidev`` module, or anything that makes :class:`SpiDevice` objects."""

    def SpiDev(self) -> SpiDevice: ...


class SpidevBus:
    """The SPI bus of a Raspberry Pi, as the MFRC522 driver wants it.

    :param bus: SPI controller number (``/dev/spidev<bus>.<device>``), 0 on the header.
    :param device: chip-select line: 0 for CE0 (GPIO 8), 1 for CE1 (GPIO 7).
    :param speed_hz: clock rate; the MFRC522 takes up to 10 MHz, 1 MHz is safe on long
        wires.
    :param mode: SPI mode; the MFRC522 uses mode 0 (CPOL 0, CPHA 0).
    :param spidev_module: the ``spidev`` module to use; defaults to ``import spidev``.
        Tests pass a stand-in backed by an emulated reader.
    :raises ModuleNotFoundError: ``spidev`` is not installed (``pip install spidev``).
    :raises FileNotFoundError: no such device (SPI not enabled, wrong bus/device).
    """

    def __init__(
        self,
        bus: int = 0,
        device: int = 0,
        speed_hz: int = 1_000_000,
        *,
        mode: int = 0,
        spidev_module: SpidevModule | None = None,
    ) -> None:
        if spidev_module is None:
            import spidev  # type: ignore[import-not-found,import-untyped,unused-ignore]

            spidev_module = spidev
        self.bus = bus
        self.device = device
        self.speed_hz = speed_hz
        self._dev: SpiDevice | None = None
        dev = spidev_module.SpiDev()
        dev.open(bus, device)
        dev.max_speed_hz = speed_hz
        dev.mode = mode
        self._dev = dev

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has released the device."""
        return self._dev is None

    def exchange(self, tx: bytes | bytearray | memoryview) -> bytes:
        """Send ``tx`` with chip select low; return what the chip sent back (same length)."""
        if self._dev is None:
            raise ValueError("SPI bus is closed")
        rx = self._dev.xfer2(list(tx))
        if len(rx) != len(tx):
            raise OSError(f"SPI transfer of {len(tx)} bytes returned {len(rx)}")
        return bytes(rx)

    def close(self) -> None:
        """Release the device; safe to call twice."""
        if self._dev is not None:
            self._dev.close()
            self._dev = None

    def __enter__(self) -> SpidevBus:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.speed_hz} Hz"
        return f"<SpidevBus /dev/spidev{self.bus}.{self.device} {state}>"
