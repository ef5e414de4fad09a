"""Why a charge was declined, in the product's own words.

Every payment gateway maps its processor's decline codes to a :class:`DeclineReason`;
billing records it and dunning decides from it what to try next::

    if reason in NEVER_RETRY:           # lost or stolen card: stop using this method
        ...
    elif reason in TRY_OTHER_METHOD:    # this method won't work again soon
        ...
"""

from __future__ import annotations

from enum import StrEnum


class DeclineReason(StrEnum):
    """A declined charge's cause, independent of the payment processor."""

    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED_CARD = "expired_card"
    DO_NOT_HONOR = "do_not_honor"
    AUTHENTICATION_REQUIRED = "authentication_required"
    LOST_CARD = "lost_card"
    STOLEN_CARD = "stolen_card"
    PICKUP_CARD = "pickup_card"
    FRAUDULENT = "fraudulent"
    INVALID_ACCOUNT = "invalid_account"
    CARD_DECLINED = "card_declined"
    PROCESSING_ERROR = "processing_error"


#: Hard declines: never charge this method again (and never retry it in dunning).
NEVER_RETRY = frozenset(
    {
        DeclineReason.LOST_CARD,
        DeclineReason.STOLEN_CARD,
        DeclineReason.PICKUP_CARD,
        DeclineReason.FRAUDULENT,
        DeclineReason.INVALID_ACCOUNT,
    }
)

#: This method will not work again without the member acting: try their other methods.
TRY_OTHER_METHOD = NEVER_RETRY | {DeclineReason.EXPIRED_CARD}

#: The member must confirm the payment themselves (3-D Secure): send them the pay link.
NEEDS_MEMBER = frozenset({DeclineReason.AUTHENTICATION_REQUIRED})
