"""Pay links and tracking URLs: genuine ones work, tampered or expired ones are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.dunning.actions import parse_key
from hub.dunning.kinds import ActionKind
from hub.dunning.paylink import PayLinkExpired, PayLinkInvalid, PayLinks
from hub.dunning.signing import TokenSigner, b64url
from hub.dunning.tracking import PIXEL_GIF, Tracker, TrackingTokenInvalid

SECRET = b"0123456789abcdef0123456789abcdef"
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
LINKS = PayLinks(SECRET, base_url="https://lumpini.example/portal/pay/")


def test_pay_link_round_trip() -> None:
    url = LINKS.url("m-7", "inv-9", expires_at=NOW + timedelta(days=14))
    assert url.startswith("https://lumpini.example/portal/pay/")
    claims = LINKS.verify(PayLinks.token_from_url(url), now=NOW)
    assert (claims.member_id, claims.invoice_id, claims.purpose) == ("m-7", "inv-9", "pay")
    assert claims.expires_at == NOW + timedelta(days=14)
    card = LINKS.token("m-7", "inv-9", expires_at=NOW + timedelta(days=1), purpose="update_card")
    assert LINKS.verify(card, now=NOW).purpose == "update_card"


def test_expired_link_is_refused_at_the_second() -> None:
    token = LINKS.token("m-7", "inv-9", expires_at=NOW + timedelta(hours=1))
    LINKS.verify(token, now=NOW + timedelta(minutes=59, seconds=59))
    with pytest.raises(PayLinkExpired):
        LINKS.verify(token, now=NOW + timedelta(hours=1))


def test_other_key_or_other_purpose_is_refused() -> None:
    token = LINKS.token("m-7", "inv-9", expires_at=NOW + timedelta(days=1))
    with pytest.raises(PayLinkInvalid):
        PayLinks(b"another-secret-of-32-bytes......").verify(token, now=NOW)
    tracker = Tracker(SECRET)
    with pytest.raises(TrackingTokenInvalid):
        tracker.open_event(token)  # same key, different purpose


def test_forged_claims_with_a_copied_mac_are_refused() -> None:
    token = LINKS.token("m-7", "inv-9", expires_at=NOW + timedelta(days=1))
    body, mac = token.split(".")
    forged = b64url(b'{"e":4102444800,"i":"inv-9","m":"m-8","p":"pay"}')
    with pytest.raises(PayLinkInvalid, match="signature"):
        LINKS.verify(f"{forged}.{mac}", now=NOW)


@given(position=st.integers(0, 200), replacement=st.sampled_from("AQgwxyz_-0."))
def test_any_single_character_change_is_refused(position: int, replacement: str) -> None:
    token = LINKS.token("m-7", "inv-9", expires_at=NOW + timedelta(days=1))
    position %= len(token)
    tampered = token[:position] + replacement + token[position + 1 :]
    if tampered == token:
        return
    with pytest.raises(PayLinkInvalid):
        LINKS.verify(tampered, now=NOW)


def test_non_canonical_mac_spelling_is_refused() -> None:
    token = LINKS.token("m-7", "inv-9", expires_at=NOW + timedelta(days=1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    sibling = alphabet[last ^ 1]  # a 32-byte MAC leaves the last character's low bits unused
    with pytest.raises(PayLinkInvalid):
        LINKS.verify(token[:-1] + sibling, now=NOW)


@pytest.mark.parametrize("junk", ["", ".", "abc", "a.b.c", "é.é", "x" * 5000, "e30.AAAA"])
def test_junk_is_refused(junk: str) -> None:
    with pytest.raises(PayLinkInvalid):
        LINKS.verify(junk, now=NOW)


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        TokenSigner(b"short", purpose="x")


def test_tracking_pixel_and_click_redirect() -> None:
    tracker = Tracker(SECRET, base_url="https://lumpini.example/t")
    key = "dunning:c-41:3:send_message"
    pixel = tracker.pixel_url(key)
    assert pixel.startswith("https://lumpini.example/t/o/") and pixel.endswith(".gif")
    assert tracker.open_event(pixel.rsplit("/", 1)[-1]) == key
    pay = LINKS.url("m-7", "inv-9", expires_at=NOW + timedelta(days=1))
    click = tracker.click_url(key, pay)
    event = tracker.click_event(click.rsplit("/", 1)[-1])
    assert (event.message_key, event.target) == (key, pay)
    assert parse_key(event.message_key).step == "3"
    with pytest.raises(TrackingTokenInvalid):
        tracker.click_event(pixel.rsplit("/", 1)[-1].removesuffix(".gif"))
    with pytest.raises(ValueError, match="http"):
        tracker.click_url(key, "javascript:alert(1)")
    assert PIXEL_GIF.startswith(b"GIF89a") and len(PIXEL_GIF) < 64


def test_parse_key() -> None:
    parts = parse_key("dunning:c-41:1:retry_charge:pm_visa")
    assert (parts.case_id, parts.step, parts.kind, parts.method_id) == (
        "c-41",
        "1",
        ActionKind.RETRY_CHARGE,
        "pm_visa",
    )
    assert parse_key("dunning:c-41:auth:send_message").step == "auth"
    for bad in ("x:c:1:send_message", "dunning:c:1:send_message:pm", "dunning:c:1:retry_charge"):
        with pytest.raises(ValueError):
            parse_key(bad)
