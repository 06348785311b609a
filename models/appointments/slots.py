"""Bookable slots for citizens: which halls offer a service, on which days, with how many places left.

Slots are bookable only on working days of the State Council calendar (调休 weekends included,
holidays excluded), not on the hall's closed dates, and only within `settings.booking_horizon_days`.
"""

from __future__ import annotations

import datetime
from typing import Any

from pymongo import ASCENDING

from models.appointments.lookups import bookable_service
from models.appointments.parsing import parse_date
from models.appointments.rules import day_plan, slot_instant
from models.appointments.views import hall_summary
from models.core.context import Context
from models.core.timezone import local
from models.errors import FieldError, NotFound, ValidationFailed


def booking_horizon(ctx: Context, now: datetime.datetime) -> tuple[datetime.date, datetime.date]:
    """The first and last dates a citizen may book at `now` (today, and the horizon's end)."""
    today = local(now).date()
    return today, today + datetime.timedelta(days=ctx.settings.booking_horizon_days)


async def list_slots(ctx: Context, service_code: str, hall_id: str | None, date: str | None,
                     locale: str) -> dict[str, Any]:
    """Halls offering `service_code` with their slots and remaining places on `date`.

    Without a date: each hall's bookable days in the horizon with the places left on each.
    """
    if not service_code:
        raise ValidationFailed(errors=[FieldError("service_code", "required", "service_code 为必填项",
                                                  "service_code is required")])
    await bookable_service(ctx, service_code)
    query: dict[str, Any] = {"service_codes": service_code, "active": True}
    if hall_id:
        query["_id"] = hall_id
    halls = await ctx.db.halls.find(query).sort("created_at", ASCENDING).to_list()
    if hall_id and not halls:
        raise NotFound("hall_not_found", "未找到办理该事项的办事大厅", "No such hall handles this service")
    now = ctx.clock()
    today, last = booking_horizon(ctx, now)
    if date is None:
        return {"service_code": service_code, "from": today.isoformat(), "to": last.isoformat(),
                "halls": [await hall_days(ctx, hall, today, last, now, locale) for hall in halls]}
    day = parse_date(date)
    result = []
    for hall in halls:
        exception = await ctx.db.hall_schedule_exceptions.find_one({"_id": f"{hall['_id']}|{day.isoformat()}"})
        counters = {c["slot_id"]: c for c in await ctx.db.slot_counters.find(
            {"hall_id": hall["_id"], "date": day.isoformat()}).to_list()}
        slots, reason = day_plan(hall, exception, day)
        if not today <= day <= last:
            slots, reason = [], "outside_booking_horizon"
        shown = []
        for slot in slots:
            counter = counters.get(slot["id"])
            remaining = max(0, counter["remaining"] if counter else slot["quota"])
            started = slot_instant(day, slot["start"]) <= now
            shown.append({"slot_id": slot["id"], "start": slot["start"], "end": slot["end"], "quota": slot["quota"],
                          "remaining": remaining, "bookable": remaining > 0 and not started})
        result.append({**hall_summary(hall, locale), "date": day.isoformat(),
                       "bookable": any(s["bookable"] for s in shown), "closed_reason": reason, "slots": shown})
    return {"service_code": service_code, "date": day.isoformat(), "halls": result}


async def hall_days(ctx: Context, hall: dict[str, Any], first: datetime.date, last: datetime.date,
                    now: datetime.datetime, locale: str) -> dict[str, Any]:
    """A hall's days from `first` to `last`, each with the places left in slots not yet started."""
    span = {"$gte": first.isoformat(), "$lte": last.isoformat()}
    exceptions = {e["date"]: e for e in await ctx.db.hall_schedule_exceptions.find(
        {"hall_id": hall["_id"], "date": span}).to_list()}
    counters = {(c["date"], c["slot_id"]): c["remaining"] for c in await ctx.db.slot_counters.find(
        {"hall_id": hall["_id"], "date": span}).to_list()}
    days = []
    day = first
    while day <= last:
        slots, reason = day_plan(hall, exceptions.get(day.isoformat()), day)
        remaining = sum(max(0, counters.get((day.isoformat(), s["id"]), s["quota"])) for s in slots
                        if slot_instant(day, s["start"]) > now)
        days.append({"date": day.isoformat(), "bookable": remaining > 0, "remaining": remaining,
                     "closed_reason": reason})
        day += datetime.timedelta(days=1)
    return {**hall_summary(hall, locale), "days": days}
