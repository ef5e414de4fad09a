"""Attendance reports and their CSV files, in the site's time zone."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from hub.console.attendance import by_day, by_hour, day_bounds
from hub.models import Member, Role
from tests.hub.console.conftest import Console


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_hours_and_days_are_local_across_midnight() -> None:
    start, end = day_bounds(datetime(2026, 12, 1).date(), "Asia/Bangkok")
    assert start == datetime(2026, 11, 30, 17, tzinfo=UTC) and end - start == timedelta(days=1)
    times = [datetime(2026, 11, 30, 17, 0, tzinfo=UTC), datetime(2026, 12, 1, 16, 59, tzinfo=UTC)]
    assert by_hour(times, "Asia/Bangkok")[0] == 1 and by_hour(times, "Asia/Bangkok")[23] == 1
    assert by_day(times, "Asia/Bangkok", datetime(2026, 12, 1).date(), 2) == [2, 0]
    assert by_day(times, "UTC", datetime(2026, 11, 30).date(), 2) == [1, 1]


def test_reports_page_and_csv_exports(console: Console) -> None:
    with console.session() as s:
        other = Member(
            first_name="=HYPERLINK(1)", last_name="Drift", email="drift@example.com",
            created_at=console.clock.now(), updated_at=console.clock.now(),
        )  # fmt: skip
        s.add(other)
        s.commit()
    now = console.clock.now()  # 16:00 Bangkok, 1 Dec
    for days_ago in (0, 1, 2, 8):
        console.add_checkin(now - timedelta(days=days_ago), member=console.member)
    console.add_checkin(now - timedelta(days=40), member=other)  # came 6 weeks ago only
    console.add_checkin(now - timedelta(hours=1), allowed=False)
    client = console.client(Role.MANAGER)
    page = client.get("/console/reports", params={"from": "2026-11-02", "to": "2026-12-01"})
    assert page.status_code == 200 and "4 visits" in page.text
    by_member = page.text.split('id="member-attendance"')[1]
    assert "Member " in by_member and "Drift" in by_member
    hours = _rows(
        client.get("/console/reports/attendance-by-hour.csv",
                   params={"from": "2026-11-02", "to": "2026-12-01"}).text
    )  # fmt: skip
    assert hours[0] == ["hour", "visits"] and hours[17] == ["16:00", "4"] and len(hours) == 25
    answer = client.get("/console/reports/attendance-by-day.csv",
                        params={"from": "2026-11-29", "to": "2026-12-01"})  # fmt: skip
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attendance-by-day-2026-11-29-2026-12-01.csv" in answer.headers["content-disposition"]
    assert _rows(answer.text) == [
        ["day", "visits"], ["2026-11-29", "1"], ["2026-11-30", "1"], ["2026-12-01", "1"]
    ]  # fmt: skip
    members = _rows(
        client.get("/console/reports/attendance-by-member.csv",
                   params={"from": "2026-11-02", "to": "2026-12-01"}).text
    )  # fmt: skip
    header, first, second = members
    assert header[:7] == ["member_id", "name", "status", "visits", "days", "last_visit", "trend"]
    assert first[1] == "Member " + first[1].split(" ")[1] and first[3:5] == ["4", "4"]
    assert first[7:] == ["0", "0", "0", "0", "0", "0", "1", "3"]  # weekly, oldest first
    assert first[6] == "4"  # rising: 4 in the last 4 weeks, 0 before
    assert second[1] == "'=HYPERLINK(1) Drift"  # a formula is not run by a spreadsheet
    assert second[3] == "0" and second[6] == "-1"  # drifting away


def test_reports_are_for_managers(console: Console) -> None:
    assert console.client(Role.FRONT_DESK).get("/console/reports").status_code == 403
    assert console.client(Role.OWNER).get("/console/reports").status_code == 200
