"""The portal's words: both languages hold the same ids and placeholders, and every
message a template or the code names exists (audit action names aside)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hub.console.i18n import LOCALES
from hub.portal.web import PORTAL_LOCALES, TEMPLATES

HERE = Path(__file__).resolve().parents[3] / "hub" / "portal"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_LITERAL = re.compile(r"""t\(\s*["']((?:portal|form|common|nav)\.[a-z0-9_.]+)["']""")
_CODE_KEY = re.compile(r"""(?<!action=)["']((?:portal|form)\.[a-z_]+\.[a-z0-9_.]+)["']""")


def _catalog(folder: Path, lang: str) -> dict[str, str]:
    return json.loads((folder / f"{lang}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_english_and_thai_hold_the_same_ids_and_placeholders() -> None:
    for folder in (PORTAL_LOCALES, HERE / "console" / "locales"):
        en, th = _catalog(folder, "en"), _catalog(folder, "th")
        assert set(en) == set(th), folder
        for key in en:
            assert set(_PLACEHOLDER.findall(en[key])) == set(_PLACEHOLDER.findall(th[key])), key


def test_every_message_named_by_a_template_or_the_code_exists() -> None:
    known = set(_catalog(PORTAL_LOCALES, "en")) | set(_catalog(LOCALES, "en"))
    named = set()
    for path in TEMPLATES.glob("*.html"):
        named |= {k for k in _LITERAL.findall(path.read_text(encoding="utf-8"))
                  if not k.endswith((".", "_"))}  # fmt: skip
    for path in HERE.rglob("*.py"):
        named |= {k for k in _CODE_KEY.findall(path.read_text(encoding="utf-8"))
                  if not k.endswith((".", "_"))}  # fmt: skip
    assert named, "no message ids found"
    assert sorted(named - known) == []
