"""Produce the shared protocol test vectors (run once; the JSON files are committed).

Expected bytes are computed here with CPython's standard library (``hmac``, ``hashlib``,
``struct``), independently of :mod:`protocol`, so the vectors check the protocol code on
both interpreters against an outside oracle.  Expected decisions are written by hand.

    .venv/bin/python tests/vectors/generate.py
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from pathlib import Path

HERE = Path(__file__).parent


def h(b: bytes) -> str:
    return b.hex()


def mac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def kid(key: bytes) -> bytes:
    return hashlib.sha256(b"gatehouse-key-id:" + key).hexdigest()[:8].encode()


def seal(key: bytes, body: bytes) -> bytes:
    return kid(key) + b":" + mac(key, body).hex().encode() + b"." + body


def record(key: bytes, valid_until: int, zones: int, schedule: int = 0, flags: int = 0) -> bytes:
    return struct.pack(">8sIHBB", key, valid_until, zones, schedule, flags)


def jdump(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


GATE_KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SITE_SECRET = b"club-one-card-secret"


def mac_vectors():
    cases = [
        (b"key", b"The quick brown fox jumps over the lazy dog"),
        (b"", b""),
        (GATE_KEY, b'{"t":"hello"}'),
        (b"k" * 100, b"long key is hashed first"),
        (bytes(64), bytes(range(256))),
    ]
    return [
        {"key": h(k), "msg": h(m), "mac": h(mac(k, m)), "kid": kid(k).decode()} for k, m in cases
    ]


def envelope_vectors():
    body = jdump({"t": "hello", "g": "front-door", "v": 7})
    sealed = seal(GATE_KEY, body)
    flipped = bytearray(sealed)
    flipped[-3] ^= 0x01
    bad_mac_hex = bytearray(sealed)
    bad_mac_hex[12] = ord("G")
    return {
        "seal": [
            {"key": h(GATE_KEY), "body": h(body), "payload": h(sealed)},
            {
                "key": h(OTHER_KEY),
                "body": h(b"\x00\xffbinary"),
                "payload": h(seal(OTHER_KEY, b"\x00\xffbinary")),
            },
            {"key": h(GATE_KEY), "body": "", "payload": h(seal(GATE_KEY, b""))},
        ],
        "reject": [
            {"name": "flipped bit in BODY", "payload": h(bytes(flipped)), "error": "bad_mac"},
            {"name": "wrong key", "payload": h(seal(OTHER_KEY, body)), "error": "wrong_key"},
            {
                "name": "right kid, wrong MAC",
                "payload": h(
                    kid(GATE_KEY) + b":" + mac(OTHER_KEY, body).hex().encode() + b"." + body
                ),
                "error": "bad_mac",
            },
            {"name": "empty", "payload": "", "error": "malformed"},
            {"name": "no separator", "payload": h(b"x" * 100), "error": "malformed"},
            {
                "name": "upper-case MAC",
                "payload": h(sealed[:9] + sealed[9:73].upper() + sealed[73:]),
                "error": "malformed",
            },
            {"name": "non-hex MAC", "payload": h(bytes(bad_mac_hex)), "error": "malformed"},
            {"name": "1 MB payload", "fill": 120, "size": 1048576, "error": "too_large"},
            {
                "name": "body not UTF-8",
                "payload": h(seal(GATE_KEY, b"\xff\xfe{")),
                "json": True,
                "error": "bad_json",
            },
            {
                "name": "body not JSON",
                "payload": h(seal(GATE_KEY, b"{not json")),
                "json": True,
                "error": "bad_json",
            },
            {
                "name": "body a JSON list",
                "payload": h(seal(GATE_KEY, b"[1,2]")),
                "json": True,
                "error": "bad_json",
            },
            {
                "name": "message for another gate",
                "payload": h(seal(GATE_KEY, jdump({"t": "hello", "g": "back-door"}))),
                "json": True,
                "error": "wrong_gate",
            },
        ],
        "key": h(GATE_KEY),
        "other_key": h(OTHER_KEY),
        "gate": "front-door",
    }


def cardkey_vectors():
    uids = ["04a1b2c3", "04a1b2c3d4e5f6", "0102030405060708090a", "deadbeef"]
    ok = [
        {"secret": h(SITE_SECRET), "uid": u, "key": h(mac(SITE_SECRET, bytes.fromhex(u))[:8])}
        for u in uids
    ]
    ok.append(
        {
            "secret": h(b"other-site"),
            "uid": "04a1b2c3",
            "key": h(mac(b"other-site", bytes.fromhex("04a1b2c3"))[:8]),
        }
    )
    return {
        "ok": ok,
        "reject": [{"uid": "0102030405", "error": "malformed"}, {"uid": "", "error": "malformed"}],
        "parse": [
            {"text": "04:A1:B2:C3", "uid": "04a1b2c3"},
            {"text": " 04-a1-b2-c3-d4-e5-f6 ", "uid": "04a1b2c3d4e5f6"},
            {"text": "zz", "error": "malformed"},
            {"text": "0102", "error": "malformed"},
        ],
    }


def record_vectors():
    k = bytes.fromhex("0011223344556677")
    rows = [
        (k, 1798761600, 0b11, 0, 0),
        (bytes(8), 0, 0, 0, 0),
        (b"\xff" * 8, 0xFFFFFFFF, 0xFFFF, 255, 7),
        (k, 1798761600, 1, 0, 4 | 8 | 9 << 4),
    ]
    packed = [
        {
            "key": h(a),
            "valid_until": b,
            "zones": c,
            "schedule": d,
            "flags": e,
            "hex": h(record(a, b, c, d, e)),
        }
        for a, b, c, d, e in rows
    ]
    keys = sorted(hashlib.sha256(bytes([i])).digest()[:8] for i in range(50))
    data = b"".join(record(kk, 1000 + i, 1) for i, kk in enumerate(keys))
    finds = [{"key": h(keys[i]), "index": i} for i in (0, 1, 24, 48, 49)]
    finds.append({"key": h(b"\x00" * 8), "index": -1})
    finds.append({"key": h(b"\xff" * 8), "index": -1})
    finds.append({"key": h(bytes([keys[10][0]]) + b"\x00" * 7), "index": -1})
    return {
        "pack": packed,
        "reject": [
            {
                "key": "0011",
                "valid_until": 1,
                "zones": 1,
                "schedule": 0,
                "flags": 0,
                "error": "malformed",
            },
            {
                "key": h(k),
                "valid_until": 1 << 32,
                "zones": 1,
                "schedule": 0,
                "flags": 0,
                "error": "malformed",
            },
            {
                "key": h(k),
                "valid_until": 1,
                "zones": 1 << 16,
                "schedule": 0,
                "flags": 0,
                "error": "malformed",
            },
            {
                "key": h(k),
                "valid_until": 1,
                "zones": 1,
                "schedule": 256,
                "flags": 0,
                "error": "malformed",
            },
        ],
        "list": h(data),
        "find": finds,
    }


# 2026-11-30 is a Monday.  00:00 UTC = 07:00 Bangkok.
MON_UTC = 1795996800
BKK = [[0, 7 * 3600]]
WEEKDAYS = 0b0011111
OFFPEAK = {
    "1": [[WEEKDAYS, 6 * 60, 16 * 60]],
    "2": [[0b1111111, 22 * 60, 6 * 60]],
    "3": [[0b1000000, 9 * 60, 12 * 60]],
}


def decision_vectors():
    key = bytes.fromhex("a1a2a3a4a5a6a7a8")
    until = MON_UTC + 30 * 86400
    sched = {"w": OFFPEAK, "tz": BKK}
    bkk_mon_0600 = MON_UTC - 3600  # 06:00 Bangkok Monday = 23:00 UTC Sunday
    cases = []

    def add(name, rec, now, zone, expect, **kw):
        c = {
            "name": name,
            "record": rec,
            "now": now,
            "zone": zone,
            "sched": kw.pop("sched", sched),
            "expect": expect,
        }
        c.update(kw)
        cases.append(c)

    def r(vu=until, zones=5, schedule=0, flags=0):
        return h(record(key, vu, zones, schedule, flags))  # noqa: E731

    add("listed card, no schedule", r(), MON_UTC, 0, "granted")
    add("unknown card", None, MON_UTC, 0, "unknown")
    add("one second before valid_until", r(vu=MON_UTC + 100), MON_UTC + 99, 0, "granted")
    add("at valid_until exactly", r(vu=MON_UTC + 100), MON_UTC + 100, 0, "expired")
    add("long expired", r(vu=MON_UTC - 86400), MON_UTC, 0, "expired")
    add("zone bit 2 set", r(), MON_UTC, 2, "granted")
    add("wrong zone", r(), MON_UTC, 1, "wrong_zone")
    add("zone 15", r(zones=0x8000), MON_UTC, 15, "granted")
    add("blocked beats everything after it", r(vu=MON_UTC - 1, flags=1), MON_UTC, 1, "blocked")
    add("expired before wrong zone", r(vu=MON_UTC - 1), MON_UTC, 1, "expired")
    add("off-peak at 06:00:00 local Monday", r(schedule=1), bkk_mon_0600, 0, "granted")
    add("off-peak at 05:59:59 local Monday", r(schedule=1), bkk_mon_0600 - 1, 0, "schedule")
    add(
        "off-peak at 15:59:59 local Monday",
        r(schedule=1),
        bkk_mon_0600 + 10 * 3600 - 1,
        0,
        "granted",
    )
    add("off-peak at 16:00:00 local Monday", r(schedule=1), bkk_mon_0600 + 10 * 3600, 0, "schedule")
    add(
        "off-peak on Saturday 10:00 local",
        r(schedule=1),
        bkk_mon_0600 + 5 * 86400 + 4 * 3600,
        0,
        "schedule",
    )
    add(
        "same UTC instant without tz is Sunday 23:00",
        r(schedule=1),
        bkk_mon_0600,
        0,
        "schedule",
        sched={"w": OFFPEAK, "tz": []},
    )
    add(
        "overnight 22-06 at 23:30 local",
        r(schedule=2),
        bkk_mon_0600 + 17 * 3600 + 1800,
        0,
        "granted",
    )
    add("overnight 22-06 at 05:59:59 local", r(schedule=2), bkk_mon_0600 - 1, 0, "granted")
    add("overnight 22-06 at 06:00 local", r(schedule=2), bkk_mon_0600, 0, "schedule")
    add(
        "Sunday-only window, Sunday 09:00 local",
        r(schedule=3),
        bkk_mon_0600 - 21 * 3600,
        0,
        "granted",
    )
    add(
        "Sunday-only window, Monday 09:00 local",
        r(schedule=3),
        bkk_mon_0600 + 3 * 3600,
        0,
        "schedule",
    )
    add("unknown schedule id fails secure", r(schedule=9), MON_UTC, 0, "schedule")
    # DST: Europe-style +1h -> +2h at MON_UTC; 07:30 local at +1 = 06:30 UTC
    dst = {"w": {"1": [[WEEKDAYS, 8 * 60, 9 * 60]]}, "tz": [[0, 3600], [MON_UTC, 7200]]}
    add(
        "before DST change uses first offset",
        r(schedule=1),
        MON_UTC - 86400 * 7 + 7 * 3600,
        0,
        "granted",
        sched=dst,
    )
    add(
        "after DST change 06:30 UTC is 08:30 local",
        r(schedule=1),
        MON_UTC + 6 * 3600 + 1800,
        0,
        "granted",
        sched=dst,
    )
    add(
        "after DST change 07:00 UTC is 09:00 local",
        r(schedule=1),
        MON_UTC + 7 * 3600,
        0,
        "schedule",
        sched=dst,
    )
    add(
        "passback inside window",
        r(flags=2),
        MON_UTC,
        0,
        "passback",
        last_admit=MON_UTC - 10,
        passback_s=60,
    )
    add(
        "passback window passed",
        r(flags=2),
        MON_UTC,
        0,
        "granted",
        last_admit=MON_UTC - 60,
        passback_s=60,
    )
    add(
        "passback off for card without flag",
        r(),
        MON_UTC,
        0,
        "granted",
        last_admit=MON_UTC - 10,
        passback_s=60,
    )
    add("metered with visits", r(flags=4), MON_UTC, 0, "granted", remaining=3)
    add("metered with none left", r(flags=4), MON_UTC, 0, "no_visits", remaining=0)
    add("metered, record carries no visits", r(flags=4), MON_UTC, 0, "no_visits")
    add("metered, record carries 3 visits", r(flags=4 | 3 << 4), MON_UTC, 0, "granted")
    add(
        "metered, 3 carried but all used offline",
        r(flags=4 | 3 << 4),
        MON_UTC,
        0,
        "no_visits",
        remaining=0,
    )
    add(
        "metered re-entry in window",
        r(flags=4),
        MON_UTC,
        0,
        "reentry",
        remaining=0,
        reentry_until=MON_UTC + 1,
    )
    add(
        "metered re-entry window over",
        r(flags=4),
        MON_UTC + 1,
        0,
        "no_visits",
        remaining=0,
        reentry_until=MON_UTC + 1,
    )
    trusted = [
        {"clock": MON_UTC, "floor": MON_UTC - 5, "now": MON_UTC, "trusted": True},
        {"clock": MON_UTC - 6, "floor": MON_UTC - 5, "now": MON_UTC - 5, "trusted": False},
        {"clock": None, "floor": MON_UTC, "now": MON_UTC, "trusted": False},
    ]
    return {"decide": cases, "trusted_now": trusted}


def snapshot_vectors():
    keys = sorted(hashlib.sha256(b"m%d" % i).digest()[:8] for i in range(10))
    data = b"".join(record(k, MON_UTC + i, 1) for i, k in enumerate(keys))
    version = 42
    per = 4
    chunks = []
    for i in range(3):
        recs = data[i * per * 16 : (i + 1) * per * 16]
        chunks.append(struct.pack(">4sIHHH", b"GHL1", version, i, 3, len(recs) // 16) + recs)
    man = {
        "t": "manifest",
        "g": "front-door",
        "v": version,
        "n": 10,
        "sha": hashlib.sha256(data).hexdigest(),
        "chunks": 3,
        "rs": 16,
        "issued": MON_UTC,
        "sched": {"w": OFFPEAK, "tz": BKK},
    }
    truncated = chunks[1][:-5]
    stale = struct.pack(">4sIHHH", b"GHL1", 41, 1, 3, 4) + data[64:128]
    unsorted = (
        struct.pack(">4sIHHH", b"GHL1", version, 1, 3, 4) + data[64:80] + data[0:16] + data[96:128]
    )
    bad_sha_man = dict(man, sha="0" * 64)
    empty_man = {
        "t": "manifest",
        "g": "front-door",
        "v": 1,
        "n": 0,
        "sha": hashlib.sha256(b"").hexdigest(),
        "chunks": 1,
        "rs": 16,
        "issued": MON_UTC,
        "sched": {"w": {}, "tz": []},
    }
    empty_chunk = struct.pack(">4sIHHH", b"GHL1", 1, 0, 1, 0)
    return {
        "make": {
            "version": version,
            "per_chunk": per,
            "list": h(data),
            "chunks": [h(c) for c in chunks],
            "sha": man["sha"],
            "manifest": man,
        },
        "assemble": [
            {
                "name": "whole list",
                "manifest": man,
                "chunks": [h(c) for c in chunks],
                "result": h(data),
            },
            {
                "name": "duplicate chunk ignored",
                "manifest": man,
                "chunks": [h(c) for c in [chunks[0], chunks[1], chunks[1], chunks[2]]],
                "result": h(data),
            },
            {"name": "empty list", "manifest": empty_man, "chunks": [h(empty_chunk)], "result": ""},
            {
                "name": "truncated chunk",
                "manifest": man,
                "chunks": [h(chunks[0]), h(truncated)],
                "error": "truncated",
            },
            {
                "name": "header only, cut",
                "manifest": man,
                "chunks": [h(chunks[0][:9])],
                "error": "truncated",
            },
            {
                "name": "chunk of an older version",
                "manifest": man,
                "chunks": [h(chunks[0]), h(stale)],
                "error": "stale",
            },
            {
                "name": "records out of order",
                "manifest": man,
                "chunks": [h(chunks[0]), h(unsorted)],
                "error": "malformed",
            },
            {
                "name": "chunk skipped",
                "manifest": man,
                "chunks": [h(chunks[0]), h(chunks[2])],
                "error": "malformed",
            },
            {
                "name": "sha mismatch",
                "manifest": bad_sha_man,
                "chunks": [h(c) for c in chunks],
                "error": "bad_manifest",
            },
            {
                "name": "missing last chunk",
                "manifest": man,
                "chunks": [h(c) for c in chunks[:2]],
                "error": "bad_manifest",
            },
        ],
    }


def freshness_vectors():
    return [
        {"check": "version", "current": 41, "incoming": 42},
        {"check": "version", "current": 41, "incoming": 41, "error": "stale"},
        {"check": "version", "current": 41, "incoming": 7, "error": "stale"},
        {"check": "seq", "last": 17, "seq": 18},
        {"check": "seq", "last": 17, "seq": 17, "error": "replay"},
        {"check": "seq", "last": 17, "seq": 3, "error": "replay"},
        {"check": "seq", "last": 17, "seq": -1, "error": "malformed"},
        {"check": "age", "now": 1000, "issued": 700, "max_age": 300},
        {"check": "age", "now": 1000, "issued": 699, "max_age": 300, "error": "stale"},
        {"check": "age", "now": 1000, "issued": 1301, "max_age": 300, "error": "stale"},
    ]


def topic_vectors():
    return {
        "build": [
            {
                "dir": "up",
                "site": "club1",
                "gate": "front-door",
                "kind": "checkin",
                "topic": "gh/v1/club1/front-door/up/checkin",
            },
            {
                "dir": "down",
                "site": "club1",
                "gate": "g_2",
                "kind": "acl",
                "topic": "gh/v1/club1/g_2/down/acl",
            },
        ],
        "reject": [
            {"topic": "gh/v1/club1/+/up/checkin"},
            {"topic": "gh/v1/club1/gate/up/acl"},
            {"topic": "gh/v1/club1/gate/sideways/acl"},
            {"topic": "gh/v2/club1/gate/up/hello"},
            {"topic": "gh/v1/Club1/gate/up/hello"},
            {"topic": "gh/v1/club1/gate/up/hello/extra"},
            {"topic": "gh/v1//gate/up/hello"},
            {"topic": "gh/v1/" + "a" * 33 + "/gate/up/hello"},
        ],
    }


def delta_vectors():
    keys = sorted(hashlib.sha256(b"d%d" % i).digest()[:8] for i in range(5))
    base = [record(k, MON_UTC, 1) for k in keys]
    changed = record(keys[2], MON_UTC + 86400, 3)
    new_key = hashlib.sha256(b"new").digest()[:8]
    added = record(new_key, MON_UTC, 1)
    result = sorted([base[0], base[1], changed, base[4], added])
    delta = {
        "t": "delta",
        "g": "front-door",
        "from": 5,
        "v": 6,
        "issued": MON_UTC,
        "add": sorted([h(changed), h(added)]),
        "del": [h(keys[3])],
    }
    return [
        {
            "name": "upsert, add and delete",
            "base": h(b"".join(base)),
            "current": 5,
            "delta": delta,
            "result": h(b"".join(result)),
        },
        {
            "name": "stale delta",
            "base": h(b"".join(base)),
            "current": 6,
            "delta": delta,
            "error": "stale",
        },
        {"name": "gap", "base": h(b"".join(base)), "current": 4, "delta": delta, "error": "gap"},
        {
            "name": "bad record length",
            "base": "",
            "current": 5,
            "delta": dict(delta, add=["00ff"]),
            "error": "malformed",
        },
        {
            "name": "backwards",
            "base": "",
            "current": 5,
            "delta": dict(delta, v=5),
            "error": "malformed",
        },
    ]


def downlink_vectors():
    """A scripted conversation with one gate: every step opened by a Downlink."""
    gate = "front-door"
    sid = "00112233aabbccdd"
    snap = snapshot_vectors()["make"]
    man = dict(snap["manifest"])
    steps = []

    def step(kind, payload, expect, now=MON_UTC, **kw):
        s = {"kind": kind, "payload": h(payload), "now": now, "expect": expect}
        s.update(kw)
        steps.append(s)

    step("acl", seal(GATE_KEY, jdump(man)), "manifest")
    for c in snap["chunks"]:
        step("acl", seal(GATE_KEY, bytes.fromhex(c)), "chunk")
    steps[-1]["finish"] = 42
    step("acl", seal(GATE_KEY, jdump(man)), "stale")  # replay of the manifest we now hold
    old = dict(man, v=40)
    step("acl", seal(GATE_KEY, jdump(old)), "stale")
    forged = seal(OTHER_KEY, jdump(dict(man, v=43)))
    step("acl", forged, "wrong_key")
    flipped = bytearray(seal(GATE_KEY, jdump(dict(man, v=43))))
    flipped[-2] ^= 0x10
    step("acl", bytes(flipped), "bad_mac")
    step(
        "acl", seal(GATE_KEY, bytes.fromhex(snap["chunks"][0])), "stale"
    )  # chunk without a manifest
    d = {
        "t": "delta",
        "g": gate,
        "from": 42,
        "v": 43,
        "issued": MON_UTC,
        "add": [],
        "del": [snap["list"][:16]],
    }
    step("acl", seal(GATE_KEY, jdump(d)), "delta", applied=43)
    step("acl", seal(GATE_KEY, jdump(d)), "stale")  # replayed delta
    d2 = dict(d, **{"from": 44, "v": 45})
    step("acl", seal(GATE_KEY, jdump(d2)), "gap")
    cmd = {"t": "cmd", "g": gate, "n": 1000, "op": "unlock", "issued": MON_UTC, "args": {}}
    step("cmd", seal(GATE_KEY, jdump(cmd)), "cmd")
    step("cmd", seal(GATE_KEY, jdump(cmd)), "replay")
    step("cmd", seal(GATE_KEY, jdump(dict(cmd, n=1001, issued=MON_UTC - 3600))), "stale")
    step(
        "cmd",
        seal(
            GATE_KEY,
            jdump(dict(cmd, n=1002, op="time", issued=MON_UTC - 3600, args={"now": MON_UTC})),
        ),
        "cmd",
    )
    step("cmd", seal(GATE_KEY, jdump(dict(cmd, n=1003, g="back-door"))), "wrong_gate")
    step("ack", seal(GATE_KEY, jdump({"t": "ack", "g": gate, "sid": sid, "seq": 12})), "ack")
    step(
        "ack",
        seal(GATE_KEY, jdump({"t": "ack", "g": gate, "sid": "ffffffffffffffff", "seq": 12})),
        "stale",
    )
    step("ack", seal(GATE_KEY, jdump({"t": "ack", "g": gate, "sid": sid})), "malformed")
    step("cmd", b"\x00" * 80, "malformed")
    step("cmd", b"", "malformed")
    return {
        "key": h(GATE_KEY),
        "gate": gate,
        "sid": sid,
        "steps": steps,
        "rejected": {
            "stale": 6,
            "wrong_key": 1,
            "bad_mac": 1,
            "gap": 1,
            "replay": 1,
            "wrong_gate": 1,
            "malformed": 3,
        },
    }


def rekey_vectors():
    """A new key sealed under the old one, and a gate's conversation across a rotation."""
    nonce = bytes(range(16))
    pad = mac(GATE_KEY, b"gatehouse-rekey:" + nonce)
    args = {
        "from": kid(GATE_KEY).decode(),
        "kid": kid(OTHER_KEY).decode(),
        "nonce": h(nonce),
        "key": h(bytes(a ^ b for a, b in zip(OTHER_KEY, pad, strict=True))),
        "until": MON_UTC + 600,
    }
    tampered = dict(args, key=("0" if args["key"][0] != "0" else "1") + args["key"][1:])
    gate = "front-door"
    cmd = {"t": "cmd", "g": gate, "n": 2000, "op": "rekey", "issued": MON_UTC, "args": args}
    ack = {"t": "ack", "g": gate, "sid": "00112233aabbccdd", "seq": 1}
    steps = [
        # (key the hub sealed with, now, kind, body, expected event or code)
        (GATE_KEY, MON_UTC, "cmd", cmd, "cmd"),
        (OTHER_KEY, MON_UTC + 1, "ack", ack, "ack"),
        (GATE_KEY, MON_UTC + 2, "ack", ack, "ack"),  # old key: still inside the overlap
        (GATE_KEY, MON_UTC + 600, "ack", ack, "wrong_key"),  # overlap over
        (OTHER_KEY, MON_UTC + 601, "ack", ack, "ack"),
    ]
    return {
        "old": h(GATE_KEY),
        "new": h(OTHER_KEY),
        "nonce": h(nonce),
        "args": args,
        "open": [
            {"name": "opens", "key": h(GATE_KEY), "args": args, "new": h(OTHER_KEY)},
            {"name": "another old key", "key": h(OTHER_KEY), "args": args, "error": "bad_mac"},
            {"name": "tampered key", "key": h(GATE_KEY), "args": tampered, "error": "bad_mac"},
            {
                "name": "short nonce",
                "key": h(GATE_KEY),
                "args": dict(args, nonce="00"),
                "error": "malformed",
            },
            {
                "name": "until not a number",
                "key": h(GATE_KEY),
                "args": dict(args, until="soon"),
                "error": "malformed",
            },
        ],
        "gate": gate,
        "sid": "00112233aabbccdd",
        "steps": [
            {"kind": k, "now": t, "payload": h(seal(key, jdump(b))), "expect": e}
            for key, t, k, b, e in steps
        ],
    }


