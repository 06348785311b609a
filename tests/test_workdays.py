"""Working-day arithmetic on the State Council calendar (pure functions, no server).

Calendar facts used below (2025): National Day holiday 1–8 October; adjusted working days
Sunday 28 September and Saturday 11 October; 27 September is an ordinary Saturday.

Years `chinese_calendar` has not published: the tests of 2027 limit the calendar to 2026 (the
`published_through` fixture), so they hold whichever release is installed, and one test asks the real
package about a year no release will cover for decades.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator

import chinese_calendar
import pytest

from models import workdays
from models.core.timezone import SHANGHAI
from models.workdays import OfficeHours

D = datetime.date
UTC = datetime.UTC


def cst(*args: int) -> datetime.datetime:
    """An instant in Asia/Shanghai."""
    return datetime.datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.parametrize("day, expected", [
    (D(2025, 9, 22), True),    # Monday
    (D(2025, 9, 27), False),   # ordinary Saturday
    (D(2025, 9, 28), True),    # Sunday, adjusted working day before National Day
    (D(2025, 10, 1), False),   # National Day
    (D(2025, 10, 8), False),   # last day of the holiday (a Wednesday)
    (D(2025, 10, 11), True),   # Saturday, adjusted working day
])
def test_is_workday(day: datetime.date, expected: bool) -> None:
    assert workdays.is_workday(day) is expected


@pytest.fixture
def published_through(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], None]]:
    """published_through(year): chinese_calendar as a release that has published no year after `year`."""
    def limit(last: int) -> None:
        real = chinese_calendar.is_workday

        def is_workday(day: datetime.date) -> bool:
            if day.year > last:
                raise NotImplementedError(f"no holiday calendar for {day.year} yet")
            return real(day)
        monkeypatch.setattr(workdays.chinese_calendar, "is_workday", is_workday)
        _forget_calendar()
    yield limit
    _forget_calendar()  # no answer of the limited calendar outlives the test


def _forget_calendar() -> None:
    workdays._is_workday.cache_clear()
    workdays._running_count.cache_clear()


@pytest.mark.parametrize("day, expected", [
    (D(2030, 1, 5), False),    # beyond the published calendar: Saturday
    (D(2030, 1, 7), True),     # beyond the published calendar: Monday
    # 2027, before its calendar is published: the days off the law fixes are kept.
    (D(2027, 1, 1), False),    # New Year's Day (a Friday)
    (D(2027, 2, 5), False),    # lunar New Year's Eve (a Friday); New Year's Day is Saturday 6 February
    (D(2027, 2, 8), False),    # third day of the lunar year (a Monday)
    (D(2027, 2, 9), True),     # the Tuesday after
    (D(2027, 4, 5), False),    # Qingming (a Monday)
    (D(2027, 6, 9), False),    # Dragon Boat Festival (a Wednesday)
    (D(2027, 9, 15), False),   # Mid-Autumn Festival (a Wednesday)
    (D(2027, 10, 1), False),   # National Day (a Friday)
    (D(2027, 10, 4), True),    # the Monday after (the notice may yet make it a day off)
    (D(2026, 10, 7), False),   # 2026 is still the published calendar: the holiday's last day (a Wednesday)
])
def test_is_workday_in_a_year_not_yet_published(published_through: Callable[[int], None], day: datetime.date,
                                                 expected: bool) -> None:
    published_through(2026)
    assert workdays.is_workday(day) is expected


def test_a_year_no_release_covers_keeps_the_statutory_days() -> None:
    # The installed chinese_calendar itself, for a year none of its releases will publish for decades.
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2090, 10, 2))
    assert [workdays.is_workday(D(2090, 10, day)) for day in range(1, 6)] == [False, False, False, True, True]
    assert workdays.is_workday(D(2090, 1, 30)) is False  # the Spring Festival (a Monday)
    assert workdays.add_workdays(D(2090, 9, 29), 1) == D(2090, 10, 4)  # Friday → past Sun 1, Mon 2, Tue 3


def test_is_workday_refuses_datetimes() -> None:
    with pytest.raises(TypeError):
        workdays.is_workday(cst(2025, 9, 22, 10))


@pytest.mark.parametrize("start, count, expected", [
    (D(2025, 9, 19), 1, D(2025, 9, 22)),    # Friday → Monday across a weekend
    (D(2025, 9, 20), 1, D(2025, 9, 22)),    # from a Saturday
    (D(2025, 9, 26), 1, D(2025, 9, 28)),    # Friday → the adjusted working Sunday
    (D(2025, 9, 30), 1, D(2025, 10, 9)),    # across the National Day holiday
    (D(2025, 10, 10), 1, D(2025, 10, 11)),  # Friday → the adjusted working Saturday
    (D(2025, 9, 26), 5, D(2025, 10, 10)),   # 28, 29, 30 Sep, 9, 10 Oct
    (D(2025, 9, 22), 0, D(2025, 9, 22)),
    (D(2025, 10, 9), -1, D(2025, 9, 30)),   # backwards across the holiday
    (D(2025, 9, 22), -1, D(2025, 9, 19)),
])
def test_add_workdays(start: datetime.date, count: int, expected: datetime.date) -> None:
    assert workdays.add_workdays(start, count) == expected


def test_next_workday_and_count_between() -> None:
    assert workdays.next_workday(D(2025, 10, 1)) == D(2025, 10, 9)
    assert workdays.next_workday(D(2025, 9, 22), include_today=True) == D(2025, 9, 22)
    assert workdays.next_workday(D(2025, 9, 22)) == D(2025, 9, 23)
    assert workdays.workdays_between(D(2025, 9, 26), D(2025, 10, 12)) == 6   # incl. Sun 28 and Sat 11
    assert workdays.workdays_between(D(2025, 10, 12), D(2025, 9, 26)) == -6
    assert workdays.workdays_between(D(2025, 10, 1), D(2025, 10, 8)) == 0


def test_workdays_between_counts_as_stepping_day_by_day_would() -> None:
    def stepped(start: datetime.date, end: datetime.date) -> int:
        if end < start:
            return -stepped(end, start)
        return sum(workdays.is_workday(start + datetime.timedelta(days=n)) for n in range(1, (end - start).days + 1))

    start = D(2025, 12, 20)
    for offset in range(0, 800, 7):
        for length in (0, 1, 5, 40, 400):
            a = start + datetime.timedelta(days=offset)
            b = a + datetime.timedelta(days=length)
            assert workdays.workdays_between(a, b) == stepped(a, b)
            assert workdays.workdays_between(b, a) == stepped(b, a)


@pytest.mark.parametrize("received, cutoff, count, expected", [
    # consultations: before 15:00 on a working day → that day's close; otherwise the next working day
    (cst(2025, 9, 22, 14, 59), datetime.time(15), 0, cst(2025, 9, 22, 17, 30)),
    (cst(2025, 9, 22, 15, 0), datetime.time(15), 0, cst(2025, 9, 23, 17, 30)),
    (cst(2025, 9, 19, 16, 0), datetime.time(15), 0, cst(2025, 9, 22, 17, 30)),   # Friday afternoon → Monday
    (cst(2025, 9, 20, 10, 0), datetime.time(15), 0, cst(2025, 9, 22, 17, 30)),   # Saturday → Monday
    (cst(2025, 9, 30, 15, 30), datetime.time(15), 0, cst(2025, 10, 9, 17, 30)),  # eve of National Day
    (cst(2025, 10, 3, 9, 0), datetime.time(15), 0, cst(2025, 10, 9, 17, 30)),    # during the holiday
    (cst(2025, 10, 10, 16, 0), datetime.time(15), 0, cst(2025, 10, 11, 17, 30)),  # → adjusted Saturday
    # complaints: 5 working days, received after closing counts as the next working day
    (cst(2025, 9, 26, 10, 0), None, 5, cst(2025, 10, 10, 17, 30)),
    (cst(2025, 9, 26, 18, 0), None, 5, cst(2025, 10, 11, 17, 30)),
    (cst(2025, 9, 22, 10, 0), None, 5, cst(2025, 9, 28, 17, 30)),   # Mon → the adjusted working Sunday
])
def test_deadline(received: datetime.datetime, cutoff: datetime.time | None, count: int,
                  expected: datetime.datetime) -> None:
    assert workdays.deadline(received, count, cutoff) == expected


def test_deadline_accepts_utc_instants() -> None:
    received = datetime.datetime(2025, 9, 22, 6, 59, tzinfo=UTC)  # 14:59 in Shanghai
    assert workdays.deadline(received, 0, datetime.time(15)) == cst(2025, 9, 22, 17, 30)
    assert workdays.receipt_day(datetime.datetime(2025, 9, 21, 17, 0, tzinfo=UTC)) == D(2025, 9, 22)


@pytest.mark.parametrize("start, end, hours", [
    (cst(2025, 9, 22, 10, 0), cst(2025, 9, 22, 11, 0), 1.0),
    (cst(2025, 9, 22, 11, 0), cst(2025, 9, 22, 14, 0), 1.5),    # lunch break excluded
    (cst(2025, 9, 22, 7, 0), cst(2025, 9, 22, 20, 0), 7.0),     # a whole working day
    (cst(2025, 9, 19, 16, 30), cst(2025, 9, 22, 9, 30), 1.5),   # across a weekend
    (cst(2025, 9, 30, 17, 0), cst(2025, 10, 9, 10, 0), 1.5),    # across National Day
    (cst(2025, 10, 10, 17, 30), cst(2025, 10, 13, 9, 0), 7.0),  # the adjusted Saturday counts fully
    (cst(2025, 10, 4, 10, 0), cst(2025, 10, 5, 10, 0), 0.0),    # inside the holiday
    (cst(2025, 9, 22, 12, 0), cst(2025, 9, 22, 10, 0), 0.0),    # end before start
])
def test_working_hours_between(start: datetime.datetime, end: datetime.datetime, hours: float) -> None:
    assert workdays.working_hours_between(start, end) == pytest.approx(hours)


def test_office_hours_are_a_parameter() -> None:
    hours = OfficeHours.parse("08:30-12:00,14:00-18:00")
    assert hours.hours_per_day == 7.5
    assert workdays.working_hours_between(cst(2025, 9, 22, 8, 0), cst(2025, 9, 22, 15, 0), hours) == 4.5
    assert workdays.deadline(cst(2025, 9, 22, 17, 0), 0, datetime.time(15), hours) == cst(2025, 9, 23, 18, 0)
    assert workdays.in_office_hours(cst(2025, 9, 22, 13, 0), hours) is False
    assert workdays.in_office_hours(cst(2025, 9, 22, 13, 0)) is False
    assert workdays.in_office_hours(cst(2025, 9, 22, 13, 30)) is True
    assert workdays.in_office_hours(cst(2025, 10, 11, 10, 0)) is True  # adjusted Saturday
    assert workdays.in_office_hours(cst(2025, 10, 2, 10, 0)) is False
    assert workdays.DEFAULT_OFFICE_HOURS.hours_per_day == 7.0


def test_office_hours_in_another_zone() -> None:
    hours = OfficeHours.parse("09:00-17:00", tz="Asia/Urumqi")  # UTC+6
    start = datetime.datetime(2025, 9, 22, 3, 0, tzinfo=UTC)  # 09:00 in Urumqi
    end = datetime.datetime(2025, 9, 22, 5, 0, tzinfo=UTC)
    assert workdays.working_hours_between(start, end, hours) == 2.0


@pytest.mark.parametrize("text", ["", "9-12", "12:00-09:00", "09:00-12:00,11:00-14:00", "nonsense"])
def test_invalid_office_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        OfficeHours.parse(text)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError):
        workdays.working_hours_between(datetime.datetime(2025, 9, 22, 10), cst(2025, 9, 22, 11))
    with pytest.raises(ValueError):
        workdays.deadline(cst(2025, 9, 22, 10), -1)


def test_statutory_holidays_are_the_thirteen_days_the_law_fixes() -> None:
    days = workdays.statutory_holidays(2027)
    assert len(days) == 13
    assert {D(2027, 1, 1), D(2027, 5, 1), D(2027, 5, 2), D(2027, 10, 2), D(2027, 10, 3)} <= days
    # Where a published calendar exists it wins: 2026's Spring Festival break is nine days long.
    assert workdays.is_workday(D(2026, 2, 23)) is False and D(2026, 2, 23) not in workdays.statutory_holidays(2026)


def test_a_deadline_across_the_2027_spring_festival_skips_it(published_through: Callable[[int], None]) -> None:
    published_through(2026)
    # Accepted on Monday 1 February 2027 with 5 working days: 2, 3, 4, (5 Eve, 6-8 festival), 9, 10.
    assert workdays.add_workdays(D(2027, 2, 1), 5) == D(2027, 2, 10)
