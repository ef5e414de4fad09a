"""Strategies and budgets shared by the MQTT fuzz tests.

``make test`` runs each fuzz target for a few seconds (:data:`QUICK`); the ``faults``
marker runs the same targets with a budget about thirty times larger (:data:`THOROUGH`).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from protocol import envelope

QUICK = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
THOROUGH = settings(
    max_examples=2000, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)

HEX = "0123456789abcdef"
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=24),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=25,
)
hexes = st.text(alphabet=HEX, min_size=0, max_size=80)


def forged(kid: str, mac: str, body: bytes) -> bytes:
    """An envelope-shaped payload with a made-up key id and MAC."""
    return kid.encode() + b":" + mac.encode() + b"." + body


#: Payloads nobody holding the key made: random bytes, envelope-shaped forgeries,
#: oversized ones, and the edge sizes of the envelope's header.
unsigned_payloads = st.one_of(
    st.binary(max_size=512),
    st.builds(
        forged,
        st.text(alphabet=HEX, min_size=8, max_size=8),
        st.text(alphabet=HEX, min_size=64, max_size=64),
        st.one_of(st.binary(max_size=256), json_values.map(lambda v: json.dumps(v).encode())),
    ),
    st.sampled_from(
        [b"", b".", b":" * 74, b"0" * 73, b"0" * 74, b"0" * 75, b"x" * (envelope.MAX_PAYLOAD + 1)]
    ),
)


def signed_bodies(gate: str, kinds: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects naming *gate*, with a ``t`` from *kinds* and random other fields."""
    return st.builds(
        lambda t, g, rest: {**rest, "t": t, "g": g},
        st.sampled_from(kinds),
        st.one_of(st.just(gate), st.text(max_size=12)),
        st.dictionaries(
            st.sampled_from(
                ["sid", "v", "b", "seq", "n", "op", "args", "issued", "state", "uid", "ts", "mtu",
                 "fw", "acked", "pending", "clock", "rejected", "from", "add", "del", "chunks"]
            ),
            json_values,
            max_size=8,
        ),
    )  # fmt: skip
