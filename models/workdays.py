"""Working days (工作日) on the State Council holiday calendar, and working hours between instants.

Pure functions, no I/O. The calendar comes from `chinese_calendar`: public holidays are not working
days, and the adjusted working days (调休上班, often a Saturday or Sunday) are. For a year the package
has no published calendar for yet (the State Council publishes each year's late in the year before),
the days off the law itself fixes are kept (`statutory_holidays`) and weekends are days off: the
bridging days and adjusted working days of that year's notice are not known until it is published,
and arrive with the package's next release.

Time-limit conventions used across CityGate (consultations, application deadlines, appointments):
- a request received on a non-working day, or after the cut-off time of a working day, counts as
  received on the next working day (the "receipt day");
- a limit of N working days ends at close of business of the N-th working day after the receipt
  day (N = 0: the receipt day itself).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from zoneinfo import ZoneInfo

import chinese_calendar
from lunardate import LunarDate

from models.core.timezone import SHANGHAI

# Stepping further than this many calendar days while counting means a caller bug (or a broken calendar).
_MAX_CALENDAR_STEPS = 366 * 20


@dataclasses.dataclass(frozen=True)
class OfficeHours:
    """Daily office periods (办公时间) on working days, e.g. 09:00–12:00 and 13:30–17:30, in `tz`."""

    periods: tuple[tuple[datetime.time, datetime.time], ...] = (
        (datetime.time(9, 0), datetime.time(12, 0)),
        (datetime.time(13, 30), datetime.time(17, 30)),
    )
    tz: datetime.tzinfo = SHANGHAI

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("office hours need at least one period")
        previous_end: datetime.time | None = None
        for start, end in self.periods:
            if start >= end:
                raise ValueError(f"office period {start:%H:%M}-{end:%H:%M} must end after it starts")
            if previous_end is not None and start < previous_end:
                raise ValueError("office periods must be in order and must not overlap")
            previous_end = end

    @classmethod
    def parse(cls, text: str, tz: str | datetime.tzinfo = SHANGHAI) -> OfficeHours:
        """Parse "09:00-12:00,13:30-17:30"; raise ValueError on anything else."""
        periods = []
        for part in (p.strip() for p in text.split(",") if p.strip()):
            try:
                first, second = part.split("-")
                periods.append((datetime.time.fromisoformat(first.strip()), datetime.time.fromisoformat(second.strip())))
            except ValueError:
                raise ValueError(f"office period {part!r} is not HH:MM-HH:MM") from None
        return cls(tuple(periods), ZoneInfo(tz) if isinstance(tz, str) else tz)

    @property
    def opening(self) -> datetime.time:
        return self.periods[0][0]

    @property
    def closing(self) -> datetime.time:
        return self.periods[-1][1]

    @property
    def hours_per_day(self) -> float:
        """Working hours in one full working day (7.0 for the default hours)."""
        return sum(_seconds(end) - _seconds(start) for start, end in self.periods) / 3600


DEFAULT_OFFICE_HOURS = OfficeHours()


# ---- days ----------------------------------------------------------------------------------------
def is_workday(day: datetime.date) -> bool:
    """True on working days: weekdays that are not holidays, plus adjusted working weekend days."""
    if isinstance(day, datetime.datetime):
        raise TypeError("is_workday takes a date; convert instants with local_date() first")
    return _is_workday(day)


@functools.lru_cache(maxsize=8192)
def _is_workday(day: datetime.date) -> bool:
    # chinese_calendar checks its whole table on every call (~60 µs); the calendar never changes
    # while the process runs, so one answer per date is enough.
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # no published calendar for that year yet
        return day.weekday() < 5 and day not in statutory_holidays(day.year)


@functools.lru_cache(maxsize=64)
def statutory_holidays(year: int) -> frozenset[datetime.date]:
    """The public holidays the law fixes for `year` (《全国年节及纪念日放假办法》 as revised from 2025):
    New Year's Day; the Spring Festival (lunar New Year's Eve and the first three days of the year);
    Qingming (the day of the solar term); Labour Day (1–2 May); the Dragon Boat Festival (5th day of
    the 5th lunar month); the Mid-Autumn Festival (15th day of the 8th); National Day (1–3 October)."""
    new_year = LunarDate(year, 1, 1).to_solar_date()
    lunar = [new_year + datetime.timedelta(days=offset) for offset in (-1, 0, 1, 2)]
    lunar += [LunarDate(year, 5, 5).to_solar_date(), LunarDate(year, 8, 15).to_solar_date()]
    qingming = [day for day, name in chinese_calendar.get_solar_terms(datetime.date(year, 4, 1),
                                                                      datetime.date(year, 4, 10)) if name == "清明"]
    fixed = [datetime.date(year, month, day) for month, day in ((1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3))]
    return frozenset(lunar + qingming + fixed)


def next_workday(day: datetime.date, *, include_today: bool = False) -> datetime.date:
    """The first working day after `day` (or `day` itself when it is one and `include_today`)."""
    if include_today and is_workday(day):
        return day
    return add_workdays(day, 1)


def add_workdays(day: datetime.date, count: int) -> datetime.date:
    """The `count`-th working day after `day` (before it when negative); `day` itself for 0."""
    step = datetime.timedelta(days=1 if count >= 0 else -1)
    remaining = abs(count)
    current = day
    for _ in range(_MAX_CALENDAR_STEPS):
        if remaining == 0:
            return current
        current += step
        if is_workday(current):
            remaining -= 1
    raise ValueError(f"cannot count {count} working days from {day}")


def workdays_between(start: datetime.date, end: datetime.date) -> int:
    """Working days in the interval (start, end]; negative when `end` is before `start`. O(years)."""
    if end < start:
        return -workdays_between(end, start)
    total = _workdays_through(end) - _workdays_through(start)
    for year in range(start.year, end.year):
        total += _running_count(year)[-1]
    return total


@functools.lru_cache(maxsize=64)
def _running_count(year: int) -> tuple[int, ...]:
    """Working days from 1 January of `year` up to and including each day of that year."""
    # Even with is_workday cached, the view of a long-overdue application spans hundreds of days:
    # count each year once per process and answer any span from two look-ups per year.
    day, counts, total = datetime.date(year, 1, 1), [], 0
    while day.year == year:
        total += is_workday(day)
        counts.append(total)
        day += datetime.timedelta(days=1)
    return tuple(counts)


def _workdays_through(day: datetime.date) -> int:
    return _running_count(day.year)[day.timetuple().tm_yday - 1]


# ---- instants ------------------------------------------------------------------------------------
def local_date(instant: datetime.datetime, hours: OfficeHours = DEFAULT_OFFICE_HOURS) -> datetime.date:
    """The calendar date of an aware instant in the office's time zone."""
    return _aware(instant).astimezone(hours.tz).date()


