"""Start and stop the real services Gatehouse talks to, for tests, benchmarks and demos.

Each helper starts its own process on a free port with its own configuration and
cleans up after itself; none touches the services a machine may already run.

* :class:`~gatehouse.services.mosquitto.Mosquitto` — a Mosquitto broker.
* :mod:`~gatehouse.services.postgres` — throwaway PostgreSQL databases.
* :class:`~gatehouse.services.web.AppServer` — the hub's app behind a real HTTP server.
"""

import ctypes
import signal
import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until *host*:*port* accepts a TCP connection, or raise ``TimeoutError``."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"nothing listening on {host}:{port} after {timeout} s"
                ) from None
            time.sleep(0.02)


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn`` for service processes: the kernel kills them when we die.

    A test run stopped by a timeout or a crash must not leave brokers, gates or mail
    servers running (and eating the CPU of every later run).  Linux only; elsewhere it
    does nothing.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
