"""``gatehouse gate provision | status | run``, the config file and tap scripts."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest
from typer.testing import CliRunner

from edge.gate.config import ConfigError, dump_config, dumps_config, load_config
from edge.gate.simulate import ScriptError, parse_script
from edge.gate.store import GateStore
from gatehouse.cli import app
from gatehouse.services import free_port
from protocol import records
from protocol.schedule import Schedules
from tests.edge.gate.helpers import T0, make_config

GATE_KEY = "11" * 32
CARD_SECRET = "22" * 32
CLAIMED = {
    "site": "club1",
    "gate": "side-door",
    "kind": "pi",
    "door": "Side door",
    "zone": 2,
    "mqtt": {
        "host": "broker.example.org",
        "port": 8883,
        "username": "club1.side-door",
        "password": "pw-123",
        "tls": True,
        "ca": "",
    },
    "gate_key": GATE_KEY,
    "card_secret": CARD_SECRET,
    "hub_url": "https://hub.example.org",
}


class ClaimHandler(BaseHTTPRequestHandler):
    """The hub's claim endpoint: one good token, used once."""

    tokens = {"good-token"}
    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append({"path": self.path, "body": body})
        if self.path != "/api/v1/provision/claim":
            self._reply(404, {"detail": "Not Found"})
        elif body.get("token") in self.tokens:
            self.tokens.discard(body["token"])
            self._reply(200, CLAIMED)
        else:
            self._reply(403, {"detail": "token unknown, expired or already used"})

    def _reply(self, code: int, obj: dict[str, Any]) -> None:
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub_url() -> Iterator[str]:
    ClaimHandler.tokens = {"good-token"}
    ClaimHandler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), ClaimHandler)
    thread = Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["gate", *args])


