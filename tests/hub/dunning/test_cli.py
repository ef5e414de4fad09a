"""``gatehouse hub dunning check``, ``preview``, ``run`` and ``policy``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gatehouse.cli import app
from hub.dunning.policy import BUILTIN_POLICY_DIR
from hub.dunning.segments import BUILTIN_SEGMENTS


def test_check_accepts_the_shipped_files() -> None:
    files = [str(p) for p in sorted(BUILTIN_POLICY_DIR.glob("*.yaml"))] + [str(BUILTIN_SEGMENTS)]
    result = CliRunner().invoke(app, ["hub", "dunning", "check", *files])
    assert result.exit_code == 0, result.output
    assert "policy default v1, 14 steps" in result.output
    assert "segmentation, 4 rules" in result.output


def test_check_lists_problems_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "strict.yaml"
    bad.write_text(
        "name: strict\nsteps:\n"
        "  - {day: 0, kind: send_message, channel: fax, template: reminder, tone: polite}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["hub", "dunning", "check", str(bad)])
    assert result.exit_code == 1
    assert "strict.yaml is not a valid file" in result.output
    assert "steps[0] (send_message).channel" in result.output


def test_preview_prints_the_default_timeline() -> None:
    result = CliRunner().invoke(
        app, ["hub", "dunning", "preview", "default", "--failed-at", "2026-12-01T02:00:00"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "policy default v1; times in Asia/Bangkok"
    assert lines[1] == "day   0  Tue 01 Dec 08:00  email payment_failed (polite)"
    assert "day   7  Tue 08 Dec 02:00  suspend access" in lines
    assert lines[-1] == "day  21  Tue 22 Dec 02:00  cancel, mark uncollectible"
    assert sum("charge" in line for line in lines) == 8


def test_preview_refuses_unknown_policy_and_timezone() -> None:
    assert CliRunner().invoke(app, ["hub", "dunning", "preview", "nope"]).exit_code != 0
    result = CliRunner().invoke(app, ["hub", "dunning", "preview", "--timezone", "Mars/Base"])
    assert result.exit_code != 0 and "unknown timezone" in result.output


def test_run_and_edit_policies_against_a_hub_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.core.config import get_settings
    from hub.migrations import upgrade

    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    monkeypatch.setenv("GATEHOUSE_DATABASE_URL", url)
    monkeypatch.setenv("GATEHOUSE_MQTT_ENABLED", "false")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        ran = runner.invoke(app, ["hub", "dunning", "run"])
        assert ran.exit_code == 0, ran.output
        assert "cases looked at 0; actions planned 0" in ran.output
        shown = runner.invoke(app, ["hub", "dunning", "policy", "show", "default"])
        assert shown.exit_code == 0 and shown.output.startswith("# default v1, stored by shipped")
        edited = tmp_path / "default.yaml"
        text = (BUILTIN_POLICY_DIR / "default.yaml").read_text("utf-8")
        edited.write_text(text.replace("max_messages: 4", "max_messages: 3"), encoding="utf-8")
        saved = runner.invoke(app, ["hub", "dunning", "policy", "save", str(edited)])
        assert saved.exit_code == 0 and "saved default v2 (14 steps)" in saved.output
        again = runner.invoke(app, ["hub", "dunning", "policy", "show", "default"])
        assert (
            again.output.startswith("# default v2, stored by cli")
            and "max_messages: 3" in again.output
        )
        edited.write_text(text.replace("tone: polite", "tone: rude", 1), encoding="utf-8")
        refused = runner.invoke(app, ["hub", "dunning", "policy", "save", str(edited)])
        assert refused.exit_code == 1 and "tone" in refused.output
    finally:
        get_settings.cache_clear()
