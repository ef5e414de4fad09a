# Register-level MFRC522 emulator with ISO/IEC 14443-3 type A cards, for tests
# only. It answers SPI transfers the way the chip does, so the real driver runs
# against it on CPython (behind a fake spidev) and on MicroPython (behind the
# machine shim's SPI). Runs on both interpreters.
#
#     chip = MFRC522Emulator()
#     chip.present(b"\x04\xa1\xb2\xc3")
#     reader = MFRC522(chip)          # the chip is itself a bus: exchange(tx) -> rx
#     reader.init()
#     reader.read_uid()               # b"\x04\xa1\xb2\xc3"
#
# Modelled: SPI address bytes (read = 0x80 | addr << 1, LSB 0), the 64-byte
# FIFO (level, flush, BufferOvfl), CommandReg (Idle, Transceive, SoftReset with
# a short PowerDown wake-up), BitFramingReg (StartSend, TxLastBits, RxAlign),
# ComIrqReg/DivIrqReg set/clear, ErrorReg (CollErr, CRCErr, ParityErr,
# ProtocolErr, BufferOvfl), CollReg (first collision, ValuesAfterColl),
# ControlReg RxLastBits, TxModeReg/RxModeReg CRC, TxControlReg antenna (off
# powers the cards down), the no-answer TimerIRq (TModeReg TAuto), VersionReg.
# Cards answering together collide bit by bit; the reader sees the wired result.

COMMAND = 0x01
COM_IRQ = 0x04
DIV_IRQ = 0x05
ERROR = 0x06
STATUS1 = 0x07
FIFO_DATA = 0x09
FIFO_LEVEL = 0x0A
CONTROL = 0x0C
BIT_FRAMING = 0x0D
COLL = 0x0E
MODE = 0x11
TX_MODE = 0x12
RX_MODE = 0x13
TX_CONTROL = 0x14
T_MODE = 0x2A
T_RELOAD_H = 0x2C
T_RELOAD_L = 0x2D
VERSION = 0x37

IDLE_CMD = 0x00
TRANSCEIVE = 0x0C
SOFT_RESET = 0x0F

TX_IRQ = 0x40
RX_IRQ = 0x20
ERR_IRQ = 0x02
TIMER_IRQ = 0x01

BUFFER_OVFL = 0x10
COLL_ERR = 0x08
CRC_ERR = 0x04
PARITY_ERR = 0x02
PROTOCOL_ERR = 0x01

# Reset values of the registers that matter here (datasheet, section 9.3)
_RESET = (
    (COMMAND, 0x20),
    (0x02, 0x80),
    (COM_IRQ, 0x14),
    (STATUS1, 0x21),
    (0x0B, 0x08),
    (CONTROL, 0x10),
    (COLL, 0xA0),
    (MODE, 0x3F),
    (TX_CONTROL, 0x80),
    (0x16, 0x10),
    (0x17, 0x84),
    (0x18, 0x84),
    (0x19, 0x4D),
    (0x21, 0xFF),
    (0x22, 0xFF),
    (0x24, 0x26),
    (0x26, 0x48),
)

REQA = 0x26
WUPA = 0x52
HLTA = 0x50
SEL = (0x93, 0x95, 0x97)

IDLE = "idle"
READY = "ready"
ACTIVE = "active"
HALT = "halt"


def crc_a(data):
    # ISO/IEC 14443-3 CRC_A, bit by bit (an oracle apart from the driver's)
    crc = 0x6363
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def with_crc(data):
    crc = crc_a(data)
    return bytes(data) + bytes([crc & 0xFF, crc >> 8])


