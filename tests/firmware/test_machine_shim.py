"""The test-only ``machine`` shim behaves like a board's pins and SPI bus on MicroPython."""

from __future__ import annotations

from gatehouse.services.micropython import run_micropython
from tests.conftest import ROOT

SHIM = ROOT / "tests" / "firmware" / "shim"

SCRIPT = """
import machine
from machine import Pin, SPI

relay = Pin(26, Pin.OUT, value=0)
relay.on(); relay(0); relay.value(1)
print("history", Pin(26).history, relay.value())

seen = []
button = Pin(4, Pin.IN, Pin.PULL_UP)
button.irq(handler=lambda p: seen.append(p.value()), trigger=Pin.IRQ_FALLING)
print("idle", button.value())
Pin(4).drive(0); Pin(4).drive(0); Pin(4).drive(1)
print("falling", seen, button())

class Echo:
    def exchange(self, tx):
        return bytes(b ^ 0xFF for b in tx)

spi = SPI(1, baudrate=4000000, polarity=0, phase=0, sck=18, mosi=23, miso=19)
try:
    spi.write(b"x")
except OSError as err:
    print("unwired", err)
SPI.attach(1, Echo(), cs=5)
cs = Pin(5, Pin.OUT, value=1)
try:
    spi.write(b"x")
except OSError as err:
    print("cs high", err)
cs(0)
buf = bytearray(2)
spi.write_readinto(b"\\x0f\\xf0", buf)
print("rx", bytes(buf), spi.read(1, 0x01), spi.transfers, spi.baudrate)
"""


def test_pins_and_spi_on_micropython() -> None:
    result = run_micropython(["-c", SCRIPT], path=[SHIM])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "history [0, 1, 0, 1] 1",
        "idle 1",
        "falling [0] 1",
        "unwired nothing on SPI bus 1",
        "cs high SPI transfer with chip select 5 high",
        "rx b'\\xf0\\x0f' b'\\xfe' 2 4000000",
    ]
