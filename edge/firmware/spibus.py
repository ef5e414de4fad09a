# SPI transport for the MFRC522 driver on MicroPython: exchange(tx) -> rx is
# one full-duplex transfer with chip select held low around it.
#
#     from machine import SPI, Pin
#     spi = SPI(1, baudrate=1000000, polarity=0, phase=0, sck=Pin(18), mosi=Pin(23), miso=Pin(19))
#     bus = MachineSpiBus(spi, Pin(5, Pin.OUT))
#     reader = MFRC522(bus)
#
# rx is a view into a buffer allocated once (size bytes); it stays valid until
# the next exchange. Longer transfers get a buffer of their own.


class MachineSpiBus:
    def __init__(self, spi, cs, size=16):
        self._spi = spi
        self._cs = cs
        self._rx = bytearray(size)
        self._rx_mv = memoryview(self._rx)
        cs.value(1)

    def exchange(self, tx):
        n = len(tx)
        rx = self._rx_mv[:n] if n <= len(self._rx) else bytearray(n)
        self._cs.value(0)
        try:
            self._spi.write_readinto(tx, rx)
        finally:
            self._cs.value(1)
        return rx
