# A small MQTT 3.1.1 client over a socket, written for a door that must not hang.
#
# - Every read has a deadline: a silent or slow broker raises MQTTError("timeout").
# - Wire data that breaks the protocol raises BadPacket (never assert): a bad length,
#   an unexpected packet type or flags, a topic longer than its packet.
# - Packets are bounded by max_packet; one receive and one send buffer are allocated
#   once.  A PUBLISH larger than that is read past, acknowledged, counted in .oversized
#   and reported to on_message with payload None.
# - QoS 1 publishes are tracked by packet id until their PUBACK (.inflight); one that
#   stays unacknowledged past the timeout fails the connection.
# - PINGREQ keeps the session alive; a missing PINGRESP fails the connection.
# - service() reconnects with exponential backoff and jitter.
#
#   c = MQTTClient("front-door", "hub.local", user="front-door", password="...")
#   c.set_last_will("gh/v1/club1/front-door/up/status", b"...", retain=True, qos=1)
#   c.on_message = lambda topic, payload, retained: ...
#   c.on_connect = lambda: c.subscribe("gh/v1/club1/front-door/down/#", 1)
#   while True:
#       c.service(50)        # connects when due, handles traffic, waits up to 50 ms

import errno
import random
import select
import socket
import struct
import time

from micropython import const

_CONNECT = const(0x10)
_CONNACK = const(0x20)
_PUBLISH = const(0x30)
_PUBACK = const(0x40)
_SUBSCRIBE = const(0x82)
_SUBACK = const(0x90)
_PINGREQ = const(0xC0)
_PINGRESP = const(0xD0)
_DISCONNECT = const(0xE0)
_TOPIC_MAX = const(256)


class MQTTError(Exception):
    # code: "refused", "closed", "timeout", "too_large", "busy", "sub_refused", ...
    def __init__(self, code, detail=""):
        super().__init__(code, detail)
        self.code = code


class BadPacket(MQTTError):
    def __init__(self, detail):
        super().__init__("bad_packet", detail)


def _varint_len(n):
    size = 1
    while n > 127:
        n >>= 7
        size += 1
    return size


