"""Card keys: what a gate stores and reports instead of a card's UID.

``card_key = HMAC-SHA256(site_card_secret, uid)[:8]``.  Access lists and check-ins
carry only card keys, so a leaked list or log does not reveal card numbers that could be
cloned, and a key from one site means nothing at another::

    >>> card_key(b"site-secret", bytes.fromhex("04a1b2c3d4e5f6")).hex()
    '...16 hex characters...'
"""

from protocol.errors import Malformed
from protocol.mac import as_key

KEY_SIZE = 8
UID_SIZES = (4, 7, 10)


def card_key(site_card_secret, uid):
    """Return the 8-byte card key of *uid* (4, 7 or 10 bytes) at a site."""
    if not isinstance(uid, (bytes, bytearray)) or len(uid) not in UID_SIZES:
        raise Malformed("a card UID is 4, 7 or 10 bytes")
    return as_key(site_card_secret).digest(bytes(uid))[:KEY_SIZE]


def parse_uid(text):
    """Parse a UID typed by a person: hex with optional ``:``, ``-`` or spaces."""
    cleaned = ""
    for ch in text.strip().lower():
        if ch in ":- ":
            continue
        cleaned += ch
    try:
        uid = bytes.fromhex(cleaned)
    except ValueError:
        raise Malformed("UID must be hex, e.g. 04:A1:B2:C3") from None
    if len(uid) not in UID_SIZES:
        raise Malformed("a card UID is 4, 7 or 10 bytes, got %d" % len(uid))
    return uid
