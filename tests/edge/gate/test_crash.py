"""``kill -9`` of a real gate process mid-download and mid-tapping, then a restart.

The gate runs as ``python -m gatehouse gate run --simulate`` (mock pins, scripted
taps), against a real Mosquitto and the hub simulator.  After each kill the store is
opened as the restarted gate would open it: the old or the new list is whole, every
check-in the gate printed (it prints after the commit) is still there or acked, and the
restarted gate never resends what the hub had acked.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.gate.config import dump_config
from edge.gate.store import GateStore
from gatehouse.services import die_with_parent
from gatehouse.services.mosquitto import Mosquitto
from protocol import envelope, messages, records, topics
from tests.edge.gate.conftest import Keys
from tests.edge.gate.helpers import DAY, GATE, SITE, committed, eventually, make_config
from tests.support.hubsim import HubSim

MTU = 1024  # 58 records a chunk: a list of thousands takes a while to arrive


class GateProcess:
    """A gate daemon in a subprocess; collects the seqs it prints."""

    def __init__(self, config: Path, log: Path, script: Path | None = None) -> None:
        cmd = [sys.executable, "-m", "gatehouse", "gate", "run", "--config", str(config)]
        cmd += ["--simulate"] + (["--script", str(script)] if script else [])
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            preexec_fn=die_with_parent,
        )
        self.printed: list[int] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            for word in line.split():
                if word.startswith(b"seq="):
                    self.printed.append(int(word[4:]))

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._reader.join(5)
        self.log.close()

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(10)
        self._reader.join(5)
        self.log.close()
        return code


@pytest.fixture
def hub(mosquitto: Mosquitto, keys: Keys) -> Iterator[HubSim]:
    sim = HubSim(mosquitto.port, SITE, keys.card_secret)  # real time: the gate's is real
    sim.add_gate(GATE, keys.gate_key)
    with sim:
        yield sim
        sim.client.disconnect()


def gate_config(tmp_path: Path, keys: Keys, port: int) -> tuple[Path, Path]:
    db = tmp_path / "gate.db"
    config = make_config(
        db,
        keys.gate_key,
        keys.card_secret,
        port,
        mqtt={"mtu": MTU, "resend_s": 1.0},
        decision={"debounce_s": 0.0},
    )
    return dump_config(config, tmp_path / "gate.toml"), db


def version(db: Path) -> int:
    """The list version the store has committed (0 before the store exists)."""
    try:
        return int(committed(db, "SELECT value FROM state WHERE key = 'version'")[0][0])
    except (sqlite3.OperationalError, IndexError):
        return 0


def staged(db: Path) -> int:
    """Records of a download in progress, as committed so far."""
    return int(committed(db, "SELECT count(*) FROM staging")[0][0])


def random_records(n: int, rng: random.Random) -> dict[bytes, bytes]:
    now = int(time.time())
    out = {}
    for _ in range(n):
        key = rng.randbytes(8)
        out[key] = records.pack(key, now + 30 * DAY, 1)
    return out


def test_kill_9_during_list_download_leaves_the_old_or_the_new_list_whole(
    tmp_path: Path, hub: HubSim, keys: Keys
) -> None:
    rng = random.Random(7)
    cards = random_records(12_000, rng)
    hub.set_list(list(cards.values()), push=False)
    config, db = gate_config(tmp_path, keys, hub.port)
    gate = GateProcess(config, tmp_path / "gate.log")
    eventually(lambda: version(db) == 1, timeout=15)
    interrupted = 0
    for _ in range(3):
        old_version = hub.version
        for key in rng.sample(sorted(cards), 400):  # a new version: 400 gone, 1,200 new
            del cards[key]
        cards.update(random_records(1200, rng))
        hub.set_list(list(cards.values()), push=False)
        hub.send_snapshot(GATE, hub.version, hub.versions[hub.version], MTU)
        threshold = rng.randrange(1, len(cards) // 2)
        deadline = time.monotonic() + 20
        while staged(db) < threshold and version(db) == old_version:  # kill it mid-way
            assert time.monotonic() < deadline, "the download never started"
            time.sleep(0.002)
        gate.kill()
        partial = staged(db)  # what the killed gate had written of the new list
        with GateStore(db) as store:  # opened as the restarted gate opens it
            assert store.version in (old_version, hub.version)
            assert store.list_bytes() == hub.versions[store.version]
            assert store.staged() == 0  # the partial download is thrown away
            if store.version == old_version and partial > 0:
                interrupted += 1
        gate = GateProcess(config, tmp_path / "gate.log")
        # Restarted at the old version, it catches up by a delta (under 4,096 changes).
        eventually(
            lambda: (
                committed(db, "SELECT value FROM state WHERE key='version'")
                == [(str(hub.version),)]
            ),
            timeout=15,
        )
    assert gate.terminate() == 0
    with GateStore(db) as store:
        assert store.list_bytes() == hub.versions[hub.version]
    assert interrupted >= 1  # at least one kill really landed mid-download


def state(hub: HubSim) -> str | None:
    """The gate's retained status as the hub last saw it."""
    return hub.status.get(GATE, {}).get("state")


