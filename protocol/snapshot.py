"""Access-list snapshots: a signed manifest, then binary chunks of records.

The hub sends a snapshot as one JSON manifest and ``chunks`` binary chunk bodies, each
sealed in its own ``MAC.BODY`` envelope on ``down/acl``::

    manifest = {"t": "manifest", "g": gate, "v": version, "n": count,
                "sha": sha256(all record bytes).hex(), "chunks": k, "rs": 16,
                "issued": unix, "sched": Schedules(...).to_json(), ...}

    chunk    = MAGIC "GHL1" | version u32 | index u16 | total u16 | count u16 | records

A gate writes the records of chunk 0, 1, ... in order to a temporary list while an
:class:`Assembler` checks order and hashes them; only when the last chunk arrives and
count and sha256 match the manifest does the gate swap the new list in, atomically.  A
half-received list is never used::

    asm = Assembler(manifest)
    for body in chunk_bodies:
        records = asm.add(body)      # verified bytes to append to the temp list
    asm.finish()                     # raises BadManifest unless whole and intact
"""

import binascii
import hashlib
import struct

from protocol.compat import const
from protocol.errors import BadManifest, Malformed, Stale, Truncated
from protocol.records import RECORD_SIZE, check_sorted

MAGIC = b"GHL1"
HEADER = ">4sIHHH"
HEADER_SIZE = const(14)
DEFAULT_CHUNK_RECORDS = const(1024)
MAX_CHUNK_RECORDS = const(4096)
MAX_CHUNKS = const(65535)


def is_chunk(body):
    """True if *body* starts like a binary list chunk (and not like JSON)."""
    return body[:4] == MAGIC


def chunk_count(count, per_chunk=DEFAULT_CHUNK_RECORDS):
    """Number of chunks for *count* records (an empty list still has one chunk)."""
    return max(1, (count + per_chunk - 1) // per_chunk)


def make_chunk(version, index, total, records):
    """One chunk body carrying whole 16-byte *records*."""
    if len(records) % RECORD_SIZE:
        raise Malformed("chunk records must be whole")
    n = len(records) // RECORD_SIZE
    return struct.pack(HEADER, MAGIC, version, index, total, n) + bytes(records)


def make_chunks(version, data, per_chunk=DEFAULT_CHUNK_RECORDS):
    """Split a list buffer into chunk bodies of at most *per_chunk* records."""
    if not 0 < per_chunk <= MAX_CHUNK_RECORDS:
        raise Malformed("per_chunk must be 1-4096")
    count = len(data) // RECORD_SIZE
    total = chunk_count(count, per_chunk)
    step = per_chunk * RECORD_SIZE
    return [make_chunk(version, i, total, data[i * step : (i + 1) * step]) for i in range(total)]


def parse_chunk(body):
    """Return ``(version, index, total, records)`` of a chunk body.

    :raises Truncated: header cut short, or record bytes not matching its count.
    :raises Malformed: wrong magic or impossible index.
    """
    if len(body) < HEADER_SIZE:
        raise Truncated("chunk shorter than its header")
    magic, version, index, total, n = struct.unpack(HEADER, body[:HEADER_SIZE])
    if magic != MAGIC:
        raise Malformed("not a list chunk")
    if total == 0 or index >= total:
        raise Malformed("chunk index out of range")
    if len(body) - HEADER_SIZE != n * RECORD_SIZE:
        raise Truncated(
            "chunk has %d record bytes, header says %d records" % (len(body) - HEADER_SIZE, n)
        )
    return version, index, total, body[HEADER_SIZE:]


def sha_hex(data):
    """Lowercase hex sha256 of *data*, as a ``str``."""
    return binascii.hexlify(hashlib.sha256(data).digest()).decode()


def manifest(gate, version, data, issued, chunks, schedules=None, extra=None):
    """The manifest body (a dict) for list buffer *data* in *chunks* chunks."""
    body = {
        "t": "manifest",
        "g": gate,
        "v": version,
        "n": len(data) // RECORD_SIZE,
        "sha": sha_hex(data),
        "chunks": chunks,
        "rs": RECORD_SIZE,
        "issued": issued,
        "sched": schedules.to_json() if schedules is not None else {"w": {}, "tz": []},
    }
    if extra:
        for k in extra:
            body[k] = extra[k]
    return body


def check_manifest(obj):
    """Validate the fields of a manifest dict; return it or raise :class:`Malformed`."""
    for name in ("v", "n", "chunks", "issued"):
        value = obj.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise Malformed("manifest %s must be a non-negative integer" % name)
    if obj.get("rs") != RECORD_SIZE:
        raise Malformed("unsupported record size")
    sha = obj.get("sha")
    if not isinstance(sha, str) or len(sha) != 64:
        raise Malformed("manifest sha must be 64 hex characters")
    if not 0 < obj["chunks"] <= MAX_CHUNKS:
        raise Malformed("manifest chunk count out of range")
    if obj["n"] > obj["chunks"] * MAX_CHUNK_RECORDS:
        raise Malformed("manifest count does not fit its chunks")
    return obj


class Assembler:
    """Checks the chunks of one snapshot as they arrive, in order.

    Feed each chunk body to :meth:`add`; it returns the record bytes to append to the
    temporary list, or ``None`` for a duplicate of the chunk just taken (QoS 1 may
    redeliver).  Chunks must come in index order; anything else raises and the gate
    starts over with a fresh ``hello``.
    """

    def __init__(self, manifest_obj):
        self.manifest = check_manifest(manifest_obj)
        self.version = manifest_obj["v"]
        self.total = manifest_obj["chunks"]
        self.next_index = 0
        self.count = 0
        self._last_key = None
        self._sha = hashlib.sha256()

    @property
    def done(self):
        """True once every chunk has been added."""
        return self.next_index == self.total

    def add(self, body):
        """Verify one chunk body; return its records, or ``None`` for a duplicate."""
        version, index, total, data = parse_chunk(body)
        if version != self.version:
            raise Stale("chunk of version %d, assembling %d" % (version, self.version))
        if total != self.total:
            raise Malformed("chunk total disagrees with the manifest")
        if index == self.next_index - 1:
            return None
        if index != self.next_index:
            raise Malformed("chunk %d out of order, expected %d" % (index, self.next_index))
        self._last_key = check_sorted(data, self._last_key)
        self._sha.update(data)
        self.count += len(data) // RECORD_SIZE
        self.next_index += 1
        return data

    def finish(self):
        """Raise :class:`BadManifest` unless the whole list matches the manifest."""
        if not self.done:
            raise BadManifest("missing chunks: %d of %d" % (self.next_index, self.total))
        if self.count != self.manifest["n"]:
            raise BadManifest("count %d, manifest says %d" % (self.count, self.manifest["n"]))
        digest = binascii.hexlify(self._sha.digest()).decode()
        if digest != self.manifest["sha"]:
            raise BadManifest("sha256 mismatch")
        return True
