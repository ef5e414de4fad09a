"""Round trips and laws of the protocol, over random inputs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol import delta, envelope, records, snapshot
from protocol.decision import ALLOWING, decide
from protocol.errors import BadMac, WrongKey
from protocol.schedule import Schedules

keys8 = st.binary(min_size=8, max_size=8)


def record_for(key: bytes, valid_until: int = 2_000_000_000) -> bytes:
    return records.pack(key, valid_until, 1)


@given(st.binary(min_size=1, max_size=64), st.binary(max_size=500))
def test_seal_open_round_trip(key: bytes, body: bytes) -> None:
    assert envelope.open(key, envelope.seal(key, body)) == body


@given(st.binary(min_size=1, max_size=64), st.binary(max_size=100), st.integers(0, 10_000))
def test_any_single_bit_flip_is_rejected(key: bytes, body: bytes, where: int) -> None:
    sealed = bytearray(envelope.seal(key, body))
    i = where % len(sealed)
    sealed[i] ^= 1 << (where % 8)
    try:
        envelope.open(key, bytes(sealed))
    except (BadMac, WrongKey):
        return
    except Exception as err:  # noqa: BLE001
        assert err.code == "malformed"  # type: ignore[attr-defined]
        return
    raise AssertionError("flipped payload accepted")


@given(st.sets(keys8, max_size=300), st.integers(1, 64), st.integers(1, 10**6))
def test_snapshot_round_trip(keys: set[bytes], per_chunk: int, version: int) -> None:
    data = records.build(record_for(k) for k in keys)
    chunks = snapshot.make_chunks(version, data, per_chunk)
    asm = snapshot.Assembler(snapshot.manifest("g", version, data, 0, len(chunks)))
    out = b"".join(bytes(asm.add(c) or b"") for c in chunks)
    asm.finish()
    assert out == data
    for k in keys:
        assert records.find(data, k) >= 0


@given(st.sets(keys8, max_size=50), st.sets(keys8, max_size=20), st.sets(keys8, max_size=20))
def test_delta_matches_set_semantics(
    base: set[bytes], added: set[bytes], removed: set[bytes]
) -> None:
    removed -= added
    data = records.build(record_for(k) for k in base)
    body = delta.make("g", 3, 4, [record_for(k, 7) for k in added], removed, 0)
    version, add, dele = delta.parse(body, 3)
    result = delta.apply(data, add, dele)
    want = {k: 2_000_000_000 for k in base - removed}
    want.update({k: 7 for k in added})
    got = {
        records.unpack(result[i * 16 : (i + 1) * 16])[0]: records.unpack(
            result[i * 16 : (i + 1) * 16]
        )[1]
        for i in range(len(result) // 16)
    }
    assert version == 4
    assert got == want


@given(
    st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 15), st.integers(0, 0xFFFF)
)
def test_decision_matches_its_rules(valid_until: int, now: int, zone: int, zones: int) -> None:
    rec = records.pack(b"k" * 8, valid_until, zones)
    allow, reason = decide(rec, now, zone, Schedules())
    assert allow == (now < valid_until and bool(zones >> zone & 1))
    assert allow == (reason in ALLOWING)


@given(st.integers(0, 15), st.integers(-5, 100))
def test_visits_ride_in_the_flags_byte_and_saturate(low_flags: int, count: int) -> None:
    flags = records.with_visits(low_flags, count)
    assert flags & records.FLAGS_KNOWN == low_flags
    assert records.visits(flags) == max(0, min(count, records.VISITS_MAX))
    rec = records.pack(b"k" * 8, 2_000_000_000, 1, 0, flags | records.FLAG_METERED)
    allow, _ = decide(rec, 0, 0, Schedules())
    blocked = bool(low_flags & records.FLAG_BLOCKED)
    assert allow == (records.visits(flags) > 0 and not blocked)
