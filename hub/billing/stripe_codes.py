"""Stripe's decline and error codes in the product's terms (:class:`DeclineReason`).

Stripe reports a failed card payment with an error ``code`` (``card_declined``,
``expired_card``, ``authentication_required``, ...) and, for issuer declines, a
``decline_code`` (``insufficient_funds``, ``lost_card``, ``do_not_honor``, ...). The
decline code is the more precise of the two, so it wins when present::

    decline_reason_from_codes("card_declined", "insufficient_funds")
    # DeclineReason.INSUFFICIENT_FUNDS
    decline_reason_from_codes("expired_card", None)          # DeclineReason.EXPIRED_CARD
    decline_reason_from_codes("card_declined", "something_new")  # DeclineReason.CARD_DECLINED
"""

from __future__ import annotations

from hub.billing.declines import DeclineReason

_BY_DECLINE_CODE = {
    "insufficient_funds": DeclineReason.INSUFFICIENT_FUNDS,
    "card_velocity_exceeded": DeclineReason.INSUFFICIENT_FUNDS,
    "withdrawal_count_limit_exceeded": DeclineReason.INSUFFICIENT_FUNDS,
    "expired_card": DeclineReason.EXPIRED_CARD,
    "do_not_honor": DeclineReason.DO_NOT_HONOR,
    "authentication_required": DeclineReason.AUTHENTICATION_REQUIRED,
    "lost_card": DeclineReason.LOST_CARD,
    "stolen_card": DeclineReason.STOLEN_CARD,
    "pickup_card": DeclineReason.PICKUP_CARD,
    "restricted_card": DeclineReason.PICKUP_CARD,
    "fraudulent": DeclineReason.FRAUDULENT,
    "merchant_blacklist": DeclineReason.FRAUDULENT,
    "invalid_account": DeclineReason.INVALID_ACCOUNT,
    "incorrect_number": DeclineReason.INVALID_ACCOUNT,
    "invalid_number": DeclineReason.INVALID_ACCOUNT,
    "processing_error": DeclineReason.PROCESSING_ERROR,
    "try_again_later": DeclineReason.PROCESSING_ERROR,
    "issuer_not_available": DeclineReason.PROCESSING_ERROR,
    "reenter_transaction": DeclineReason.PROCESSING_ERROR,
    "generic_decline": DeclineReason.CARD_DECLINED,
}

_BY_CODE = {
    "expired_card": DeclineReason.EXPIRED_CARD,
    "authentication_required": DeclineReason.AUTHENTICATION_REQUIRED,
    "processing_error": DeclineReason.PROCESSING_ERROR,
    "incorrect_number": DeclineReason.INVALID_ACCOUNT,
    "invalid_number": DeclineReason.INVALID_ACCOUNT,
    "card_declined": DeclineReason.CARD_DECLINED,
}


def decline_reason_from_codes(code: str | None, decline_code: str | None) -> DeclineReason:
    """The :class:`DeclineReason` for a Stripe error's ``code`` and ``decline_code``.

    Unknown codes become :attr:`DeclineReason.CARD_DECLINED` (a soft decline: dunning
    may retry), never an exception: processors add codes over time.
    """
    if decline_code and decline_code in _BY_DECLINE_CODE:
        return _BY_DECLINE_CODE[decline_code]
    if code and code in _BY_CODE:
        return _BY_CODE[code]
    return DeclineReason.CARD_DECLINED
