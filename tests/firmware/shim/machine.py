# Test-only stand-in for MicroPython's machine module, so firmware modules run
# on the unix port (whose machine has no Pin or SPI). Shadows the built-in
# when its folder is on MICROPYPATH.
#
#     import machine
#     machine.SPI.attach(1, chip, cs=5)   # chip: exchange(tx) -> rx
#     button = machine.Pin(4, machine.Pin.IN, machine.Pin.PULL_UP)
#     machine.Pin(4).drive(0)             # the test presses it (irq handler runs)
#     machine.Pin(5).history              # levels the firmware wrote, in order
#
# Pins with the same id share one state, as on a board.

_pins = {}  # pin id -> _PinState
_spi_devices = {}  # SPI bus id -> (device, chip-select pin id or None)


class _PinState:
    def __init__(self):
        self.mode = -1
        self.pull = -1
        self.level = 0
        self.history = []
        self.handler = None
        self.trigger = 0


def reset():
    # Forget every pin and SPI device (between test cases).
    _pins.clear()
    _spi_devices.clear()


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        if id not in _pins:
            _pins[id] = _PinState()
        self._s = _pins[id]
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        s = self._s
        if mode != -1:
            s.mode = mode
        if pull != -1:
            s.pull = pull
            if s.mode == Pin.IN and not s.history:
                s.level = 1 if pull == Pin.PULL_UP else 0
        if value is not None:
            self.value(value)

    def value(self, level=None):
        s = self._s
        if level is None:
            return s.level
        s.level = 1 if level else 0
        s.history.append(s.level)
        return None

    __call__ = value

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING):
        self._s.handler = handler
        self._s.trigger = trigger
        return self

    # -- for tests -------------------------------------------------------
    @property
    def history(self):
        return self._s.history

    @property
    def mode(self):
        return self._s.mode

    def drive(self, level):
        # Sets an input's level from outside; runs the irq handler on a
        # matching edge.
        s = self._s
        old = s.level
        s.level = 1 if level else 0
        edge = Pin.IRQ_RISING if s.level > old else Pin.IRQ_FALLING if s.level < old else 0
        if s.handler and edge & s.trigger:
            s.handler(self)

    def __repr__(self):
        return "Pin(%r, level=%d)" % (self.id, self._s.level)


class SPI:
    MSB = 0
    LSB = 1

    @staticmethod
    def attach(bus_id, device, cs=None):
        # Wires device (exchange(tx) -> rx) to SPI bus bus_id. Each
        # write_readinto/write/readinto call is one chip-select frame; with cs
        # given, that pin must be low during it.
        _spi_devices[bus_id] = (device, cs)

    def __init__(self, id, baudrate=1000000, polarity=0, phase=0, bits=8, firstbit=0, **pins):
        self.id = id
        self.transfers = 0
        self.init(baudrate, polarity, phase, bits, firstbit, **pins)

    def init(self, baudrate=1000000, polarity=0, phase=0, bits=8, firstbit=0, **pins):
        self.baudrate = baudrate
        self.polarity = polarity
        self.phase = phase
        self.bits = bits
        self.firstbit = firstbit
        self.pins = pins  # sck=, mosi=, miso=

    def deinit(self):
        pass

    def write_readinto(self, write_buf, read_buf):
        if len(write_buf) != len(read_buf):
            raise ValueError("buffers must have the same length")
        if self.id not in _spi_devices:
            raise OSError("nothing on SPI bus %r" % (self.id,))
        device, cs = _spi_devices[self.id]
        if cs is not None and Pin(cs).value():
            raise OSError("SPI transfer with chip select %r high" % (cs,))
        self.transfers += 1
        rx = device.exchange(bytes(write_buf))
        for i in range(len(read_buf)):
            read_buf[i] = rx[i]

    def write(self, buf):
        self.write_readinto(buf, bytearray(len(buf)))

    def readinto(self, buf, write=0x00):
        self.write_readinto(bytes([write]) * len(buf), buf)

    def read(self, nbytes, write=0x00):
        buf = bytearray(nbytes)
        self.readinto(buf, write)
        return bytes(buf)
