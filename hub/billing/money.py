"""Money: integer minor units plus an ISO 4217 currency code.

Amounts are never floats. 1,070.00 Thai baht is ``Money(107000, "THB")``; 1,000 yen is
``Money(1000, "JPY")`` because the yen has no minor unit::

    price = Money(107000, "THB")
    price + Money(500, "THB")         # Money(107500, 'THB')
    price.format()                    # 'THB 1,070.00'
    Money.parse("19.99", "usd")       # Money(1999, 'USD')
    Money(1, "XYZ")                   # UnknownCurrency: 'XYZ' is not an ISO 4217 currency ...

Mixing currencies raises :class:`CurrencyMismatch`; an unknown code raises
:class:`UnknownCurrency`. The exponent (digits after the decimal point) of every active
ISO 4217 currency is in :data:`CURRENCY_EXPONENTS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_TWO_DIGIT = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB "
    "EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS "
    "KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN "
    "MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD "
    "SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS "
    "UAH USD USN UYU UZS VES WST XCD YER ZAR ZMW ZWG"
)
_ZERO_DIGIT = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DIGIT = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DIGIT = "CLF UYW"

#: Digits after the decimal point for each ISO 4217 currency (THB 2, USD 2, JPY 0, KWD 3).
CURRENCY_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_TWO_DIGIT.split(), 2),
    **dict.fromkeys(_ZERO_DIGIT.split(), 0),
    **dict.fromkeys(_THREE_DIGIT.split(), 3),
    **dict.fromkeys(_FOUR_DIGIT.split(), 4),
}


class UnknownCurrency(ValueError):
    """A currency code that is not an active ISO 4217 code."""


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


def normalize_currency(code: str) -> str:
    """The upper-case ISO 4217 code for *code*, or raise :class:`UnknownCurrency`.

    ``normalize_currency("thb")`` is ``"THB"``; ``normalize_currency("BAHT")`` raises.
    """
    if not isinstance(code, str):
        raise UnknownCurrency(f"a currency is a 3-letter ISO 4217 code, not {code!r}")
    upper = code.strip().upper()
    if upper not in CURRENCY_EXPONENTS:
        raise UnknownCurrency(
            f"{code!r} is not an ISO 4217 currency code (examples: THB, USD, EUR, JPY)"
        )
    return upper


def currency_exponent(code: str) -> int:
    """Digits after the decimal point in *code* (THB 2, JPY 0, KWD 3)."""
    return CURRENCY_EXPONENTS[normalize_currency(code)]


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves away from zero.

    Integer arithmetic only, so no binary-float surprises: ``round_half_up(5, 2) == 3``,
    ``round_half_up(-5, 2) == -3`` (a credit rounds like the matching charge),
    ``round_half_up(7, 3) == 2``.
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return magnitude if numerator >= 0 else -magnitude


_AMOUNT_RE = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of money: integer minor units and an ISO 4217 currency.

    :param amount: minor units (satang for THB, cents for USD, yen for JPY); negative
        amounts are credits.
    :param currency: ISO 4217 code in any case; stored upper-case.
    """

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(f"Money amounts are integer minor units, not {self.amount!r}")
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        """No money in *currency*."""
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Read a decimal amount in major units: ``Money.parse("1070.00", "THB")``.

        More decimals than the currency has are refused, never rounded away.
        """
        exponent = currency_exponent(currency)
        cleaned = str(text).strip().replace(",", "").replace("_", "")
        if not _AMOUNT_RE.match(cleaned):
            raise ValueError(f"{text!r} is not an amount (expected e.g. 1070.00)")
        try:
            value = Decimal(cleaned)
        except InvalidOperation as err:  # pragma: no cover - the regex guards this
            raise ValueError(f"{text!r} is not an amount") from err
        minor = value.scaleb(exponent)
        if minor != minor.to_integral_value():
            raise ValueError(
                f"{text!r} has more than {exponent} decimal places for {currency.upper()}"
            )
        return cls(int(minor), currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, quantity: int) -> Money:
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise TypeError("Money can only be multiplied by a whole quantity")
        return Money(self.amount * quantity, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    @property
    def exponent(self) -> int:
        """Digits after the decimal point in this currency."""
        return CURRENCY_EXPONENTS[self.currency]

    def decimal(self) -> str:
        """The amount in major units as plain text: ``'1070.00'``, ``'-5.50'``, ``'1000'``."""
        return format_minor(self.amount, self.currency)

    def format(self) -> str:
        """A readable amount with thousands separators: ``'THB 1,070.00'``."""
        return format_minor(self.amount, self.currency, grouping=True, with_code=True)

    def __str__(self) -> str:
        return self.format()


def format_minor(
    amount: int, currency: str, *, grouping: bool = False, with_code: bool = False
) -> str:
    """Minor units as a decimal string in major units, exact (no float).

    ``format_minor(107000, "THB") == "1070.00"``; ``format_minor(-5, "USD") == "-0.05"``;
    with ``grouping=True, with_code=True``: ``"THB 1,070.00"``.
    """
    code = normalize_currency(currency)
    exponent = CURRENCY_EXPONENTS[code]
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**exponent)
    whole_text = f"{whole:,}" if grouping else str(whole)
    text = f"{sign}{whole_text}.{fraction:0{exponent}d}" if exponent else f"{sign}{whole_text}"
    return f"{code} {text}" if with_code else text
