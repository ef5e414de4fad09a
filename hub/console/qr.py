"""QR codes as inline SVG (``segno``): the TOTP enrolment URI, a gate's claim token.

::

    qr_svg('{"hub":"https://hub.club.example","token":"ghc_..."}')
"""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(data: str, *, scale: int = 4, title: str = "QR code") -> Markup:
    """*data* as an inline SVG QR code (black on white, with its quiet zone)."""
    qr = segno.make(data, error="m")
    return Markup(qr.svg_inline(scale=scale, dark="#000", light="#fff", title=title))
