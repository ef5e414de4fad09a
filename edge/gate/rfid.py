"""MFRC522 (RC522) readers on a Pi, and :func:`open_reader` to pick one from config.

Two backends, both imported only when opened, so this module loads on any machine:

* ``mfrc522`` (default): Gatehouse's own pure-Python driver
  (``edge/firmware/mfrc522.py``, shared with the MicroPython gate) over ``spidev``.
  Reads 4-, 7- and 10-byte UIDs (cascade levels) and reports CRC, BCC and collision
  errors by code.
* ``mfrc522-pypi``: the ``mfrc522`` package from PyPI (``pip install mfrc522``), for
  installations that already use it.  It reads 4-byte UIDs only and returns the BCC
  check byte as a fifth byte; :class:`PypiMfrc522Reader` checks and strips it.

::

    reader = open_reader(config.reader)          # on a Pi
    uid = reader.read_uid()                      # b'\\x04\\xa1\\xb2\\xc3' or None
"""

from __future__ import annotations

import contextlib
import importlib
from types import ModuleType
from typing import Any

from edge.gate.config import ReaderSection
from edge.gate.reader import Reader, ReaderFault, ScriptedReader


class ReaderUnavailable(RuntimeError):
    """The reader's library or device is missing (not a Pi, SPI disabled, ...)."""


def _xor(data: bytes) -> int:
    out = 0
    for b in data:
        out ^= b
    return out


class PypiMfrc522Reader:
    """The PyPI ``mfrc522`` package's low-level ``MFRC522`` class behind :class:`Reader`.

    :param bus: SPI bus (0 on a Pi's header).
    :param device: chip select (0 = CE0).
    :param module: the imported ``mfrc522`` module (default: import it now).
    """

    def __init__(self, bus: int = 0, device: int = 0, module: ModuleType | Any = None) -> None:
        if module is None:
            try:
                module = importlib.import_module("mfrc522")
            except (ImportError, RuntimeError) as err:
                # The package imports RPi.GPIO, which raises RuntimeError off a Pi.
                raise ReaderUnavailable(
                    f"the mfrc522 package cannot run here ({err}); install it on a Pi"
                    " with `pip install mfrc522 spidev`, or use backend 'mfrc522'"
                ) from err
        self._dev = module.MFRC522(bus=bus, device=device)

    def read_uid(self) -> bytes | None:
        dev = self._dev
        status, _tag_type = dev.MFRC522_Request(dev.PICC_REQIDL)
        if status != dev.MI_OK:
            return None
        status, data = dev.MFRC522_Anticoll()
        if status != dev.MI_OK or not data:
            raise ReaderFault("protocol", "anticollision failed")
        raw = bytes(data)
        if len(raw) != 5:
            raise ReaderFault("protocol", f"expected 4 UID bytes + BCC, got {len(raw)}")
        if raw[0] == 0x88:
            raise ReaderFault("protocol", "7-byte UID: not readable with this backend")
        if _xor(raw[:4]) != raw[4]:
            raise ReaderFault("bcc", "UID check byte mismatch")
        return raw[:4]

    def close(self) -> None:
        closer = getattr(self._dev, "Close_MFRC522", None)
        if closer is not None:
            closer()


class Mfrc522Reader:
    """Gatehouse's MFRC522 driver behind :class:`~edge.gate.reader.Reader`.

    Each card read is followed by HLTA: a card left on the reader stays quiet until it
    leaves the field and comes back, so holding a card makes one read (the gate's
    debounce covers a card wobbling at the edge of the field)::

        reader = Mfrc522Reader(spi_bus=0, spi_device=0)   # /dev/spidev0.0
        reader.read_uid()                                 # bytes (4, 7, 10) or None

    :param bus: an SPI bus with ``exchange(tx) -> rx`` (default: a
        :class:`edge.gate.spibus.SpidevBus` on *spi_bus*.*spi_device*).
    :param spidev_module: the ``spidev`` module for the default bus (tests pass a
        stand-in wired to an emulated chip).
    :raises ReaderUnavailable: no ``spidev``, no such SPI device, or no chip answers.
    """

    def __init__(
        self,
        bus: Any = None,
        spi_bus: int = 0,
        spi_device: int = 0,
        speed_hz: int = 1_000_000,
        spidev_module: Any = None,
    ) -> None:
        from edge.firmware import mfrc522
        from edge.gate.spibus import SpidevBus

        self._errors = (mfrc522.ReaderError,)
        self._own_bus = bus is None
        if bus is None:
            try:
                bus = SpidevBus(spi_bus, spi_device, speed_hz, spidev_module=spidev_module)
            except (ImportError, OSError) as err:
                where = f"/dev/spidev{spi_bus}.{spi_device}"
                raise ReaderUnavailable(
                    f"cannot open {where}: {err} (enable SPI with dtparam=spi=on;"
                    " pip install spidev)"
                ) from err
        self.bus = bus
        self._dev = mfrc522.MFRC522(bus)
        version = self._dev.version()
        if version in (0x00, 0xFF):
            self.close()
            raise ReaderUnavailable(f"no MFRC522 answers on the SPI bus (version 0x{version:02x})")
        try:
            self._dev.init()
        except mfrc522.ReaderError as err:
            self.close()
            raise ReaderUnavailable(f"the MFRC522 did not initialise: {err}") from err
        self.version = version

    @property
    def errors(self) -> dict[str, int]:
        """Failed reads by code, as the driver counts them."""
        return dict(self._dev.errors)

    def read_uid(self) -> bytes | None:
        try:
            uid = self._dev.read_uid()
        except self._errors as err:
            raise ReaderFault(getattr(err, "code", "protocol"), str(err)) from err
        if uid is None:
            return None
        with contextlib.suppress(*self._errors):
            self._dev.halt()  # if it fails the card may just answer the next request
        return bytes(uid)

    def close(self) -> None:
        if self._own_bus:
            closer = getattr(self.bus, "close", None)
            if closer is not None:
                closer()

    def __repr__(self) -> str:
        return f"<Mfrc522Reader version=0x{getattr(self, 'version', 0):02x} {self.bus!r}>"


def open_reader(section: ReaderSection) -> Reader:
    """The reader named by ``[reader] backend``; raises :class:`ReaderUnavailable`."""
    if section.backend == "scripted":
        return ScriptedReader()
    if section.backend == "mfrc522-pypi":
        return PypiMfrc522Reader(section.spi_bus, section.spi_device)
    return Mfrc522Reader(
        spi_bus=section.spi_bus, spi_device=section.spi_device, speed_hz=section.spi_hz
    )
