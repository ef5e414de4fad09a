"""Thai and English: both catalogs hold the same messages with the same placeholders,
every message a page asks for exists, and the language follows the user."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

from hub.console.i18n import LOCALES, Catalog
from hub.models import Role, User
from tests.hub.console.conftest import Console, email_of, login

CONSOLE = Path(__file__).resolve().parents[3] / "hub" / "console"
LITERAL_KEYS = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z_.0-9]+)["']""")
DYNAMIC = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z_.0-9]*)["']\s*~""")


def _catalog(lang: str) -> dict[str, str]:
    return json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_thai_and_english_have_the_same_messages_and_placeholders() -> None:
    en, th = _catalog("en"), _catalog("th")
    assert set(en) == set(th)
    for key in en:
        assert _fields(en[key]) == _fields(th[key]), key
        assert th[key].strip(), key


def test_every_message_a_page_uses_exists() -> None:
    en = _catalog("en")
    sources = [*CONSOLE.rglob("*.html"), *CONSOLE.rglob("*.py")]
    used = {
        k
        for f in sources
        for k in LITERAL_KEYS.findall(f.read_text(encoding="utf-8"))
        if not k.endswith(("_", "."))  # prefixes of t("status." ~ s), checked below
    }
    assert len(used) > 150
    assert sorted(k for k in used if k not in en) == []
    prefixes = {k for f in sources for k in DYNAMIC.findall(f.read_text(encoding="utf-8"))}
    for prefix in prefixes:  # t("status." ~ s) and the like
        assert any(k.startswith(prefix) for k in en), prefix
    for family, members in {
        "status.": ("active", "suspended", "cancelled"),
        "role.": ("owner", "manager", "front_desk", "installer"),
        "reason.": ("granted", "unknown", "expired", "wrong_zone", "schedule", "blocked",
                    "passback", "no_visits", "no_list", "remote", "reentry", "clock"),
    }.items():  # fmt: skip
        assert all(family + m in en for m in members), family


def test_translator_falls_back_to_english_then_the_id(tmp_path: Path) -> None:
    (tmp_path / "en.json").write_text('{"extra.hello": "Hello {name}"}', encoding="utf-8")
    catalog = Catalog.load([LOCALES, tmp_path])
    th = catalog.translator("th")
    assert th("nav.members") == "สมาชิก"
    assert th("extra.hello", name="Ana") == "Hello Ana"  # no Thai yet: English
    assert th("no.such.message") == "no.such.message"
    assert catalog.translator("xx")("nav.members") == "Members"


def test_language_switch_is_kept_per_user(console: Console) -> None:
    client = console.client(Role.FRONT_DESK)
    assert "Members" in client.get("/console/members").text
    answer = client.post(
        "/console/account/language",
        data={"csrf_token": console.csrf(client), "language": "th", "next": "/console/members"},
    )
    assert answer.headers["location"] == "/console/members"
    page = client.get("/console/members").text
    assert '<html lang="th">' in page and "ค้นหา" in page and "ออกจากระบบ" in page
    with console.session() as s:
        assert s.get(User, console.users[Role.FRONT_DESK].id).language == "th"  # type: ignore[union-attr]
    again = console.anonymous()
    login(again, email_of(Role.FRONT_DESK))
    assert "ค้นหา" in again.get("/console/members").text
    other = console.client(Role.MANAGER)
    assert '<html lang="en">' in other.get("/console/members").text


def test_login_page_language_links(console: Console) -> None:
    client = console.anonymous()
    page = client.get("/console/login", params={"lang": "th"})
    assert "เข้าสู่ระบบ" in page.text
    assert "เข้าสู่ระบบ" in client.get("/console/login").text  # remembered by cookie
    login(client, email_of(Role.MANAGER))
    assert '<html lang="th">' in client.get("/console/dashboard").text
