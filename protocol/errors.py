"""Rejection errors of the Gatehouse protocol.

Every message a gate or the hub refuses raises a subclass of :class:`ProtocolError`.
Each class carries a short, stable ``code`` so receivers can count rejections by kind
(``rejected["bad_mac"] += 1``) and tests can tell the causes apart on both interpreters::

    try:
        body = envelope.open(key, payload)
    except ProtocolError as err:
        counters[err.code] = counters.get(err.code, 0) + 1
"""


class ProtocolError(ValueError):
    """Base class: the message is refused; the receiver counts it and carries on."""

    code = "protocol"


class Malformed(ProtocolError):
    """The shape is wrong: missing ``MAC.`` prefix, bad field types, unknown kind."""

    code = "malformed"


class TooLarge(ProtocolError):
    """The payload is larger than the receiver accepts."""

    code = "too_large"


class BadMac(ProtocolError):
    """The MAC does not match BODY under this gate's key (forged, corrupted, wrong key)."""

    code = "bad_mac"


class WrongKey(ProtocolError):
    """Sealed under a key the receiver does not hold (its key id is unknown).

    Usually a gate flashed with an old configuration, or a message meant for another
    gate; a forgery with a guessed key id fails later, as :class:`BadMac`.
    """

    code = "wrong_key"


class BadJson(ProtocolError):
    """BODY is not UTF-8 JSON describing an object."""

    code = "bad_json"


class WrongGate(ProtocolError):
    """The message names another gate than the one receiving or sending it."""

    code = "wrong_gate"


class Stale(ProtocolError):
    """An access-list version not newer than the one held, or a message too old."""

    code = "stale"


class Replay(ProtocolError):
    """A sequence number already seen."""

    code = "replay"


class Gap(ProtocolError):
    """A delta that does not start at the version held: the gate needs a snapshot."""

    code = "gap"


class Truncated(ProtocolError):
    """A list chunk whose record bytes are cut short or do not match its header."""

    code = "truncated"


class BadManifest(ProtocolError):
    """Assembled list does not match its signed manifest (count, order or sha256)."""

    code = "bad_manifest"


class BadTopic(ProtocolError):
    """A topic outside ``gh/v1/{site}/{gate}/{up|down}/{kind}``."""

    code = "bad_topic"


def code_of(err):
    """Return the rejection code of *err*, ``"error"`` for anything that is not ours."""
    return getattr(err, "code", "error")
