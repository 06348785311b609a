"""The tests' one clock: `FakeClock`, and the "todays" a date-sensitive test runs on.

Every test app reads time through `ctx.clock()`, and conftest's `clock` fixture installs a
`FakeClock` there. It runs with real time until a test sets it (then it stands still at exactly
that instant), and `advance()` moves it either way. Nothing else in a test should read the real
date: a test that needs "today" asks the clock (`clock.now`, `clock.today`).

A test whose outcome depends on which day it runs (deadlines, application numbers, booking windows)
is marked `@pytest.mark.todays` and runs once per "today" in `TODAYS`: a working day, a Sunday, the
last working day before the Spring Festival, Shanghai midnight (16:00 UTC, when the UTC date is still
the day before), and days one and two years on (years `chinese_calendar` may not have published).
Each is the first such day after the real date, so a today is never in the past: the datastore's TTL
index (idempotency records, refresh tokens) expires documents by the server's real time, and a clock
days behind it would see its own fresh records expire. The test computes its dates from the clock
(`workdays.next_workday(clock.today)`), never from the calendar. `CITYGATE_TEST_TODAY=2027-02-04`
resolves the todays from another date (to reproduce a failure); to run the whole suite as if the
real date were another, use faketime (docs/dev-guide.md, "Time in tests").
"""

from __future__ import annotations

import datetime
import os
import time

from lunardate import LunarDate

from models import workdays
from models.core.timezone import SHANGHAI

UTC = datetime.UTC
ANCHOR_ENV = "CITYGATE_TEST_TODAY"


def cst(*fields: int) -> datetime.datetime:
    """An instant given as Asia/Shanghai wall-clock fields: cst(2025, 9, 22, 10, 0)."""
    return datetime.datetime(*fields, tzinfo=SHANGHAI)


def at(day: datetime.date, hhmm: str) -> datetime.datetime:
    """The aware UTC instant of a Shanghai wall-clock time on `day`: at(day, "08:30")."""
    hour, minute = map(int, hhmm.split(":"))
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI).astimezone(UTC)


class FakeClock:
    """`ctx.clock` for tests: aware UTC instants; runs with real time until set, then stands still."""

    def __init__(self, start: datetime.datetime | None = None, *, running: bool = True) -> None:
        self._reading = _utc(start) if start is not None else datetime.datetime.now(UTC)
        self._since: float | None = time.monotonic() if running else None

    def __call__(self) -> datetime.datetime:
        return self.now

    def __repr__(self) -> str:
        return f"FakeClock({self.now.astimezone(SHANGHAI).isoformat()}, {'running' if self.running else 'stopped'})"

    @property
    def now(self) -> datetime.datetime:
        if self._since is None:
            return self._reading
        return self._reading + datetime.timedelta(seconds=time.monotonic() - self._since)

    @now.setter
    def now(self, instant: datetime.datetime) -> None:
        self.set(instant)

    @property
    def running(self) -> bool:
        return self._since is not None

    @property
    def today(self) -> datetime.date:
        """The date in Shanghai (the offices' date, not UTC's)."""
        return self.now.astimezone(SHANGHAI).date()

    def set(self, *when: datetime.datetime | int) -> FakeClock:
        """Stop the clock at `when`: an aware datetime, or Shanghai wall-clock fields (2025, 9, 22, 10, 0)."""
        instant = when[0] if len(when) == 1 and isinstance(when[0], datetime.datetime) else cst(*when)
        self._reading, self._since = _utc(instant), None
        return self

    def advance(self, delta: datetime.timedelta | None = None, **parts: float) -> FakeClock:
        """Move the clock on by `delta` (or timedelta keywords: minutes=5); a running clock keeps running."""
        self._reading += (delta or datetime.timedelta()) + datetime.timedelta(**parts)
        return self

    def run(self) -> FakeClock:
        """Let a stopped clock run on from its reading."""
        if self._since is None:
            self._since = time.monotonic()
        return self


def _utc(instant: datetime.datetime) -> datetime.datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("the test clock takes aware datetimes")
    return instant.astimezone(UTC)


# ---- todays ----------------------------------------------------------------------------------------------
def anchor_date() -> datetime.date:
    """The real date in Shanghai, or CITYGATE_TEST_TODAY (YYYY-MM-DD) when set."""
    configured = os.environ.get(ANCHOR_ENV, "").strip()
    if configured:
        return datetime.date.fromisoformat(configured)
    return datetime.datetime.now(SHANGHAI).date()


def _first(after: datetime.date, wanted) -> datetime.date:  # noqa: ANN001
    day = after + datetime.timedelta(days=1)
    while not wanted(day):
        day += datetime.timedelta(days=1)
    return day


def _before_spring_festival(after: datetime.date) -> datetime.date:
    """The last working day before the first Spring Festival break that begins after `after`."""
    for year in range(after.year, after.year + 3):
        first_day_off = LunarDate(year, 1, 1).to_solar_date()
        while not workdays.is_workday(first_day_off - datetime.timedelta(days=1)):
            first_day_off -= datetime.timedelta(days=1)
        eve = first_day_off - datetime.timedelta(days=1)
        if eve > after:
            return eve
    raise AssertionError("no Spring Festival within three years")


def _years_on(day: datetime.date, years: int) -> datetime.date:
    try:
        shifted = day.replace(year=day.year + years)
    except ValueError:  # 29 February
        shifted = day.replace(year=day.year + years, day=28)
    return workdays.next_workday(shifted, include_today=True)


def resolve_todays(anchor: datetime.date) -> dict[str, datetime.datetime]:
    """Each kind of "today", as the first such instant after `anchor` (aware UTC)."""
    workday = _first(anchor, workdays.is_workday)
    return {
        "workday": at(workday, "10:00"),
        "sunday": at(_first(anchor, lambda d: d.weekday() == 6 and not workdays.is_workday(d)), "10:00"),
        "before-spring-festival": at(_before_spring_festival(anchor), "10:00"),
        # 00:00 in Shanghai is 16:00 UTC of the day before: code that takes the date in UTC gets it wrong.
        "shanghai-midnight": at(workday, "00:00"),
        "next-year": at(_years_on(workday, 1), "10:00"),
        "in-two-years": at(_years_on(workday, 2), "10:00"),
    }


TODAYS = resolve_todays(anchor_date())
