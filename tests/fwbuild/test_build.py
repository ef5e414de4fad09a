"""``gatehouse firmware build`` and ``flash``: mpy-cross output, config.json, mpremote commands."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edge.fwbuild.boards import BOARDS
from edge.fwbuild.build import (
    FIRMWARE,
    board_modules,
    compile_module,
    flash_commands,
    imports_of,
)
from edge.fwbuild.gateconfig import ConfigError, firmware_config
from gatehouse.cli import app
from gatehouse.services.firmware import FirmwareProcess
from gatehouse.services.mosquitto import Mosquitto
from tests.support.hubsim import HubSim

runner = CliRunner()
NOW = 1_800_000_000


def provisioned(**extra: Any) -> dict[str, Any]:
    """A gate config as the hub provisions it."""
    cfg: dict[str, Any] = {
        "site": "club1",
        "gate": "side-door",
        "kind": "micropython",
        "door": "side",
        "zone": 2,
        "mqtt": {
            "host": "127.0.0.1",
            "port": 1883,
            "username": "side-door",
            "password": "pw",
            "tls": False,
            "ca": None,
        },
        "gate_key": secrets.token_hex(32),
        "card_secret": secrets.token_hex(32),
        "hub_url": "http://127.0.0.1:8000",
    }
    cfg.update(extra)
    return cfg


ALL_MODULES = sorted(FIRMWARE.glob("*.py"))


@pytest.mark.parametrize("board", ["esp32", "rp2"])
@pytest.mark.parametrize("src", ALL_MODULES, ids=[p.name for p in ALL_MODULES])
def test_mpy_cross_compiles_every_firmware_module(board: str, src: Path, tmp_path: Path) -> None:
    out = tmp_path / (src.stem + ".mpy")
    compile_module(src, out, BOARDS[board], src.name)
    assert out.read_bytes()[:2] == b"M\x06"  # mpy format 6: MicroPython 1.22 and later


def test_the_board_gets_what_main_imports_and_nothing_else() -> None:
    modules = board_modules()
    assert {"main", "gate", "hublink", "state", "store", "outbox", "mqtt", "door"} <= set(modules)
    assert {"clock", "files", "mqttwire"} <= set(modules)
    assert {"mfrc522", "spibus"} <= set(modules)  # the reader, imported by main.py
    assert "host" not in modules  # the unix-port runner stays off the board
    protocol = {m for m in modules if m.startswith("protocol")}
    assert {"protocol", "protocol.downlink", "protocol.decision", "protocol.mac"} <= protocol
    # Nothing the MicroPython VM lacks: the imports are all MicroPython's own or ours.
    imported = set().union(*(imports_of(path) for path in modules.values()))
    builtin = {"binascii", "errno", "gc", "hashlib", "json", "machine", "micropython", "network"}
    builtin |= {"os", "random", "select", "socket", "ssl", "struct", "sys", "time"}
    ours = set(modules) | {"protocol"}
    assert imported - ours <= builtin | {"hmac"}, imported - ours - builtin
    # hmac only in protocol.mac's guarded import (it falls back to hashlib.sha256 there)
    assert [n for n, p in modules.items() if "hmac" in imports_of(p)] == ["protocol.mac"]
    assert not imported & {"typing", "logging", "dataclasses", "abc"}


@pytest.mark.parametrize("board", ["esp32", "rp2"])
def test_build_writes_modules_config_and_prints_flash_commands(board: str, tmp_path: Path) -> None:
    gate_json = tmp_path / "gate.json"
    gate_json.write_text(json.dumps(provisioned()))
    out = tmp_path / "build"
    result = runner.invoke(
        app,
        ["firmware", "build", "--board", board, "--out", str(out), "--config", str(gate_json)],
    )
    assert result.exit_code == 0, result.output
    assert (out / "main.py").read_text() == (FIRMWARE / "main.py").read_text()
    assert (out / "gate.mpy").exists() and (out / "protocol" / "downlink.mpy").exists()
    assert [p.name for p in out.rglob("*.py")] == ["main.py"]  # the only source
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["pins"] == BOARDS[board].pins and cfg["board"] == board
    assert cfg["zone"] == 2 and cfg["mtu"] == 4096 and cfg["pulse_ms"] == 3000
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["board"] == board and "config.json" in manifest["files"]
    printed = [line.strip() for line in result.output.splitlines() if "mpremote" in line]
    assert printed[-1] == "mpremote connect PORT reset"
    assert f"mpremote connect PORT fs cp {out / 'config.json'} :config.json" in printed


def test_flash_dry_run_prints_the_mpremote_command_lines(tmp_path: Path) -> None:
    out = tmp_path / "build"
    runner.invoke(app, ["firmware", "build", "--board", "esp32", "--out", str(out)])
    result = runner.invoke(
        app, ["firmware", "flash", "--port", "/dev/ttyUSB0", "--dir", str(out), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    commands = [shlex.split(c) for c in _commands(result.output)]
    base = ["mpremote", "connect", "/dev/ttyUSB0"]
    assert all(c[:3] == base for c in commands)
    assert commands[0][3] == "exec" and '"gate.py"' in commands[0][4]  # stale sources go
    assert commands[1][3:] == ["fs", "cp", "-r", str(out / "protocol"), ":"]
    copied = commands[2][5:-1]
    assert commands[2][3:5] == ["fs", "cp"] and commands[2][-1] == ":"
    assert {Path(p).name for p in copied} == {
        p.name for p in out.iterdir() if p.suffix in (".mpy", ".py")
    }
    assert commands[3][3:] == ["reset"]  # no config.json in this build
    assert commands == flash_commands("/dev/ttyUSB0", out)


def _commands(output: str) -> list[str]:
    """Each command of the output (the exec script spans several lines)."""
    commands: list[str] = []
    for line in output.splitlines():
        if line.startswith("mpremote "):
            commands.append(line)
        elif commands:
            commands[-1] += "\n" + line
    return commands


def test_flash_runs_mpremote_in_order_and_stops_at_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "build"
    gate_json = tmp_path / "gate.json"
    gate_json.write_text(json.dumps(provisioned()))
    runner.invoke(
        app,
        ["firmware", "build", "--board", "rp2", "--out", str(out), "--config", str(gate_json)],
    )
    # A stand-in for mpremote (no board here) that records its arguments.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.jsonl"
    tool = bin_dir / "mpremote"
    tool.write_text(
        "#!/usr/bin/env python3\nimport json, os, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "sys.exit(3 if sys.argv[4:5] == [os.environ.get('FAIL_AT')] else 0)\n"
    )
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result = runner.invoke(app, ["firmware", "flash", "--port", "/dev/ttyACM0", "--dir", str(out)])
    assert result.exit_code == 0, result.output
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    expected = [cmd[1:] for cmd in flash_commands("/dev/ttyACM0", out)]
    assert calls == expected and len(calls) == 5
    log.unlink()
    monkeypatch.setenv("FAIL_AT", "cp")
    result = runner.invoke(app, ["firmware", "flash", "--port", "/dev/ttyACM0", "--dir", str(out)])
    assert result.exit_code == 3
    assert len(log.read_text().splitlines()) == 2  # exec, then the failing cp: stopped
    assert "flashing stopped" in result.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gate": "Front Door"}, "gate must be 1-32 characters"),
        ({"gate_key": "abc"}, "gate_key must be hex"),
        ({"card_secret": "00" * 8}, "card_secret must be at least 16 bytes"),
        ({"zone": 16}, "zone must be an integer from 0 to 15"),
        ({"mtu": 100}, "mtu must be an integer from 1024 to 16384"),
        ({"pulse_ms": "3s"}, "pulse_ms must be an integer"),
        ({"mqtt": {"port": 1883}}, "mqtt.host must name the broker"),
        ({"mqtt": {"host": "h", "port": 0}}, "mqtt.port must be 1-65535"),
        ({"mqtt": {"host": "h", "tls": True}}, "mqtt.ca is required with tls"),
        ({"wifi": {"password": "x"}}, "wifi must be an object with ssid"),
    ],
)
def test_a_bad_gate_config_is_refused_with_the_field_named(
    change: dict[str, Any], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=message):
        firmware_config(provisioned(**change), BOARDS["esp32"])
    gate_json = tmp_path / "gate.json"
    gate_json.write_text(json.dumps(provisioned(**change)))
    result = runner.invoke(
        app,
        [
            "firmware",
            "build",
            "--board",
            "esp32",
            "--out",
            str(tmp_path / "b"),
            "--config",
            str(gate_json),
        ],
    )
    assert result.exit_code == 2 and not (tmp_path / "b").exists()


def test_unknown_board_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["firmware", "build", "--board", "esp8266", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown board 'esp8266'" in result.output


def test_the_built_firmware_runs_on_the_micropython_vm(tmp_path: Path) -> None:
    """The .mpy files of a build boot a gate that syncs with the hub and decides a tap."""
    cfg = provisioned()
    with Mosquitto(tmp_path / "mq") as broker:
        cfg["mqtt"]["port"] = broker.port
        cfg = firmware_config(cfg, BOARDS["esp32"])
        runner.invoke(app, ["firmware", "build", "--board", "esp32", "--out", str(tmp_path / "b")])
        hub = HubSim(broker.port, "club1", bytes.fromhex(cfg["card_secret"]), now=lambda: NOW)
        hub.add_gate("side-door", bytes.fromhex(cfg["gate_key"]))
        hub.grant(bytes.fromhex("04a1b2c3"), NOW + 3600, zones=0b100, push=False)
        with hub, FirmwareProcess(cfg, tmp_path / "gate", path=[tmp_path / "b"]) as gate:
            gate.wait_for("list v=1 n=1")
            gate.tap("04a1b2c3")
            assert "reason=granted" in gate.wait_for("tap ")
            hub.wait_for(lambda: hub.stored_seqs("side-door") == {1})
            cmd, env = gate.command()
            assert env["MICROPYPATH"].startswith(str(tmp_path / "b"))
