"""An ASGI app (the hub's) served by uvicorn in a background thread, on a free port.

Browser tests need a real HTTP server, not an in-process client::

    with AppServer(hub.app) as server:
        page.goto(server.url + "/console/login")

The socket is bound before the server thread starts, so :attr:`AppServer.url` works at
once; :meth:`AppServer.stop` (or leaving the ``with`` block) shuts it down and gives open
connections (the console's polling) one second to finish.

:param app: the ASGI application.
:param host: address to listen on (default ``127.0.0.1``).
:param port: TCP port (default: a free one).
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn


class AppServer:
    """uvicorn serving *app* from a daemon thread; see the module documentation."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> AppServer:
        """Start serving; returns once uvicorn has started (or raises ``TimeoutError``)."""
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True,
            name=f"uvicorn-{self.port}",
        )  # fmt: skip
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise TimeoutError(f"the app server on port {self.port} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self._socket.close()

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "serving" if self.server.started and not self.server.should_exit else "stopped"
        return f"<AppServer {self.url} {state}>"
