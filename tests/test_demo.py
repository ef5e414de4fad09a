"""The demo plays its story through a real embedded broker."""

from __future__ import annotations

import io

from rich.console import Console

from gatehouse.demo import MEMBERS, run_demo


def test_demo_stores_every_tap_and_refuses_the_revoked_card() -> None:
    out = io.StringIO()
    stored = run_demo(Console(file=out, width=120))
    text = out.getvalue()
    assert stored == len(MEMBERS) + 1
    assert "expired" in text
    assert "after revoke" in text and "unknown" in text
    assert "gate outbox now 0" in text
