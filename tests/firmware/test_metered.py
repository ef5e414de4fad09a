"""Metered cards on the MicroPython gate: visits counted down, re-entry, refusal at zero."""

from __future__ import annotations

from pathlib import Path

from gatehouse.services.firmware import FirmwareProcess
from gatehouse.services.mosquitto import Mosquitto
from protocol import decision
from protocol.records import FLAG_METERED, with_visits
from tests.firmware.conftest import GATE, NOW, SITE, firmware, gate_config
from tests.support.hubsim import HubSim

PACK = "04a1b2c3"
HOUR = 3600


def _tap(gate: FirmwareProcess, uid: str) -> str:
    start = gate.mark()
    gate.tap(uid)
    line = gate.wait_for(f"tap uid={uid}", start=start)
    return dict(part.split("=") for part in line.split()[1:])["reason"]


def _at(gate: FirmwareProcess, unix: int) -> None:
    gate.send(f"clock {unix}")
    gate.wait_for(lambda _line: gate.status()["clock"] >= unix)


def test_pack_counts_down_and_reentry_window_comes_from_the_manifest(
    broker: Mosquitto, keys: tuple[bytes, bytes], tmp_path: Path
) -> None:
    key, secret = keys
    hub = HubSim(broker.port, SITE, secret, now=lambda: NOW, username="hub", password="hub-pw")
    hub.add_gate(GATE, key)
    hub.manifest_extra = {"reentry": 3 * HOUR}
    hub.grant(bytes.fromhex(PACK), NOW + 30 * 86400, flags=with_visits(FLAG_METERED, 2),
              push=False)  # fmt: skip
    with hub, firmware(gate_config(broker.port, *keys, hold_ms=0), tmp_path / "gate") as gate:
        gate.wait_for("list v=")
        assert gate.status()["reentry"] == 3 * HOUR
        got = [_tap(gate, PACK)]
        _at(gate, NOW + HOUR)
        got.append(_tap(gate, PACK))
        _at(gate, NOW + 4 * HOUR)
        got.append(_tap(gate, PACK))
        _at(gate, NOW + 8 * HOUR)
        got.append(_tap(gate, PACK))
        assert got == ["granted", "reentry", "granted", "no_visits"]
        hub.wait_for(lambda: len(hub.stored_seqs(GATE)) == 4)
        gate.wait_for("ack seq=4")

        # the hub's new count replaces what the gate subtracted (acked visits)
        hub.grant(bytes.fromhex(PACK), NOW + 30 * 86400, flags=with_visits(FLAG_METERED, 1))
        gate.wait_for(lambda line: "via=delta" in line)
        _at(gate, NOW + 12 * HOUR)
        assert [_tap(gate, PACK), _tap(gate, PACK)][0] == "granted"
        stored = hub.entries[(GATE, gate.status()["sid"])]
        hub.wait_for(lambda: len(hub.stored_seqs(GATE)) == 6)
        assert [stored[s][3] for s in range(1, 7)] == [
            decision.GRANTED, decision.REENTRY, decision.GRANTED, decision.NO_VISITS,
            decision.GRANTED, decision.REENTRY,
        ]  # fmt: skip
