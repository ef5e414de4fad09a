"""The firmware on the micropython VM against a real Mosquitto and the hub's protocol side.

Snapshot in, taps decided from the flash list, check-ins out and drained on ack, a delta
revoking a card, remote unlock, forged messages refused, the last will, a restart that
keeps everything, and check-ins recorded offline delivered after the broker returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from gatehouse.services.firmware import FirmwareProcess
from gatehouse.services.mosquitto import Mosquitto
from protocol import decision, messages, records, topics
from tests.firmware.conftest import GATE, NOW, SITE, firmware, gate_config
from tests.support.hubsim import HubSim

MEMBER = "04a1b2c3"
LAPSED = "04d1d2d3d4d5d6"
OTHER_ZONE = "0ae1e2e3"
STRANGER = "0bf1f2f3"


def _hub(broker: Mosquitto, keys: tuple[bytes, bytes]) -> HubSim:
    key, secret = keys
    hub = HubSim(broker.port, SITE, secret, now=lambda: NOW, username="hub", password="hub-pw")
    hub.add_gate(GATE, key)
    recs = [records.pack(hub.key_of(i.to_bytes(4, "big")), NOW + 86400, 1) for i in range(2000)]
    hub.set_list(recs, push=False)
    hub.grant(bytes.fromhex(MEMBER), NOW + 30 * 86400, zones=0b1, push=False)
    hub.grant(bytes.fromhex(LAPSED), NOW - 1, push=False)
    hub.grant(bytes.fromhex(OTHER_ZONE), NOW + 86400, zones=0b10, push=False)
    return hub


def _wait(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.05)


def _tap(gate: FirmwareProcess, uid: str) -> dict[str, str]:
    start = gate.mark()
    gate.tap(uid)
    line = gate.wait_for(f"tap uid={uid}", start=start)
    return dict(part.split("=") for part in line.split()[1:])


def test_snapshot_taps_checkins_delta_and_drain(
    broker: Mosquitto, keys: tuple[bytes, bytes], tmp_path: Path
) -> None:
    hub = _hub(broker, keys)
    with hub, firmware(gate_config(broker.port, *keys), tmp_path / "gate") as gate:
        gate.wait_for("list v=")
        status = gate.status()
        assert status["v"] == hub.version and status["n"] == 2003
        assert status["clock"] == NOW  # from the hub's time command

        assert _tap(gate, MEMBER)["reason"] == "granted"
        gate.wait_for("pin relay 1")
        assert _tap(gate, LAPSED)["reason"] == "expired"
        assert _tap(gate, OTHER_ZONE)["reason"] == "wrong_zone"
        assert _tap(gate, STRANGER)["reason"] == "unknown"

        hub.revoke(bytes.fromhex(MEMBER))
        gate.wait_for(lambda line: line.startswith("list v=") and "via=delta" in line)
        assert _tap(gate, MEMBER)["reason"] == "unknown"

        hub.wait_for(lambda: hub.stored_seqs(GATE) == {1, 2, 3, 4, 5})
        gate.wait_for("ack seq=5")
        status = gate.status()
        assert (status["acked"], status["pending"]) == (5, 0)
        sid = status["sid"]
        stored = hub.entries[(GATE, sid)]
        assert [stored[s][3] for s in range(1, 6)] == [
            decision.GRANTED,
            decision.EXPIRED,
            decision.WRONG_ZONE,
            decision.UNKNOWN,
            decision.UNKNOWN,
        ]
        member_key = hub.key_of(bytes.fromhex(MEMBER)).hex()
        assert stored[1][2] == member_key and stored[1][1] == NOW
        assert stored[5][4] == hub.version  # decided on the list after the delta
        assert hub.duplicates == 0

        # The retained status says online; the hub's list version and queue depth match.
        hub.wait_for(lambda: hub.status.get(GATE, {}).get("v") == hub.version)


def test_remote_unlock_forgeries_last_will_restart(
    broker: Mosquitto, keys: tuple[bytes, bytes], tmp_path: Path
) -> None:
    hub = _hub(broker, keys)
    cfg = gate_config(broker.port, *keys)
    gate = firmware(cfg, tmp_path / "gate")
    with hub:
        gate.start()
        gate.wait_for("list v=")
        hub.send_cmd(GATE, "unlock")
        gate.wait_for("cmd op=unlock")
        gate.wait_for("pin relay 1")
        hub.wait_for(lambda: 1 in hub.stored_seqs(GATE))
        entry = next(iter(hub.entries.values()))[1]
        assert entry[3] == decision.REMOTE and entry[2] == ""

        # Forged, foreign and garbled messages are refused and counted; nothing breaks.
        forged = b"00000000:" + b"0" * 64 + b'.{"t":"cmd"}'
        hub.client.publish(topics.down(SITE, GATE, "cmd"), forged, qos=1)
        hub.client.publish(topics.down(SITE, GATE, "acl"), b"garbage", qos=1)
        hub.client.publish(topics.down(SITE, GATE, "ack"), bytes(range(256)) * 4, qos=1)
        hub.send_cmd(GATE, "unlock", issued=NOW - 3600)  # too old to obey
        expected = {"malformed": 2, "wrong_key": 1, "stale": 1}
        _wait(lambda: gate.status()["rejected"] == expected)
        assert _tap(gate, MEMBER)["reason"] == "granted"

        # Pulling the power: the broker publishes the gate's sealed last will.
        hub.wait_for(lambda: hub.status.get(GATE, {}).get("state") == "online")
        gate.kill()
        hub.wait_for(lambda: hub.status[GATE]["state"] == "offline")

        # After a restart the gate holds its list and store; hello asks for nothing new.
        hellos = len(hub.hellos)
        gate.start()
        boot = gate.wait_for("boot ")
        assert f"v={hub.version}" in boot and "n=2003" in boot
        gate.wait_for("connected")
        hub.wait_for(lambda: len(hub.hellos) > hellos)
        assert hub.hellos[-1]["v"] == hub.version and hub.hellos[-1]["want"] is None
        assert _tap(gate, MEMBER)["seq"] == "3"
        hub.wait_for(lambda: hub.stored_seqs(GATE) == {1, 2, 3})
        gate.stop()


def test_checkins_recorded_offline_are_delivered_after_the_broker_returns(
    broker: Mosquitto, keys: tuple[bytes, bytes], tmp_path: Path
) -> None:
    hub = _hub(broker, keys)
    cfg = gate_config(broker.port, *keys)
    with hub, firmware(cfg, tmp_path / "gate") as gate:
        gate.wait_for("list v=")
        broker.stop()
        gate.wait_for("disconnected")
        taps = [_tap(gate, uid) for uid in (MEMBER, STRANGER, "04a1b2c3d4e5f6", LAPSED)]
        assert [t["reason"] for t in taps[:2]] == ["granted", "unknown"]
        assert gate.status()["pending"] == 4
        broker.start()
        hub.wait_for(lambda: hub.stored_seqs(GATE) == {1, 2, 3, 4}, timeout=20)
        gate.wait_for("ack seq=4")
        sid = gate.status()["sid"]
        flags = [hub.entries[(GATE, sid)][s][5] for s in range(1, 5)]
        assert all(f & messages.CI_OFFLINE for f in flags)
        assert gate.status()["pending"] == 0


def test_a_snapshot_larger_than_the_list_before_is_swapped_in_whole(
    broker: Mosquitto, keys: tuple[bytes, bytes], tmp_path: Path
) -> None:
    hub = _hub(broker, keys)
    cfg = gate_config(broker.port, *keys, mtu=1024)
    with hub, firmware(cfg, tmp_path / "gate") as gate:
        gate.wait_for("list v=")
        # A new list with a different membership, sent as a snapshot in small chunks.
        recs = [
            records.pack(hub.key_of(i.to_bytes(4, "big")), NOW + 99, 1) for i in range(5000, 9000)
        ]
        version = hub.set_list(recs, push=False)
        start = gate.mark()
        hub.send_snapshot(GATE, version, hub.versions[version], mtu=1024)
        line = gate.wait_for("list v=", start=start, timeout=20)
        assert f"v={version} n=4000 via=snapshot" in line
        assert _tap(gate, (5000).to_bytes(4, "big").hex())["reason"] == "granted"
        assert _tap(gate, MEMBER)["reason"] == "unknown"


def test_the_demo_broker_amqtt_serves_the_firmware_too(
    keys: tuple[bytes, bytes], tmp_path: Path
) -> None:
    from gatehouse.services.amqtt_broker import EmbeddedBroker

    key, secret = keys
    with EmbeddedBroker() as broker:
        hub = HubSim(broker.port, SITE, secret, now=lambda: NOW)
        hub.add_gate(GATE, key)
        hub.grant(bytes.fromhex(MEMBER), NOW + 99, push=False)
        with hub, firmware(gate_config(broker.port, *keys), tmp_path / "gate") as gate:
            gate.wait_for("list v=1 n=1")
            assert _tap(gate, MEMBER)["reason"] == "granted"
            hub.wait_for(lambda: hub.stored_seqs(GATE) == {1})
            hub.revoke(bytes.fromhex(MEMBER))
            gate.wait_for(lambda line: "via=delta" in line)
            assert gate.status()["acked"] == 1


def test_enroll_mode_sends_the_next_uid_and_unlock_holds_for_its_seconds(
    broker: Mosquitto, keys: tuple[bytes, bytes], tmp_path: Path
) -> None:
    hub = _hub(broker, keys)
    cfg = gate_config(broker.port, *keys, hold_ms=0)  # the same card twice in a row
    with hub, firmware(cfg, tmp_path / "gate") as gate:
        gate.wait_for("list v=")
        start = gate.mark()
        hub.send_cmd(GATE, "enroll", {"seconds": 30})
        gate.wait_for("cmd op=enroll", start=start)
        gate.tap("04c0ffee")
        gate.wait_for("enroll uid=04c0ffee", start=start)
        hub.wait_for(lambda: hub.enrolls == [(GATE, bytes.fromhex("04c0ffee"))])
        assert _tap(gate, "04c0ffee")["reason"] == "unknown"  # enroll mode was one tap

        start = gate.mark()
        hub.send_cmd(GATE, "unlock", {"seconds": 7.5})
        assert gate.wait_for("unlock ", start=start).startswith("unlock ms=7500 seq=2")
        hub.send_cmd(GATE, "unlock", {"seconds": 86400})  # beyond an hour: the pulse
        assert gate.wait_for("unlock ms=300 ", start=start)
        hub.wait_for(lambda: hub.stored_seqs(GATE) == {1, 2, 3})
