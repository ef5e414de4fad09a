"""Power loss: the firmware process is SIGKILLed at random points, again and again.

Each round starts the real firmware on the micropython VM with the flash folder the
last round left, lets it sync with the hub through a real Mosquitto while cards are
tapped, and kills it while it writes check-ins, takes acks, receives a snapshot or
merges a delta.  Before every restart the flash is read back independently:

* the access list is whole (count and sha256 match) and is exactly one the hub sent,
  old or new, never a mix;
* the outbox's acked + pending seqs run 1..last with no gap and no duplicate, and every
  check-in the hub already stored is still the same check-in at the gate (a seq is
  never reused for another tap).

At the end the gate drains: the hub holds every seq once and the gate's list is current.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from gatehouse.services.firmware import FirmwareProcess
from gatehouse.services.mosquitto import Mosquitto
from protocol import messages, records
from tests.firmware.conftest import GATE, NOW, SITE, gate_config
from tests.firmware.flashfiles import read_list, read_outbox
from tests.support.hubsim import HubSim

MTU = 2048


def _random_list(hub: HubSim, rng: random.Random, n: int) -> list[bytes]:
    return [
        records.pack(hub.key_of(rng.randbytes(4)), NOW + rng.randrange(-100, 10**6), 1)
        for _ in range(n)
    ]


class Rounds:
    """The hub, the gate's flash folder, and the checks run between kills."""

    def __init__(self, hub: HubSim, gate: FirmwareProcess, rng: random.Random) -> None:
        self.hub = hub
        self.gate = gate
        self.rng = rng
        self.kills = 0
        self.kinds: dict[str, int] = {}
        self.caught: dict[str, int] = {}  # files a kill left half-way, by name
        self.sid: str | None = None
        self.had_list = False

    def check_flash(self) -> tuple[int, int, int]:
        """Assert the invariants on what the killed firmware left; (version, acked, last)."""
        data = self.gate.data_dir
        for name in ("acl.tmp", "acl.new", "outbox.log.tmp", "outbox.meta.tmp"):
            if (data / name).exists():
                self.caught[name] = self.caught.get(name, 0) + 1
        flash = read_list(data)
        version = 0
        assert flash is not None or not self.had_list, "the list was lost"
        if flash is not None:
            self.had_list = True
            assert flash.whole, "list on flash does not match its own header"
            assert flash.records == self.hub.versions[flash.version], "list is not one sent"
            version = flash.version
        staged = read_list(data, "acl.new") if (data / "acl.new").exists() else None
        if staged is not None:  # verified before its rename: the boot finishes the swap
            assert staged.whole, "acl.new does not match its own header"
            assert staged.records == self.hub.versions[staged.version], "acl.new not sent"
            self.had_list = True
            version = staged.version
        box = read_outbox(data)
        if box is None and self.sid is None:
            return version, 0, 0  # never started yet
        assert box is not None, "outbox meta lost"
        if self.sid is None:
            self.sid = box.sid
        assert box.sid == self.sid, "store id changed"
        seqs = [e[0] for e in box.entries]
        if seqs:
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "log out of sequence"
        assert box.torn_bytes < 32
        pending = [s for s in seqs if s > box.acked]
        last = pending[-1] if pending else box.acked
        assert pending == list(range(box.acked + 1, last + 1)), "gap after the acked seq"
        stored = self.hub.entries.get((GATE, box.sid), {})
        assert max(stored, default=0) <= last, "hub holds a seq the gate forgot"
        for entry in box.entries:
            if entry[0] in stored:
                assert tuple(stored[entry[0]]) == entry, f"seq {entry[0]} reused"
        assert box.acked <= messages.contiguous_high(0, stored), "acked beyond what hub stored"
        return version, box.acked, last

    def start(self) -> dict[str, str]:
        version, acked, last = self.check_flash()
        self.gate.start()
        boot = self.gate.values("boot")
        deadline = time.monotonic() + 10
        while not boot:
            assert time.monotonic() < deadline, "\n".join(self.gate.lines)
            time.sleep(0.01)
            boot = self.gate.values("boot")
        seen = boot[0]
        assert (int(seen["v"]), int(seen["acked"]), int(seen["last"])) == (version, acked, last)
        assert seen["torn"] == "0" and seen["discarded"] == "0"
        return seen

    def taps(self, n: int) -> None:
        for _ in range(n):
            self.gate.send("tap " + self.rng.randbytes(4).hex())

    def kill_after(self, match: str, start: int, timeout: float = 10.0) -> None:
        self.gate.wait_for(match, timeout, start)
        time.sleep(self.rng.random() * 0.004)
        self.gate.kill()
        self.kills += 1

    def round(self) -> None:
        acks = len(self.hub.acks_sent)
        self.start()
        self.gate.wait_for("connected", 10)
        # The hub has answered this hello (time, list, then ack): what follows is news.
        self.hub.wait_for(lambda: len(self.hub.acks_sent) > acks, timeout=10)
        kind = self.rng.choice(["taps", "acks", "snapshot", "delta", "delta"])
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        mark = self.gate.mark()
        self.taps(self.rng.randrange(5, 40))
        if kind == "taps":
            nth = self.rng.randrange(1, 5)
            self.kill_after(lambda line, n=[nth]: line.startswith("tap ") and _count(n), mark)
        elif kind == "acks":
            self.kill_after("ack seq=", mark)
        elif kind == "snapshot":
            version = self.hub.set_list(_random_list(self.hub, self.rng, 6000), push=False)
            self.hub.send_snapshot(GATE, version, self.hub.versions[version], MTU)
            chunks = -(-6000 // ((MTU - 88) // 16))
            if self.rng.random() < 0.5:
                nth = self.rng.randrange(1, chunks)  # mid-transfer
            else:
                nth = self.rng.randrange(chunks - 1, chunks + 2)  # around the swap
            target = f"chunk {nth}/" if nth <= chunks else "list v="
            self.kill_after(target, mark, timeout=20)
        else:
            uid = self.rng.randbytes(4)
            if self.rng.random() < 0.5:
                self.hub.grant(uid, NOW + 5000)
            else:
                current = self.hub.versions[self.hub.version]
                if current:
                    i = self.rng.randrange(len(current) // 16)
                    recs = self.hub.current()
                    recs.pop(records.key_of(current, i))
                    self.hub.set_list(list(recs.values()))
            time.sleep(self.rng.random() * 0.03)
            self.gate.kill()
            self.kills += 1


def _count(left: list[int]) -> bool:
    left[0] -= 1
    return left[0] <= 0


def _run(tmp_path: Path, broker: Mosquitto, keys: tuple[bytes, bytes], kills: int) -> None:
    key, secret = keys
    rng = random.Random(kills)
    hub = HubSim(broker.port, SITE, secret, now=lambda: NOW, username="hub", password="hub-pw")
    hub.add_gate(GATE, key)
    hub.set_list(_random_list(hub, rng, 3000), push=False)
    cfg = gate_config(broker.port, key, secret, mtu=MTU, poll_ms=5, reader_ms=0, hold_ms=0)
    gate = FirmwareProcess(cfg, tmp_path / "gate")
    rounds = Rounds(hub, gate, rng)
    with hub:
        while rounds.kills < kills:
            rounds.round()
        # The last start: everything is delivered once and the list is current.
        rounds.start()
        try:
            gate.wait_for("connected")
            last = rounds.check_flash()[2]
            hub.wait_for(lambda: hub.stored_seqs(GATE, rounds.sid) == set(range(1, last + 1)))
            deadline = time.monotonic() + 10
            while (status := gate.status())["pending"] or status["v"] != hub.version:
                assert time.monotonic() < deadline, status
                time.sleep(0.05)
            assert status["last"] == last
        finally:
            gate.stop()
    print(f"kills={rounds.kills} kinds={rounds.kinds} left half-way={rounds.caught}")
    assert set(rounds.kinds) == {"taps", "acks", "snapshot", "delta"}
    assert rounds.caught.get("acl.tmp"), "no kill landed while a list was being written"
    assert rounds.kills >= kills


def test_fifty_kills_leave_a_whole_list_and_gapless_outbox(
    tmp_path: Path, broker: Mosquitto, keys: tuple[bytes, bytes]
) -> None:
    _run(tmp_path, broker, keys, kills=55)


@pytest.mark.slow
def test_three_hundred_kills(tmp_path: Path, broker: Mosquitto, keys: tuple[bytes, bytes]) -> None:
    _run(tmp_path, broker, keys, kills=300)
