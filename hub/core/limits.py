"""Refusing oversized request bodies, and counting what the hub refuses over HTTP.

:class:`BodyLimit` is a pure ASGI middleware: a request whose ``Content-Length`` says
more than *max_bytes* is answered ``413`` before its body is read, and one that streams
more than that without saying so is cut off with the same answer.  Nothing behind it
ever holds more than *max_bytes* of a body::

    app.add_middleware(BodyLimit, max_bytes=1024 * 1024, counter=rejections)

:class:`HttpRejections` counts refusals by kind (``too_large``, ``bad_signature``, ...)
for ``GET /api/v1/security/rejections``; it is thread-safe.
"""

from __future__ import annotations

import json
import threading
from typing import Any

MAX_BODY = 1024 * 1024


class HttpRejections:
    """Counters of refused HTTP requests, by kind."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def count(self, kind: str) -> None:
        """Add one refusal of *kind*."""
        with self._lock:
            self._counts[kind] = self._counts.get(kind, 0) + 1

    def snapshot(self) -> dict[str, int]:
        """A copy of the counters."""
        with self._lock:
            return dict(self._counts)

    def __repr__(self) -> str:
        return f"<HttpRejections {self.snapshot()}>"


class BodyLimit:
    """ASGI middleware answering ``413`` to bodies over *max_bytes*.

    :param app: the ASGI app behind it.
    :param max_bytes: the largest body let through (default 1 MiB).
    :param counter: an :class:`HttpRejections` to count refusals in (``too_large``).
    """

    def __init__(
        self, app: Any, max_bytes: int = MAX_BODY, counter: HttpRejections | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.counter = counter

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(send)
            return
        seen = 0
        started = refused = False

        async def limited_receive() -> Any:
            # Past the limit the client is answered 413 here, and the app is told the
            # client left: whatever it answers then is dropped.
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not started:
                    refused = True
                    await self._refuse(send)
            return {"type": "http.disconnect"} if refused else message

        async def guarded_send(message: Any) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _refuse(self, send: Any) -> None:
        if self.counter is not None:
            self.counter.count("too_large")
        body = json.dumps({"detail": f"request body over {self.max_bytes} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
