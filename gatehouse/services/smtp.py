"""An SMTP server (aiosmtpd) in its own process, delivering into a Maildir.

Tests and the demo check real email without a mail provider: the server listens on a
free port and stores every message it receives, and :meth:`SmtpServer.messages` reads
them back::

    with SmtpServer(tmp_path / "smtp") as server:
        SmtpMailer("127.0.0.1", server.port, sender="club@example.com").send(mail)
        (received,) = server.wait_for_messages(1)
        received["Subject"]      # decoded, e.g. Thai text
"""

from __future__ import annotations

import email
import mailbox
import subprocess
import sys
import time
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from types import TracebackType

from gatehouse.services import die_with_parent, free_port, wait_for_port


class SmtpServer:
    """``python -m aiosmtpd`` with the Maildir handler, on 127.0.0.1.

    :param workdir: holds the Maildir (``maildir/``) and the server's log.
    :param port: TCP port (default: a free one).
    """

    def __init__(self, workdir: str | Path, port: int | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.maildir = self.workdir / "maildir"
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.log_path = self.workdir / "aiosmtpd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> SmtpServer:
        """Start the server and wait until it accepts connections."""
        command = [
            sys.executable, "-m", "aiosmtpd", "-n",
            "-l", f"{self.host}:{self.port}",
            "-c", "aiosmtpd.handlers.Mailbox", str(self.maildir),
        ]  # fmt: skip
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
        )
        log.close()
        try:
            wait_for_port(self.host, self.port, timeout=15)
        except TimeoutError:
            self.stop()
            raise RuntimeError(
                f"aiosmtpd did not start: {self.log_path.read_text(errors='replace')}"
            ) from None
        return self

    def stop(self) -> None:
        """Stop the server (messages already stored stay readable)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def messages(self) -> list[EmailMessage]:
        """Every message received so far, parsed with the modern email policy."""
        if not self.maildir.exists():
            return []
        box = mailbox.Maildir(self.maildir, create=False)
        found = []
        for key in sorted(box.keys()):
            raw = box.get_bytes(key)
            found.append(email.message_from_bytes(raw, policy=default))
        return found  # type: ignore[return-value]

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Block until at least *count* messages are stored, or raise ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages()
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} of {count} messages after {timeout} s")
            time.sleep(0.02)

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.proc is not None else "stopped"
        return f"<SmtpServer {self.host}:{self.port} {state}>"