def checkin_vectors():
    good = {
        "t": "checkin",
        "g": "front-door",
        "sid": "00112233aabbccdd",
        "b": [[1, MON_UTC, "a1a2a3a4a5a6a7a8", 0, 42, 0], [2, MON_UTC + 5, "", 1, 42, 1]],
    }
    return {
        "ok": [{"batch": good, "count": 2}],
        "reject": [
            {"name": "no entries", "batch": dict(good, b=[])},
            {"name": "seq zero", "batch": dict(good, b=[[0, MON_UTC, "", 1, 42, 0]])},
            {"name": "short entry", "batch": dict(good, b=[[1, MON_UTC, "", 1, 42]])},
            {"name": "negative ts", "batch": dict(good, b=[[1, -5, "", 1, 42, 0]])},
            {"name": "bool seq", "batch": dict(good, b=[[True, MON_UTC, "", 1, 42, 0]])},
            {
                "name": "bad key hex",
                "batch": dict(good, b=[[1, MON_UTC, "A1A2A3A4A5A6A7A8", 1, 42, 0]]),
            },
            {"name": "bad sid", "batch": dict(good, sid="xyz")},
            {"name": "b not a list", "batch": dict(good, b="1,2")},
        ],
        "contiguous": [
            {"acked": 0, "seqs": [1, 2, 3, 5], "high": 3},
            {"acked": 3, "seqs": [5, 6], "high": 3},
            {"acked": 3, "seqs": [4, 5, 6, 4], "high": 6},
        ],
    }


