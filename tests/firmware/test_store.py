"""The flash-backed access list on the micropython VM, checked against ``protocol`` on CPython.

Lists reach the firmware's real message handling (``Gate._on_message``) as sealed
payloads made by the protocol package; what the firmware left on its flash is read back
with an independent reader (``flashfiles``) and compared with ``protocol.delta.apply``.
"""

from __future__ import annotations

import json
import random
import secrets
from pathlib import Path
from typing import Any

from protocol import delta, envelope, records, snapshot
from protocol.schedule import Schedules
from tests.firmware.conftest import GATE, NOW, run_mp
from tests.firmware.flashfiles import read_list

FEED = """
import binascii, json, sys
import gate
from door import Door

class NoReader:
    def read_uid(self):
        return None

job = json.load(open(sys.argv[1]))
g = gate.Gate(job["config"], NoReader(), Door(), root=sys.argv[2], log=lambda line: None)
print("boot v=%d n=%d" % (g.store.version, g.store.count))
for kind, payload in job["steps"]:
    topic = b"gh/v1/club1/front-door/down/" + kind.encode()
    g.hub._on_message(topic, binascii.unhexlify(payload), 0)
    print("step v=%d n=%d writing=%d want=%d ok=%d hello=%d" % (
        g.store.version, g.store.count, g.store.writing, g.hub.link.want_snapshot, g.store.check(),
        g.hub._hello_due))
found = []
for key in job.get("probes", []):
    rec = g.store.find(binascii.unhexlify(key))
    found.append(None if rec is None else binascii.hexlify(rec).decode())
print("found " + json.dumps(found))
print("rejected " + json.dumps(g.hub.link.rejected))
g.store.close()
"""


def _config(key: bytes) -> dict[str, Any]:
    return {
        "site": "club1",
        "gate": GATE,
        "mqtt": {"host": "127.0.0.1", "port": 1},
        "gate_key": key.hex(),
        "card_secret": "00" * 16,
        "mtu": 4096,
    }


def _records(rng: random.Random, n: int) -> list[bytes]:
    return [
        records.pack(rng.randbytes(8), rng.randrange(NOW, NOW + 10**6), rng.randrange(1, 4))
        for _ in range(n)
    ]


def _snapshot(key: bytes, version: int, data: bytes, per_chunk: int = 200, **kw: Any) -> list:
    chunks = snapshot.make_chunks(version, data, per_chunk)
    sched = Schedules({1: [[0b11111, 360, 1320]]}, tz=[[0, 7 * 3600]])
    man = snapshot.manifest(GATE, version, data, NOW, len(chunks), sched)
    man.update(kw)
    steps = [["acl", envelope.seal_json(key, man).hex()]]
    steps += [["acl", envelope.seal(key, c).hex()] for c in chunks]
    return steps


def _feed(tmp_path: Path, key: bytes, steps: list, probes: list[str] = ()) -> dict[str, Any]:
    data_dir = tmp_path / "flash"
    data_dir.mkdir(exist_ok=True)
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"config": _config(key), "steps": steps, "probes": list(probes)}))
    out = run_mp(FEED, tmp_path, str(job), str(data_dir)).splitlines()
    result: dict[str, Any] = {"boot": out[0], "steps": [], "flash": data_dir}
    for line in out[1:]:
        head, _, rest = line.partition(" ")
        if head == "step":
            result["steps"].append(dict(kv.split("=") for kv in rest.split()))
        else:
            result[head] = json.loads(rest)
    return result


