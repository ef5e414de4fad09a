"""Passwords, tokens and secrets at rest.

* Console users' passwords: argon2 (:func:`hash_password`, :func:`verify_password`).
* API tokens, session tokens and gate claim tokens: random, shown once, stored as a
  SHA-256 hash (:func:`new_token`, :func:`token_hash`); a leaked database reveals none.
* Gate MQTT passwords: stored only in the PBKDF2-SHA512 form Mosquitto's password file
  uses (:func:`mosquitto_hash`), so ``broker-config`` can write it out as it is.
* Gate HMAC keys and site card secrets, which the hub must use: sealed with the hub's
  secret key (:class:`SecretBox`), encrypt-then-MAC from HMAC-SHA256 in counter mode::

    box = SecretBox(settings.secret_key)
    stored = box.seal(gate_key)          # "v1.<nonce>.<ciphertext>.<tag>" text
    box.open(stored) == gate_key
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of *password*."""
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    """True if *password* matches an argon2 *hashed* value."""
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str = "gh") -> str:
    """A fresh random token such as ``gh_3q2...`` (to show once, then hash)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    """The SHA-256 hex digest a token is stored and looked up as."""
    return hashlib.sha256(token.encode()).hexdigest()


def mosquitto_hash(password: str, salt: bytes | None = None, iterations: int = 101) -> str:
    """Hash *password* as Mosquitto 2's ``mosquitto_passwd`` does (``$7$`` PBKDF2-SHA512)."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    b64 = base64.b64encode
    return f"$7${iterations}${b64(salt).decode()}${b64(digest).decode()}"


class SecretError(ValueError):
    """A sealed secret was altered, or sealed under another key."""


class SecretBox:
    """Seal and open small secrets with a key derived from the hub's secret key.

    :param secret_key: the hub's ``GATEHOUSE_SECRET_KEY``.
    """

    def __init__(self, secret_key: str) -> None:
        root = hashlib.sha256(secret_key.encode()).digest()
        self._enc = hmac.digest(root, b"gatehouse-secretbox-enc", "sha256")
        self._mac = hmac.digest(root, b"gatehouse-secretbox-mac", "sha256")

    def _stream(self, nonce: bytes, size: int) -> bytes:
        out = bytearray()
        counter = 0
        while len(out) < size:
            out += hmac.digest(self._enc, nonce + counter.to_bytes(4, "big"), "sha256")
            counter += 1
        return bytes(out[:size])

    def seal(self, plaintext: bytes) -> str:
        """Encrypt and authenticate *plaintext*; returns printable text."""
        nonce = secrets.token_bytes(16)
        ct = bytes(
            a ^ b for a, b in zip(plaintext, self._stream(nonce, len(plaintext)), strict=True)
        )
        tag = hmac.digest(self._mac, nonce + ct, "sha256")
        return "v1." + ".".join(base64.urlsafe_b64encode(x).decode() for x in (nonce, ct, tag))

    def open(self, sealed: str) -> bytes:
        """Return the plaintext of *sealed*, or raise :class:`SecretError`."""
        try:
            version, *parts = sealed.split(".")
            nonce, ct, tag = (base64.urlsafe_b64decode(p) for p in parts)
        except (ValueError, TypeError):
            raise SecretError("not a sealed secret") from None
        if version != "v1" or not hmac.compare_digest(
            tag, hmac.digest(self._mac, nonce + ct, "sha256")
        ):
            raise SecretError("sealed secret does not verify under this key")
        return bytes(a ^ b for a, b in zip(ct, self._stream(nonce, len(ct)), strict=True))


def token_box(token: str) -> SecretBox:
    """A :class:`SecretBox` keyed by a one-time token (claim secrets wait under it)."""
    return SecretBox("claim:" + token)
