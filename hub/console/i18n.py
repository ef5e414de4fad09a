"""The console's words in Thai and English: one flat JSON catalog per language.

``locales/en.json`` and ``locales/th.json`` map message ids to text, with ``{name}``
placeholders::

    catalog = Catalog.load([LOCALES])
    t = catalog.translator("th")
    t("members.count", count=3)       # 'สมาชิก 3 คน'

A missing Thai message falls back to English, and a missing English one to its id, so
a page never breaks on a missing word (``tests/hub/console`` checks both catalogs hold
the same ids).  Parts added later ship their own ``<lang>.json`` files in a folder of
their own and pass it to :func:`hub.console.mount_console` (``locale_dirs=``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

LOCALES = Path(__file__).resolve().parent / "locales"

#: Languages the console speaks, with each one's own name for itself.
LANGUAGES: dict[str, str] = {"en": "English", "th": "ไทย"}
DEFAULT_LANGUAGE = "en"


def normalise_language(value: str | None) -> str:
    """*value* if the console speaks it, else the default (English)."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Translator:
    """``t(message_id, **params)`` in one language.

    :param language: ``"en"`` or ``"th"``.
    :param messages: that language's messages.
    :param fallback: the English messages.
    """

    def __init__(
        self, language: str, messages: Mapping[str, str], fallback: Mapping[str, str]
    ) -> None:
        self.language = language
        self._messages = messages
        self._fallback = fallback

    def __call__(self, key: str, **params: Any) -> str:
        text = self._messages.get(key)
        if text is None:
            text = self._fallback.get(key, key)
        return text.format_map(_Params(params)) if params else text

    def has(self, key: str) -> bool:
        """True if *key* is a known message id."""
        return key in self._messages or key in self._fallback

    def __repr__(self) -> str:
        return f"<Translator {self.language} {len(self._messages)} messages>"


class Catalog:
    """Every language's messages, merged from one or more folders (later ones win)."""

    def __init__(self, messages: dict[str, dict[str, str]]) -> None:
        self.messages = messages

    @classmethod
    def load(cls, folders: Iterable[Path]) -> Catalog:
        """Read ``<language>.json`` from each folder in turn."""
        messages: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
        for folder in folders:
            for lang in LANGUAGES:
                path = Path(folder) / f"{lang}.json"
                if path.exists():
                    data = json.loads(path.read_text(encoding="utf-8"))
                    messages[lang].update({str(k): str(v) for k, v in data.items()})
        return cls(messages)

    def translator(self, language: str | None) -> Translator:
        """A :class:`Translator` for *language* (English if unknown)."""
        lang = normalise_language(language)
        return Translator(lang, self.messages[lang], self.messages[DEFAULT_LANGUAGE])

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in self.messages.items())
        return f"<Catalog {sizes}>"
