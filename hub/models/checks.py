"""Field checks shared by the models: each returns the cleaned value or raises ValueError.

Pydantic turns the ``ValueError`` into a 422 response naming the field, e.g.
``{"loc": ["body", "email"], "msg": "Value error, not an email address"}``.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from protocol.topics import valid_id

_EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{5,23}$")


def check_slug(value: str | None) -> str | None:
    """A topic id: 1-32 characters of ``a-z 0-9 _ -``."""
    if value is None:
        return value
    if not valid_id(value):
        raise ValueError("1-32 characters of a-z, 0-9, '_' and '-'")
    return value


def check_name(value: str | None) -> str | None:
    """A name with surrounding blanks removed, not empty."""
    if value is None:
        return value
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def check_timezone(value: str | None) -> str | None:
    """An IANA time zone name known to ``zoneinfo``."""
    if value is None:
        return value
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown IANA time zone, e.g. Asia/Bangkok") from None
    return value


def check_email(value: str | None) -> str | None:
    """An email address (lower-cased domain, no blanks)."""
    if value is None:
        return value
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("not an email address")
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def check_phone(value: str | None) -> str | None:
    """A phone number: digits with optional leading ``+``, spaces, dashes, brackets."""
    if value is None:
        return value
    value = value.strip()
    if not value:
        return None
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE.match(value) or not 6 <= digits <= 15:
        raise ValueError("not a phone number, e.g. +66 81 234 5678")
    return value
