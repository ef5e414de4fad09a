"""Throwaway certificates for TLS tests, made with the ``openssl`` command.

``make_ca_and_server(folder)`` writes ``ca.crt``/``ca.key`` (a test CA) and
``broker.crt``/``broker.key`` for ``localhost`` and ``127.0.0.1``, signed by it, valid
for two days.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)


def make_ca_and_server(folder: Path) -> Path:
    """Write the CA and the broker's certificate into *folder*; returns *folder*."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(folder, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "2", "-subj", "/CN=Gatehouse test CA",
             "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    _openssl(folder, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-subj", "/CN=localhost", "-keyout", "broker.key", "-out", "broker.csr")  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl(folder, "x509", "-req", "-in", "broker.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.ext",
             "-out", "broker.crt")  # fmt: skip
    for name in ("ca.crt", "broker.crt", "broker.key"):
        (folder / name).chmod(0o644)
    return folder
