"""The shared vectors in tests/vectors, checked on CPython and on MicroPython."""

from __future__ import annotations

import re

import pytest

from gatehouse.services.micropython import run_micropython
from tests.vectors import runner

CASES = runner.all_cases()


@pytest.mark.parametrize(("suite", "name", "run"), CASES, ids=[f"{s}:{n}" for s, n, _ in CASES])
def test_vector_on_cpython(suite: str, name: str, run) -> None:  # type: ignore[no-untyped-def]
    run()


def test_every_vector_passes_on_micropython() -> None:
    result = run_micropython([str(runner.HERE + "/runner.py")])
    assert result.returncode == 0, result.stdout + result.stderr
    m = re.search(r"vectors: (\d+) passed, (\d+) failed on micropython", result.stdout)
    assert m, result.stdout
    assert int(m.group(1)) == len(CASES)
    assert int(m.group(2)) == 0


def test_required_rejections_are_distinct() -> None:
    """Flipped bit, wrong key, replayed seq, stale version, truncated chunk: five codes."""
    env = runner.load("envelope")
    codes = {
        "flipped": next(v["error"] for v in env["reject"] if v["name"] == "flipped bit in BODY"),
        "wrong_key": next(v["error"] for v in env["reject"] if v["name"] == "wrong key"),
        "replay": next(v["error"] for v in runner.load("freshness") if v.get("error") == "replay"),
        "stale": next(v["error"] for v in runner.load("freshness") if v.get("error") == "stale"),
        "truncated": next(
            v["error"]
            for v in runner.load("snapshot")["assemble"]
            if v["name"] == "truncated chunk"
        ),
    }
    assert len(set(codes.values())) == 5, codes
