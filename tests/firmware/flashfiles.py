"""Read the firmware's flash files on CPython, written from their documented layouts.

An implementation independent of ``edge/firmware/``, so tests can check what the
firmware left on its flash after a run or a kill: the access list (``acl.bin``) and the
check-in outbox (``outbox.meta`` + ``outbox.log``).
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LIST_MAGIC = b"GHA1"
META_MAGIC = b"GHO1"
RECORD = 32


@dataclass
class FlashList:
    version: int
    count: int
    issued: int
    sha: bytes
    schedules: dict[str, Any]
    records: bytes

    @property
    def whole(self) -> bool:
        """Count and sha256 in the header match the records."""
        digest = hashlib.sha256(self.records).digest()
        return len(self.records) == self.count * 16 and digest == self.sha


def read_list(data_dir: Path, name: str = "acl.bin") -> FlashList | None:
    """The live list (or the list file *name*), ``None`` when there is none; raises on a
    damaged file."""
    path = data_dir / name
    if not path.exists():
        return None
    raw = path.read_bytes()
    magic, version, count, issued, slen = struct.unpack_from(">4sIIIH", raw, 0)
    if magic != LIST_MAGIC:
        raise ValueError("acl.bin: bad magic")
    base = 64 + ((slen + 15) & ~15)
    sched = json.loads(raw[64 : 64 + slen]) if slen else {}
    return FlashList(version, count, issued, raw[32:64], sched, raw[base:])


@dataclass
class Outbox:
    sid: str
    acked: int
    entries: list[tuple[int, int, str, int, int, int]] = field(default_factory=list)
    torn_bytes: int = 0

    @property
    def pending(self) -> list[int]:
        return [e[0] for e in self.entries if e[0] > self.acked]


def _meta(raw: bytes | None) -> tuple[str, int] | None:
    if raw is None or len(raw) != 24 or raw[:4] != META_MAGIC:
        return None
    if struct.unpack_from(">I", raw, 20)[0] != zlib.crc32(raw[:20]):
        return None
    return raw[4:12].hex(), struct.unpack_from(">I", raw, 12)[0]


def read_outbox(data_dir: Path) -> Outbox | None:
    """Store id, acked seq and the whole records of the log (as the firmware would
    recover them); ``None`` when there is no valid meta file."""
    meta = None
    for name in ("outbox.meta", "outbox.meta.tmp"):
        p = data_dir / name
        meta = _meta(p.read_bytes() if p.exists() else None)
        if meta:
            break
    if meta is None:
        return None
    box = Outbox(*meta)
    log = data_dir / "outbox.log"
    if not log.exists() and (data_dir / "outbox.log.tmp").exists():
        log = data_dir / "outbox.log.tmp"
    raw = log.read_bytes() if log.exists() else b""
    expect = None
    pos = 0
    while pos + RECORD <= len(raw):
        rec = raw[pos : pos + RECORD]
        if rec[0] != 0xC7 or struct.unpack_from(">I", rec, 28)[0] != zlib.crc32(rec[:28]):
            break
        magic, flags, reason, has_key, seq, ts, version, key = struct.unpack_from(
            ">BBBBIII8s", rec, 0
        )
        if expect is not None and seq != expect:
            break
        expect = seq + 1
        box.entries.append((seq, ts, key.hex() if has_key else "", reason, version, flags))
        pos += RECORD
    box.torn_bytes = len(raw) - pos
    return box


def write_list(
    data_dir: Path,
    version: int,
    data: bytes,
    issued: int,
    schedules: dict[str, Any] | None = None,
) -> Path:
    """Write a live list as the firmware would after a verified snapshot."""
    sched = json.dumps(schedules or {"w": {}, "tz": []}).encode()
    head = struct.pack(">4sIIIH", LIST_MAGIC, version, len(data) // 16, issued, len(sched))
    head = head.ljust(32, b"\0") + hashlib.sha256(data).digest()
    pad = b"\0" * (((len(sched) + 15) & ~15) - len(sched))
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "acl.bin"
    path.write_bytes(head + sched + pad + data)
    return path
