"""The gatehouse command and the package layout."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from gatehouse.cli import app
from protocol.cardkey import card_key


def test_packages_import_in_a_fresh_interpreter() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import protocol, hub, edge, hub.billing, hub.dunning"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_help_lists_the_groups() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in ("gate", "demo"):
        assert group in result.output


def test_card_key_command_prints_the_protocol_key() -> None:
    secret = bytes(range(16))
    result = CliRunner().invoke(app, ["gate", "card-key", "04:A1:B2:C3", "--secret", secret.hex()])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == card_key(secret, bytes.fromhex("04a1b2c3")).hex()


def test_card_key_command_refuses_a_bad_uid() -> None:
    result = CliRunner().invoke(app, ["gate", "card-key", "04:A1", "--secret", "00"])
    assert result.exit_code != 0
    assert "4, 7 or 10 bytes" in result.output
