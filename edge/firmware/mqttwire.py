# MQTT 3.1.1 on the wire: reading packets with deadlines, checking every byte.
#
# The half of the gate's MQTT client (mqtt.py) that touches bytes: a fixed header and
# remaining length are read before anything is trusted, every read has a deadline, and
# anything out of the protocol raises BadPacket (never assert).  Incoming PUBLISH
# packets land in one receive buffer allocated once; one larger than the buffer is read
# past, acknowledged and reported with payload None.

import errno
import struct
import time

from micropython import const

_PUBLISH = const(0x30)
_PUBACK = const(0x40)
_SUBACK = const(0x90)
_PINGRESP = const(0xD0)
_TOPIC_MAX = const(256)


class MQTTError(Exception):
    # code: "refused", "closed", "timeout", "too_large", "busy", "sub_refused", ...
    def __init__(self, code, detail=""):
        super().__init__(code, detail)
        self.code = code


class BadPacket(MQTTError):
    def __init__(self, detail):
        super().__init__("bad_packet", detail)


def varint_len(n):
    # Bytes the remaining length n takes in a fixed header.
    size = 1
    while n > 127:
        n >>= 7
        size += 1
    return size


class Wire:
    # The socket, the two buffers (max_packet bytes each) and the packet codec;
    # MQTTClient builds the connection and the session on it.
    def __init__(self, max_packet, timeout_ms):
        self.timeout_ms = timeout_ms
        self.rx = bytearray(max_packet)
        self.tx = bytearray(max_packet)
        self._one = bytearray(1)
        self.sock = None
        self.on_message = None
        self.inflight = {}
        self.oversized = 0
        self._poller = None
        self._last_tx = time.ticks_ms()
        self._ping_at = None
        self._suback = None  # (packet id, granted QoS) of the last SUBACK

    # -- low level ------------------------------------------------------------------

    def _sock(self):
        sock = self.sock
        if sock is None:
            raise MQTTError("closed", "not connected")
        return sock

    def _wait(self, timeout_ms):
        poller = self._poller
        if poller is None:
            raise MQTTError("closed", "not connected")
        return poller.poll(timeout_ms)

    def _write(self, data):
        sock = self._sock()
        mv = memoryview(data)
        deadline = time.ticks_add(time.ticks_ms(), self.timeout_ms)
        while len(mv):
            n = sock.write(mv)
            if n is None or n < 0:
                n = 0
            mv = mv[n:]
            if len(mv) and time.ticks_diff(time.ticks_ms(), deadline) > 0:
                raise MQTTError("timeout", "write")
        self._last_tx = time.ticks_ms()

    def _read(self, mv, deadline):
        # Fill the whole of mv before the deadline.
        sock = self._sock()
        got = 0
        n = len(mv)
        while got < n:
            if time.ticks_diff(time.ticks_ms(), deadline) > 0:
                raise MQTTError("timeout", "read")
            try:
                r = sock.readinto(mv[got:] if got else mv)
            except OSError as err:
                if err.args and err.args[0] in (errno.EAGAIN, errno.ETIMEDOUT):
                    raise MQTTError("timeout", "read") from None
                raise
            if r is None:
                continue
            if r == 0:
                raise MQTTError("closed", "connection closed by broker")
            got += r

    def _read_byte(self, deadline):
        self._read(self._one, deadline)
        return self._one[0]

    def _read_len(self, deadline):
        n = 0
        shift = 0
        for _ in range(4):
            b = self._read_byte(deadline)
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
        raise BadPacket("remaining length longer than 4 bytes")

    def _put_len(self, buf, pos, n):
        while True:
            b = n & 0x7F
            n >>= 7
            if n:
                buf[pos] = b | 0x80
                pos += 1
            else:
                buf[pos] = b
                return pos + 1

    def _put_str(self, buf, pos, s):
        if isinstance(s, str):
            s = s.encode()
        struct.pack_into(">H", buf, pos, len(s))
        buf[pos + 2 : pos + 2 + len(s)] = s
        return pos + 2 + len(s)

    def _puback(self, pid):
        buf = self.tx
        buf[0] = _PUBACK
        buf[1] = 2
        struct.pack_into(">H", buf, 2, pid)
        self._write(memoryview(buf)[:4])

    # -- packets in -------------------------------------------------------------------

    def _read_packet(self):
        deadline = time.ticks_add(time.ticks_ms(), self.timeout_ms)
        head = self._read_byte(deadline)
        n = self._read_len(deadline)
        kind = head & 0xF0
        if kind == _PUBLISH:
            self._on_publish(head, n, deadline)
            return
        if kind == _PUBACK:
            if head != _PUBACK or n != 2:
                raise BadPacket("PUBACK of %d bytes" % n)
            self._read(memoryview(self.rx)[:2], deadline)
            pid = self.rx[0] << 8 | self.rx[1]
            self.inflight.pop(pid, None)
            return
        if kind == _SUBACK:
            if head != _SUBACK or n != 3:
                raise BadPacket("SUBACK of %d bytes" % n)
            self._read(memoryview(self.rx)[:3], deadline)
            granted = self.rx[2]
            if granted not in (0, 1, 2, 0x80):
                raise BadPacket("SUBACK return code %d" % granted)
            self._suback = (self.rx[0] << 8 | self.rx[1], granted)
            return
        if kind == _PINGRESP:
            if head != _PINGRESP or n != 0:
                raise BadPacket("PINGRESP with a body")
            self._ping_at = None
            return
        raise BadPacket("unexpected packet type 0x%02x" % head)

    def _on_publish(self, head, n, deadline):
        qos = head >> 1 & 3
        if qos == 3:
            raise BadPacket("QoS 3")
        if qos == 2:
            raise BadPacket("QoS 2 was never subscribed to")
        retained = head & 1
        rx = self.rx
        mv = memoryview(rx)
        first = min(n, len(rx))
        if first < 2:
            raise BadPacket("PUBLISH without a topic")
        self._read(mv[:first], deadline)
        tlen = rx[0] << 8 | rx[1]
        pos = 2 + tlen
        if tlen == 0 or tlen > _TOPIC_MAX or pos + (2 if qos else 0) > n:
            raise BadPacket("PUBLISH topic of %d bytes in %d" % (tlen, n))
        if pos + 2 > first and qos:
            raise BadPacket("PUBLISH header beyond the packet limit")
        pid = 0
        if qos:
            pid = rx[pos] << 8 | rx[pos + 1]
            pos += 2
        if n > len(rx):
            # Too large for this gate: read past it in buffer-sized steps.
            left = n - first
            topic = bytes(mv[2 : 2 + tlen])
            while left:
                step = min(left, len(rx))
                self._read(mv[:step], deadline)
                left -= step
            self.oversized += 1
            if qos:
                self._puback(pid)
            if self.on_message:
                self.on_message(topic, None, retained)
            return
        if self.on_message:
            self.on_message(mv[2 : 2 + tlen], mv[pos:n], retained)
        if qos:
            self._puback(pid)
