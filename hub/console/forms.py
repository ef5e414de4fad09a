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


def form_fields(form: FormData, names: Iterable[str]) -> dict[str, str | None]:
    """The named text fields, stripped; empty ones become ``None`` (absent)."""
    data: dict[str, str | None] = {}
    for name in names:
        value = form.get(name)
        text = value.strip()[: MAX_FIELD + 1] if isinstance(value, str) else ""
        data[name] = text or None
    return data


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
