"""Whatever bytes arrive, receivers reject them cleanly: a ProtocolError, never a crash."""

from __future__ import annotations

import contextlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import delta, envelope, messages, snapshot, topics
from protocol.downlink import Downlink
from protocol.errors import ProtocolError

KEY = bytes(range(32))
GATE = "front-door"
SID = "00112233aabbccdd"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)


def rejects_cleanly(fn, *args) -> None:  # type: ignore[no-untyped-def]
    with contextlib.suppress(ProtocolError):
        fn(*args)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_open_random_bytes(payload: bytes) -> None:
    rejects_cleanly(envelope.open_json, KEY, payload, GATE)


@given(st.binary(max_size=300))
def test_open_validly_sealed_garbage(body: bytes) -> None:
    """A correct MAC over non-UTF-8, non-JSON bytes is still only a BadJson."""
    rejects_cleanly(envelope.open_json, KEY, envelope.seal(KEY, body), GATE)


def test_open_empty_and_huge() -> None:
    for payload in (b"", b".", b"x" * (1 << 20), bytes(1 << 20)):
        try:
            envelope.open(KEY, payload)
        except ProtocolError as err:
            assert err.code in ("malformed", "too_large")
        else:
            raise AssertionError("accepted garbage")


def test_deeply_nested_json_is_rejected_not_crashing() -> None:
    body = b"[" * 50000 + b"]" * 50000
    rejects_cleanly(envelope.open_json, KEY, envelope.seal(KEY, body), GATE)


@settings(max_examples=300)
@given(json_values)
def test_json_bodies_through_every_downlink_kind(obj: object) -> None:
    payload = envelope.seal(KEY, json.dumps(obj).encode())
    for kind in ("acl", "cmd", "ack"):
        link = Downlink(KEY, GATE, SID)
        rejects_cleanly(link.open, kind, payload, 1_800_000_000)


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "t",
                "g",
                "v",
                "from",
                "add",
                "del",
                "n",
                "sha",
                "chunks",
                "rs",
                "issued",
                "op",
                "args",
                "seq",
                "sid",
            ]
        ),
        json_values,
    )
)
def test_plausible_messages_through_downlink(fields: dict) -> None:  # type: ignore[type-arg]
    for t in ("manifest", "delta", "cmd", "ack"):
        obj = dict(fields, t=t, g=GATE)
        payload = envelope.seal(KEY, json.dumps(obj).encode())
        for kind in ("acl", "cmd", "ack"):
            rejects_cleanly(Downlink(KEY, GATE, SID).open, kind, payload, 1_800_000_000)


@given(st.binary(max_size=200))
def test_random_chunks(body: bytes) -> None:
    rejects_cleanly(snapshot.parse_chunk, body)
    link = Downlink(KEY, GATE, SID)
    rejects_cleanly(link.open, "acl", envelope.seal(KEY, snapshot.MAGIC + body), 0)


@given(json_values)
def test_uplink_parsers(obj: object) -> None:
    if not isinstance(obj, dict):
        obj = {"b": obj}
    for parse in (
        messages.parse_checkin_batch,
        messages.parse_hello,
        messages.parse_status,
        messages.parse_enroll,
        messages.parse_ack,
        messages.parse_command,
    ):
        rejects_cleanly(parse, dict(obj))
    rejects_cleanly(delta.parse, dict(obj), 0)


@given(st.text(max_size=80) | st.binary(max_size=80))
def test_topics(topic) -> None:  # type: ignore[no-untyped-def]
    rejects_cleanly(topics.parse, topic)
