"""Fuzzed portal forms: no input makes a 5xx, and whatever comes back is escaped.

Hypothesis fills the sign-in, card, pay, freeze and language forms (and a pay link's
form, and the tokens in link paths) with arbitrary text and hostile strings, posted
with a valid form token.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from hypothesis import given, settings

from hub.portal.paylinks import pay_links
from tests.hub.console.test_form_fuzz import FUZZ, _check, text
from tests.hub.portal.conftest import Club, form_token, pay_key


@settings(FUZZ, max_examples=25)
@given(email=text, number=text, month=text, year=text, method=text, start=text, end=text,
       reason=text)  # fmt: skip
def test_portal_forms_never_fail_and_echo_escaped(
    club: Club, email: str, number: str, month: str, year: str, method: str, start: str,
    end: str, reason: str,
) -> None:  # fmt: skip
    visitor = club.client()
    token = form_token(visitor.get("/portal/login").text)
    _check(visitor.post("/portal/login", data={"email": email, "csrf_token": token}))
    c = getattr(club, "_fuzz_client", None) or club.sign_in()
    club._fuzz_client = c  # type: ignore[attr-defined]
    csrf = club.csrf(c)
    card = {"number": number, "exp_month": month, "exp_year": year}
    _check(c.post("/portal/methods", data={"csrf_token": csrf, **card}))
    freeze = {"from_on": start, "resume_on": end, "reason": reason}
    _check(c.post("/portal/freeze", data={"csrf_token": csrf, **freeze}))
    inv = club.rows.ana_invoice
    page = c.get(f"/portal/invoices/{inv}")
    _check(page)
    key = pay_key(page.text) if 'name="pay_key"' in page.text else "k" * 32
    paying = {"csrf_token": csrf, "pay_key": key, "method": method, **card}
    _check(c.post(f"/portal/invoices/{inv}/pay", data=paying))
    _check(c.post(f"/portal/invoices/{quote(method, safe='')}/pay", data={"csrf_token": csrf}))
    _check(c.post("/portal/language", data={"csrf_token": csrf, "language": method,
                                            "next": reason}))  # fmt: skip
    links = pay_links(club.settings)
    expires = club.clock.now() + timedelta(days=1)
    link = links.token(str(club.rows.ben.id), str(club.rows.ben_invoice), expires_at=expires)
    by_link = {**paying, "csrf_token": token, "action": method}
    _check(visitor.post(f"/portal/pay/{link}", data=by_link))
    _check(visitor.get(f"/portal/pay/{quote(method, safe='')}"))
    _check(visitor.get(f"/portal/login/{quote(number, safe='')}"))
