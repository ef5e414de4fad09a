"""Short signed tokens for links: HMAC-SHA256 over a compact JSON payload.

A token is ``<payload>.<mac>``, both base64url without padding, so it fits in a URL path.
Each use (pay links, open tracking, click tracking) signs under its own *purpose*, so a
token minted for one can never be replayed as another::

    signer = TokenSigner(secret, purpose="pay-link")
    token = signer.sign({"m": "m-7", "i": "inv-9", "e": 1796083200})
    signer.unsign(token)      # {'m': 'm-7', 'i': 'inv-9', 'e': 1796083200}

Verification compares MACs in constant time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

#: A secret shorter than this is refused: 16 random bytes is the least worth having.
MIN_SECRET_BYTES = 16


class BadToken(ValueError):
    """A token that was altered, truncated, minted for another purpose or with another key."""


def b64url(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """Inverse of :func:`b64url`; raises :class:`BadToken` on malformed input."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as err:
        raise BadToken("malformed token") from err


class TokenSigner:
    """Signs and verifies small JSON payloads.

    :param secret: the key (at least 16 bytes); keep it in the hub's settings.
    :param purpose: separates token families that share a key.
    """

    def __init__(self, secret: bytes, purpose: str) -> None:
        if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"a signing secret needs at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self.purpose = purpose

    def _mac(self, body: str) -> bytes:
        message = f"{self.purpose}.{body}".encode("ascii")
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def sign(self, payload: dict[str, object]) -> str:
        """A token carrying *payload* (JSON-serialisable)."""
        raw = json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        body = b64url(raw.encode("utf-8"))
        return f"{body}.{b64url(self._mac(body))}"

    def unsign(self, token: str) -> dict[str, object]:
        """The payload of a genuine *token*; raises :class:`BadToken` otherwise."""
        if not isinstance(token, str) or token.count(".") != 1 or len(token) > 4096:
            raise BadToken("malformed token")
        body, mac = token.split(".")
        if not (body.isascii() and mac.isascii()):
            raise BadToken("malformed token")
        # Compare the canonical text form: a MAC spelt differently (unused base64 bits
        # flipped) is refused too.
        if not hmac.compare_digest(mac.encode("ascii"), b64url(self._mac(body)).encode("ascii")):
            raise BadToken("signature does not match")
        try:
            payload = json.loads(unb64url(body))
        except ValueError as err:  # cannot happen for tokens we signed
            raise BadToken("malformed payload") from err
        if not isinstance(payload, dict):
            raise BadToken("malformed payload")
        return payload
