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


def open_reader(section: ReaderSection) -> Reader:
    """The reader named by ``[reader] backend``; raises :class:`ReaderUnavailable`."""
    if section.backend == "scripted":
        return ScriptedReader()
    if section.backend == "mfrc522-pypi":
        return PypiMfrc522Reader(section.spi_bus, section.spi_device)
    return _open_driver(section)


def _open_driver(section: ReaderSection) -> Reader:
    try:
        driver = importlib.import_module("edge.firmware.mfrc522")
        spibus = importlib.import_module("edge.gate.spibus")
    except ImportError as err:
        raise ReaderUnavailable(f"the MFRC522 driver is not installed ({err})") from err
    return DriverReader(driver, spibus, section)


class DriverReader:
    """Gatehouse's MFRC522 driver over ``spidev``; faults become :class:`ReaderFault`."""

    def __init__(self, driver: ModuleType, spibus: ModuleType, section: ReaderSection) -> None:
        self._errors = (driver.ReaderError,)
        try:
            self._bus = spibus.SpidevBus(section.spi_bus, section.spi_device, section.spi_hz)
        except (ImportError, OSError) as err:
            where = f"{section.spi_bus}.{section.spi_device}"
            raise ReaderUnavailable(f"cannot open SPI {where}: {err}") from err
        self._dev = driver.MFRC522(self._bus)
        self._dev.init()

    def read_uid(self) -> bytes | None:
        try:
            uid = self._dev.read_uid()
        except self._errors as err:
            raise ReaderFault(getattr(err, "code", "protocol"), str(err)) from err
        return bytes(uid) if uid is not None else None

    def close(self) -> None:
        closer = getattr(self._bus, "close", None)
        if closer is not None:
            closer()
