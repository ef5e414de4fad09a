"""The dependency audit fails loudly, never silently, when PyPI cannot be reached."""

from __future__ import annotations

import os
import subprocess
import sys

from gatehouse.services import free_port
from tests.conftest import ROOT


def test_an_unreachable_vulnerability_database_fails_the_audit() -> None:
    env = dict(os.environ, GATEHOUSE_AUDIT_INDEX=f"http://127.0.0.1:{free_port()}/pypi")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "audit_deps.py")],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot be reached" in result.stderr and "not a pass" in result.stderr