def test_snapshot_then_random_deltas_match_the_protocol_oracle(tmp_path: Path) -> None:
    rng = random.Random(4)
    key = secrets.token_bytes(32)
    data = records.build(_records(rng, 3000))
    steps = _snapshot(key, 1, data)
    expected = [data]
    current = data
    for version in range(2, 22):
        keys = [records.key_of(current, i) for i in range(len(current) // 16)]
        changed = rng.sample(keys, rng.randrange(0, 20))
        replace = [records.pack(k, NOW + version, 7) for k in changed]
        fresh = _records(rng, rng.randrange(0, 30))
        gone = rng.sample(keys, rng.randrange(0, 30)) + [rng.randbytes(8) for _ in range(3)]
        both = rng.sample(keys, 2)  # deleted and re-added: the addition wins
        add = records.build(replace + fresh + [records.pack(k, NOW, 1) for k in both])
        adds = [add[i : i + 16] for i in range(0, len(add), 16)]
        dels = sorted(set(gone + both) - {r[:8] for r in replace})
        body = delta.make(GATE, version - 1, version, adds, dels, NOW)
        steps.append(["acl", envelope.seal_json(key, body).hex()])
        _v, p_add, p_del = delta.parse(body, version - 1)
        current = delta.apply(current, p_add, p_del)
        expected.append(current)
    probes = [records.key_of(current, i).hex() for i in range(0, len(current) // 16, 7)]
    probes += [rng.randbytes(8).hex() for _ in range(50)]
    probes += ["00" * 8, "ff" * 8, records.key_of(current, 0).hex()]
    probes.append(records.key_of(current, len(current) // 16 - 1).hex())
    result = _feed(tmp_path, key, steps, probes)

    versions = [int(s["v"]) for s in result["steps"]]
    assert versions[-21:] == list(range(1, 22))
    assert all(s["ok"] == "1" and s["writing"] == "0" for s in result["steps"][-21:])
    flash = read_list(result["flash"])
    assert flash is not None and flash.whole
    assert flash.version == 21 and flash.records == expected[-1]
    assert flash.schedules["w"] == {"1": [[31, 360, 1320]]}
    for probe, rec in zip(probes, result["found"], strict=True):
        i = records.find(current, bytes.fromhex(probe))
        assert rec == (records.record_at(current, i).hex() if i >= 0 else None), probe
    assert sorted(p.name for p in result["flash"].iterdir() if p.name.startswith("acl")) == [
        "acl.bin"
    ]


def test_a_list_failing_its_manifest_is_never_swapped_in(tmp_path: Path) -> None:
    rng = random.Random(5)
    key = secrets.token_bytes(32)
    good = records.build(_records(rng, 500))
    other = records.build(_records(rng, 600))
    wrong_sha = snapshot.sha_hex(other[:-16])
    steps = _snapshot(key, 1, good)
    steps += _snapshot(key, 2, other, sha=wrong_sha)  # bytes do not match the signed sha
    steps += _snapshot(key, 3, other, n=601)  # count does not match
    swapped = _snapshot(key, 4, other, per_chunk=100)
    steps += swapped[:3] + swapped[4:]  # a chunk missing: out of order
    steps += _snapshot(key, 5, other)[:-1]  # the last chunk never arrives
    result = _feed(tmp_path, key, steps)
    first = len(_snapshot(key, 1, good))
    assert {s["v"] for s in result["steps"][first - 1 :]} == {"1"}
    assert result["steps"][-1]["writing"] == "1"  # still waiting for version 5's last chunk
    assert result["steps"][-2]["want"] == "1"  # gate asks for a fresh snapshot
    # two bad manifests; the chunk out of order, then the two after it (no assembly)
    assert result["rejected"] == {"bad_manifest": 2, "malformed": 1, "stale": 2}
    flash = read_list(result["flash"])
    assert flash is not None and flash.whole and flash.records == good

    # Power lost while version 5 was being written: the next boot has version 1, whole.
    again = _feed(tmp_path, key, [])
    assert again["boot"] == "boot v=1 n=500"
    assert not (result["flash"] / "acl.tmp").exists()


def test_boot_finishes_an_interrupted_swap_and_drops_a_damaged_list(tmp_path: Path) -> None:
    rng = random.Random(6)
    key = secrets.token_bytes(32)
    data = records.build(_records(rng, 300))
    result = _feed(tmp_path, key, _snapshot(key, 1, data))
    flash_dir = result["flash"]
    live = flash_dir / "acl.bin"
    # A verified list renamed to acl.new, power lost before it replaced acl.bin.
    live.rename(flash_dir / "acl.new")
    (flash_dir / "acl.tmp").write_bytes(b"half a list")
    assert _feed(tmp_path, key, [])["boot"] == "boot v=1 n=300"
    assert sorted(p.name for p in flash_dir.iterdir() if p.name.startswith("acl")) == ["acl.bin"]

    # One flipped bit in a record: the sha256 check at boot drops the list.
    raw = bytearray(live.read_bytes())
    raw[-5] ^= 0x10
    live.write_bytes(bytes(raw))
    assert _feed(tmp_path, key, [])["boot"] == "boot v=0 n=0"
    assert not live.exists()

    # A list cut short is dropped too, and the gate asks for a snapshot.
    _feed(tmp_path, key, _snapshot(key, 1, data))
    live.write_bytes(live.read_bytes()[:-16])
    result = _feed(tmp_path, key, [])
    assert result["boot"] == "boot v=0 n=0"


def test_a_delta_arriving_during_a_snapshot_waits_for_it(tmp_path: Path) -> None:
    rng = random.Random(7)
    key = secrets.token_bytes(32)
    first = records.build(_records(rng, 300))
    newer = records.build(_records(rng, 700))
    steps = _snapshot(key, 1, first)
    big = _snapshot(key, 3, newer, per_chunk=100)  # version 3, in 7 chunks
    change = delta.make(GATE, 1, 2, [], [records.key_of(first, 0)], NOW)
    skip = delta.make(GATE, 2, 3, [], [records.key_of(first, 1)], NOW)  # from a version not held
    steps += big[:4]
    steps += [["acl", envelope.seal_json(key, change).hex()]]
    steps += [["acl", envelope.seal_json(key, skip).hex()]]
    steps += big[4:]
    result = _feed(tmp_path, key, steps)
    during = result["steps"][len(_snapshot(key, 1, first)) + 3 :][:3]
    assert [s["writing"] for s in during] == ["1", "1", "1"]  # the snapshot carries on
    assert [s["hello"] for s in during] == ["0", "1", "1"]
    last = result["steps"][-1]
    assert (last["v"], last["n"], last["writing"], last["want"]) == ("3", "700", "0", "0")
    assert last["hello"] == "1"  # hello once done: the hub sends what came after
    assert result["rejected"] == {"gap": 1}
    flash = read_list(result["flash"])
    assert flash is not None and flash.records == newer
