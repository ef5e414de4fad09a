"""``KID:MAC.BODY`` envelopes: every payload on every topic.

BODY is the message exactly as sent (JSON, or a binary list chunk).  MAC is the
lowercase hex HMAC-SHA256 of BODY's bytes under the gate's own key, and KID is that
key's 8-hex-character id (:attr:`protocol.mac.MacKey.kid`).  No canonical JSON is
needed: the MAC covers the bytes, not a re-encoding::

    payload = envelope.seal(key, b'{"t":"hello"}')   # b'1f2e3d4c:3f9c...e1.{"t":"hello"}'
    body = envelope.open(key, payload)                # b'{"t":"hello"}'
    msg = envelope.open_json(key, payload, gate="front-door")

The receiver may hold two keys while a gate's key is rotated: pass a list, and the key
id picks the one to verify with.  :func:`open` never raises anything but a
:class:`~protocol.errors.ProtocolError` subclass, whatever the bytes: random, empty,
huge, non-UTF-8 or non-JSON.
"""

import json

from protocol.compat import const
from protocol.errors import BadJson, BadMac, Malformed, TooLarge, WrongGate, WrongKey
from protocol.mac import as_key, equal

KID_LEN = const(8)
MAC_LEN = const(64)
HEAD_LEN = const(74)  # KID ":" MAC "."
MAX_PAYLOAD = 131072
_HEX = b"0123456789abcdef"


def seal(key, body):
    """Return ``KID:MAC.BODY`` for *body* (``bytes``; ``str`` is UTF-8 encoded)."""
    if isinstance(body, str):
        body = body.encode()
    k = as_key(key)
    return k.kid + b":" + k.hexdigest(body) + b"." + body


def seal_json(key, obj):
    """Encode *obj* as compact JSON and seal it."""
    return seal(key, dumps(obj))


def dumps(obj):
    """Compact JSON bytes, the same on both interpreters for the same object."""
    return json.dumps(obj, separators=(",", ":")).encode()


def _pick(keys, kid):
    if not isinstance(keys, (list, tuple)):
        keys = (keys,)
    for key in keys:
        k = as_key(key)
        if k.kid == kid:
            return k
    raise WrongKey("sealed under key %s, not one held here" % kid.decode())


def open(keys, payload, limit=MAX_PAYLOAD):
    """Verify *payload* and return BODY as ``bytes``.

    :param keys: the key (or a list of keys) this receiver holds for the sender.
    :raises TooLarge: more than *limit* bytes.
    :raises Malformed: not ``8 hex + ':' + 64 hex + '.' + body``.
    :raises WrongKey: the key id names none of *keys*.
    :raises BadMac: the MAC does not match.
    """
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise Malformed("payload must be bytes")
    n = len(payload)
    if n > limit:
        raise TooLarge("payload of %d bytes exceeds %d" % (n, limit))
    if n < HEAD_LEN or payload[KID_LEN] != 0x3A or payload[HEAD_LEN - 1] != 0x2E:
        raise Malformed("expected KID:MAC.BODY")
    head = bytes(payload[: HEAD_LEN - 1])
    for i in range(HEAD_LEN - 1):
        if i != KID_LEN and head[i] not in _HEX:
            raise Malformed("KID and MAC must be lowercase hex")
    key = _pick(keys, head[:KID_LEN])
    body = bytes(payload[HEAD_LEN:])
    if not equal(key.hexdigest(body), head[KID_LEN + 1 :]):
        raise BadMac("MAC mismatch")
    return body


def kid_of(payload):
    """The key id a payload claims, or ``None`` if it has no envelope shape."""
    if len(payload) < HEAD_LEN or payload[KID_LEN] != 0x3A:
        return None
    return bytes(payload[:KID_LEN])


def loads(body):
    """Parse BODY as a JSON object or raise :class:`BadJson`."""
    try:
        text = body.decode("utf-8")
    except Exception:
        raise BadJson("body is not UTF-8") from None
    try:
        obj = json.loads(text)
    except Exception:
        raise BadJson("body is not JSON") from None
    if not isinstance(obj, dict):
        raise BadJson("body is not a JSON object")
    return obj


def open_json(keys, payload, gate=None, kind=None, limit=MAX_PAYLOAD):
    """Open *payload* and parse its JSON object.

    With *gate*, the object's ``g`` field must name that gate (:class:`WrongGate`);
    with *kind*, its ``t`` field must equal it (:class:`Malformed`).
    """
    obj = loads(open(keys, payload, limit))
    if gate is not None and obj.get("g") != gate:
        raise WrongGate("message for gate %r, not %r" % (obj.get("g"), gate))
    if kind is not None and obj.get("t") != kind:
        raise Malformed("expected a %s message" % kind)
    return obj
