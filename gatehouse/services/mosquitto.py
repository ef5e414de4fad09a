"""A Mosquitto broker in its own process, with its own users and ACL.

Tests and benchmarks never use a broker the machine already runs: each starts one on a
free port with a generated configuration::

    with Mosquitto(tmp_path, users={"hub": "pw", "gate-1": "pw1"}, acl=ACL) as broker:
        client.connect("127.0.0.1", broker.port)

With no *users*, anonymous clients are allowed (for tests of things other than
authentication).  Started as root, the broker is told ``user root`` so it can read the
generated files; production configurations (``gatehouse hub broker-config``) keep the
``mosquitto`` user.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

from gatehouse.services import die_with_parent, free_port, wait_for_port


class MosquittoMissing(RuntimeError):
    """The ``mosquitto`` binary is not installed (``make test`` installs it)."""


def mosquitto_binary() -> str:
    """Path of the mosquitto binary, or raise :class:`MosquittoMissing`."""
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if candidate and os.path.exists(candidate):
            return candidate
    raise MosquittoMissing("mosquitto is not installed: apt-get install -y mosquitto")


class Mosquitto:
    """A broker process.

    :param workdir: folder for the config, password file, ACL, persistence and log.
    :param users: ``{username: password}``; ``None`` allows anonymous clients.
    :param acl: ACL file text (Mosquitto syntax); only used with *users*.
    :param port: TCP port on 127.0.0.1 (default: a free one).
    :param persistence: keep retained messages and sessions across restarts.
    :param extra: more configuration lines.
    :param config: run this existing configuration file instead of writing one (e.g. a
        ``gatehouse hub broker-config`` folder's); *port* must be its listener's port.
    """

    def __init__(
        self,
        workdir: str | Path,
        users: dict[str, str] | None = None,
        acl: str | None = None,
        port: int | None = None,
        persistence: bool = False,
        extra: str = "",
        config: str | Path | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.users = users
        self.acl = acl
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.persistence = persistence
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf_path = Path(config) if config else self.workdir / "mosquitto.conf"
        self.log_path = self.workdir / "mosquitto.log"

    def write_config(self) -> Path:
        """Write the config (and password file and ACL) into *workdir*."""
        lines = [f"listener {self.port} 127.0.0.1", "max_queued_messages 100000"]
        if os.geteuid() == 0:
            lines.append("user root")
        if self.users is None:
            lines.append("allow_anonymous true")
        else:
            pw = self.workdir / "passwd"
            pw.write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))
            subprocess.run(["mosquitto_passwd", "-U", str(pw)], check=True, capture_output=True)
            pw.chmod(0o600)
            lines += ["allow_anonymous false", f"password_file {pw}"]
            if self.acl is not None:
                acl_path = self.workdir / "acl"
                acl_path.write_text(self.acl)
                acl_path.chmod(0o600)
                lines.append(f"acl_file {acl_path}")
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.workdir}/"]
        lines += [f"log_dest file {self.log_path}", "log_type error", "log_type warning"]
        if self.extra:
            lines.append(self.extra)
        self.conf_path.write_text("\n".join(lines) + "\n")
        return self.conf_path

    def start(self, timeout: float = 10.0) -> Mosquitto:
        """Start the broker and wait until it accepts connections."""
        binary = mosquitto_binary()
        if not self.conf_path.exists():
            self.write_config()
        self.proc = subprocess.Popen(
            [binary, "-c", str(self.conf_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=die_with_parent,
        )
        try:
            wait_for_port(self.host, self.port, timeout)
        except TimeoutError:
            self.stop()
            log = self.log_path.read_text() if self.log_path.exists() else ""
            raise RuntimeError(f"mosquitto did not start on port {self.port}: {log}") from None
        return self

    def stop(self) -> None:
        """Stop the broker gracefully (it saves persistence on SIGTERM)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """``kill -9`` the broker, as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self, pause: float = 0.0) -> None:
        """Stop, wait *pause* seconds, start again on the same port."""
        self.stop()
        time.sleep(pause)
        self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Mosquitto {self.host}:{self.port} {state}>"
