"""The tests' clock: FakeClock's moves, and the todays each name the day they promise (pure, no server)."""

from __future__ import annotations

import datetime

import pytest
from lunardate import LunarDate

from models import workdays
from tests.clock_support import SHANGHAI, TODAYS, FakeClock, anchor_date, cst, resolve_todays

D = datetime.date
UTC = datetime.UTC


def test_set_stops_the_clock_and_advance_moves_it() -> None:
    clock = FakeClock().set(2025, 9, 22, 10, 0)
    assert clock() == clock.now == datetime.datetime(2025, 9, 22, 2, 0, tzinfo=UTC)
    assert clock.now.tzinfo is UTC and not clock.running
    clock.advance(minutes=5)
    assert clock.now == cst(2025, 9, 22, 10, 5)
    clock.now = cst(2025, 9, 22, 23, 59)
    assert clock.today == D(2025, 9, 22)
    clock.advance(datetime.timedelta(minutes=1))
    assert (clock.today, clock.now.date()) == (D(2025, 9, 23), D(2025, 9, 22))  # Shanghai's date, not UTC's
    with pytest.raises(ValueError):
        clock.set(datetime.datetime(2025, 9, 22, 10))  # naive: which zone?


def test_a_running_clock_runs_on_from_where_it_was_put() -> None:
    start = cst(2030, 1, 7, 10, 0)
    clock = FakeClock(start)
    first = clock.now
    assert clock.running and start <= first < start + datetime.timedelta(seconds=5)
    assert clock.now >= first
    clock.advance(hours=1)
    assert clock.now >= first + datetime.timedelta(hours=1)
    stopped = clock.set(start).now
    assert clock.now == stopped
    clock.run()
    assert clock.running and clock.now >= stopped


@pytest.mark.parametrize("anchor", [
    D(2026, 11, 29),  # a Sunday
    D(2026, 2, 13),   # the Friday before 2026's long Spring Festival break (Sat 14 Feb is an adjusted working day)
    D(2027, 2, 4),    # the last working day before 2027's Spring Festival (a year the pinned calendar lacks)
    D(2025, 9, 30),   # the eve of National Day
    D(2028, 12, 31),  # a year's last day
])
def test_each_today_is_the_day_it_names_and_after_the_anchor(anchor: datetime.date) -> None:
    todays = resolve_todays(anchor)
    local = {kind: instant.astimezone(SHANGHAI) for kind, instant in todays.items()}
    assert all(instant.tzinfo is UTC and instant.astimezone(SHANGHAI).date() > anchor for instant in todays.values())
    assert workdays.is_workday(local["workday"].date()) and local["workday"].hour == 10
    assert local["sunday"].weekday() == 6 and not workdays.is_workday(local["sunday"].date())
    eve = local["before-spring-festival"].date()
    assert workdays.is_workday(eve) and not workdays.is_workday(eve + datetime.timedelta(days=1))
    new_year = LunarDate(eve.year, 1, 1).to_solar_date()
    if new_year < eve:  # the eve of next year's festival, in December or January
        new_year = LunarDate(eve.year + 1, 1, 1).to_solar_date()
    assert eve < new_year <= eve + datetime.timedelta(days=10)
    assert all(not workdays.is_workday(eve + datetime.timedelta(days=n)) for n in range(1, (new_year - eve).days + 1))
    midnight = todays["shanghai-midnight"]
    assert (midnight.hour, midnight.minute) == (16, 0) and local["shanghai-midnight"].date() == local["workday"].date()
    assert local["next-year"].year == local["workday"].year + 1 and workdays.is_workday(local["next-year"].date())
    assert local["in-two-years"].year == local["workday"].year + 2


def test_the_session_todays_come_from_the_anchor(monkeypatch: pytest.MonkeyPatch) -> None:
    assert TODAYS == resolve_todays(anchor_date())
    monkeypatch.setenv("CITYGATE_TEST_TODAY", "2027-02-04")
    assert anchor_date() == D(2027, 2, 4)


@pytest.mark.todays("sunday", "shanghai-midnight")
def test_the_todays_marker_starts_the_clock_at_each_today(clock: FakeClock, request: pytest.FixtureRequest) -> None:
    kind = request.node.callspec.params["clock"]
    assert clock.running and TODAYS[kind] <= clock.now < TODAYS[kind] + datetime.timedelta(seconds=30)


@pytest.mark.clock(2025, 9, 22, 10, 0)
def test_the_clock_marker_starts_it_stopped(clock: FakeClock) -> None:
    assert (clock.now, clock.running) == (cst(2025, 9, 22, 10, 0), False)