class MQTTClient:
    # client_id, host, port: where and who.  user, password: broker credentials.
    # keepalive: seconds.  max_packet: largest packet sent or received, in bytes.
    # timeout_ms: deadline for connecting, for each packet being read, for a PUBACK,
    # SUBACK or PINGRESP.  tls: an ssl.SSLContext to wrap the socket with, or None.

    def __init__(
        self,
        client_id,
        host,
        port=1883,
        user=None,
        password=None,
        keepalive=60,
        max_packet=4224,
        timeout_ms=5000,
        tls=None,
        max_inflight=16,
        backoff_ms=(1000, 60000),
    ):
        self.client_id = client_id
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.keepalive = keepalive
        self.timeout_ms = timeout_ms
        self.tls = tls
        self.max_inflight = max_inflight
        self.rx = bytearray(max_packet)
        self.tx = bytearray(max_packet)
        self._one = bytearray(1)
        self.sock = None
        self.connected = False
        self.on_message = None
        self.on_connect = None
        self.will = None
        self.inflight = {}
        self.oversized = 0
        self.connects = 0
        self.last_error = None
        self._pid = 0
        self._poller = None
        self._last_tx = time.ticks_ms()
        self._ping_at = None
        self._suback = None
        self._backoff_min, self._backoff_max = backoff_ms
        self._backoff = self._backoff_min
        self._retry_at = time.ticks_ms()

    def __repr__(self):
        return "<MQTTClient %s@%s:%d %s>" % (
            self.client_id,
            self.host,
            self.port,
            "connected" if self.connected else "disconnected",
        )

    def set_last_will(self, topic, msg, retain=False, qos=0):
        self.will = (topic, msg, retain, qos)

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

    def _next_pid(self):
        self._pid = self._pid % 65535 + 1
        return self._pid

    # -- connection -----------------------------------------------------------------

    def connect(self, clean=True):
        # Open the socket and do the CONNECT/CONNACK exchange.  Raises OSError or
        # MQTTError; on success the client is connected.
        self.close()
        addr = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_STREAM)[0][-1]
        s = socket.socket()
        self.sock = s
        s.settimeout(self.timeout_ms / 1000)
        s.connect(addr)
        if self.tls is not None:
            self.sock = self.tls.wrap_socket(s, server_hostname=self.host)
        flags = 0x02 if clean else 0
        size = 10 + 2 + len(self.client_id)
        if self.will:
            topic, msg, retain, qos = self.will
            flags |= 0x04 | (qos & 3) << 3 | (0x20 if retain else 0)
            size += 4 + len(topic) + len(msg)
        if self.user is not None:
            flags |= 0x80
            size += 2 + len(self.user)
        if self.password is not None:
            flags |= 0x40
            size += 2 + len(self.password)
        buf = self.tx
        if size + 5 > len(buf):
            raise MQTTError("too_large", "CONNECT")
        buf[0] = _CONNECT
        pos = self._put_len(buf, 1, size)
        pos = self._put_str(buf, pos, b"MQTT")
        buf[pos] = 4
        buf[pos + 1] = flags
        struct.pack_into(">H", buf, pos + 2, self.keepalive)
        pos = self._put_str(buf, pos + 4, self.client_id)
        if self.will:
            pos = self._put_str(buf, pos, self.will[0])
            pos = self._put_str(buf, pos, self.will[1])
        if self.user is not None:
            pos = self._put_str(buf, pos, self.user)
        if self.password is not None:
            pos = self._put_str(buf, pos, self.password)
        self._write(memoryview(buf)[:pos])
        deadline = time.ticks_add(time.ticks_ms(), self.timeout_ms)
        head = self._read_byte(deadline)
        if head != _CONNACK or self._read_len(deadline) != 2:
            raise BadPacket("expected CONNACK")
        mv = memoryview(self.rx)[:2]
        self._read(mv, deadline)
        if self.rx[1] != 0:
            raise MQTTError("refused", "CONNACK return code %d" % self.rx[1])
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        self._poller = poller
        self.inflight = {}
        self._ping_at = None
        self.connected = True
        self.connects += 1
        return self.rx[0] & 1

    def close(self):
        # Drop the connection without a DISCONNECT (the broker sends the last will).
        self.connected = False
        self._poller = None
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def disconnect(self):
        # A clean goodbye: the broker discards the last will.
        if self.connected:
            try:
                self.tx[0] = _DISCONNECT
                self.tx[1] = 0
                self._write(memoryview(self.tx)[:2])
            except (OSError, MQTTError):
                pass
        self.close()

    def fail(self, err=None):
        # Close after an error and schedule the next attempt with backoff.
        self.last_error = err
        self.close()
        now = time.ticks_ms()
        jitter = random.getrandbits(10) * self._backoff // 4096
        self._retry_at = time.ticks_add(now, self._backoff + jitter)
        self._backoff = min(self._backoff * 2, self._backoff_max)

    def retry_in(self):
        # ms until the next connection attempt (0 when due or connected).
        if self.connected:
            return 0
        return max(0, time.ticks_diff(self._retry_at, time.ticks_ms()))

    # -- packets out ------------------------------------------------------------------

    def publish(self, topic, msg, retain=False, qos=0):
        # Send one message; returns its packet id for QoS 1 (else 0).
        if not self.connected:
            raise MQTTError("closed", "not connected")
        if qos not in (0, 1):
            raise MQTTError("bad_qos", "QoS %r is not supported" % qos)
        if qos and len(self.inflight) >= self.max_inflight:
            raise MQTTError("busy", "too many unacknowledged publishes")
        if isinstance(topic, str):
            topic = topic.encode()
        size = 2 + len(topic) + (2 if qos else 0) + len(msg)
        buf = self.tx
        if 1 + _varint_len(size) + size > len(buf):
            raise MQTTError("too_large", "%d-byte message" % len(msg))
        buf[0] = _PUBLISH | qos << 1 | (1 if retain else 0)
        pos = self._put_len(buf, 1, size)
        pos = self._put_str(buf, pos, topic)
        pid = 0
        if qos:
            pid = self._next_pid()
            struct.pack_into(">H", buf, pos, pid)
            pos += 2
        buf[pos : pos + len(msg)] = msg
        pos += len(msg)
        self._write(memoryview(buf)[:pos])
        if qos:
            self.inflight[pid] = time.ticks_ms()
        return pid

    def subscribe(self, topic, qos=1):
        # Subscribe and wait (bounded) for the SUBACK; returns the granted QoS.
        if isinstance(topic, str):
            topic = topic.encode()
        buf = self.tx
        size = 2 + 2 + len(topic) + 1
        buf[0] = _SUBSCRIBE
        pos = self._put_len(buf, 1, size)
        pid = self._next_pid()
        struct.pack_into(">H", buf, pos, pid)
        pos = self._put_str(buf, pos + 2, topic)
        buf[pos] = qos
        self._write(memoryview(buf)[: pos + 1])
        self._suback = None
        deadline = time.ticks_add(time.ticks_ms(), self.timeout_ms)
        while self._suback is None or self._suback[0] != pid:
            left = time.ticks_diff(deadline, time.ticks_ms())
            if left <= 0:
                raise MQTTError("timeout", "no SUBACK")
            if self._wait(left):
                self._read_packet()
        granted = self._suback[1]
        if granted == 0x80:
            raise MQTTError("sub_refused", topic.decode())
        return granted

    def ping(self):
        self.tx[0] = _PINGREQ
        self.tx[1] = 0
        self._write(memoryview(self.tx)[:2])
        self._ping_at = time.ticks_ms()

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

    # -- the loop ---------------------------------------------------------------------

    def poll(self, timeout_ms=0, max_packets=4):
        # Handle up to max_packets incoming packets, waiting up to timeout_ms for the
        # first; then keep the session alive.  Returns the number handled.
        if not self.connected:
            return 0
        handled = 0
        wait = timeout_ms
        while handled < max_packets:
            events = self._wait(wait)
            if not events:
                break
            if events[0][1] & (select.POLLHUP | select.POLLERR):
                raise MQTTError("closed", "socket hung up")
            self._read_packet()
            handled += 1
            wait = 0
        self._keep_alive()
        return handled

    def _keep_alive(self):
        now = time.ticks_ms()
        if self._ping_at is not None:
            if time.ticks_diff(now, self._ping_at) > self.timeout_ms:
                raise MQTTError("timeout", "no PINGRESP")
        elif self.keepalive and time.ticks_diff(now, self._last_tx) >= self.keepalive * 500:
            self.ping()
        for pid in self.inflight:
            if time.ticks_diff(now, self.inflight[pid]) > self.timeout_ms:
                raise MQTTError("timeout", "no PUBACK for packet %d" % pid)

    def service(self, timeout_ms=0):
        # Connect when due (then call on_connect), handle traffic, wait up to
        # timeout_ms.  Errors close the connection and schedule a retry; the error is
        # kept in .last_error.  Returns True while connected.
        if not self.connected:
            if time.ticks_diff(time.ticks_ms(), self._retry_at) < 0:
                time.sleep_ms(min(timeout_ms, max(0, self.retry_in())))
                return False
            try:
                self.connect()
                if self.on_connect:
                    self.on_connect()
                self._backoff = self._backoff_min
            except (OSError, MQTTError) as err:
                self.fail(err)
                return False
            return True
        try:
            self.poll(timeout_ms)
        except (OSError, MQTTError) as err:
            self.fail(err)
            return False
        return True
