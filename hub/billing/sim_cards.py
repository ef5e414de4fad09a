"""Test card numbers the simulated gateway understands, and what each one does.

The numbers are Stripe's documented test cards (so a club can rehearse with the same
cards on either gateway), plus one the simulator adds for *do not honor*. Any other
number is refused: no real card number is ever accepted, let alone stored.

=====================  ===========================================  =====================
number                 Stripe test PaymentMethod                    charge outcome
=====================  ===========================================  =====================
4242 4242 4242 4242    ``pm_card_visa``                             succeeds
5555 5555 5555 4444    ``pm_card_mastercard``                       succeeds
3782 822463 10005      ``pm_card_amex``                             succeeds
3566 0020 2036 0505    ``pm_card_jcb``                              succeeds
4000 0000 0000 9995    ``pm_card_chargeDeclinedInsufficientFunds``  declined: insufficient_funds
4000 0000 0000 0069    ``pm_card_chargeDeclinedExpiredCard``        declined: expired_card
4000 0000 0000 9938    (simulator only)                             declined: do_not_honor
4000 0000 0000 9987    ``pm_card_chargeDeclinedLostCard``           declined: lost_card
4000 0000 0000 9979    ``pm_card_chargeDeclinedStolenCard``         declined: stolen_card
4000 0000 0000 0002    ``pm_card_chargeDeclined``                   declined: card_declined
4000 0000 0000 0341    ``pm_card_chargeCustomerFail``               declined: card_declined
4000 0000 0000 0119    ``pm_card_chargeDeclinedProcessingError``    declined: processing_error
4000 0027 6000 3184    ``pm_card_authenticationRequired``           requires_action
4000 0000 0000 0259    ``pm_card_createDispute``                    succeeds, then disputed
=====================  ===========================================  =====================

A saved card whose expiry month has passed (by the gateway's clock) is declined as
``expired_card`` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hub.billing.declines import DeclineReason


class Outcome(StrEnum):
    """What charging a test card does."""

    SUCCEED = "succeed"
    DECLINE = "decline"
    REQUIRE_ACTION = "require_action"
    DISPUTE = "dispute"  # succeeds, then the member's bank opens a dispute


@dataclass(frozen=True, slots=True)
class SimCard:
    """One test card: its brand and what charging it does.

    :param code: the processor code a decline reports (``card_declined``, ...).
    :param decline_code: the issuer's decline code, as Stripe reports it.
    """

    number: str
    brand: str
    outcome: Outcome
    reason: DeclineReason | None = None
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None

    @property
    def last4(self) -> str:
        """The last four digits, all a saved method keeps of the number."""
        return self.number[-4:]


_DECLINED = "Your card was declined."


def _declined(number: str, reason: DeclineReason, code: str, message: str = _DECLINED) -> SimCard:
    return SimCard(number, "visa", Outcome.DECLINE, reason, code, reason.value, message)


SIM_CARDS: dict[str, SimCard] = {
    card.number: card
    for card in (
        SimCard("4242424242424242", "visa", Outcome.SUCCEED),
        SimCard("5555555555554444", "mastercard", Outcome.SUCCEED),
        SimCard("378282246310005", "amex", Outcome.SUCCEED),
        SimCard("3566002020360505", "jcb", Outcome.SUCCEED),
        _declined(
            "4000000000009995",
            DeclineReason.INSUFFICIENT_FUNDS,
            "card_declined",
            "Your card has insufficient funds.",
        ),
        _declined(
            "4000000000000069", DeclineReason.EXPIRED_CARD, "expired_card", "Your card has expired."
        ),
        _declined("4000000000009938", DeclineReason.DO_NOT_HONOR, "card_declined"),
        _declined("4000000000009987", DeclineReason.LOST_CARD, "card_declined"),
        _declined("4000000000009979", DeclineReason.STOLEN_CARD, "card_declined"),
        SimCard(
            "4000000000000002",
            "visa",
            Outcome.DECLINE,
            DeclineReason.CARD_DECLINED,
            "card_declined",
            "generic_decline",
            _DECLINED,
        ),
        SimCard(
            "4000000000000341",
            "visa",
            Outcome.DECLINE,
            DeclineReason.CARD_DECLINED,
            "card_declined",
            "generic_decline",
            _DECLINED,
        ),
        _declined(
            "4000000000000119",
            DeclineReason.PROCESSING_ERROR,
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        ),
        SimCard(
            "4000002760003184",
            "visa",
            Outcome.REQUIRE_ACTION,
            DeclineReason.AUTHENTICATION_REQUIRED,
            "authentication_required",
            "authentication_required",
            "Your card was declined. This transaction requires authentication.",
        ),
        SimCard("4000000000000259", "visa", Outcome.DISPUTE),
    )
}

#: Stripe's test PaymentMethod ids, accepted in place of the numbers above.
TEST_METHOD_ALIASES: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_jcb": "3566002020360505",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_createDispute": "4000000000000259",
}


def luhn_valid(number: str) -> bool:
    """True if *number* (digits only) passes the Luhn check every card number passes."""
    if not (number.isascii() and number.isdigit()) or not 12 <= len(number) <= 19:
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def lookup_sim_card(source: str) -> SimCard:
    """The :class:`SimCard` for a number (spaces and dashes allowed) or a ``pm_card_*``
    alias; raises ``ValueError`` for anything else, without echoing a number back."""
    if source in TEST_METHOD_ALIASES:
        return SIM_CARDS[TEST_METHOD_ALIASES[source]]
    digits = source.replace(" ", "").replace("-", "")
    if not luhn_valid(digits):
        raise ValueError("not a valid card number")
    card = SIM_CARDS.get(digits)
    if card is None:
        raise ValueError(
            "the simulated gateway takes only its documented test cards (e.g. 4242 4242 4242 4242)"
        )
    return card


_BY_LAST4 = {card.last4: card for card in SIM_CARDS.values()}
if len(_BY_LAST4) != len(SIM_CARDS):  # pragma: no cover - guards edits to the table
    raise RuntimeError("test cards must differ in their last four digits")


def sim_card_for_last4(last4: str) -> SimCard:
    """The test card a saved method stands for (the ledger keeps only the last four)."""
    return _BY_LAST4[last4]