def test_provision_claims_the_config_and_writes_it_private(hub_url: str, tmp_path: Path) -> None:
    out = tmp_path / "gate.toml"
    result = invoke("provision", "--hub", hub_url, "--token", "good-token", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert ClaimHandler.requests == [
        {"path": "/api/v1/provision/claim", "body": {"token": "good-token"}}
    ]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    config = load_config(out)
    assert (config.gate.site, config.gate.gate, config.gate.zone) == ("club1", "side-door", 2)
    assert config.gate.gate_key == GATE_KEY and config.gate.card_secret == CARD_SECRET
    assert config.mqtt.host == "broker.example.org" and config.mqtt.tls
    assert config.mqtt.username == "club1.side-door" and config.mqtt.password == "pw-123"
    assert config.pins.relay == 17 and config.door.lock == "fail-secure"  # defaults merged
    # The token is single-use: claiming again is refused, clearly, and writes nothing.
    again = tmp_path / "again.toml"
    refused = invoke("provision", "--hub", hub_url, "--token", "good-token", "--out", str(again))
    assert refused.exit_code == 1
    assert "refused the token (HTTP 403: token unknown, expired or already used)" in (
        refused.output
    )
    assert not again.exists()


def test_provision_errors_are_clear(hub_url: str, tmp_path: Path) -> None:
    out = tmp_path / "gate.toml"
    out.write_text("# installed by hand\n")
    exists = invoke("provision", "--hub", hub_url, "--token", "good-token", "--out", str(out))
    assert exists.exit_code == 1 and "--force" in exists.output
    closed = f"http://127.0.0.1:{free_port()}"
    down = invoke("provision", "--hub", closed, "--token", "t", "--out", str(tmp_path / "x"))
    assert down.exit_code == 1 and "cannot reach the hub" in down.output
    wrong = invoke(
        "provision", "--hub", hub_url + "/x", "--token", "t", "--out", str(out), "--force"
    )
    assert wrong.exit_code == 1 and "no provisioning endpoint" in wrong.output
    assert out.read_text() == "# installed by hand\n"


def test_status_reads_the_local_store(tmp_path: Path) -> None:
    db = tmp_path / "gate.db"
    config = make_config(db, bytes.fromhex(GATE_KEY), bytes.fromhex(CARD_SECRET))
    path = dump_config(config, tmp_path / "gate.toml")
    missing = invoke("status", "--config", str(path))
    assert missing.exit_code == 1 and "has not run yet" in missing.output
    with GateStore(db) as store:
        store.stage(records.build([records.pack(b"k" * 8, T0, 1), records.pack(b"j" * 8, T0, 1)]))
        store.swap_in(7, T0, Schedules(), 0)
        for _ in range(3):
            store.record(T0, None, 1)
        store.ack(1)
        sid = store.sid
    result = invoke("status", "--config", str(path))
    assert result.exit_code == 0, result.output
    assert "v7, 2 cards, issued 2027-01-15T08:00:00+00:00" in result.output
    assert "2 check-ins waiting" in result.output and "acked seq     1 of 3" in result.output
    assert f"(id {sid})" in result.output
    # This machine's clock is behind that issue time (2027), or it is not: either way
    # the status says which, from the real system clock.
    behind = time.time() < T0
    assert ("UNTRUSTED" in result.output) == behind
    with GateStore(db) as store:
        store.swap_in(8, int(time.time()) - 60, Schedules(), 0)
    assert "UNTRUSTED" not in invoke("status", "--config", str(path)).output
    with GateStore(db) as store:
        store.swap_in(9, int(time.time()) + 86400, Schedules(), 0)
    assert "UNTRUSTED (behind the list's issue time)" in invoke("status", "-c", str(path)).output


def test_run_refuses_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "gate.toml"
    bad.write_text('[gate]\nsite = "Club One"\n')
    result = invoke("run", "--config", str(bad))
    assert result.exit_code == 2 and "gate.site" in result.output


def test_config_round_trips_and_rejects_unknown_or_mistyped_settings(tmp_path: Path) -> None:
    config = make_config(
        tmp_path / "gate.db",
        bytes.fromhex(GATE_KEY),
        bytes.fromhex(CARD_SECRET),
        pins={"door_sensor": None},
        door={"lock": "fail-safe"},
    )
    path = dump_config(config, tmp_path / "gate.toml")
    assert load_config(path) == config
    text = dumps_config(config)
    for broken, message in (
        (text.replace("[pins]", "[pinz]"), "unknown section"),
        (text.replace("pulse_ms = 3000", "pulse_ms = 'long'"), "door.pulse_ms"),
        (text.replace('lock = "fail-safe"', 'lock = "sometimes"'), "door.lock"),
        (text + "\n[reader]\nbackend = 'nfc'\n", "reader"),
        (text.replace("[mqtt]", "[mqtt]\nqos = 2"), "mqtt.qos"),
    ):
        path.write_text(broken)
        with pytest.raises(ConfigError, match=message):
            load_config(path)


def test_tap_scripts() -> None:
    steps = parse_script(["04a1b2c3  # Somchai", "", "wait 250", "hold 04:A1:B2:C3:D4:E5:F6 4000"])
    assert steps == [
        ("tap", bytes.fromhex("04a1b2c3"), 0),
        ("wait", None, 250),
        ("hold", bytes.fromhex("04a1b2c3d4e5f6"), 4000),
    ]
    with pytest.raises(ScriptError, match="line 2"):
        parse_script(["04a1b2c3", "04a1b2"])
    with pytest.raises(ScriptError, match="line 1"):
        parse_script(["wait soon"])


def test_the_systemd_unit_runs_the_gate_command(tmp_path: Path) -> None:
    unit = Path(__file__).resolve().parents[3] / "hardware" / "pi" / "gatehouse-gate.service"
    exec_start = next(
        line for line in unit.read_text().splitlines() if line.startswith("ExecStart=")
    )
    program, *args = exec_start.removeprefix("ExecStart=").split()
    assert program.endswith("/bin/gatehouse") and args[:3] == ["gate", "run", "--config"]
    result = CliRunner().invoke(app, [*args[:-1], str(tmp_path / "gate.toml")])
    assert result.exit_code == 2 and "no configuration at" in result.output
