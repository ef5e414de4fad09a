# MFRC522 (RC522) card reader driver: ISO/IEC 14443-3 type A request,
# bit-oriented anticollision over cascade levels 1-3, select; 4-, 7- and
# 10-byte UIDs. The same file runs on the Pi gate (CPython, over spidev) and
# in the firmware (MicroPython, over machine.SPI).
#
#     reader = MFRC522(bus)      # bus: any object with exchange(tx) -> rx
#     reader.init()
#     uid = reader.read_uid()    # bytes, or None when no card answers
#     if uid:
#         reader.halt()          # the card stays quiet until it re-enters the field
#
# The bus does one chip-select-framed full-duplex transfer per exchange; rx is
# as long as tx and only needs to stay valid until the next exchange.
#
# CRC_A is computed in software (crc_a below), not with the chip's CalcCRC
# command: no extra register round trips and no wait on the CRC coprocessor.
#
# Errors raise ReaderError with a stable .code: "timeout" (no answer, card
# left mid-read), "crc", "bcc", "collision" (cannot be resolved) or
# "protocol". reader.errors counts them by code. Every wait is bounded.
# (The type: ignore comments let mypy check this against MicroPython stubs.)
try:
    from micropython import const
except ImportError:  # CPython

    def const(value):  # type: ignore[misc]
        return value


try:
    from time import ticks_diff, ticks_ms
except ImportError:  # CPython
    from time import monotonic  # type: ignore[attr-defined]

    def ticks_ms():  # type: ignore[misc]
        return int(monotonic() * 1000)

    def ticks_diff(end, start):  # type: ignore[misc,no-redef]
        return end - start


# Registers used more than once (NXP MFRC522 datasheet, section 9)
_COMMAND = const(0x01)
_COM_IRQ = const(0x04)
_ERROR = const(0x06)
_FIFO_DATA = const(0x09)
_FIFO_LEVEL = const(0x0A)
_CONTROL = const(0x0C)
_BIT_FRAMING = const(0x0D)
_COLL = const(0x0E)
_TX_CONTROL = const(0x14)
_VERSION = const(0x37)
# CommandReg
_CMD_IDLE = const(0x00)
_CMD_TRANSCEIVE = const(0x0C)
_CMD_SOFT_RESET = const(0x0F)
_POWER_DOWN = const(0x10)
# ComIrqReg
_IRQ_RX = const(0x20)
_IRQ_IDLE = const(0x10)
_IRQ_TIMER = const(0x01)
# ErrorReg
_ERR_BUFFER_OVFL = const(0x10)
_ERR_COLL = const(0x08)
_ERR_PARITY = const(0x02)
_ERR_PROTOCOL = const(0x01)
# CollReg
_COLL_POS_NOT_VALID = const(0x20)
# ISO/IEC 14443-3 type A
_REQA = const(0x26)
_WUPA = const(0x52)
_HLTA = const(0x50)
_SEL_CL1 = const(0x93)
_NVB_SELECT = const(0x70)
_CASCADE_TAG = const(0x88)
_SAK_CASCADE = const(0x04)
_MAX_POLLS = const(3000)  # register reads per wait, whatever the clock says
_ANSWER_MS = const(40)  # > the chip's 25 ms no-answer timer set in init()
_RESET_MS = const(150)  # oscillator start-up after SoftReset


class ReaderError(Exception):
    # code: "timeout", "crc", "bcc", "collision" or "protocol"
    def __init__(self, code, detail=""):
        super().__init__("%s: %s" % (code, detail) if detail else code)
        self.code = code
        self.detail = detail


def crc_a(data, n):
    # CRC_A of data[:n] (ISO/IEC 14443-3 annex B): CRC-16/CCITT reflected,
    # preset 0x6363, no final xor; sent low byte first.
    crc = 0x6363
    for i in range(n):
        b = (data[i] ^ crc) & 0xFF
        b = (b ^ (b << 4)) & 0xFF
        crc = (crc >> 8) ^ (b << 8) ^ (b << 3) ^ (b >> 4)
    return crc


