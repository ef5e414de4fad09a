"""HMAC-SHA256 for the protocol, on CPython and on MicroPython.

MicroPython has no ``hmac`` module, so :class:`MacKey` builds HMAC (RFC 2104) from
``hashlib.sha256``, with the padded inner and outer keys computed once per key.  On
CPython the stdlib's C implementation is used; the two agree byte for byte (the shared
test vectors check it on both interpreters)::

    key = MacKey(b"gate-secret")
    tag = key.digest(b"body")        # 32 bytes
    key.hexdigest(b"body")           # 64 lowercase hex characters, as bytes
    key.kid                          # b"1f2e3d4c": names the key, reveals nothing

The key id lets a receiver tell "sealed under a key I don't hold" from "forged or
corrupted", and pick the right key while a gate's key is being rotated.
"""

import binascii
import hashlib

try:
    import hmac as _hmac
except ImportError:  # MicroPython
    _hmac = None

_BLOCK = 64
_KID_TAG = b"gatehouse-key-id:"


class MacKey:
    """A secret key ready to compute HMAC-SHA256 tags.

    :param bytes key: the secret, any length (keys longer than 64 bytes are hashed
        first, as RFC 2104 says).
    """

    def __init__(self, key):
        if isinstance(key, str):
            key = key.encode()
        self.key = bytes(key)
        self.kid = binascii.hexlify(hashlib.sha256(_KID_TAG + self.key).digest()[:4])
        if _hmac is None:
            k = self.key
            if len(k) > _BLOCK:
                k = hashlib.sha256(k).digest()
            k = k + bytes(_BLOCK - len(k))
            self._ipad = bytes([b ^ 0x36 for b in k])
            self._opad = bytes([b ^ 0x5C for b in k])

    def digest(self, msg):
        """Return the 32-byte HMAC-SHA256 tag of *msg*."""
        if _hmac is not None:
            return _hmac.digest(self.key, msg, "sha256")
        inner = hashlib.sha256(self._ipad)
        inner.update(msg)
        outer = hashlib.sha256(self._opad)
        outer.update(inner.digest())
        return outer.digest()

    def hexdigest(self, msg):
        """Return the tag as 64 lowercase hex characters (``bytes``)."""
        return binascii.hexlify(self.digest(msg))

    def __repr__(self):
        return "<MacKey %s>" % self.kid.decode()


def hmac_sha256(key, msg):
    """One-shot HMAC-SHA256 of *msg* under *key* (32 bytes)."""
    return MacKey(key).digest(msg)


def equal(a, b):
    """Compare two byte strings in time independent of where they differ."""
    if _hmac is not None:
        return _hmac.compare_digest(a, b)
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


def as_key(key):
    """Return *key* as a :class:`MacKey` (pass-through when it already is one)."""
    if isinstance(key, MacKey):
        return key
    return MacKey(key)
