"""Fuzzed billing forms and filters: the plan form, paying at the desk, refunds and the
invoice and report filters never answer 5xx, and what comes back is escaped.

Hypothesis fills every field with arbitrary text and the hostile strings of
:mod:`tests.hub.console.test_form_fuzz` (markup, SQL, template syntax, NUL, long Thai),
plus amounts that are nearly right (``-0``, ``1e3``, ``١٠٠``, 30 digits).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hub.models import Plan
from tests.hub.console.billing_rows import bill_a_month
from tests.hub.console.test_form_fuzz import FUZZ, HOSTILE, _check, _setup

AMOUNTS = ["0", "-0", "1e3", "١٠٠", "1,070.00", "0.001", "9" * 30, "12.", ".5", "NaN", "inf"]
text = st.one_of(st.sampled_from(HOSTILE + AMOUNTS), st.text(max_size=80))
REPORTS = (
    "/console/reports/billing",
    "/console/reports/revenue-by-month.csv",
    "/console/reports/failed-payments.csv",
    "/console/reports/time-to-collect.csv",
)
UNITS = st.one_of(st.sampled_from(["day", "month", "quarter", "year"]), text)


def test_plan_form_never_fails(console_db_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    console, client, csrf = _setup(console_db_url, clock)
    billed = bill_a_month(console)
    site = str(console.site.id)
    with console.session() as s:
        unsold = Plan(site_id=console.site.id or 0, name="Unsold", price_minor=100,
                      currency="THB", created_at=console.clock.now())  # fmt: skip
        s.add(unsold)
        s.commit()

    @FUZZ
    @given(
        name=text, site_id=st.one_of(st.just(site), text), price=text, currency=text,
        unit=UNITS, count=text, fee=text, tax=text, inclusive=st.booleans(), grace=text,
        commitment=text, trial=text, target=st.sampled_from(["new", "edit", "sold"]),
    )  # fmt: skip
    def run(name, site_id, price, currency, unit, count, fee, tax, inclusive, grace,  # type: ignore[no-untyped-def]
            commitment, trial, target) -> None:  # fmt: skip
        data = {
            "name": name, "site_id": site_id, "price": price, "currency": currency,
            "interval_unit": unit, "interval_count": count, "setup_fee": fee, "tax_rate": tax,
            "grace_days": grace, "commitment_periods": commitment, "trial_days": trial,
            "csrf_token": csrf,
        }  # fmt: skip
        if inclusive:
            data["tax_inclusive"] = "on"
        url = {
            "new": "/console/plans/new",
            "edit": f"/console/plans/{unsold.id}/edit",
            "sold": f"/console/plans/{billed.plan.id}/edit",
        }[target]
        answer = client.post(url, data=data)
        _check(answer)
        assert answer.status_code in (303, 422)
        if answer.status_code == 303:
            _check(client.get(answer.headers["location"]))

    run()
    _check(client.get("/console/plans?archived=1"))
    console.engine.dispose()


def test_invoice_actions_and_filters_never_fail(console_db_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    console, client, csrf = _setup(console_db_url, clock)
    billed = bill_a_month(console)
    ids = [billed.paid.id, billed.failed.id, billed.unpaid.id]

    @FUZZ
    @given(
        invoice=st.sampled_from(ids), action=st.sampled_from(["pay", "refund"]),
        method=st.one_of(st.sampled_from(["cash", "transfer"]), text), reference=text,
        amount=text, reason=text,
    )  # fmt: skip
    def act(invoice, action, method, reference, amount, reason) -> None:  # type: ignore[no-untyped-def]
        data = {"csrf_token": csrf, "method": method, "reference": reference,
                "amount": amount, "reason": reason}  # fmt: skip
        answer = client.post(f"/console/invoices/{invoice}/{action}", data=data)
        _check(answer)
        assert answer.status_code in (303, 409, 422)
        if answer.status_code == 303:
            _check(client.get(answer.headers["location"]))

    @FUZZ
    @given(status=text, member=text, first=text, last=text, offset=text, months=text, site=text)
    def look(status, member, first, last, offset, months, site) -> None:  # type: ignore[no-untyped-def]
        params = {"status": status, "member": member, "first": first, "last": last,
                  "offset": offset}  # fmt: skip
        _check(client.get("/console/invoices", params=params))
        for url in REPORTS:
            answer = client.get(url, params={"months": months, "site": site})
            assert answer.status_code == 200
            _check(answer)
        _check(client.get(f"/console/invoices/{billed.paid.id}/print", params={"lang": status}))

    act()
    look()
    console.engine.dispose()
