"""Attendance reports and their CSV files, in the site's time zone."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gatehouse.services import postgres
from hub.console.attendance import by_day, by_hour, day_bounds, grid_of, per_member, visit_grid
from hub.migrations import upgrade
from hub.models import Member, Role
from tests.hub.console.conftest import Console, build_console


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_hours_and_days_are_local_across_midnight() -> None:
    start, end = day_bounds(date(2026, 12, 1), "Asia/Bangkok")
    assert start == datetime(2026, 11, 30, 17, tzinfo=UTC) and end - start == timedelta(days=1)
    times = [datetime(2026, 11, 30, 17, 0, tzinfo=UTC), datetime(2026, 12, 1, 16, 59, tzinfo=UTC)]
    bangkok = grid_of(times, "Asia/Bangkok")
    assert by_hour(bangkok)[0] == 1 and by_hour(bangkok)[23] == 1
    assert by_day(bangkok, date(2026, 12, 1), 2) == [2, 0]
    assert by_day(grid_of(times, "UTC"), date(2026, 11, 30), 2) == [1, 1]


@pytest.fixture(params=["sqlite", "postgresql"])
def counted(request: pytest.FixtureRequest, console_db_url: str, clock) -> Iterator[Console]:  # type: ignore[no-untyped-def]
    """A console on SQLite, then on PostgreSQL (the counting SQL differs)."""
    if request.param == "sqlite":
        c = build_console(console_db_url, clock)
        yield c
        c.engine.dispose()
        return
    url = postgres.create_database()
    try:
        upgrade(url)
        c = build_console(url, clock)
        yield c
        c.engine.dispose()
    finally:
        postgres.drop_database(url)


@pytest.mark.parametrize("timezone", ["Europe/Berlin", "America/New_York", "Asia/Kathmandu"])
def test_the_database_counts_as_python_does_across_dst_changes(
    counted: Console, timezone: str
) -> None:
    console = counted
    rng = random.Random(timezone)
    start = datetime(2026, 3, 1, tzinfo=UTC)  # spring DST changes (EU, US) inside
    end = start + timedelta(days=70)
    times = [start + timedelta(seconds=rng.randrange(70 * 86400)) for _ in range(300)]
    edges = [(29, 0, 59, 59), (29, 1, 0, 0), (8, 6, 59, 59), (8, 7, 0, 0)]  # EU, US changes
    times += [datetime(2026, 3, d, h, m, s, tzinfo=UTC) for d, h, m, s in edges]
    for ts in times:
        console.add_checkin(ts, member=console.member)
    console.add_checkin(start + timedelta(days=3), allowed=False)  # not a visit
    with console.session() as s:
        grid = visit_grid(s, start=start, end=end, timezone=timezone)
        rows = per_member(s, start=start, end=end, timezone=timezone, weeks=10)
    assert grid == grid_of(times, timezone)
    (row,) = rows
    local_days = {ts.astimezone(ZoneInfo(timezone)).date() for ts in times}
    assert (row.visits, row.days, row.last_visit) == (
        len(times),
        len(local_days),
        max(times).replace(microsecond=0),
    )
    weekly = [0] * 10
    for ts in times:
        weekly[9 - int((end - ts).total_seconds() // (7 * 86400))] += 1
    assert list(row.weekly) == weekly


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
