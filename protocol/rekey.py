"""Handing a gate a new HMAC key, sealed under the key it holds (the ``rekey`` command).

The hub rotates a gate's key without downtime: it sends a ``cmd`` with ``op`` =
``"rekey"`` sealed (MAC) under the gate's current key, whose ``args`` carry the new key
encrypted under that same key.  Only a holder of the old key can read the new one, and
only the hub (the other holder) can have sent it::

    args = rekey.args(old_key, new_key, nonce, until)   # hub
    new = rekey.open_args(old_key, args)                # gate: the 32-byte new key

The cipher is a one-time pad from HMAC-SHA256: ``pad = HMAC(old, "gatehouse-rekey:" +
nonce)``, ``sealed = new XOR pad``, with a fresh 16-byte nonce per command, so nothing
but ``hashlib`` is needed on MicroPython.  The envelope's MAC authenticates the sealed
key, and ``kid`` (the new key's id) checks it opened to the key the hub meant.

Both keys are accepted until ``until`` (hub time, UNIX seconds): the gate switches to
sealing with the new key at once, and the hub seals with the key the gate last used, so
messages in flight on either side still verify.  After ``until`` the old key is gone.
"""

import binascii

from protocol.errors import BadMac, Malformed
from protocol.mac import as_key

KEY_LEN = 32
NONCE_LEN = 16
_TAG = b"gatehouse-rekey:"


def _pad(old, nonce):
    return as_key(old).digest(_TAG + nonce)


def _xor(a, b):
    return bytes([a[i] ^ b[i] for i in range(len(a))])


def _unhex(value, size, name):
    if not isinstance(value, str) or len(value) != size * 2:
        raise Malformed("%s must be %d hex characters" % (name, size * 2))
    try:
        return binascii.unhexlify(value)
    except Exception:
        raise Malformed("%s must be hex" % name) from None


def args(old, new, nonce, until):
    """The ``args`` of a ``rekey`` command moving a gate from key *old* to *new*.

    :param bytes old: the key the gate holds now (the command is sealed under it too).
    :param bytes new: the new 32-byte key.
    :param bytes nonce: 16 random bytes, never reused with the same *old* key.
    :param int until: hub time after which *old* is no longer accepted.
    """
    new = bytes(new)
    if len(new) != KEY_LEN or len(nonce) != NONCE_LEN:
        raise Malformed("a new key is 32 bytes and a nonce 16")
    return {
        "from": as_key(old).kid.decode(),
        "kid": as_key(new).kid.decode(),
        "nonce": binascii.hexlify(nonce).decode(),
        "key": binascii.hexlify(_xor(new, _pad(old, nonce))).decode(),
        "until": until,
    }


def check_args(a):
    """Validate the shape of ``rekey`` args (raises :class:`Malformed`); returns them."""
    _unhex(a.get("from"), 4, "from")
    _unhex(a.get("kid"), 4, "kid")
    _unhex(a.get("nonce"), NONCE_LEN, "nonce")
    _unhex(a.get("key"), KEY_LEN, "key")
    until = a.get("until")
    if not isinstance(until, int) or isinstance(until, bool) or until < 0:
        raise Malformed("until must be a non-negative integer")
    return a


def open_args(old, a):
    """The new key in ``rekey`` args, opened with *old*.

    :raises Malformed: args out of shape.
    :raises BadMac: *old* is not the key they were sealed under, or the result is not
        the key named by ``kid``.
    """
    check_args(a)
    old = as_key(old)
    if old.kid.decode() != a["from"]:
        raise BadMac("rekey sealed under another key")
    new = _xor(_unhex(a["key"], KEY_LEN, "key"), _pad(old, _unhex(a["nonce"], NONCE_LEN, "n")))
    if as_key(new).kid.decode() != a["kid"]:
        raise BadMac("rekey did not open to the key it names")
    return new
