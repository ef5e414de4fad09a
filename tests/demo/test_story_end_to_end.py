"""The demo's story end to end: real Mosquitto, a Pi gate process, the firmware on MicroPython.

admitted -> renewal fails -> reminders -> suspended -> denied at both gates -> paid ->
admitted, with every check-in of both gates stored exactly once; and the same with the
firmware gate cut off from the broker before the suspension.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gatehouse.demo.runner import FW_GATE, PI_GATE, DemoOptions, DemoRun
from gatehouse.services import free_port
from gatehouse.services.mosquitto import Mosquitto


@pytest.fixture
def story(
    tmp_path: Path, mosquitto: Mosquitto, request: pytest.FixtureRequest
) -> Iterator[DemoRun]:
    options = DemoOptions(workdir=tmp_path / "club", port=free_port(), speed=0.0, days=16,
                          members=20, broker=mosquitto, firmware=True,
                          partition=request.param)  # fmt: skip
    run = DemoRun(options)
    try:
        run.start()
        run.play()
        yield run
    finally:
        run.stop()


@pytest.mark.parametrize("story", [False], indirect=True, ids=["connected"])
def test_the_story_holds_at_a_pi_gate_and_a_firmware_gate(story: DemoRun) -> None:
    assert story.gates[PI_GATE].kind == "pi" and story.gates[FW_GATE].kind == "micropython"
    assert story.missing() == []
    j = story.journal
    assert "in the member portal through the emailed pay link" in j.first("paid").detail  # type: ignore[union-attr]
    for gate in (PI_GATE, FW_GATE):
        assert j.first(f"admitted again at {gate}").at >= j.first("paid").at  # type: ignore[union-attr]
        assert j.first(f"denied at {gate}").at > j.first("renewal failed").at  # type: ignore[union-attr]
        assert j.has(f"check-ins stored once at {gate}")
    assert all(len(taps) > 16 for taps in story.taps.values())


@pytest.mark.parametrize("story", [True], indirect=True, ids=["partition"])
def test_a_gate_cut_off_refuses_on_its_own_clock_and_uploads_when_back(story: DemoRun) -> None:
    assert story.missing() == []
    j = story.journal
    cut, offline = j.first("cut off from the broker"), j.first(f"denied offline at {FW_GATE}")
    back = j.first("reconnected")
    assert cut is not None and offline is not None and back is not None
    assert "expired" in offline.detail  # valid_until passed on the gate's own clock
    offline_taps = [t for t in story.taps[FW_GATE] if t.reason == "expired"]
    assert offline_taps, "the cut-off gate decided alone"
    assert j.has(f"check-ins stored once at {FW_GATE}") and j.has(
        f"check-ins stored once at {PI_GATE}"
    )


def _check(tmp_path: Path, days: int) -> Any:
    from gatehouse.cli import app

    args = ["demo", "--check", "--dir", str(tmp_path / "club"), "--port", str(free_port()),
            "--days", str(days)]  # fmt: skip
    return CliRunner().invoke(app, args)


def test_demo_check_passes_on_the_embedded_broker(tmp_path: Path) -> None:
    """``gatehouse demo --check``: amqtt in-process, exit 0 when the story held."""
    result = _check(tmp_path, days=12)
    assert result.exit_code == 0, result.output
    assert "every expected event happened" in result.output


def test_demo_check_stopped_early_names_each_missing_step(tmp_path: Path) -> None:
    result = _check(tmp_path, days=4)  # the renewal fails on day 3; nothing after it yet
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "renewal failed" in text and "renewal failed: missing" not in text
    for step in ("reminder sent", "suspended", "denied at front-door", "denied at side-door",
                 "paid", "admitted again at side-door"):  # fmt: skip
        assert f"{step}: missing" in text, text
