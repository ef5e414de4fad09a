"""The partition relay: bytes flow, a cut closes and refuses, a heal lets them through."""

from __future__ import annotations

import socket
import threading

import pytest

from gatehouse.services.tcpproxy import PausableProxy


@pytest.fixture
def echo() -> int:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=lambda c=conn: _echo(c), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def _echo(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(1024):
            conn.sendall(data)


def _roundtrip(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"ping")
        return s.recv(1024)


def test_the_relay_is_cut_and_healed(echo: int) -> None:
    with PausableProxy(echo) as relay:
        assert _roundtrip(relay.port) == b"ping"
        held = socket.create_connection(("127.0.0.1", relay.port), timeout=2)
        held.sendall(b"x")
        assert held.recv(8) == b"x"
        relay.cut()
        assert held.recv(8) == b""  # the open connection is closed
        held.close()
        try:
            answer = _roundtrip(relay.port)  # new ones are closed at once
        except OSError:
            answer = b""
        assert answer == b""
        relay.heal()
        assert _roundtrip(relay.port) == b"ping"
        assert "open" in repr(relay)
