"""A TCP relay that can be cut and healed: a network partition between a gate and its broker.

The gate connects to the relay's port instead of the broker's; while the relay is
*cut*, every open connection is closed and new ones are refused at once (the broker
is unreachable, as behind a dead uplink); :meth:`heal` lets connections through again::

    with PausableProxy(broker.port) as relay:
        config["mqtt_port"] = relay.port       # the gate talks through the relay
        relay.cut()                            # the gate is on its own now
        relay.heal()                           # it reconnects and catches up

Where network namespaces are available a veth pair does the same with the kernel; the
relay needs no privileges.

:param target_port: the port on 127.0.0.1 to relay to.
:param port: the port to listen on (default: a free one).
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from types import TracebackType

from gatehouse.services import free_port


class PausableProxy:
    """One listening relay; see the module documentation."""

    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.target_port = target_port
        self.port = port or free_port()
        self.is_cut = False
        self.connections = 0
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> PausableProxy:
        """Listen and relay in a background thread."""
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        server.settimeout(0.1)
        self._server = server
        self._thread = threading.Thread(target=self._accept, name="tcp-relay", daemon=True)
        self._thread.start()
        return self

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.is_cut:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while not self._stop.is_set() and not self.is_cut:
                ready, _, _ = select.select([a, b], [], [], 0.1)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except OSError:
            return
        finally:
            self._drop(a, b)

    def _drop(self, a: socket.socket, b: socket.socket) -> None:
        with self._lock:
            if (a, b) in self._pairs:
                self._pairs.remove((a, b))
        for sock in (a, b):
            with contextlib.suppress(OSError):
                sock.close()

    def cut(self) -> None:
        """Close every relayed connection and refuse new ones until :meth:`heal`."""
        self.is_cut = True
        with self._lock:
            pairs = list(self._pairs)
        for a, b in pairs:
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def heal(self) -> None:
        """Let connections through again."""
        self.is_cut = False

    def stop(self) -> None:
        """Stop listening and close every connection."""
        self._stop.set()
        self.cut()
        if self._server is not None:
            self._server.close()
        if self._thread is not None:
            self._thread.join(2)

    def __enter__(self) -> PausableProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "cut" if self.is_cut else "open"
        return f"<PausableProxy :{self.port} -> :{self.target_port} {state}>"
