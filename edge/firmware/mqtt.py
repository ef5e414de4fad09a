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

import random
import select
import socket
import struct
import time

from micropython import const
from mqttwire import BadPacket, MQTTError, Wire, varint_len

_CONNECT = const(0x10)
_CONNACK = const(0x20)
_PUBLISH = const(0x30)
_SUBSCRIBE = const(0x82)
_PINGREQ = const(0xC0)
_DISCONNECT = const(0xE0)


class MQTTClient(Wire):
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
        super().__init__(max_packet, timeout_ms)
        self.client_id = client_id
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.keepalive = keepalive
        self.tls = tls
        self.max_inflight = max_inflight
        self.connected = False
        self.on_connect = None
        self.will = None
        self.connects = 0
        self.last_error = None
        self._pid = 0
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
        if 1 + varint_len(size) + size > len(buf):
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
            except Exception as err:
                self.fail(err)  # a half-set-up session is no session: start over later
                raise
            return True
        try:
            self.poll(timeout_ms)
        except (OSError, MQTTError) as err:
            self.fail(err)
            return False
        return True
