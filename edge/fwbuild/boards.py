"""The boards the firmware is built for, with their default pin maps.

The pin maps match the wiring in ``hardware/esp32/`` and ``hardware/pico-w/``; a gate's
config may override any of them::

    >>> BOARDS["esp32"].pins["relay"]
    26
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Board:
    """A board family.

    :param name: the ``--board`` value (``esp32``, ``rp2``).
    :param title: what it is, for people.
    :param march: ``mpy-cross -march`` for its CPU.
    :param stubs: the MicroPython stubs package its code is type-checked against.
    :param pins: default pin map, as in ``config.json``'s ``pins``.
    """

    name: str
    title: str
    march: str
    stubs: str
    pins: dict[str, Any] = field(default_factory=dict)


BOARDS: dict[str, Board] = {
    "esp32": Board(
        name="esp32",
        title="ESP32-WROOM-32 (ESP32 DevKitC)",
        march="xtensawin",
        stubs="micropython-esp32-stubs",
        pins={
            "spi": {"id": 2, "sck": 18, "mosi": 23, "miso": 19, "baudrate": 1000000},
            "rc522_cs": 5,
            "rc522_rst": 22,
            "relay": 26,
            "relay_active_low": False,
            "led_green": 25,
            "led_red": 33,
            "buzzer": 32,
            "contact": 27,
        },
    ),
    "rp2": Board(
        name="rp2",
        title="Raspberry Pi Pico W (RP2040)",
        march="armv6m",
        stubs="micropython-rp2-stubs",
        pins={
            "spi": {"id": 0, "sck": 18, "mosi": 19, "miso": 16, "baudrate": 1000000},
            "rc522_cs": 17,
            "rc522_rst": 20,
            "relay": 15,
            "relay_active_low": False,
            "led_green": 14,
            "led_red": 13,
            "buzzer": 12,
            "contact": 11,
        },
    ),
}


def board(name: str) -> Board:
    """The board called *name*, or :class:`ValueError` naming the choices."""
    try:
        return BOARDS[name]
    except KeyError:
        raise ValueError(f"unknown board {name!r}: choose {', '.join(BOARDS)}") from None