class Observer:
    """Records the seqs of every check-in batch on the gate's uplink, by run."""

    def __init__(self, port: int, key: bytes) -> None:
        self.key = key
        self.run = 0
        self.seen: dict[int, list[int]] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="observer")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topics.up(SITE, GATE, "checkin"), qos=1)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        obj = envelope.open_json(self.key, msg.payload, gate=GATE, kind="checkin")
        _sid, entries = messages.parse_checkin_batch(obj)
        self.seen.setdefault(self.run, []).extend(e[0] for e in entries)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.parametrize("kills", [2, pytest.param(6, marks=pytest.mark.slow)])
def test_kill_9_while_tapping_loses_no_check_in_and_resends_nothing_acked(
    kills: int, tmp_path: Path, hub: HubSim, keys: Keys
) -> None:
    members = [bytes([4, 0xB0, 0, i]) for i in range(10)]
    for uid in members[:-1]:
        hub.grant(uid, int(time.time()) + DAY, push=False)
    config, db = gate_config(tmp_path, keys, hub.port)
    script = tmp_path / "taps.txt"
    script.write_text("".join(members[i % 10].hex() + "\n" for i in range(4000)))
    observer = Observer(hub.port, keys.gate_key)
    rng = random.Random(11)
    try:
        for run in range(kills):
            observer.run = run
            gate = GateProcess(config, tmp_path / "gate.log", script)
            stop_after = rng.randrange(100, 600)
            eventually(lambda g=gate, n=stop_after: len(g.printed) >= n, timeout=20)
            hub.wait_for(lambda: state(hub) == "online", 10)
            gate.kill()
            hub.wait_for(lambda: state(hub) == "offline", 10)  # the broker sent the last will
            time.sleep(0.3)  # what the killed process sent reaches the observer first
            with GateStore(db) as store:
                acked, last = store.acked, store.last_seq
                rows = [r[0] for r in store.pending(limit=100_000)]
            assert max(gate.printed) <= last  # printed means committed: nothing lost
            assert rows == list(range(acked + 1, last + 1))  # contiguous, unacked only
            observer.run = run + 1
            restarted = GateProcess(config, tmp_path / "gate.log")  # no taps: it drains
            hub.wait_for(lambda s=last: hub.stored_seqs(GATE) >= set(range(1, s + 1)), 20)
            eventually(lambda: committed(db, "SELECT count(*) FROM outbox") == [(0,)], timeout=10)
            resent = [seq for seq in observer.seen.get(run + 1, []) if seq <= acked]
            assert resent == [], "the restarted gate resent check-ins the hub had acked"
            hub.wait_for(lambda: state(hub) == "online", 10)
            assert restarted.terminate() == 0
            hub.wait_for(lambda: state(hub) == "offline", 10)  # said so itself, retained
        with GateStore(db) as store:
            assert store.depth() == 0
            assert hub.stored_seqs(GATE, store.sid) == set(range(1, store.last_seq + 1))
    finally:
        observer.close()
