"""Open and click tracking for dunning messages, per message (and so per policy step).

Each email carries a 1x1 pixel whose URL names the message's idempotency key, and its
links go through a redirect that records the click before sending the member on. Both
URLs are signed, so nobody can forge opens or turn the redirect into an open redirect::

    tracker = Tracker(secret, base_url="https://lumpini.example/t")
    pixel = tracker.pixel_url("dunning:c-41:3:send_message")
    link = tracker.click_url("dunning:c-41:3:send_message", pay_url)
    # the hub's routes:  GET /t/o/<token>.gif  ->  tracker.open_event(token), PIXEL_GIF
    #                    GET /t/c/<token>      ->  tracker.click_event(token).target (302)

The message key says which case and step the event belongs to
(:func:`hub.dunning.actions.parse_key`), which is what the analytics group by.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from hub.dunning.signing import BadToken, TokenSigner

#: A transparent 1x1 GIF, served for the tracking pixel.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


class TrackingTokenInvalid(ValueError):
    """A tracking URL that was not minted by this hub (or was altered)."""


@dataclass(frozen=True)
class ClickEvent:
    """A click on a tracked link: which message it was in, and where it leads."""

    message_key: str
    target: str


class Tracker:
    """Makes and reads tracking URLs.

    :param secret: signing key (at least 16 bytes).
    :param base_url: where the hub serves ``/o/<token>.gif`` and ``/c/<token>``.
    """

    def __init__(self, secret: bytes, base_url: str = "http://127.0.0.1:8000/t") -> None:
        self._opens = TokenSigner(secret, purpose="track-open")
        self._clicks = TokenSigner(secret, purpose="track-click")
        self.base_url = base_url.rstrip("/")

    def pixel_url(self, message_key: str) -> str:
        """The tracking pixel's URL for the message with *message_key*."""
        return f"{self.base_url}/o/{self._opens.sign({'k': message_key})}.gif"

    def click_url(self, message_key: str, target: str) -> str:
        """A redirect to *target* that records a click on the message with *message_key*."""
        if not target.startswith(("https://", "http://")):
            raise ValueError(f"tracked links must be http(s) URLs (got {target!r})")
        return f"{self.base_url}/c/{self._clicks.sign({'k': message_key, 'u': target})}"

    def open_event(self, token: str) -> str:
        """The message key of a pixel token (with or without the ``.gif`` suffix)."""
        payload = self._read(self._opens, token.removesuffix(".gif"))
        key = payload.get("k")
        if not isinstance(key, str):
            raise TrackingTokenInvalid("malformed tracking token")
        return key

    def click_event(self, token: str) -> ClickEvent:
        """The message key and target of a click token."""
        payload = self._read(self._clicks, token)
        key, target = payload.get("k"), payload.get("u")
        if not isinstance(key, str) or not isinstance(target, str):
            raise TrackingTokenInvalid("malformed tracking token")
        return ClickEvent(key, target)

    @staticmethod
    def _read(signer: TokenSigner, token: str) -> dict[str, object]:
        try:
            return signer.unsign(token)
        except BadToken as err:
            raise TrackingTokenInvalid(str(err)) from err
