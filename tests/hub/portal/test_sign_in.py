"""Signing in with an emailed link: the same answer for every email, links that work
once and expire, requests throttled, separate member sessions, CSRF on every form."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from hub.models import Member, PortalLink
from tests.hub.portal.conftest import ANA, Club, form_token


def test_a_link_signs_in_once_and_the_home_page_shows_what_is_due(club: Club) -> None:
    c = club.client()
    assert c.get("/portal/home").headers["location"] == "/portal/login"
    url = club.ask_link(c, ANA)
    mail = club.mails()[-1]
    assert mail["Subject"] == "Your sign-in link for Club1"
    page = c.get(url.split("testserver", 1)[1])
    assert page.status_code == 200 and "Welcome back, Ana" in page.text
    again = c.get(url.split("testserver", 1)[1])  # opening it twice (a mail scanner) is fine
    assert again.status_code == 200
    answer = club.use_link(c, url)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "gh_portal=" in cookie and "Path=/portal" in cookie and "HttpOnly" in cookie
    home = c.get("/portal/home")
    assert home.status_code == 200
    assert "Payment overdue" in home.text and "THB 1,070.00" in home.text
    assert f'id="pay-{club.rows.ana_invoice}"' in home.text
    assert c.get("/console/dashboard").status_code in (303, 401)  # not a console session
    reused = club.use_link(club.client(), url)
    assert reused.status_code == 410 and "already used" in reused.text


def test_an_expired_link_gets_a_clear_page(club: Club) -> None:
    c = club.client()
    url = club.ask_link(c, ANA)
    club.clock.advance(timedelta(minutes=21))
    answer = club.use_link(c, url)
    assert answer.status_code == 410 and "This sign-in link has expired" in answer.text
    tampered = club.use_link(c, url[:-3] + ("aaa" if not url.endswith("aaa") else "bbb"))
    assert tampered.status_code == 400 and "not valid" in tampered.text


def test_the_answer_is_the_same_for_an_unknown_email_and_nothing_is_sent(club: Club) -> None:
    c = club.client()
    token = form_token(c.get("/portal/login").text)
    known = c.post("/portal/login", data={"email": ANA, "csrf_token": token})
    unknown = c.post("/portal/login", data={"email": "nobody@example.com", "csrf_token": token})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(ANA, "X") == unknown.text.replace("nobody@example.com", "X")
    assert [m["To"] for m in club.mails()] == [ANA]


def test_bad_emails_get_field_messages(club: Club) -> None:
    c = club.client()
    token = form_token(c.get("/portal/login").text)
    for typed, message in (("", "Required."), ("not an email", "Not an email address.")):
        answer = c.post("/portal/login", data={"email": typed, "csrf_token": token})
        assert answer.status_code == 422
        assert f'<div class="field-error" id="e-email">{message}</div>' in answer.text
    assert club.mails() == []


def test_link_requests_are_throttled_per_email_known_or_not(club: Club) -> None:
    c = club.client()
    token = form_token(c.get("/portal/login").text)
    for address in (ANA, "nobody@example.com"):
        codes = [
            c.post("/portal/login", data={"email": address, "csrf_token": token}).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
    assert len(club.mails()) == 3
    club.clock.advance(timedelta(minutes=16))
    assert c.post("/portal/login", data={"email": ANA, "csrf_token": token}).status_code == 200


def test_forms_without_their_token_are_refused(club: Club) -> None:
    c = club.client()
    c.get("/portal/login")
    assert c.post("/portal/login", data={"email": ANA}).status_code == 403
    url = club.ask_link(c, ANA)
    path = url.split("testserver", 1)[1]
    assert c.post(path, data={}).status_code == 403  # the link is not spent
    with club.session() as s:
        assert s.exec(select(PortalLink)).one().used_at is None
    signed = club.sign_in()
    inv = club.rows.ana_invoice
    for target, data in (
        ("/portal/language", {"language": "th"}),
        ("/portal/freeze", {"from_on": "2026-12-10", "resume_on": "2027-01-10"}),
        ("/portal/methods", {"number": "4242424242424242", "exp_month": "12", "exp_year": "2030"}),
        (f"/portal/invoices/{inv}/pay", {"method": "new", "number": "4242424242424242"}),
        ("/portal/logout", {}),
    ):
        answer = signed.post(target, data=data)
        assert answer.status_code == 403, target
        assert "The form expired" in answer.text
        wrong = signed.post(target, data={**data, "csrf_token": "x" * 43})
        assert wrong.status_code == 403, target
    assert signed.get("/portal/home").status_code == 200  # still signed in


def test_signing_out_ends_the_session(club: Club) -> None:
    c = club.sign_in()
    answer = c.post("/portal/logout", data={"csrf_token": club.csrf(c)})
    assert answer.status_code == 303
    assert c.get("/portal/home").status_code == 303


def test_the_language_is_kept_on_the_member_and_used_for_the_next_email(club: Club) -> None:
    c = club.sign_in()
    data = {"language": "th", "next": "/portal/invoices", "csrf_token": club.csrf(c)}
    answer = c.post("/portal/language", data=data)
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/invoices"
    with club.session() as s:
        assert s.exec(select(Member).where(Member.email == ANA)).one().language == "th"
    assert "ใบแจ้งหนี้และใบเสร็จ" in c.get("/portal/invoices").text
    fresh = club.client()
    fresh.cookies.clear()
    club.ask_link(fresh, ANA)
    assert club.mails()[-1]["Subject"] == "ลิงก์เข้าสู่ระบบสมาชิก Club1"
