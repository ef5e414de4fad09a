"""The access-list record: 16 bytes per card, sorted by card key.

Layout (big-endian)::

    offset size field
    0      8    card_key     HMAC(site_card_secret, uid)[:8]
    8      4    valid_until  unix seconds; the card is admitted while now < valid_until
    12     2    zones        bit z set = admitted at doors of zone z (0-15)
    14     1    schedule     schedule id; 0 = at any time
    15     1    flags        FLAG_* bits 0-3; bits 4-7 = visits left (metered cards)

A list is the concatenation of records in strictly ascending ``card_key`` order, so a
gate finds a card with a binary search over a buffer, an SQLite index or a flash file::

    rec = records.pack(key, valid_until=1798761600, zones=0b11, schedule=0, flags=0)
    i = records.find(list_bytes, key)      # index or -1
"""

import struct

from protocol.compat import const
from protocol.errors import Malformed

RECORD_SIZE = const(16)
KEY_SIZE = const(8)
FORMAT = ">8sIHBB"

FLAG_BLOCKED = const(1)  # card or member blocked by staff: deny with reason "blocked"
FLAG_PASSBACK = const(2)  # anti-passback applies to this card
FLAG_METERED = const(4)  # visits are counted at the gate (visit packs, day passes)
FLAG_DAYPASS = const(8)  # a visit lasts until local midnight (re-entry all day)
FLAGS_KNOWN = const(15)
VISITS_SHIFT = const(4)
VISITS_MAX = const(15)  # counts above are sent as 15: a gate offline for 15 visits stops


def visits(flags):
    """Visits left that a metered record carries (0-15; 15 means 15 or more)."""
    return flags >> VISITS_SHIFT


def with_visits(flags, count):
    """*flags* carrying *count* visits left, saturated at :data:`VISITS_MAX`."""
    if count < 0:
        count = 0
    if count > VISITS_MAX:
        count = VISITS_MAX
    return (flags & FLAGS_KNOWN) | (count << VISITS_SHIFT)


MAX_U32 = 0xFFFFFFFF


def pack(card_key, valid_until, zones, schedule=0, flags=0):
    """Return one 16-byte record; raise :class:`Malformed` on out-of-range fields."""
    if not isinstance(card_key, (bytes, bytearray)) or len(card_key) != KEY_SIZE:
        raise Malformed("card_key must be 8 bytes")
    if not 0 <= valid_until <= MAX_U32:
        raise Malformed("valid_until out of range")
    if not 0 <= zones <= 0xFFFF:
        raise Malformed("zones is a 16-bit mask")
    if not 0 <= schedule <= 255:
        raise Malformed("schedule id is 0-255")
    if not 0 <= flags <= 255:
        raise Malformed("flags is one byte")
    return struct.pack(FORMAT, bytes(card_key), valid_until, zones, schedule, flags)


def unpack(record):
    """Return ``(card_key, valid_until, zones, schedule, flags)`` of a record."""
    if len(record) != RECORD_SIZE:
        raise Malformed("a record is 16 bytes")
    return struct.unpack(FORMAT, record)


def key_of(data, index):
    """The card key of record *index* in a list buffer."""
    start = index * RECORD_SIZE
    return bytes(data[start : start + KEY_SIZE])


def record_at(data, index):
    """Record *index* of a list buffer, as ``bytes``."""
    start = index * RECORD_SIZE
    return bytes(data[start : start + RECORD_SIZE])


def bisect(key_at, count, key):
    """Binary search: index of *key* given ``key_at(i)`` for ``0 <= i < count``, or -1.

    *key_at* may read from memory, a database page or a file; it is called at most
    ``log2(count) + 1`` times.
    """
    lo = 0
    hi = count
    while lo < hi:
        mid = (lo + hi) >> 1
        k = key_at(mid)
        if k < key:
            lo = mid + 1
        elif k > key:
            hi = mid
        else:
            return mid
    return -1


def find(data, key):
    """Index of the record with *key* in a list buffer, or -1."""
    lo = 0
    hi = len(data) // RECORD_SIZE
    while lo < hi:
        mid = (lo + hi) >> 1
        start = mid * RECORD_SIZE
        k = data[start : start + KEY_SIZE]
        if k < key:
            lo = mid + 1
        elif k > key:
            hi = mid
        else:
            return mid
    return -1


def check_sorted(data, previous_key=None):
    """Raise :class:`Malformed` unless *data* is whole records in ascending key order.

    *previous_key* is the last key of the preceding chunk, so order is checked across
    chunk boundaries too.  Returns the last key seen (or *previous_key* if empty).
    """
    if len(data) % RECORD_SIZE:
        raise Malformed("list length is not a multiple of 16")
    last = previous_key
    for i in range(len(data) // RECORD_SIZE):
        k = key_of(data, i)
        if last is not None and k <= last:
            raise Malformed("records are not in strictly ascending key order")
        last = k
    return last


def build(records):
    """Sort 16-byte records by key into one list buffer; duplicate keys are refused."""
    ordered = sorted(bytes(r) for r in records)
    out = b"".join(ordered)
    check_sorted(out)
    return out
