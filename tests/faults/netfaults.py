"""Cutting a gate off from the broker: a network namespace, or a pausable TCP relay.

:class:`Partition` puts the gate process in its own network namespace (``ip netns``),
joined to the host by a veth pair; a small TCP relay on the host's end of the pair
passes its traffic to the broker on 127.0.0.1.  :meth:`Partition.cut` takes the link
down -- packets vanish, as on a pulled cable -- and :meth:`Partition.heal` brings it
back up.  Where namespaces cannot be made (no ``CAP_NET_ADMIN``) the gate connects to
the relay on 127.0.0.1 instead, and a cut pauses the relay: nothing is read or passed
and new connections wait, with every socket left open::

    with Partition(broker_port) as part:
        gate = start_gate(host=part.host, port=part.port, wrap=part.wrap)
        part.cut(); ...; part.heal()
"""

from __future__ import annotations

import contextlib
import itertools
import os
import select
import socket
import subprocess
import threading
from types import TracebackType

_n = itertools.count(1)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class Relay:
    """Forwards TCP connections from (*host*, *port*) to 127.0.0.1:*upstream*.

    While :attr:`paused` no byte moves either way and new connections are held.
    """

    def __init__(self, host: str, upstream: int) -> None:
        self.upstream = upstream
        self.listener = socket.create_server((host, 0))
        self.host, self.port = host, self.listener.getsockname()[1]
        self.paused = threading.Event()
        self._tick = threading.Event()  # never set: a sleep that needs no time module
        self._closed = False
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, name="relay-accept", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        while self.paused.is_set() and not self._closed:
            self._tick.wait(0.05)
        try:
            server = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
        except OSError:
            client.close()
            return
        self._socks += [client, server]
        peers = {client: server, server: client}
        try:
            while not self._closed:
                if self.paused.is_set():
                    self._tick.wait(0.05)
                    continue
                ready, _, _ = select.select(list(peers), [], [], 0.2)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except OSError:
            return
        finally:
            for sock in (client, server):
                with contextlib.suppress(OSError):
                    sock.close()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.listener.close()
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.close()


class Partition:
    """A cuttable network path from a gate process to the broker on *broker_port*.

    :param broker_port: the broker's port on 127.0.0.1.
    :param use_netns: try a network namespace first (default); ``False`` forces the relay.
    """

    def __init__(self, broker_port: int, use_netns: bool = True) -> None:
        self.broker_port = broker_port
        self.netns: str | None = None
        n = (os.getpid() % 1000) * 100 + next(_n) % 100
        self._names = (f"ghf{n}", f"ghf{n}h", f"ghf{n}g")
        self._subnet = f"10.{200 + n % 50}.{n // 50 % 250}"
        if use_netns:
            try:
                self._make_namespace()
            except (OSError, subprocess.CalledProcessError):
                self._remove_namespace()
                self.netns = None
        host = f"{self._subnet}.1" if self.netns else "127.0.0.1"
        self.relay = Relay(host, broker_port)
        self.host, self.port = host, self.relay.port
        self.mode = "netns" if self.netns else "relay"

    def _make_namespace(self) -> None:
        ns, host_if, gate_if = self._names
        _ip("netns", "add", ns)
        self.netns = ns
        _ip("link", "add", host_if, "type", "veth", "peer", "name", gate_if)
        _ip("link", "set", gate_if, "netns", ns)
        _ip("addr", "add", f"{self._subnet}.1/30", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("netns", "exec", ns, "ip", "addr", "add", f"{self._subnet}.2/30", "dev", gate_if)
        _ip("netns", "exec", ns, "ip", "link", "set", gate_if, "up")
        _ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")

    def _remove_namespace(self) -> None:
        ns, host_if, _ = self._names
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            _ip("link", "del", host_if)
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            _ip("netns", "del", ns)

    def wrap(self, argv: list[str]) -> list[str]:
        """*argv* run inside the gate's namespace (unchanged in relay mode)."""
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv

    def cut(self) -> None:
        """Partition the gate from the broker."""
        if self.netns:
            _ip("link", "set", self._names[1], "down")
        else:
            self.relay.paused.set()

    def heal(self) -> None:
        """Reconnect the gate's network."""
        if self.netns:
            _ip("link", "set", self._names[1], "up")
        else:
            self.relay.paused.clear()

    def close(self) -> None:
        self.relay.close()
        if self.netns:
            self._remove_namespace()

    def __enter__(self) -> Partition:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
