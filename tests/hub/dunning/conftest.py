"""Fixtures for dunning tests: a real SMTP server process and a local SMS webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gatehouse.services.smtp import SmtpServer
from tests.hub.console.conftest import (  # noqa: F401 (the console fixtures, for its pages)
    console,
    console_db_url,
    migrated_template,
)


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """An aiosmtpd server process on a free port, storing mail in a Maildir."""
    with SmtpServer(tmp_path / "smtp") as server:
        yield server


@dataclass
class Webhook:
    """A local HTTP endpoint that records each POST and answers with ``status``."""

    url: str
    status: int = 200
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)

    def json_bodies(self) -> list[dict[str, object]]:
        return [json.loads(body) for _, body in self.requests]


@pytest.fixture
def sms_webhook() -> Iterator[Webhook]:
    """An HTTP server on a free port standing in for a club's SMS gateway."""
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hook.requests.append((dict(self.headers.items()), body))
            answer = json.dumps({"id": f"sms-{len(hook.requests)}"}).encode()
            self.send_response(hook.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            hook.received.set()

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