class MFRC522:
    def __init__(self, bus):
        self._bus = bus
        self._pair = bytearray(2)  # one register read or write
        self._spi = bytearray(12)  # FIFO transfers: address byte + data
        self._spi_mv = memoryview(self._spi)
        self._frame = bytearray(9)  # SEL NVB UID-CLn(4) BCC CRC_A(2)
        self._rx = bytearray(5)  # longest answer: UID-CLn + BCC
        self._uid = bytearray(10)
        self._coll = 0  # CollPos of the last answer (1-32), -1 unknown, 0 none
        self._last_bits = 0
        self._stale = False  # a card may be left ready/active by the last read
        self.reads = 0
        self.errors = {"timeout": 0, "crc": 0, "bcc": 0, "collision": 0, "protocol": 0}

    def _write(self, reg, value):
        p = self._pair
        p[0] = reg << 1
        p[1] = value
        self._bus.exchange(p)

    def _read(self, reg):
        p = self._pair
        p[0] = 0x80 | (reg << 1)
        p[1] = 0
        return self._bus.exchange(p)[1]

    def _until(self, reg, mask, clear, limit_ms):
        # Reads reg until (value & mask) is zero (clear) or not (not clear);
        # bounded by limit_ms and _MAX_POLLS. Returns the value or None.
        start = ticks_ms()
        for _ in range(_MAX_POLLS):
            value = self._read(reg)
            if (not value & mask) == clear:
                return value
            if ticks_diff(ticks_ms(), start) > limit_ms:
                break
        return None

    def version(self):
        # VersionReg: 0x91 (v1.0), 0x92 (v2.0); 0x00 or 0xFF: no chip answers
        return self._read(_VERSION)

    def init(self):
        w = self._write
        w(_COMMAND, _CMD_SOFT_RESET)
        if self._until(_COMMAND, _POWER_DOWN, True, _RESET_MS) is None:
            raise ReaderError("timeout", "no wake-up after soft reset")
        w(0x2A, 0x80)  # TModeReg TAuto: the timer starts when a frame is sent
        w(0x2B, 0xA9)  # TPrescalerReg: 13.56 MHz / (2 * 169 + 1), 25 us ticks
        w(0x2C, 0x03)  # TReloadReg 1000 ticks: TimerIRq after 25 ms of silence
        w(0x2D, 0xE8)
        w(0x15, 0x40)  # TxASKReg Force100ASK
        w(0x11, 0x3D)  # ModeReg: CRC preset 0x6363
        w(0x12, 0x00)  # TxModeReg, RxModeReg: 106 kBd, no hardware CRC
        w(0x13, 0x00)
        w(_COLL, 0x00)  # ValuesAfterColl = 0: bits after a collision read 0
        tx = self._read(_TX_CONTROL)
        if tx & 0x03 != 0x03:
            w(_TX_CONTROL, tx | 0x03)  # antenna on: Tx1RFEn, Tx2RFEn
        self._stale = False

    def _transceive(self, n, tx_bits=0, rx_align=0):
        # Sends _frame[:n] (tx_bits valid bits in the last byte, 0 = all 8),
        # receives into _rx from bit rx_align of the first byte on. Returns
        # the number of bytes received; sets _coll and _last_bits.
        w = self._write
        w(_COMMAND, _CMD_IDLE)
        w(_COM_IRQ, 0x7F)  # clear every interrupt request bit
        w(_FIFO_LEVEL, 0x80)  # FlushBuffer
        b = self._spi
        b[0] = _FIFO_DATA << 1
        for i in range(n):
            b[i + 1] = self._frame[i]
        self._bus.exchange(self._spi_mv[: n + 1])
        framing = (rx_align << 4) | tx_bits
        w(_BIT_FRAMING, framing)
        w(_COMMAND, _CMD_TRANSCEIVE)
        w(_BIT_FRAMING, 0x80 | framing)  # StartSend
        irq = self._until(_COM_IRQ, _IRQ_RX | _IRQ_IDLE | _IRQ_TIMER, False, _ANSWER_MS)
        if irq is None or not irq & (_IRQ_RX | _IRQ_IDLE):
            raise ReaderError("timeout", "no answer")
        err = self._read(_ERROR)
        if err & (_ERR_BUFFER_OVFL | _ERR_PARITY | _ERR_PROTOCOL):
            raise ReaderError("protocol", "ErrorReg 0x%02x" % err)
        count = self._read(_FIFO_LEVEL) & 0x7F
        if count > len(self._rx):
            raise ReaderError("protocol", "answer of %d bytes" % count)
        if count:
            for i in range(count):
                b[i] = 0x80 | (_FIFO_DATA << 1)
            b[count] = 0
            rx = self._bus.exchange(self._spi_mv[: count + 1])
            for i in range(count):
                self._rx[i] = rx[i + 1]
        self._last_bits = self._read(_CONTROL) & 0x07
        self._coll = 0
        if err & _ERR_COLL:
            c = self._read(_COLL)
            self._coll = -1 if c & _COLL_POS_NOT_VALID else (c & 0x1F) or 32
        return count

    def _request(self, cmd):
        # REQA/WUPA as a 7-bit short frame; True when any card answers ATQA
        self._frame[0] = cmd
        try:
            count = self._transceive(1, 7)
        except ReaderError as err:
            if err.code == "timeout":
                return False
            raise
        # ATQA bits may collide (cards of different UID sizes): still present
        if count != 2 or self._last_bits:
            raise ReaderError("protocol", "ATQA of %d bytes" % count)
        return True

    def _anticollision(self, sel):
        # Learns UID-CLn + BCC of one card at this cascade level into
        # _frame[2:7]. On a collision it takes the branch of the cards that
        # sent 1 at the first colliding bit and asks again with that many bits
        # known (NVB, TxLastBits and RxAlign for the partial byte).
        f = self._frame
        f[0] = sel
        known = 0
        for _ in range(33):  # each round learns at least one more bit
            whole = known >> 3
            bits = known & 7
            f[1] = ((2 + whole) << 4) | bits
            count = self._transceive(2 + whole + (1 if bits else 0), bits, bits)
            if count != 5 - whole or self._last_bits:
                raise ReaderError("protocol", "anticollision answer of %d bytes" % count)
            rx = self._rx
            keep = (1 << bits) - 1  # bits of the partial byte we sent
            f[2 + whole] = (f[2 + whole] & keep) | (rx[0] & ~keep & 0xFF)
            for i in range(1, count):
                f[2 + whole + i] = rx[i]
            if not self._coll:
                if f[2] ^ f[3] ^ f[4] ^ f[5] != f[6]:
                    raise ReaderError("bcc", "level 0x%02x" % sel)
                return
            if self._coll < 0:
                raise ReaderError("collision", "position not reported")
            # CollPos counts from the first FIFO bit, RxAlign included
            pos = (whole << 3) + self._coll
            if pos <= known or pos > 32:
                raise ReaderError("collision", "no progress at bit %d" % pos)
            i = 2 + ((pos - 1) >> 3)
            bit = 1 << ((pos - 1) & 7)
            f[i] = (f[i] & (bit - 1)) | bit
            known = pos
        raise ReaderError("collision", "unresolved")

    def _select(self):
        # SELECT the card whose UID-CLn + BCC are in _frame[2:7]; returns SAK
        f = self._frame
        f[1] = _NVB_SELECT
        crc = crc_a(f, 7)
        f[7] = crc & 0xFF
        f[8] = crc >> 8
        count = self._transceive(9)
        if self._coll:
            raise ReaderError("collision", "in SAK")
        rx = self._rx
        if count != 3 or self._last_bits:
            raise ReaderError("protocol", "SAK of %d bytes" % count)
        crc = crc_a(rx, 1)
        if rx[1] != crc & 0xFF or rx[2] != crc >> 8:
            raise ReaderError("crc", "SAK")
        return rx[0]

    def _read_uid(self, cmd):
        # A card left ready or active by the previous read goes idle on the
        # first request without answering; a second request wakes it.
        if not self._request(cmd) and not (self._stale and self._request(cmd)):
            self._stale = False
            return None
        self._stale = True
        f = self._frame
        uid = self._uid
        size = 0
        sel = _SEL_CL1
        for level in range(3):
            self._anticollision(sel)
            sak = self._select()
            if not sak & _SAK_CASCADE:
                for i in range(4):
                    uid[size + i] = f[2 + i]
                return bytes(uid[: size + 4])
            if f[2] != _CASCADE_TAG or level == 2:
                raise ReaderError("protocol", "cascade without tag at level %d" % (level + 1))
            for i in range(3):
                uid[size + i] = f[3 + i]
            size += 3
            sel += 2
        raise ReaderError("protocol", "no UID")

    def read_uid(self, wake=False):
        # UID bytes (4, 7 or 10) of one card, None when none answers. The
        # card is left active: halt() it. wake=True sends WUPA instead of
        # REQA, waking halted cards too.
        try:
            uid = self._read_uid(_WUPA if wake else _REQA)
        except ReaderError as err:
            self._stale = True
            self.errors[err.code] += 1
            raise
        if uid is not None:
            self.reads += 1
        return uid

    def halt(self):
        # HLTA: the active card goes to HALT and answers only WUPA from now on
        # (until it leaves the field). Silence is the acknowledgement.
        f = self._frame
        f[0] = _HLTA
        f[1] = 0
        crc = crc_a(f, 2)
        f[2] = crc & 0xFF
        f[3] = crc >> 8
        self._stale = False
        try:
            self._transceive(4)
        except ReaderError as err:
            if err.code == "timeout":
                return
            self.errors[err.code] += 1
            raise
        self.errors["protocol"] += 1
        raise ReaderError("protocol", "card answered HLTA")
