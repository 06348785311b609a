"""Pure rules of appointments: the slots a day offers, when a slot starts, how far one stands from a hall.

Times of day are local to the hall (Asia/Shanghai); the instants they give are UTC.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

from models.core.timezone import local_instant
from models.workdays import is_workday

ACTIVE = ("booked", "checked_in")  # statuses that hold a place in a hall
STATUSES = ("booked", "checked_in", "called", "cancelled", "no_show")


def slot_instant(day: datetime.date, hhmm: str) -> datetime.datetime:
    """The UTC instant of a local time of day ("08:30") on `day`."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return local_instant(day, datetime.time(hour, minute))


def slot_id(start: str) -> str:
    return start.replace(":", "")


def day_plan(hall: dict[str, Any], exception: dict[str, Any] | None,
             day: datetime.date) -> tuple[list[dict[str, Any]], str | None]:
    """The slots offered on `day` and, when there are none, why (`closed_reason`).

    Order of the rules: the State Council calendar first (holidays closed, adjusted working weekend days
    open), then the hall's own closed dates, then a single-day exception, then the weekly schedule.
    """
    if not is_workday(day):
        return [], "not_working_day"
    if day.isoformat() in hall.get("closed_dates", []):
        return [], "hall_closed"
    if exception is not None:
        slots = exception.get("slots", [])
    else:
        schedule = hall.get("schedule") or {}
        slots = (schedule.get("weekdays") or {}).get(str(day.isoweekday()))
        if slots is None:
            slots = schedule.get("default") or []
    if not slots:
        return [], "no_slots"
    return slots, None


def quota_of(slots: list[dict[str, Any]], wanted: str) -> int | None:
    for slot in slots:
        if slot["id"] == wanted:
            return int(slot["quota"])
    return None


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))
