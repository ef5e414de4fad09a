"""Message bodies: hello, status, check-in batches, acks, enroll taps and commands.

Builders return dicts for :func:`protocol.envelope.seal_json`; parsers take the dict
from :func:`protocol.envelope.open_json` and raise :class:`~protocol.errors.Malformed`
on any field out of shape.  Check-in entries are compact arrays::

    [seq, ts, card_key_hex, reason, list_version, flags]

``seq`` counts from 1 per store id; ``reason`` is a :mod:`protocol.decision` code
(whether the door opened follows from it); ``flags`` has :data:`CI_UNTRUSTED_CLOCK` when
the gate decided on a clock it did not trust.
"""

from protocol.compat import const
from protocol.errors import Malformed

CI_UNTRUSTED_CLOCK = const(1)
CI_OFFLINE = const(2)
MAX_BATCH = const(500)
COMMANDS = ("unlock", "enroll", "resync", "time", "rekey")
_HEXCH = "0123456789abcdef"


def _uint(obj, name, optional=False):
    value = obj.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Malformed("%s must be a non-negative integer" % name)
    return value


def _hex(value, size, name):
    if not isinstance(value, str) or len(value) != size * 2:
        raise Malformed("%s must be %d hex characters" % (name, size * 2))
    for ch in value:
        if ch not in _HEXCH:
            raise Malformed("%s must be lowercase hex" % name)
    return value


def store_id_ok(value):
    """True if *value* looks like a store id: 16 lowercase hex characters."""
    try:
        _hex(value, 8, "sid")
    except Malformed:
        return False
    return True


def hello(gate, sid, version, acked, pending, fw, clock, mtu, want_snapshot=False):
    """Sent by a gate on every connect: what it holds and what it needs."""
    return {
        "t": "hello",
        "g": gate,
        "sid": sid,
        "v": version,
        "acked": acked,
        "pending": pending,
        "fw": fw,
        "clock": clock,
        "mtu": mtu,
        "want": "snapshot" if want_snapshot else None,
    }


def parse_hello(obj):
    """Validate a hello; returns it with ``want_snapshot`` set (bool)."""
    _hex(obj.get("sid"), 8, "sid")
    for name in ("v", "acked", "pending", "mtu"):
        _uint(obj, name)
    _uint(obj, "clock", optional=True)
    if not isinstance(obj.get("fw"), str) or len(obj["fw"]) > 64:
        raise Malformed("fw must be a short string")
    obj["want_snapshot"] = obj.get("want") == "snapshot"
    return obj


def status(
    gate, state, version=0, depth=0, uptime=0, clock=None, trusted=True, rejected=None, fw=""
):
    """Retained status; ``state`` is ``"online"`` or ``"offline"`` (the last will)."""
    return {
        "t": "status",
        "g": gate,
        "state": state,
        "v": version,
        "depth": depth,
        "uptime": uptime,
        "clock": clock,
        "trusted": trusted,
        "rejected": rejected or {},
        "fw": fw,
    }


def parse_status(obj):
    """Validate a status body."""
    if obj.get("state") not in ("online", "offline"):
        raise Malformed("state must be online or offline")
    for name in ("v", "depth", "uptime"):
        _uint(obj, name)
    rejected = obj.get("rejected")
    if not isinstance(rejected, dict):
        raise Malformed("rejected must be an object of counters")
    return obj


def checkin_entry(seq, ts, card_key, reason, version, flags=0):
    """One check-in as sent in a batch (*card_key* is 8 bytes, or ``None``)."""
    key_hex = card_key.hex() if card_key is not None else ""
    return [seq, ts, key_hex, reason, version, flags]


def checkin_batch(gate, sid, entries):
    """A batch of check-in entries, oldest first."""
    return {"t": "checkin", "g": gate, "sid": sid, "b": entries}


def parse_checkin_batch(obj):
    """Validate a batch; returns ``(sid, [(seq, ts, key_hex, reason, version, flags)])``."""
    sid = _hex(obj.get("sid"), 8, "sid")
    batch = obj.get("b")
    if not isinstance(batch, list) or not 0 < len(batch) <= MAX_BATCH:
        raise Malformed("b must hold 1-%d check-ins" % MAX_BATCH)
    out = []
    for e in batch:
        if not isinstance(e, list) or len(e) != 6:
            raise Malformed("a check-in is [seq, ts, key, reason, version, flags]")
        seq, ts, key, reason, version, flags = e
        for v in (seq, ts, reason, version, flags):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise Malformed("check-in numbers must be non-negative integers")
        if seq == 0:
            raise Malformed("seq counts from 1")
        if key != "":
            _hex(key, 8, "card key")
        out.append((seq, ts, key, reason, version, flags))
    return sid, out


def ack(gate, sid, seq):
    """The hub has stored every check-in of store *sid* up to and including *seq*."""
    return {"t": "ack", "g": gate, "sid": sid, "seq": seq}


def parse_ack(obj):
    """Validate an ack; returns ``(sid, seq)``."""
    return _hex(obj.get("sid"), 8, "sid"), _uint(obj, "seq")


def enroll(gate, uid, ts):
    """A tap captured in enroll mode: the raw UID goes to the console, no decision."""
    return {"t": "enroll", "g": gate, "uid": uid.hex(), "ts": ts}


def parse_enroll(obj):
    """Validate an enroll tap; returns ``(uid_bytes, ts)``."""
    uid = obj.get("uid")
    if not isinstance(uid, str) or len(uid) not in (8, 14, 20):
        raise Malformed("uid must be 4, 7 or 10 bytes of hex")
    try:
        raw = bytes.fromhex(uid)
    except ValueError:
        raise Malformed("uid must be hex") from None
    return raw, _uint(obj, "ts")


def command(gate, n, op, issued, args=None):
    """A command; *n* increases with every command to this gate (replay guard)."""
    if op not in COMMANDS:
        raise Malformed("unknown command %r" % (op,))
    return {"t": "cmd", "g": gate, "n": n, "op": op, "issued": issued, "args": args or {}}


def parse_command(obj):
    """Validate a command body; returns it."""
    _uint(obj, "n")
    _uint(obj, "issued")
    if obj.get("op") not in COMMANDS:
        raise Malformed("unknown command")
    if not isinstance(obj.get("args", {}), dict):
        raise Malformed("args must be an object")
    if obj["op"] == "time":
        _uint(obj["args"], "now")
    elif obj["op"] == "rekey":
        from protocol.rekey import check_args

        check_args(obj["args"])
    return obj


def contiguous_high(acked, seqs):
    """Highest seq such that every seq from ``acked + 1`` up to it is in *seqs*."""
    high = acked
    present = set(seqs)
    while high + 1 in present:
        high += 1
    return high