class Card:
    # A type A card (PICC) with the ISO/IEC 14443-3 states IDLE, READY,
    # ACTIVE, HALT. A card woken from HALT falls back to HALT (READY*/ACTIVE*).
    def __init__(self, uid, sak=0x08):
        uid = bytes(uid)
        if len(uid) == 4:
            parts = [uid]
        elif len(uid) == 7:
            parts = [b"\x88" + uid[:3], uid[3:]]
        elif len(uid) == 10:
            parts = [b"\x88" + uid[:3], b"\x88" + uid[3:6], uid[6:]]
        else:
            raise ValueError("a UID has 4, 7 or 10 bytes")
        self.uid = uid
        self.sak = sak
        # UID-CLn followed by its BCC, per cascade level
        self.levels = [p + bytes([p[0] ^ p[1] ^ p[2] ^ p[3]]) for p in parts]
        self.atqa = bytes([((len(parts) - 1) << 6) | 0x04, 0x00])
        self.state = IDLE
        self.level = 0
        self.fallback = IDLE

    def __repr__(self):
        return "<Card %s %s>" % (self.uid.hex(), self.state)

    def power_off(self):
        self.state = IDLE
        self.fallback = IDLE
        self.level = 0

    def _error(self):
        self.state = self.fallback
        return None

    def hear(self, data, nbits):
        # The card's answer to a reader frame: (bits as int, LSB first; bit
        # count; "atqa" | "uid" | "sak") or None for silence.
        state = self.state
        if nbits == 7 and data[0] in (REQA, WUPA):
            if state == IDLE or (state == HALT and data[0] == WUPA):
                self.fallback = state
                self.state = READY
                self.level = 0
                return int.from_bytes(self.atqa, "little"), 16, "atqa"
            return None if state == HALT else self._error()
        if state in (IDLE, HALT):
            return None
        if state == ACTIVE:
            if nbits == 32 and data[0] == HLTA and data[1] == 0 and crc_a(data) == 0:
                self.state = HALT
                return None
            return self._error()
        # READY: anticollision or select at this card's cascade level
        if nbits < 16 or data[0] != SEL[self.level]:
            return self._error()
        nvb = data[1]
        clb = self.levels[self.level]
        if nvb == 0x70:
            if nbits != 72 or crc_a(data) != 0 or data[2:7] != clb:
                return None  # not for this card: stays READY
            if self.level + 1 < len(self.levels):
                self.level += 1
                sak = 0x04  # cascade bit: UID not complete
            else:
                self.state = ACTIVE
                sak = self.sak & ~0x04
            return int.from_bytes(with_crc(bytes([sak])), "little"), 24, "sak"
        known = ((nvb >> 4) - 2) * 8 + (nvb & 0x0F)
        if (nvb & 0x0F) > 7 or known < 0 or known > 32 or nbits != 16 + known:
            return self._error()
        value = int.from_bytes(clb, "little")
        mask = (1 << known) - 1
        if int.from_bytes(data[2:], "little") & mask != value & mask:
            return None  # another card's branch: stays READY, silent
        return value >> known, 40 - known, "uid"


