"""The check-in outbox on the micropython VM: seqs, acks, compaction, torn writes.

Every byte of a record being written when power fails is tried: the torn record is
discarded, its seq is reused, and nothing before it is lost.  The flash files are read
back with the independent reader in ``flashfiles``.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

from tests.firmware.conftest import run_mp
from tests.firmware.flashfiles import read_outbox

OPS = """
import json, sys
from outbox import Outbox

root = sys.argv[1]
box = None
out = []
for op in json.load(open(sys.argv[2])):
    name = op[0]
    if name == "open":
        if box:
            box.close()
        box = Outbox(root, op[1])
        out.append(["open", box.sid, box.acked, box.last, box.torn])
    elif name == "append":
        seqs = []
        for i in range(op[1]):
            key = bytes([i % 256]) * 8 if i % 5 else None
            seqs.append(box.append(1800000000 + i, key, i % 12, 7, i % 4))
        out.append(["append", seqs, box.dropped])
    elif name == "ack":
        out.append(["ack", box.ack(op[1]), box.acked, box.pending])
    elif name == "entries":
        out.append(["entries", box.entries(op[1], op[2])])
print(json.dumps(out))
"""


def _run(tmp_path: Path, ops: list[list[Any]]) -> list[list[Any]]:
    flash = tmp_path / "flash"
    flash.mkdir(exist_ok=True)
    job = tmp_path / "ops.json"
    job.write_text(json.dumps(ops))
    return json.loads(run_mp(OPS, tmp_path, str(flash), str(job)))


def test_seqs_entries_acks_and_compaction(tmp_path: Path) -> None:
    out = _run(
        tmp_path,
        [
            ["open", 1000],
            ["append", 100],
            ["entries", 1, 3],
            ["ack", 40],
            ["ack", 30],  # older ack: no news
            ["ack", 500],  # beyond what was written: ignored
            ["ack", 70],  # acked part outweighs the rest: compacted
            ["entries", 71, 2],
            ["open", 1000],
            ["append", 1],
            ["ack", 101],  # everything acked: the log is emptied
        ],
    )
    sid = out[0][1]
    assert len(sid) == 16 and out[0][2:] == [0, 0, 0]
    assert out[1] == ["append", list(range(1, 101)), 0]
    assert out[2] == [
        "entries",
        [
            [1, 1800000000, "", 0, 7, 0],
            [2, 1800000001, "0101010101010101", 1, 7, 1],
            [3, 1800000002, "0202020202020202", 2, 7, 2],
        ],
    ]
    assert out[3] == ["ack", True, 40, 60]
    assert out[4] == ["ack", False, 40, 60]
    assert out[5] == ["ack", False, 40, 60]
    assert out[6] == ["ack", True, 70, 30]
    assert out[7][1][0][0] == 71 and out[7][1][1][0] == 72
    assert out[8] == ["open", sid, 70, 100, 0]  # after a restart: same store, same seqs
    assert out[9] == ["append", [101], 0]
    assert out[10] == ["ack", True, 101, 0]
    box = read_outbox(tmp_path / "flash")
    assert box is not None and (box.sid, box.acked, box.entries) == (sid, 101, [])
    assert (tmp_path / "flash" / "outbox.log").stat().st_size == 0


def test_a_full_outbox_counts_what_it_drops_and_takes_more_once_acked(tmp_path: Path) -> None:
    out = _run(tmp_path, [["open", 10], ["append", 12], ["ack", 4], ["append", 5]])
    assert out[1] == ["append", [*range(1, 11), 0, 0], 2]
    assert out[3] == ["append", [11, 12, 13, 14, 0], 3]
    box = read_outbox(tmp_path / "flash")
    assert box is not None and box.pending == list(range(5, 15))


def _record_bytes(flash: Path) -> bytes:
    return (flash / "outbox.log").read_bytes()


def test_a_write_torn_at_any_byte_is_discarded_and_nothing_before_it(tmp_path: Path) -> None:
    # A whole sixth record, to cut at every length, and a template log of five.
    _run(tmp_path, [["open", 100], ["append", 6]])
    flash = tmp_path / "flash"
    log = _record_bytes(flash)
    five, sixth = log[:160], log[160:192]
    meta = (flash / "outbox.meta").read_bytes()
    ops = []
    cases = [sixth[:cut] for cut in range(1, 32)]
    flipped = bytearray(sixth)
    flipped[17] ^= 0x04  # a bit flipped in the card key: the CRC catches it
    cases.append(bytes(flipped))
    cases.append(b"\xff" * 32)  # erased flash
    cases.append(b"\x00" * 32)
    for i, tail in enumerate(cases):
        case = tmp_path / f"case{i}"
        case.mkdir()
        (case / "outbox.meta").write_bytes(meta)
        (case / "outbox.log").write_bytes(five + tail)
        ops.append(str(case))
    script = (
        "import sys\nfrom outbox import Outbox\n"
        "for root in sys.argv[1:]:\n"
        "    box = Outbox(root)\n"
        "    seq = box.append(1800000099, b'abcdefgh', 0, 9)\n"
        "    print(box.last, box.torn, seq)\n"
        "    box.close()\n"
    )
    lines = run_mp(script, tmp_path, *ops).splitlines()
    assert lines == ["6 1 6"] * len(cases)
    for root in ops:
        box = read_outbox(Path(root))
        assert box is not None and box.torn_bytes == 0
        assert [e[0] for e in box.entries] == [1, 2, 3, 4, 5, 6]
        assert box.entries[:5] == read_outbox_five(five, meta, tmp_path)
        assert box.entries[5][2] == "6162636465666768"


def read_outbox_five(five: bytes, meta: bytes, tmp_path: Path) -> list[Any]:
    ref = tmp_path / "ref"
    ref.mkdir(exist_ok=True)
    (ref / "outbox.meta").write_bytes(meta)
    (ref / "outbox.log").write_bytes(five)
    box = read_outbox(ref)
    assert box is not None
    return box.entries


def test_meta_survives_a_cut_rename_and_a_lost_meta_starts_a_new_store(tmp_path: Path) -> None:
    out = _run(tmp_path, [["open", 100], ["append", 3], ["ack", 2]])
    sid = out[0][1]
    flash = tmp_path / "flash"
    meta = flash / "outbox.meta"
    # A filesystem that removes before renaming lost power in between: only the .tmp.
    meta.rename(flash / "outbox.meta.tmp")
    again = _run(tmp_path, [["open", 100]])
    assert again[0][1:4] == [sid, 2, 3]
    # A torn .tmp beside a whole meta is ignored, and cleared away.
    (flash / "outbox.meta.tmp").write_bytes(b"GHO1" + b"\x00" * 5)
    assert _run(tmp_path, [["open", 100]])[0][1:4] == [sid, 2, 3]
    assert not (flash / "outbox.meta.tmp").exists()
    # Garbled meta and no .tmp: the log cannot be trusted to a store; a new one starts.
    raw = bytearray(meta.read_bytes())
    raw[13] ^= 1
    assert zlib.crc32(bytes(raw[:20])) != int.from_bytes(raw[20:24], "big")
    meta.write_bytes(bytes(raw))
    fresh = _run(tmp_path, [["open", 100], ["append", 1]])
    assert fresh[0][1] != sid and fresh[0][2:4] == [0, 0]
    assert fresh[1] == ["append", [1], 0]
