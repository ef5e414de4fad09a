"""Small HTTP servers for the Stripe tests: a recording proxy and a webhook receiver.

:class:`RecordingProxy` sits between the ``stripe`` SDK and localstripe and keeps every
request it forwards, headers included, so a test can see what we actually sent (for
example the ``Idempotency-Key`` header). Given a queued canned reply it answers with
that instead of forwarding, which is how recorded Stripe error bodies reach the SDK.

:class:`WebhookReceiver` accepts webhook deliveries and lets a test wait for them with a
timeout instead of sleeping.
"""

from __future__ import annotations

import http.client
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Recorded:
    """One request as it crossed the wire."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.server.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class _ProxyHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _handle(self) -> None:
        proxy: RecordingProxy = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        proxy.record(Recorded(self.command, self.path, headers, body))
        canned = proxy.next_canned()
        if canned is not None:
            status, payload = canned
        else:
            status, payload = proxy.forward(self.command, self.path, headers, body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Request-Id", "req_recorded")
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = _handle


class RecordingProxy(_Server):
    """Forwards to *upstream* (or only serves canned replies when it is ``None``)."""

    def __init__(self, upstream: str | None) -> None:
        super().__init__(_ProxyHandler)
        self.upstream = upstream
        self.requests: list[Recorded] = []
        self._canned: deque[tuple[int, bytes]] = deque()
        self._lock = threading.Lock()

    def record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def queue_reply(self, status: int, body: bytes) -> None:
        """Answer the next request with *status* and *body* instead of forwarding it."""
        with self._lock:
            self._canned.append((status, body))

    def next_canned(self) -> tuple[int, bytes] | None:
        with self._lock:
            return self._canned.popleft() if self._canned else None

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        if self.upstream is None:
            return 502, b'{"error": {"type": "api_error", "message": "no upstream"}}'
        target = urlsplit(self.upstream)
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        try:
            keep = {k: v for k, v in headers.items() if k not in ("host", "connection")}
            conn.request(method, path, body=body or None, headers=keep)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def posts_to(self, path_prefix: str) -> list[Recorded]:
        """The POST requests whose path starts with *path_prefix*."""
        with self._lock:
            return [
                r for r in self.requests if r.method == "POST" and r.path.startswith(path_prefix)
            ]


class _WebhookHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        receiver: WebhookReceiver = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        receiver.deliver(body, self.headers.get("Stripe-Signature", ""))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class WebhookReceiver(_Server):
    """Collects ``(body, Stripe-Signature)`` deliveries."""

    def __init__(self) -> None:
        super().__init__(_WebhookHandler)
        self.deliveries: list[tuple[bytes, str]] = []
        self._arrived = threading.Condition()

    def deliver(self, body: bytes, signature: str) -> None:
        with self._arrived:
            self.deliveries.append((body, signature))
            self._arrived.notify_all()

    def wait_for(
        self, matches: Callable[[bytes], bool], *, timeout: float = 15.0
    ) -> tuple[bytes, str]:
        """The first delivery whose body *matches*, waiting up to *timeout* seconds."""
        with self._arrived:
            found: list[tuple[bytes, str]] = []

            def ready() -> bool:
                found[:] = [d for d in self.deliveries if matches(d[0])]
                return bool(found)

            if not self._arrived.wait_for(ready, timeout=timeout):
                raise TimeoutError(f"no matching webhook within {timeout} s")
            return found[0]