def metering_vectors():
    """Hand-computed: Bangkok is UTC+7 all year, so local midnight is 17:00 UTC."""
    bkk = {"w": {}, "tz": [[0, 7 * 3600]]}
    midnight_bkk = MON_UTC + 17 * 3600  # MON_UTC is 00:00 UTC = 07:00 in Bangkok
    return {
        "until": [
            {
                "name": "window 3 h",
                "start": MON_UTC,
                "flags": 4,
                "window": 10800,
                "sched": bkk,
                "until": MON_UTC + 10800,
            },
            {
                "name": "no window",
                "start": MON_UTC,
                "flags": 4,
                "window": 0,
                "sched": bkk,
                "until": None,
            },
            {
                "name": "day pass to local midnight",
                "start": MON_UTC,
                "flags": 12,
                "window": 10800,
                "sched": bkk,
                "until": midnight_bkk,
            },
            {
                "name": "day pass just before midnight",
                "start": midnight_bkk - 1,
                "flags": 12,
                "window": 0,
                "sched": bkk,
                "until": midnight_bkk,
            },
            {
                "name": "day pass at midnight",
                "start": midnight_bkk,
                "flags": 12,
                "window": 0,
                "sched": bkk,
                "until": midnight_bkk + 86400,
            },
        ],
        "left": [
            {"flags": 4 | (3 << 4), "used": 0, "left": 3},
            {"flags": 4 | (3 << 4), "used": 2, "left": 1},
            {"flags": 4 | (3 << 4), "used": 5, "left": 0},
            {"flags": 4 | (15 << 4), "used": 1, "left": 14},
        ],
        "starts": [
            {
                "name": "spaced beyond window",
                "times": [0, 4000, 8000],
                "window": 3600,
                "starts": [0, 1, 2],
            },
            {
                "name": "re-entries chain to the first",
                "times": [0, 1000, 3599, 3600, 5000],
                "window": 3600,
                "starts": [0, 3],
            },
            {"name": "no window", "times": [0, 1, 1], "window": 0, "starts": [0, 1, 2]},
        ],
        "window": [
            {"value": None, "ok": 0},
            {"value": 10800, "ok": 10800},
            {"value": 86401, "error": "malformed"},
            {"value": -1, "error": "malformed"},
            {"value": True, "error": "malformed"},
            {"value": "3h", "error": "malformed"},
        ],
    }


def main() -> None:
    files = {
        "metering": metering_vectors(),
        "mac": mac_vectors(),
        "envelope": envelope_vectors(),
        "cardkey": cardkey_vectors(),
        "records": record_vectors(),
        "decision": decision_vectors(),
        "snapshot": snapshot_vectors(),
        "freshness": freshness_vectors(),
        "topics": topic_vectors(),
        "delta": delta_vectors(),
        "downlink": downlink_vectors(),
        "checkin": checkin_vectors(),
        "rekey": rekey_vectors(),
    }
    for name, data in files.items():
        (HERE / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print("wrote", name)


if __name__ == "__main__":
    main()
