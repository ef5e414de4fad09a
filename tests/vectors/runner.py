# Shared protocol test vectors, checked on CPython (by pytest) and on MicroPython:
#
#     .venv/bin/micropython tests/vectors/runner.py
#
# Runs on both interpreters, so: no typing, no f-string "=", no pathlib.
import json
import sys


def _here():
    f = __file__
    i = f.rfind("/")
    return f[:i] if i >= 0 else "."


HERE = _here()
ROOT = HERE + "/../.."
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from protocol import (  # noqa: E402  # noqa: E402
    cardkey,
    decision,
    delta,
    envelope,
    freshness,
    messages,
    metering,
    records,
    rekey,
    snapshot,
    topics,
)
from protocol.downlink import Downlink  # noqa: E402
from protocol.errors import ProtocolError  # noqa: E402
from protocol.mac import MacKey  # noqa: E402
from protocol.schedule import Schedules  # noqa: E402


class VectorFailure(Exception):
    pass


def load(name):
    with open(HERE + "/" + name + ".json") as f:
        return json.load(f)


def unhex(s):
    return bytes.fromhex(s)


def expect_equal(got, want, what):
    if got != want:
        raise VectorFailure("%s: got %r, want %r" % (what, got, want))


def expect_error(fn, code):
    try:
        fn()
    except ProtocolError as err:
        expect_equal(err.code, code, "error code")
        return
    raise VectorFailure("expected %s, nothing raised" % code)


def mac_cases(data):
    for i, v in enumerate(data):

        def run(v=v):
            k = MacKey(unhex(v["key"]))
            expect_equal(k.digest(unhex(v["msg"])).hex(), v["mac"], "mac")
            expect_equal(k.kid.decode(), v["kid"], "kid")

        yield "mac-%d" % i, run


def envelope_cases(data):
    key = unhex(data["key"])
    for i, v in enumerate(data["seal"]):

        def run(v=v):
            k = unhex(v["key"])
            expect_equal(envelope.seal(k, unhex(v["body"])).hex(), v["payload"], "seal")
            expect_equal(envelope.open(k, unhex(v["payload"])).hex(), v["body"], "open")

        yield "seal-%d" % i, run
    for v in data["reject"]:

        def run(v=v):
            payload = bytes([v["fill"]]) * v["size"] if "fill" in v else unhex(v["payload"])
            if v.get("json"):
                expect_error(
                    lambda: envelope.open_json(key, payload, gate=data["gate"]), v["error"]
                )
            else:
                expect_error(lambda: envelope.open(key, payload), v["error"])

        yield "reject: " + v["name"], run

    def rotation():
        both = [unhex(data["other_key"]), key]
        payload = envelope.seal(key, b"{}")
        expect_equal(envelope.open(both, payload), b"{}", "open with two keys")

    yield "two keys during rotation", rotation


def cardkey_cases(data):
    for i, v in enumerate(data["ok"]):

        def run(v=v):
            got = cardkey.card_key(unhex(v["secret"]), unhex(v["uid"]))
            expect_equal(got.hex(), v["key"], "card_key")

        yield "card_key-%d" % i, run
    for i, v in enumerate(data["reject"]):

        def run(v=v):
            expect_error(lambda: cardkey.card_key(b"s", unhex(v["uid"])), v["error"])

        yield "card_key-reject-%d" % i, run
    for i, v in enumerate(data["parse"]):

        def run(v=v):
            if "error" in v:
                expect_error(lambda: cardkey.parse_uid(v["text"]), v["error"])
            else:
                expect_equal(cardkey.parse_uid(v["text"]).hex(), v["uid"], "parse_uid")

        yield "parse_uid-%d" % i, run


def record_cases(data):
    for i, v in enumerate(data["pack"]):

        def run(v=v):
            rec = records.pack(
                unhex(v["key"]), v["valid_until"], v["zones"], v["schedule"], v["flags"]
            )
            expect_equal(rec.hex(), v["hex"], "pack")
            got = records.unpack(rec)
            want = (unhex(v["key"]), v["valid_until"], v["zones"], v["schedule"], v["flags"])
            expect_equal(tuple(got), want, "unpack")

        yield "pack-%d" % i, run
    for i, v in enumerate(data["reject"]):

        def run(v=v):
            expect_error(
                lambda: records.pack(
                    unhex(v["key"]), v["valid_until"], v["zones"], v["schedule"], v["flags"]
                ),
                v["error"],
            )

        yield "pack-reject-%d" % i, run
    lst = unhex(data["list"])
    for i, v in enumerate(data["find"]):

        def run(v=v):
            key = unhex(v["key"])
            expect_equal(records.find(lst, key), v["index"], "find")
            n = len(lst) // records.RECORD_SIZE
            expect_equal(
                records.bisect(lambda j: records.key_of(lst, j), n, key), v["index"], "bisect"
            )

        yield "find-%d" % i, run


