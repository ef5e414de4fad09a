"""Type-check the firmware with mypy against a port's MicroPython stubs.

The stubs (``micropython-esp32-stubs``, ``micropython-rp2-stubs``) are installed per
port into ``typings/<port>`` by ``make test``, never into the venv (they shadow
``socket``, ``time`` and ``select`` for CPython tools).  mypy then reads them as its
typeshed, so ``time.ticks_ms``, ``machine.Pin`` or ``socket.readinto`` are checked as the
board has them::

    result = typecheck(BOARDS["rp2"])
    assert result.returncode == 0, result.stdout

``protocol`` is followed but not reported on here: it is checked on CPython with the
rest of the project.  Errors inside the stubs themselves (``machine``, ``vfs``, ...)
are ignored, as PLATFORM-NOTES advises.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from edge.fwbuild.boards import Board
from edge.fwbuild.build import FIRMWARE, ROOT

STUB_ERRORS = "machine,vfs,_mpy_shed.*,esp32.*,network,rp2.*"


def stubs_dir(board: Board) -> Path:
    """``typings/<board>`` in the repository."""
    return ROOT / "typings" / board.name


def mypy_config(board: Board, cache_dir: Path, firmware: Path = FIRMWARE) -> str:
    """The mypy configuration for *board*'s stubs."""
    stubs = stubs_dir(board)
    return "\n".join(
        [
            "[mypy]",
            f"mypy_path = {stubs}:{firmware}:{ROOT}",
            f"custom_typeshed_dir = {stubs}",
            f"cache_dir = {cache_dir}",
            "check_untyped_defs = True",
            "explicit_package_bases = True",
            "warn_unused_ignores = False",
            "",
            f"[mypy-{STUB_ERRORS}]",
            "ignore_errors = True",
            "",
            "[mypy-protocol.*]",
            "ignore_errors = True",
            "",
        ]
    )


def typecheck(
    board: Board, work: Path | None = None, firmware: Path = FIRMWARE
) -> subprocess.CompletedProcess[str]:
    """Run mypy on every module of *firmware* (``edge/firmware/``); raises
    :class:`FileNotFoundError` if the stubs are missing."""
    stubs = stubs_dir(board)
    if not (stubs / "machine.pyi").exists():
        raise FileNotFoundError(
            f"no stubs in {stubs}: pip install --target {stubs} {board.stubs} (make test does)"
        )
    work = work or ROOT / ".mypy_cache" / f"firmware-{board.name}"
    work.mkdir(parents=True, exist_ok=True)
    config = work / "mypy.ini"
    config.write_text(mypy_config(board, work / "cache", firmware))
    modules = sorted(p.name for p in firmware.glob("*.py") if p.name != "__init__.py")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), *modules],
        cwd=firmware,
        capture_output=True,
        text=True,
    )
