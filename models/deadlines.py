"""Promised time limits (承诺时限) of applications: working days counted from acceptance.

Pure functions over a small `deadline` record stored on each application, so the rules are tested
without a server. The count starts the day after acceptance (the acceptance day is day 0) and uses
the State Council calendar through `models.workdays`, so holidays do not count and adjusted working
days (调休上班) do. While the applicant is asked for a supplement (补正) the clock stops; it restarts
the day after the supplement arrives with the working days already used carried over.

Record fields: `promised_days`, `used_days` (working days consumed by earlier segments),
`started_on` (day 0 of the running segment), `paused_on`, `due_date` (None while paused),
`finished_on` and `late` (once decided or withdrawn). Dates are ISO strings (sortable, so
"overdue" is a plain range query).
"""

from __future__ import annotations

import datetime
from typing import Any

from models import workdays
from models.workdays import workdays_between


def _day(value: str) -> datetime.date:
    return datetime.date.fromisoformat(value)


def _due(start: datetime.date, days: int) -> datetime.date:
    """The `days`-th working day after `start`; with no days left (same-day handling, 即办), `start`
    itself only when it is a working day: accepted on a Sunday, it is due on the next working day."""
    return workdays.add_workdays(start, days) if days else workdays.next_workday(start, include_today=True)


def started(promised_days: int | None, at: datetime.datetime) -> dict[str, Any] | None:
    """The record for an application accepted at `at`; None when the item promises no time limit."""
    if promised_days is None:
        return None
    start = workdays.local_date(at)
    return {"promised_days": int(promised_days), "used_days": 0, "started_on": start.isoformat(), "paused_on": None,
            "due_date": _due(start, int(promised_days)).isoformat(), "finished_on": None, "late": None}


def paused(record: dict[str, Any] | None, at: datetime.datetime) -> dict[str, Any] | None:
    """Stop the clock: the working days since the segment started are used up."""
    if record is None or record.get("paused_on") or record.get("finished_on"):
        return record
    today = workdays.local_date(at)
    used = record["used_days"] + max(0, workdays_between(_day(record["started_on"]), today))
    return {**record, "used_days": used, "paused_on": today.isoformat(), "due_date": None}


def resumed(record: dict[str, Any] | None, at: datetime.datetime) -> dict[str, Any] | None:
    """Restart the clock after a supplement: the remaining days count from the next working day."""
    if record is None or not record.get("paused_on"):
        return record
    start = workdays.local_date(at)
    remaining = record["promised_days"] - record["used_days"]
    return {**record, "started_on": start.isoformat(), "paused_on": None,
            "due_date": _due(start, remaining).isoformat()}


def finished(record: dict[str, Any] | None, at: datetime.datetime) -> dict[str, Any] | None:
    """Freeze the record at a decision (or withdrawal); `late` says whether the promise was broken."""
    if record is None or record.get("finished_on"):
        return record
    late = bool(record.get("due_date")) and at > workdays.close_of_business(_day(record["due_date"]))
    return {**record, "finished_on": workdays.local_date(at).isoformat(), "late": late}


def view(record: dict[str, Any] | None, now: datetime.datetime) -> dict[str, Any] | None:
    """What an application shows: due date, working days left (negative when late), overdue, paused."""
    if record is None:
        return None
    shown: dict[str, Any] = {"promised_days": record["promised_days"], "due_date": record.get("due_date"),
                             "paused": bool(record.get("paused_on")), "days_left": None, "overdue": False}
    if record.get("finished_on"):
        shown.update(finished_on=record["finished_on"], overdue=bool(record.get("late")))
    elif record.get("paused_on"):
        shown["days_left"] = record["promised_days"] - record["used_days"]
    elif record.get("due_date"):
        due, today = _day(record["due_date"]), workdays.local_date(now)
        shown["days_left"] = workdays_between(today, due)
        shown["overdue"] = now > workdays.close_of_business(due)
    return shown