def decision_cases(data):
    for v in data["decide"]:

        def run(v=v):
            rec = unhex(v["record"]) if v["record"] is not None else None
            allow, reason = decision.decide(
                rec,
                v["now"],
                v["zone"],
                Schedules.from_json(v["sched"]),
                last_admit=v.get("last_admit"),
                passback_s=v.get("passback_s", 0),
                remaining=v.get("remaining"),
                reentry_until=v.get("reentry_until"),
            )
            expect_equal(decision.REASONS[reason], v["expect"], "reason")
            expect_equal(allow, reason in decision.ALLOWING, "allow")

        yield "decide: " + v["name"], run
    for i, v in enumerate(data["trusted_now"]):

        def run(v=v):
            expect_equal(
                list(decision.trusted_now(v["clock"], v["floor"])),
                [v["now"], v["trusted"]],
                "trusted_now",
            )

        yield "trusted_now-%d" % i, run


def snapshot_cases(data):
    m = data["make"]

    def make():
        chunks = snapshot.make_chunks(m["version"], unhex(m["list"]), m["per_chunk"])
        expect_equal([c.hex() for c in chunks], m["chunks"], "chunks")
        man = snapshot.manifest(
            "front-door",
            m["version"],
            unhex(m["list"]),
            m["manifest"]["issued"],
            len(chunks),
            Schedules.from_json(m["manifest"]["sched"]),
        )
        expect_equal(man, m["manifest"], "manifest")

    yield "make chunks and manifest", make
    for v in data["assemble"]:

        def run(v=v):
            asm = snapshot.Assembler(v["manifest"])
            out = []

            def feed():
                for c in v["chunks"]:
                    got = asm.add(unhex(c))
                    if got is not None:
                        out.append(bytes(got))
                asm.finish()

            if "error" in v:
                expect_error(feed, v["error"])
            else:
                feed()
                expect_equal(b"".join(out).hex(), v["result"], "assembled list")

        yield "assemble: " + v["name"], run


def freshness_cases(data):
    for i, v in enumerate(data):

        def run(v=v):
            if v["check"] == "version":
                fn = lambda: freshness.check_version(v["current"], v["incoming"])  # noqa: E731
            elif v["check"] == "seq":
                fn = lambda: freshness.check_seq(v["last"], v["seq"])  # noqa: E731
            else:
                fn = lambda: freshness.check_age(v["now"], v["issued"], v["max_age"])  # noqa: E731
            if "error" in v:
                expect_error(fn, v["error"])
            else:
                fn()

        yield "freshness-%d-%s" % (i, v["check"]), run


def topic_cases(data):
    for i, v in enumerate(data["build"]):

        def run(v=v):
            build = topics.up if v["dir"] == "up" else topics.down
            expect_equal(build(v["site"], v["gate"], v["kind"]), v["topic"], "topic")
            expect_equal(
                topics.parse(v["topic"]), (v["site"], v["gate"], v["dir"], v["kind"]), "parse"
            )

        yield "topic-%d" % i, run
    for i, v in enumerate(data["reject"]):

        def run(v=v):
            expect_error(lambda: topics.parse(v["topic"]), "bad_topic")

        yield "topic-reject-%d" % i, run


def delta_cases(data):
    for v in data:

        def run(v=v):
            def go():
                version, add, delete = delta.parse(v["delta"], v["current"])
                return version, delta.apply(unhex(v["base"]), add, delete)

            if "error" in v:
                expect_error(go, v["error"])
            else:
                version, result = go()
                expect_equal(version, v["delta"]["v"], "version")
                expect_equal(result.hex(), v["result"], "list")

        yield "delta: " + v["name"], run


def downlink_cases(data):
    def run():
        link = Downlink(unhex(data["key"]), data["gate"], data["sid"])
        for i, s in enumerate(data["steps"]):
            try:
                event, value = link.open(s["kind"], unhex(s["payload"]), s["now"])
            except ProtocolError as err:
                expect_equal(err.code, s["expect"], "step %d" % i)
                continue
            expect_equal(event, s["expect"], "step %d" % i)
            if "finish" in s:
                expect_equal(link.assembly.done, True, "assembly done")
                link.applied(link.finish()["v"])
                expect_equal(link.version, s["finish"], "version after snapshot")
            if "applied" in s:
                link.applied(value[0])
                expect_equal(link.version, s["applied"], "version after delta")
        expect_equal(link.rejected, data["rejected"], "rejection counters")

    yield "downlink conversation", run


