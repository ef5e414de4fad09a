"""A year of billing for members on mixed plans, checked against hand-computed invoices.

Every expected number below was worked out by hand from the rules in
``hub/billing/tax.py`` (VAT per line, half up) and ``hub/billing/renewals.py``:

* Gold, THB 1,070.00 incl. 7 % VAT: VAT = 107000 x 7/107 = 7000 exactly. Its joining fee
  THB 500.00 incl. VAT: 50000 x 7/107 = 3271.03 -> 3271.
* Flex 28, THB 999.00 + 7 %: 99900 x 0.07 = 6993; total 106893.
* Student, THB 150.50 + 7 %: 15050 x 0.07 = 1053.5 -> 1054 (half up); total 16104.
* Off-peak bimonthly, THB 1,800.00 incl. 7 %: 180000 x 7/107 = 11775.70 -> 11776;
  joining fee THB 321.00, taxed like the plan (incl. 7 %): 32100 x 7/107 = 2100.
* Basic quarterly, USD 49.99, no tax.
* Annual, JPY 120,000 incl. 10 %: 120000 x 10/110 = 10909.09 -> 10909.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from hub.billing.plans import PlanBase
from hub.billing.renewals import bill_due, freeze, start_subscription

GOLD = PlanBase(
    name="Gold",
    price_minor=107000,
    currency="THB",
    tax_rate_bp=700,
    tax_inclusive=True,
    setup_fee_minor=50000,
)
FLEX_28 = PlanBase(
    name="Flex 28",
    price_minor=99900,
    currency="THB",
    tax_rate_bp=700,
    interval_unit="day",
    interval_count=28,
)
STUDENT = PlanBase(name="Student", price_minor=15050, currency="THB", tax_rate_bp=700)
OFF_PEAK = PlanBase(
    name="Off-peak",
    price_minor=180000,
    currency="THB",
    tax_rate_bp=700,
    tax_inclusive=True,
    interval_count=2,
    setup_fee_minor=32100,
    schedule_id=2,
)
BASIC = PlanBase(name="Basic", price_minor=4999, currency="USD", interval_unit="quarter")
ANNUAL = PlanBase(
    name="Annual",
    price_minor=120000,
    currency="JPY",
    tax_rate_bp=1000,
    tax_inclusive=True,
    interval_unit="year",
    trial_days=14,
)

D = date
GOLD_LINE = (107000, 7000, 107000)  # (unit amount, line tax, line total)
GOLD_FEE = (50000, 3271, 50000)
FLEX_LINE = (99900, 6993, 106893)
STUDENT_LINE = (15050, 1054, 16104)
OFF_PEAK_LINE = (180000, 11776, 180000)
OFF_PEAK_FEE = (32100, 2100, 32100)

# member -> [(issued_on, [line, ...]), ...]
EXPECTED = {
    "gold from Jan 31 (month-end anchor)": [
        (D(2026, 1, 31), [GOLD_LINE, GOLD_FEE]),
        *[
            (day, [GOLD_LINE])
            for day in (
                D(2026, 2, 28),
                D(2026, 3, 31),
                D(2026, 4, 30),
                D(2026, 5, 31),
                D(2026, 6, 30),
                D(2026, 7, 31),
                D(2026, 8, 31),
                D(2026, 9, 30),
                D(2026, 10, 31),
                D(2026, 11, 30),
                D(2026, 12, 31),
            )
        ],
    ],
    "gold from Jan 1, frozen Jul-Aug": [
        (D(2026, 1, 1), [GOLD_LINE, GOLD_FEE]),
        *[(D(2026, m, 1), [GOLD_LINE]) for m in (2, 3, 4, 5, 6, 9, 10, 11, 12)],
    ],
    "flex 28 days from Jan 1": [
        (day, [FLEX_LINE])
        for day in (
            D(2026, 1, 1),
            D(2026, 1, 29),
            D(2026, 2, 26),
            D(2026, 3, 26),
            D(2026, 4, 23),
            D(2026, 5, 21),
            D(2026, 6, 18),
            D(2026, 7, 16),
            D(2026, 8, 13),
            D(2026, 9, 10),
            D(2026, 10, 8),
            D(2026, 11, 5),
            D(2026, 12, 3),
            D(2026, 12, 31),
        )
    ],
    "student from Jun 15": [(D(2026, m, 15), [STUDENT_LINE]) for m in range(6, 13)],
    "off-peak bimonthly from Aug 31": [
        (D(2026, 8, 31), [OFF_PEAK_LINE, OFF_PEAK_FEE]),
        (D(2026, 10, 31), [OFF_PEAK_LINE]),
        (D(2026, 12, 31), [OFF_PEAK_LINE]),
    ],
    "basic quarterly from Feb 15": [(D(2026, m, 15), [(4999, 0, 4999)]) for m in (2, 5, 8, 11)],
    "annual with a 14-day trial from Mar 1": [(D(2026, 3, 15), [(120000, 10909, 120000)])],
}


def bill_the_year() -> dict[str, list]:
    end = D(2026, 12, 31)
    states = {
        "gold from Jan 31 (month-end anchor)": start_subscription(GOLD, start_on=D(2026, 1, 31)),
        "gold from Jan 1, frozen Jul-Aug": freeze(
            start_subscription(GOLD, start_on=D(2026, 1, 1)),
            from_on=D(2026, 7, 1),
            resume_on=D(2026, 9, 1),
            today=D(2026, 1, 1),
        ),
        "flex 28 days from Jan 1": start_subscription(FLEX_28, start_on=D(2026, 1, 1)),
        "student from Jun 15": start_subscription(STUDENT, start_on=D(2026, 6, 15)),
        "off-peak bimonthly from Aug 31": start_subscription(OFF_PEAK, start_on=D(2026, 8, 31)),
        "basic quarterly from Feb 15": start_subscription(BASIC, start_on=D(2026, 2, 15)),
        "annual with a 14-day trial from Mar 1": start_subscription(ANNUAL, start_on=D(2026, 3, 1)),
    }
    drafts = {}
    for member, state in states.items():
        # Run day by day, as the billing run does, so nothing depends on a single catch-up.
        produced = []
        day = D(2026, 1, 1)
        while day <= end:
            new, state = bill_due(state, today=day)
            produced.extend(new)
            day = day.fromordinal(day.toordinal() + 1)
        drafts[member] = produced
    return drafts


def test_a_year_of_invoices_matches_the_hand_computed_oracle() -> None:
    drafts = bill_the_year()
    actual = {
        member: [
            (d.issued_on, [(line.unit_amount, line.tax, line.total) for line in d.lines])
            for d in member_drafts
        ]
        for member, member_drafts in drafts.items()
    }
    assert actual == EXPECTED
    assert sum(len(v) for v in actual.values()) == 12 + 10 + 14 + 7 + 3 + 4 + 1


def test_the_year_totals_per_currency() -> None:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for member_drafts in bill_the_year().values():
        for d in member_drafts:
            assert d.subtotal + d.tax == d.total
            t = totals[d.currency]
            t[0] += d.subtotal
            t[1] += d.tax
            t[2] += d.total
    # THB: 1334000 + 1120000 + 1496502 + 112728 + 572100; VAT 87271 + 73271 + 97902 + 7378 + 37428
    assert totals["THB"] == [4635330 - 303250, 303250, 4635330]
    assert totals["USD"] == [19996, 0, 19996]
    assert totals["JPY"] == [120000 - 10909, 10909, 120000]
