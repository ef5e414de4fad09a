"""Fault-matrix fixtures: one world (PostgreSQL, Mosquitto, hub process) per module,
and the fault table printed at the end of the run."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.table import ROWS, render
from tests.faults.world import FaultWorld


@pytest.fixture(scope="module")
def fault_dir() -> Iterator[Path]:
    """A folder of the module's own for stores, configs and logs.

    Not under pytest's ``tmp_path``: pytest keeps only the last three runs' folders
    there, so another test run on the same machine could delete a running gate's
    store mid-row."""
    path = Path(tempfile.mkdtemp(prefix="gatehouse-faults-"))
    try:
        yield path
    finally:
        if not os.environ.get("GATEHOUSE_KEEP_FAULT_DIR"):
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def world(fault_dir: Path) -> Iterator[FaultWorld]:
    """The whole system on PostgreSQL, shared by a module's fault rows (each row
    brings back what it broke, and uses gates and cards of its own)."""
    w = FaultWorld(fault_dir)
    try:
        w.start()
        yield w
    finally:
        w.close()


@pytest.fixture
def live(world: FaultWorld) -> FaultWorld:
    """The module's world with every process running."""
    world.ensure_running()
    return world


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not ROWS:
        return
    terminalreporter.section("fault table")
    for line in render(ROWS):
        terminalreporter.write_line(line)
    bad = [r.fault for r in ROWS if not r.clean]
    terminalreporter.write_line(
        "every row clean" if not bad else f"ROWS WITH FAULTS: {', '.join(bad)}"
    )
