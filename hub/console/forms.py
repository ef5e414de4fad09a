"""Reading console forms and turning validation errors into messages per field.

Forms are validated by the same pydantic models as the API (``MemberCreate``, ...);
:func:`field_errors` gives one translated message per field for the template to show
beside it::

    data = form_fields(form, ["first_name", "email", "phone"])
    try:
        MemberCreate.model_validate(data)
    except ValidationError as err:
        errors = field_errors(err, t)     # {"email": "Not an email address", ...}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from hub.console.i18n import Translator

MAX_FIELD = 4000

#: pydantic "value_error" texts the models raise, and the message ids shown for them.
_VALUE_ERRORS = {
    "not an email address": "form.invalid_email",
    "not a phone number": "form.invalid_phone",
    "must not be empty": "form.required",
    "UID": "form.invalid_uid",
    "unknown IANA time zone": "form.invalid_timezone",
    "1-32 characters": "form.invalid_slug",
}

_TYPES = {
    "missing": "form.required",
    "int_parsing": "form.invalid_number",
    "int_type": "form.invalid_number",
    "bool_parsing": "form.invalid_choice",
    "enum": "form.invalid_choice",
    "literal_error": "form.invalid_choice",
    "greater_than_equal": "form.out_of_range",
    "less_than_equal": "form.out_of_range",
    "greater_than": "form.out_of_range",
    "less_than": "form.out_of_range",
    "string_too_long": "form.too_long",
}


def text_field(form: FormData, name: str, limit: int = 300) -> str:
    """One field as it was typed; ``""`` when absent, not text, or longer than *limit*
    (an overlong password or token is simply wrong, never cut to fit)."""
    value = form.get(name)
    if not isinstance(value, str) or len(value) > limit:
        return ""
    return value


def int_param(value: str | None, default: int = 0, low: int = 0, high: int = 2**31 - 1) -> int:
    """A whole number from a query or form value; *default* when it is not one or out of
    ``[low, high]`` (a page filter never answers "invalid", it just ignores it)."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 19:
        return default
    number = int(value)
    return number if low <= number <= high else default


def form_fields(form: FormData, names: Iterable[str]) -> dict[str, str | None]:
    """The named text fields, stripped; empty ones become ``None`` (absent)."""
    data: dict[str, str | None] = {}
    for name in names:
        value = form.get(name)
        text = value.strip()[: MAX_FIELD + 1] if isinstance(value, str) else ""
        data[name] = text or None
    return data


def bad_characters(data: dict[str, str | None], t: Translator) -> dict[str, str]:
    """A message for each field holding control characters (NUL and the like): they have
    no place in a name or a note, and PostgreSQL refuses NUL outright."""
    errors = {}
    for name, value in data.items():
        if value and any(ord(ch) < 32 and ch not in "\t\r\n" for ch in value):
            errors[name] = t("form.invalid_characters")
    return errors


def present(data: dict[str, str | None]) -> dict[str, str]:
    """Only the fields that were filled in."""
    return {k: v for k, v in data.items() if v is not None}


def message_for(error: dict[str, Any], t: Translator) -> str:
    """A translated message for one pydantic error."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "string_too_short":
        return t("form.required") if ctx.get("min_length") == 1 else t("form.too_short", **ctx)
    if kind in _TYPES:
        return t(_TYPES[kind], **{k: v for k, v in ctx.items() if isinstance(v, int | str)})
    if kind.startswith(("date", "datetime")):
        return t("form.invalid_date")
    if kind == "value_error":
        text = str(error.get("msg", ""))
        for needle, key in _VALUE_ERRORS.items():
            if needle in text:
                return t(key)
        return text.removeprefix("Value error, ")
    return t("form.invalid")


def field_errors(err: ValidationError, t: Translator) -> dict[str, str]:
    """One message per field (the first error of each); model-wide errors under ``""``."""
    errors: dict[str, str] = {}
    for e in err.errors():
        loc = e.get("loc") or ("",)
        name = str(loc[0]) if loc else ""
        errors.setdefault(name, message_for(dict(e), t))
    return errors
