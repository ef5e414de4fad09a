"""The billing pages' words: Thai and English hold the same messages with the same
placeholders, none shadows a console message, and every message the billing pages ask
for exists (in their catalog or the console's)."""

from __future__ import annotations

import json
import string

from hub.billing.console import LOCALES as BILLING_LOCALES
from hub.billing.console import TEMPLATES
from hub.console.i18n import LOCALES
from tests.hub.console.test_i18n import DYNAMIC, LITERAL_KEYS


def _catalog(folder, lang: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return json.loads((folder / f"{lang}.json").read_text(encoding="utf-8"))


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_thai_and_english_match_and_add_to_the_console_catalog() -> None:
    en, th = _catalog(BILLING_LOCALES, "en"), _catalog(BILLING_LOCALES, "th")
    assert set(en) == set(th)
    for key in en:
        assert _fields(en[key]) == _fields(th[key]), key
        assert th[key].strip() and th[key] != en[key] or key.startswith("plans.tax"), key
    assert not set(en) & set(_catalog(LOCALES, "en"))


def test_every_message_the_billing_pages_use_exists() -> None:
    known = {**_catalog(LOCALES, "en"), **_catalog(BILLING_LOCALES, "en")}
    sources = [*TEMPLATES.rglob("*.html"), *TEMPLATES.parent.glob("*.py")]
    text = [f.read_text(encoding="utf-8") for f in sources]
    used = {k for t in text for k in LITERAL_KEYS.findall(t) if not k.endswith(("_", "."))}
    assert len(used) > 100
    assert sorted(k for k in used if k not in known) == []
    for prefix in {k for t in text for k in DYNAMIC.findall(t)}:
        assert any(k.startswith(prefix) for k in known), prefix
    forms = (TEMPLATES.parent / "forms.py").read_text(encoding="utf-8")
    for key in ("billing.error.negative", "billing.error.currency", "billing.error.interval_zero"):
        assert key in forms and key in known
