"""mypy checks the firmware against the esp32 and rp2 MicroPython stubs (from typings/)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edge.fwbuild.boards import BOARDS
from edge.fwbuild.build import FIRMWARE
from edge.fwbuild.typecheck import typecheck


@pytest.mark.parametrize("board", ["esp32", "rp2"])
def test_firmware_type_checks_against_the_port_stubs(board: str) -> None:
    result = typecheck(BOARDS[board])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_the_check_catches_a_call_the_board_does_not_have(tmp_path: Path) -> None:
    firmware = tmp_path / "firmware"
    shutil.copytree(FIRMWARE, firmware)
    (firmware / "bad.py").write_text(
        "import time\n\n\ndef wait():\n    time.sleep_ms('soon')\n    return time.ticks_secs()\n"
    )
    result = typecheck(BOARDS["esp32"], tmp_path / "work", firmware)
    assert result.returncode == 1
    assert 'bad.py:5: error: Argument 1 to "sleep_ms"' in result.stdout
    assert 'bad.py:6: error: Module has no attribute "ticks_secs"' in result.stdout