def close_of_business(day: datetime.date, hours: OfficeHours = DEFAULT_OFFICE_HOURS) -> datetime.datetime:
    """The end of the last office period on `day`, as an aware datetime in the office's zone."""
    return datetime.datetime.combine(day, hours.closing, tzinfo=hours.tz)


def receipt_day(received: datetime.datetime, cutoff: datetime.time | None = None,
                hours: OfficeHours = DEFAULT_OFFICE_HOURS) -> datetime.date:
    """The working day a request counts as received on.

    The day itself when it is a working day and the request came before `cutoff` (default: closing
    time); otherwise the next working day.
    """
    local = _aware(received).astimezone(hours.tz)
    limit = cutoff or hours.closing
    if is_workday(local.date()) and local.time() < limit:
        return local.date()
    return next_workday(local.date())


def deadline(received: datetime.datetime, workdays: int, cutoff: datetime.time | None = None,
             hours: OfficeHours = DEFAULT_OFFICE_HOURS) -> datetime.datetime:
    """Close of business of the `workdays`-th working day after the receipt day (see module doc)."""
    if workdays < 0:
        raise ValueError("a time limit cannot be negative")
    return close_of_business(add_workdays(receipt_day(received, cutoff, hours), workdays), hours)


def working_seconds_between(start: datetime.datetime, end: datetime.datetime,
                            hours: OfficeHours = DEFAULT_OFFICE_HOURS) -> float:
    """Seconds of office time on working days between two aware instants (0 when end <= start)."""
    start, end = _aware(start), _aware(end)
    if end <= start:
        return 0.0
    total = 0.0
    day, last = local_date(start, hours), local_date(end, hours)
    while day <= last:
        if is_workday(day):
            for open_at, close_at in hours.periods:
                period_start = datetime.datetime.combine(day, open_at, tzinfo=hours.tz)
                period_end = datetime.datetime.combine(day, close_at, tzinfo=hours.tz)
                overlap = (min(end, period_end) - max(start, period_start)).total_seconds()
                if overlap > 0:
                    total += overlap
        day += datetime.timedelta(days=1)
    return total


def working_hours_between(start: datetime.datetime, end: datetime.datetime,
                          hours: OfficeHours = DEFAULT_OFFICE_HOURS) -> float:
    """Office hours on working days between two aware instants, e.g. 1.5."""
    return working_seconds_between(start, end, hours) / 3600


def in_office_hours(instant: datetime.datetime, hours: OfficeHours = DEFAULT_OFFICE_HOURS) -> bool:
    """True when the office is open at `instant` (a working day, inside one of the periods)."""
    local = _aware(instant).astimezone(hours.tz)
    return is_workday(local.date()) and any(start <= local.time() < end for start, end in hours.periods)


def _aware(instant: datetime.datetime) -> datetime.datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("working-time arithmetic needs aware datetimes (naive ones are ambiguous)")
    return instant


def _seconds(moment: datetime.time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second
