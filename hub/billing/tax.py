"""VAT on one invoice line, in integer minor units.

Rates are whole basis points (1/100 of a percent): Thailand's 7 % VAT is ``700``, no tax
is ``0``, 8.1 % would be ``810``. A price either *includes* VAT (what Thai clubs usually
advertise: "1,070 baht incl. VAT") or *excludes* it (VAT is added on top)::

    split_tax(107000, 700, inclusive=True)    # TaxSplit(net=100000, tax=7000, gross=107000)
    split_tax(100000, 700, inclusive=False)   # TaxSplit(net=100000, tax=7000, gross=107000)
    split_tax(1999, 0, inclusive=False)       # TaxSplit(net=1999, tax=0, gross=1999)

Rounding rule (the only one billing uses): tax is computed **per line** and rounded
**half up** to a whole minor unit (halves away from zero, so a credit line rounds exactly
like the matching charge):

* exclusive: ``tax = round_half_up(net * rate / 10000)``, ``gross = net + tax``;
* inclusive: ``tax = round_half_up(gross * rate / (10000 + rate))``, ``net = gross - tax``.

An invoice's tax is the sum of its lines' taxes, never tax recomputed on the subtotal, so
every line can be checked by hand and ``subtotal + tax == total`` always holds.
"""

from __future__ import annotations

from typing import NamedTuple

from hub.billing.money import round_half_up

#: Highest accepted rate: 100 % (10000 basis points).
MAX_TAX_RATE_BP = 10_000


class TaxSplit(NamedTuple):
    """A line amount split into its net part, its tax and its gross (net + tax)."""

    net: int
    tax: int
    gross: int


def check_tax_rate(rate_bp: int) -> int:
    """Return *rate_bp* if it is a whole number of basis points in 0..10000, else raise."""
    if isinstance(rate_bp, bool) or not isinstance(rate_bp, int):
        raise ValueError(f"a tax rate is whole basis points (700 = 7 %), not {rate_bp!r}")
    if not 0 <= rate_bp <= MAX_TAX_RATE_BP:
        raise ValueError(f"a tax rate must be between 0 and 10000 basis points, not {rate_bp}")
    return rate_bp


def split_tax(amount: int, rate_bp: int, *, inclusive: bool) -> TaxSplit:
    """Split one line's *amount* (minor units) into net, tax and gross.

    :param amount: the line amount as priced: gross if *inclusive*, else net. Negative for
        a credit line.
    :param rate_bp: tax rate in basis points (700 = 7 %).
    :param inclusive: ``True`` if *amount* already contains the tax.
    """
    check_tax_rate(rate_bp)
    if inclusive:
        tax = round_half_up(amount * rate_bp, MAX_TAX_RATE_BP + rate_bp)
        return TaxSplit(net=amount - tax, tax=tax, gross=amount)
    tax = round_half_up(amount * rate_bp, MAX_TAX_RATE_BP)
    return TaxSplit(net=amount, tax=tax, gross=amount + tax)


def format_rate(rate_bp: int) -> str:
    """A rate for people: ``format_rate(700) == '7%'``, ``format_rate(810) == '8.1%'``."""
    whole, rest = divmod(rate_bp, 100)
    return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + "%"
