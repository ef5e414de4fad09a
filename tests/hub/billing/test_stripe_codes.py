"""Stripe's decline codes in the product's terms."""

from __future__ import annotations

import pytest

from hub.billing.declines import NEVER_RETRY, DeclineReason
from hub.billing.stripe_codes import decline_reason_from_codes


@pytest.mark.parametrize(
    ("code", "decline_code", "reason"),
    [
        ("card_declined", "insufficient_funds", DeclineReason.INSUFFICIENT_FUNDS),
        ("expired_card", "expired_card", DeclineReason.EXPIRED_CARD),
        ("expired_card", None, DeclineReason.EXPIRED_CARD),
        ("card_declined", "do_not_honor", DeclineReason.DO_NOT_HONOR),
        ("authentication_required", None, DeclineReason.AUTHENTICATION_REQUIRED),
        ("card_declined", "lost_card", DeclineReason.LOST_CARD),
        ("card_declined", "stolen_card", DeclineReason.STOLEN_CARD),
        ("card_declined", "pickup_card", DeclineReason.PICKUP_CARD),
        ("card_declined", "fraudulent", DeclineReason.FRAUDULENT),
        ("card_declined", "generic_decline", DeclineReason.CARD_DECLINED),
        ("processing_error", None, DeclineReason.PROCESSING_ERROR),
        ("incorrect_number", None, DeclineReason.INVALID_ACCOUNT),
        ("card_declined", None, DeclineReason.CARD_DECLINED),  # localstripe's shape
        ("card_declined", "a_code_stripe_adds_next_year", DeclineReason.CARD_DECLINED),
        (None, None, DeclineReason.CARD_DECLINED),
    ],
)
def test_codes_map_to_reasons(
    code: str | None, decline_code: str | None, reason: DeclineReason
) -> None:
    assert decline_reason_from_codes(code, decline_code) is reason


def test_hard_declines_stay_hard() -> None:
    for decline_code in (
        "lost_card",
        "stolen_card",
        "pickup_card",
        "fraudulent",
        "restricted_card",
    ):
        assert decline_reason_from_codes("card_declined", decline_code) in NEVER_RETRY
