# ruff: noqa: UP031  (runs on MicroPython, where %-formatting is the cheap one)
# Lookup + decision latency of the MicroPython gate over a 20,000-record list on flash.
#
#   .venv/bin/micropython bench/firmware_decision.py            # 20,000 taps
#   .venv/bin/micropython bench/firmware_decision.py --quick    # 2,000 taps
#
# Runs on the micropython VM (unix port).  Writes a 20,000-record list through the
# firmware's own Store (as a verified snapshot would), then times taps: UID -> card key
# (HMAC-SHA256) -> binary search in the flash file -> decision, half members, half
# strangers.  A second pass times the whole Gate.tap (decision + outbox record flushed
# + door), as a board does it.  ram_kb is what the firmware holds while deciding
# (objects and buffers, plus one tap's garbage); code_kb is the loaded modules' code,
# which freezing into the firmware image moves to flash.
#
# Prints "metric: number unit" lines (bench/README.md).
import gc
import os
import sys
import time

_here = sys.argv[0].rsplit("/", 1)[0] if "/" in sys.argv[0] else "."
_root = _here + "/.."
sys.path.insert(0, _root)
sys.path.insert(0, _root + "/edge/firmware")

import binascii  # noqa: E402

RECORDS = 20000


def machine():
    model = "unknown"
    cores = 0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                if line.startswith("processor"):
                    cores += 1
    except OSError:
        pass
    return model, cores


def load_average():
    # Other processes' load: tail latencies on a busy machine are mostly waiting for a CPU.
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return -1.0


def percentile(sorted_values, p):
    i = min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))
    return sorted_values[i]


def member(i):
    return bytes([4, (i >> 16) & 255, (i >> 8) & 255, i & 255])


def make_list(root, secret, n, now):
    # A verified list of n members' records, written by the firmware's own Store.  The
    # records are sorted bucket by bucket (by the key's first byte) so that the whole
    # list never sits in RAM, as on a board.
    import hashlib

    from store import Store

    from protocol import records
    from protocol.cardkey import card_key
    from protocol.mac import MacKey

    key = MacKey(secret)
    raw = root + "/records.raw"
    sha = hashlib.sha256()
    buckets = 8
    with open(raw, "wb") as out:
        for b in range(buckets):
            recs = []
            for i in range(n):
                if i % 500 == 0:
                    gc.collect()  # keep the heap unfragmented for the growing list
                k = card_key(key, member(i))
                if k[0] * buckets // 256 == b:
                    recs.append(records.pack(k, now + 86400 * 30, 1))
            recs.sort()
            for r in recs:
                out.write(r)
                sha.update(r)
            recs = None
            gc.collect()
    manifest = {
        "v": 1,
        "n": n,
        "sha": binascii.hexlify(sha.digest()).decode(),
        "issued": now,
        "sched": {"w": {}, "tz": []},
    }
    store = Store(root)
    store.begin(manifest)
    buf = bytearray(4096)
    with open(raw, "rb") as f:
        while True:
            got = f.readinto(buf)
            if not got:
                break
            store.write(bytes(buf[:got]))
    store.commit()
    store.close()
    os.remove(raw)


def probe(i):
    # Every other tap a member, spread over the list; the others unknown cards.
    if i % 2:
        return member((i * 7919) % RECORDS)
    return bytes([8, (i >> 16) & 255, (i >> 8) & 255, i & 255])


def clean(root):
    for name in os.listdir(root):
        os.remove(root + "/" + name)
    os.rmdir(root)


def main():
    gc.collect()
    start = gc.mem_alloc()
    import gate
    from door import Door

    from protocol.cardkey import card_key
    from protocol.decision import decide

    gc.collect()
    code = gc.mem_alloc() - start
    quick = "--quick" in sys.argv
    taps = 2000 if quick else 20000
    now = 1800000000
    root = "/tmp/gh-fw-bench-%s" % binascii.hexlify(os.urandom(4)).decode()
    os.mkdir(root)
    secret = os.urandom(32)
    try:
        make_list(root, secret, RECORDS, now)
        model, cores = machine()
        print("machine: %s, %d cores, %s" % (model, cores, sys.implementation._machine))
        print(
            "interpreter: micropython %s (unix port)"
            % ".".join(str(v) for v in sys.implementation.version[:3])
        )
        print("records: %d" % RECORDS)
        print("load_avg_1m: %.2f" % load_average())
        print("taps: %d (half members, half unknown cards)" % taps)

        class NoReader:
            def read_uid(self):
                return None

        cfg = {
            "site": "bench",
            "gate": "bench-door",
            "mqtt": {"host": "127.0.0.1", "port": 1},
            "gate_key": "11" * 32,
            "card_secret": binascii.hexlify(secret).decode(),
            "mtu": 4096,
            "outbox_capacity": taps + 10,
        }
        gc.collect()
        base = gc.mem_alloc()
        g = gate.Gate(cfg, NoReader(), Door(), root=root, log=lambda line: None)
        gc.collect()
        held = gc.mem_alloc() - base
        store, schedules, key, clock = g.store, g.schedules, g.card_secret, g.clock

        times = [0] * taps
        granted = 0
        worst_garbage = 0
        for n in range(taps):
            uid = probe(n)
            if n % 200 == 0:
                gc.collect()
                before = gc.mem_alloc()
            t0 = time.ticks_us()
            t_now, trusted = clock.now()
            allow, reason = decide(store.find(card_key(key, uid)), t_now, 0, schedules)
            times[n] = time.ticks_diff(time.ticks_us(), t0)
            granted += allow
            if n % 200 == 0:
                worst_garbage = max(worst_garbage, gc.mem_alloc() - before)
        times.sort()
        print("granted: %d of %d" % (granted, taps))
        print("decision_p50: %.3f ms" % (percentile(times, 50) / 1000))
        print("decision_p99: %.3f ms" % (percentile(times, 99) / 1000))
        print("decision_max: %.3f ms" % (times[-1] / 1000))

        times = [0] * min(taps, 5000)
        for n in range(len(times)):
            uid = probe(n)
            t0 = time.ticks_us()
            g.tap(uid)
            times[n] = time.ticks_diff(time.ticks_us(), t0)
        times.sort()
        print("tap_p50: %.3f ms" % (percentile(times, 50) / 1000))
        print("tap_p99: %.3f ms" % (percentile(times, 99) / 1000))
        print("ram_kb: %.1f KB" % ((held + worst_garbage) / 1024))
        print("code_kb: %.1f KB" % (code / 1024))
        g.close()
    finally:
        clean(root)


main()