class MFRC522Emulator:
    # The chip, its RF field and the cards in it. Scenario controls:
    # present(uid), present_many(uids), remove(), corrupt_crc(n),
    # corrupt_bcc(n), inject_errors(bits, n), remove_after(n).
    PARITY_ERR = PARITY_ERR
    PROTOCOL_ERR = PROTOCOL_ERR

    def __init__(self, version=0x92):
        self.version = version
        self.regs = bytearray(64)
        self.cards = []
        self.sent = []  # reader frames as (bytes, bit count), oldest first
        self.exchanges = 0  # SPI transfers seen
        self._crc_faults = 0
        self._bcc_faults = 0
        self._error_bits = 0
        self._error_frames = 0
        self._leave_in = 0
        self._reset()
        self._waking = 0

    # -- scenario --------------------------------------------------------
    def present(self, uid, sak=0x08):
        # Puts one card (alone) in the field; returns it.
        return self.present_many([uid], [sak])[0]

    def present_many(self, uids, saks=None):
        # Puts several cards in the field at once, replacing any there.
        self.cards = [Card(u, saks[i] if saks else 0x08) for i, u in enumerate(uids)]
        self._leave_in = 0
        return self.cards

    def remove(self):
        self.cards = []
        self._leave_in = 0

    def corrupt_crc(self, n=1):
        # The next n card answers that carry a CRC_A carry a wrong one.
        self._crc_faults = n

    def corrupt_bcc(self, n=1):
        # The next n anticollision answers carry a wrong BCC.
        self._bcc_faults = n

    def inject_errors(self, bits, n=1):
        # The next n answers arrive with these ErrorReg bits set (e.g.
        # PARITY_ERR, PROTOCOL_ERR), as noise in the field would cause.
        self._error_bits = bits
        self._error_frames = n

    def remove_after(self, n):
        # The cards stay for n more reader frames (answering them), then
        # leave the field: a card pulled away in the middle of a read.
        self._leave_in = n

    # -- SPI -------------------------------------------------------------
    def exchange(self, tx):
        # One chip-select frame. Reads: every byte but the last is an address
        # byte and the next rx byte holds that register. Writes: the first
        # byte addresses, all following bytes go to that register.
        self.exchanges += 1
        rx = bytearray(len(tx))
        if not tx:
            return rx
        if tx[0] & 0x01:
            raise ValueError("SPI address byte 0x%02x: bit 0 must be 0" % tx[0])
        if tx[0] & 0x80:
            for i in range(1, len(tx)):
                rx[i] = self._read((tx[i - 1] >> 1) & 0x3F)
        else:
            reg = (tx[0] >> 1) & 0x3F
            for i in range(1, len(tx)):
                self._write(reg, tx[i])
        return rx

    def _reset(self):
        r = self.regs
        for i in range(64):
            r[i] = 0
        for reg, value in _RESET:
            r[reg] = value
        r[VERSION] = self.version
        self._fifo = []
        self._rx_last_bits = 0
        self._waking = 2  # CommandReg reads with PowerDown set after SoftReset
        for card in self.cards:
            card.power_off()

    def _read(self, reg):
        r = self.regs
        if reg == FIFO_DATA:
            return self._fifo.pop(0) if self._fifo else 0
        if reg == FIFO_LEVEL:
            return len(self._fifo)
        if reg == CONTROL:
            return (r[CONTROL] & 0xF8) | self._rx_last_bits
        if reg == COMMAND and self._waking:
            self._waking -= 1
            return r[COMMAND] | 0x10
        return r[reg]

    def _write(self, reg, value):
        r = self.regs
        if reg == COMMAND:
            if value & 0x0F == SOFT_RESET:
                self._reset()
            elif value & 0x0F == 0x07:  # NoCmdChange
                r[COMMAND] = (value & 0x30) | (r[COMMAND] & 0x0F)
            else:
                r[COMMAND] = value & 0x3F
        elif reg in (COM_IRQ, DIV_IRQ):
            bits = value & 0x7F
            r[reg] = r[reg] | bits if value & 0x80 else r[reg] & ~bits
        elif reg == FIFO_DATA:
            if len(self._fifo) >= 64:
                r[ERROR] |= BUFFER_OVFL
            else:
                self._fifo.append(value)
        elif reg == FIFO_LEVEL:
            if value & 0x80:
                self._fifo = []
                r[ERROR] &= ~BUFFER_OVFL
        elif reg == BIT_FRAMING:
            r[reg] = value
            if value & 0x80 and r[COMMAND] & 0x0F == TRANSCEIVE:
                self._transceive()
        elif reg == COLL:
            r[COLL] = (value & 0x80) | (r[COLL] & 0x7F)
        elif reg == CONTROL:
            r[CONTROL] = value & 0xF8
        elif reg == TX_CONTROL:
            r[reg] = value
            if not value & 0x03:
                for card in self.cards:
                    card.power_off()
        elif reg not in (ERROR, STATUS1, 0x08, VERSION):
            r[reg] = value

    # -- RF --------------------------------------------------------------
    def _transceive(self):
        r = self.regs
        tx_last = r[BIT_FRAMING] & 0x07
        align = (r[BIT_FRAMING] >> 4) & 0x07
        data = bytearray(self._fifo)
        self._fifo = []
        if not data:
            return
        nbits = len(data) * 8
        if tx_last:
            nbits -= 8 - tx_last
            data[-1] &= (1 << tx_last) - 1
        elif r[TX_MODE] & 0x80:  # TxCRCEn
            data = bytearray(with_crc(data))
            nbits += 16
        r[ERROR] &= 0xD0  # receiver start-up clears all but BufferOvfl, TempErr, WrErr
        r[COM_IRQ] |= TX_IRQ
        self.sent.append((bytes(data), nbits))
        answers = []
        if r[TX_CONTROL] & 0x03:
            for card in self.cards:
                answer = card.hear(data, nbits)
                if answer:
                    answers.append(answer)
        if self._leave_in:
            self._leave_in -= 1
            if not self._leave_in:
                self.cards = []
        if not answers:
            if r[T_MODE] & 0x80 and (r[T_RELOAD_H] or r[T_RELOAD_L]):
                r[COM_IRQ] |= TIMER_IRQ  # 25 ms of silence, in no time
            return
        self._receive(answers, align)

    def _receive(self, answers, align):
        r = self.regs
        value, bits, kind = answers[0]
        diff = 0
        wired = value
        for other, other_bits, _ in answers[1:]:
            diff |= value ^ other
            wired |= other
            bits = max(bits, other_bits)
        r[COLL] = (r[COLL] & 0x80) | 0x20  # CollPosNotValid until a collision
        if diff:
            first = 0
            while not (diff >> first) & 1:
                first += 1
            r[ERROR] |= COLL_ERR
            pos = align + first + 1  # counted from the first FIFO bit
            if pos <= 32:
                r[COLL] = (r[COLL] & 0x80) | (pos & 0x1F)
            # ValuesAfterColl = 0 clears the colliding bit and all after it
            value = wired if r[COLL] & 0x80 else value & ((1 << first) - 1)
        if kind == "sak" and self._crc_faults:
            self._crc_faults -= 1
            value ^= 0xFFFF << 8
        if kind == "uid" and self._bcc_faults:
            self._bcc_faults -= 1
            value ^= 0xFF << (bits - 8)
        if self._error_frames:
            self._error_frames -= 1
            r[ERROR] |= self._error_bits
        total = align + bits
        frame = (value << align).to_bytes((total + 7) // 8, "little")
        if r[RX_MODE] & 0x80 and not total % 8 and (len(frame) < 3 or crc_a(frame)):
            r[ERROR] |= CRC_ERR  # RxCRCEn
        for byte in frame:
            if len(self._fifo) < 64:
                self._fifo.append(byte)
            else:
                r[ERROR] |= BUFFER_OVFL
        self._rx_last_bits = total % 8
        r[COM_IRQ] |= RX_IRQ | (ERR_IRQ if r[ERROR] & 0x1F else 0)
