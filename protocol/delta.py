"""Deltas: the change from access-list version *from* to version *v*.

A delta is a small JSON body on ``down/acl``::

    {"t": "delta", "g": gate, "from": 41, "v": 42, "issued": unix,
     "add": ["<32 hex: a whole 16-byte record>", ...],   # insert or replace by key
     "del": ["<16 hex: a card key>", ...]}

A gate applies it only if it holds exactly version *from*; otherwise it raises
:class:`~protocol.errors.Gap` (the gate asks for a snapshot in its next ``hello``) or
:class:`~protocol.errors.Stale` (already at or past *v*).  A one-card revoke is about
150 bytes sealed.
"""

import binascii

from protocol.errors import Gap, Malformed, Stale
from protocol.records import KEY_SIZE, RECORD_SIZE, build, check_sorted

MAX_ITEMS = 4096


def make(gate, version_from, version_to, add, delete, issued):
    """Delta body: *add* 16-byte records, *delete* 8-byte card keys."""
    return {
        "t": "delta",
        "g": gate,
        "from": version_from,
        "v": version_to,
        "issued": issued,
        "add": [binascii.hexlify(r).decode() for r in sorted(bytes(r) for r in add)],
        "del": [binascii.hexlify(k).decode() for k in sorted(bytes(k) for k in delete)],
    }


def _hex_items(items, size, name):
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise Malformed("delta %s must be a list of at most %d items" % (name, MAX_ITEMS))
    out = []
    for item in items:
        if not isinstance(item, str) or len(item) != size * 2:
            raise Malformed("delta %s items are %d hex characters" % (name, size * 2))
        try:
            out.append(binascii.unhexlify(item))
        except Exception:
            raise Malformed("delta %s item is not hex" % name) from None
    return out


def parse(obj, current):
    """Validate a delta against the held version *current*.

    Returns ``(version_to, add_records, delete_keys)``; keys in both lists are sorted.
    """
    v_from = obj.get("from")
    v_to = obj.get("v")
    for v in (v_from, v_to):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise Malformed("delta versions must be non-negative integers")
    if v_to <= v_from:
        raise Malformed("delta must move forward")
    if v_to <= current:
        raise Stale("delta to %d, holding %d" % (v_to, current))
    if v_from != current:
        raise Gap("delta from %d, holding %d" % (v_from, current))
    add = sorted(_hex_items(obj.get("add", []), RECORD_SIZE, "add"))
    delete = sorted(_hex_items(obj.get("del", []), KEY_SIZE, "del"))
    check_sorted(b"".join(add))
    return v_to, add, delete


def apply(data, add, delete):
    """Apply a parsed delta to a list buffer in memory; returns the new buffer.

    Gates that hold their list in a database or a file merge the same way on disk;
    this in-memory form is what the hub's simulators and the tests use.
    """
    drop = set(delete)
    for r in add:
        drop.add(r[:KEY_SIZE])
    kept = []
    for i in range(len(data) // RECORD_SIZE):
        rec = data[i * RECORD_SIZE : (i + 1) * RECORD_SIZE]
        if bytes(rec[:KEY_SIZE]) not in drop:
            kept.append(bytes(rec))
    return build(kept + list(add))