def checkin_cases(data):
    for i, v in enumerate(data["ok"]):

        def run(v=v):
            sid, entries = messages.parse_checkin_batch(v["batch"])
            expect_equal(len(entries), v["count"], "entries")

        yield "checkin-%d" % i, run
    for v in data["reject"]:

        def run(v=v):
            expect_error(lambda: messages.parse_checkin_batch(v["batch"]), "malformed")

        yield "checkin reject: " + v["name"], run
    for i, v in enumerate(data["contiguous"]):

        def run(v=v):
            expect_equal(messages.contiguous_high(v["acked"], v["seqs"]), v["high"], "contiguous")

        yield "contiguous-%d" % i, run


def metering_cases(data):
    for v in data["until"]:

        def run(v=v):
            sch = Schedules.from_json(v["sched"])
            got = metering.reentry_until(v["start"], v["flags"], v["window"], sch)
            expect_equal(got, v["until"], "reentry_until")

        yield "until: " + v["name"], run
    for i, v in enumerate(data["left"]):

        def run(v=v):
            expect_equal(metering.visits_left(v["flags"], v["used"]), v["left"], "left")

        yield "left-%d" % i, run
    for v in data["starts"]:

        def run(v=v):
            w = v["window"]
            got = metering.visit_starts(v["times"], lambda t: t + w if w else None)
            expect_equal(got, v["starts"], "starts")

        yield "starts: " + v["name"], run
    for i, v in enumerate(data["window"]):

        def run(v=v):
            if "error" in v:
                expect_error(lambda: metering.check_window(v["value"]), v["error"])
            else:
                expect_equal(metering.check_window(v["value"]), v["ok"], "window")

        yield "window-%d" % i, run


def rekey_cases(data):
    def run_args():
        got = rekey.args(unhex(data["old"]), unhex(data["new"]), unhex(data["nonce"]), 0)
        want = dict(data["args"])
        want["until"] = 0
        expect_equal(got, want, "rekey args")

    yield "rekey args", run_args
    for v in data["open"]:

        def run(v=v):
            if "error" in v:
                expect_error(lambda: rekey.open_args(unhex(v["key"]), v["args"]), v["error"])
            else:
                expect_equal(rekey.open_args(unhex(v["key"]), v["args"]).hex(), v["new"], "key")

        yield "rekey open: " + v["name"], run

    def conversation():
        link = Downlink(unhex(data["old"]), data["gate"], data["sid"])
        for i, s in enumerate(data["steps"]):
            try:
                event, value = link.open(s["kind"], unhex(s["payload"]), s["now"])
            except ProtocolError as err:
                expect_equal(err.code, s["expect"], "step %d" % i)
                continue
            expect_equal(event, s["expect"], "step %d" % i)
            if event == "cmd":
                new = link.rekey_key(value["args"])
                expect_equal(link.rotate(new, value["args"]["until"]), True, "rotated")
                expect_equal(link.rotate(new, value["args"]["until"]), False, "rotated twice")
        expect_equal(link.key.key.hex(), data["new"], "key in use")
        expect_equal(len(link.keys), 1, "old key forgotten")

    yield "rekey conversation", conversation


SUITES = (
    ("mac", mac_cases),
    ("envelope", envelope_cases),
    ("cardkey", cardkey_cases),
    ("records", record_cases),
    ("decision", decision_cases),
    ("snapshot", snapshot_cases),
    ("freshness", freshness_cases),
    ("topics", topic_cases),
    ("delta", delta_cases),
    ("downlink", downlink_cases),
    ("checkin", checkin_cases),
    ("metering", metering_cases),
    ("rekey", rekey_cases),
)


def all_cases():
    """Every vector as ``(suite, name, run)``; ``run()`` raises on a mismatch."""
    out = []
    for suite, make in SUITES:
        for name, run in make(load(suite)):
            out.append((suite, name, run))
    return out


def main():
    passed = 0
    failed = 0
    for suite, name, run in all_cases():
        try:
            run()
            passed += 1
        except Exception as err:
            failed += 1
            print("FAIL %s / %s: %s %s" % (suite, name, type(err).__name__, err))
    print("vectors: %d passed, %d failed on %s" % (passed, failed, sys.implementation.name))
    return failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
