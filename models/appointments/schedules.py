"""A hall's schedule (排班): weekly per-slot quotas (号源), single-day exceptions, and the place counters.

The schedule gives a default day, optional per-weekday days, and single-day exceptions. Places are
counted in one `slot_counters` document per (hall, date, slot), created lazily from the schedule
with `remaining = quota`; a changed schedule moves the existing counters (`resync_counters`).
"""

from __future__ import annotations

import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument

from models.appointments.lookups import get_hall
from models.appointments.parsing import parse_date, parse_localized, parse_schedule, parse_slots
from models.appointments.rules import day_plan, quota_of
from models.core.context import Context
from models.core.timezone import local
from models.errors import FieldError, NotFound, ValidationFailed


async def get_schedule(ctx: Context, hall_id: str) -> dict[str, Any]:
    hall = await get_hall(ctx, hall_id)
    today = local(ctx.clock()).date().isoformat()
    cursor = ctx.db.hall_schedule_exceptions.find({"hall_id": hall_id, "date": {"$gte": today}}).sort("date", ASCENDING)
    exceptions = [{"date": e["date"], "slots": e["slots"], "note": e.get("note")} for e in await cursor.to_list()]
    schedule = hall.get("schedule") or {"default": [], "weekdays": {}}
    return {"hall_id": hall_id, "default": schedule.get("default", []), "weekdays": schedule.get("weekdays", {}),
            "closed_dates": hall.get("closed_dates", []), "exceptions": exceptions}


async def set_schedule(ctx: Context, hall_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Replace the weekly quotas; places already booked stay booked (reported in `overbooked`)."""
    errors: list[FieldError] = []
    schedule = parse_schedule(body, errors, field="")
    if errors:
        raise ValidationFailed(errors=[FieldError(e.field.lstrip("."), e.code, e.zh, e.en) for e in errors])
    hall = await ctx.db.halls.find_one_and_update(
        {"_id": hall_id}, {"$set": {"schedule": schedule, "updated_at": ctx.clock()}},
        return_document=ReturnDocument.AFTER)
    if hall is None:
        raise NotFound("hall_not_found", "未找到该办事大厅", "Hall not found")
    overbooked = await resync_counters(ctx, hall)
    return {**await get_schedule(ctx, hall_id), "overbooked": overbooked}


async def set_exception(ctx: Context, hall_id: str, date: str, body: dict[str, Any]) -> dict[str, Any]:
    """Give one date its own slots (an empty list closes the hall that day)."""
    day = parse_date(date)
    errors: list[FieldError] = []
    slots = parse_slots(body.get("slots"), "slots", errors)
    note = parse_localized(body.get("note"), "note", errors, required=False)
    if errors:
        raise ValidationFailed(errors=errors)
    hall = await get_hall(ctx, hall_id)
    await ctx.db.hall_schedule_exceptions.update_one(
        {"_id": f"{hall_id}|{day.isoformat()}"},
        {"$set": {"hall_id": hall_id, "date": day.isoformat(), "slots": slots, "note": note,
                  "updated_at": ctx.clock()}},
        upsert=True)
    overbooked = await resync_counters(ctx, hall, only_date=day.isoformat())
    return {"hall_id": hall_id, "date": day.isoformat(), "slots": slots, "note": note, "overbooked": overbooked}


async def delete_exception(ctx: Context, hall_id: str, date: str) -> dict[str, Any]:
    day = parse_date(date)
    hall = await get_hall(ctx, hall_id)
    result = await ctx.db.hall_schedule_exceptions.delete_one({"_id": f"{hall_id}|{day.isoformat()}"})
    if not result.deleted_count:
        raise NotFound("schedule_exception_not_found", "该日期没有特殊排班", "No exception for that date")
    overbooked = await resync_counters(ctx, hall, only_date=day.isoformat())
    return {"hall_id": hall_id, "date": day.isoformat(), "overbooked": overbooked}


async def resync_counters(ctx: Context, hall: dict[str, Any], only_date: str | None = None) -> list[dict[str, Any]]:
    """Bring existing place counters in line with a changed schedule; return slots now overbooked.

    Each counter moves by (new quota - old capacity) with an update conditional on the old capacity,
    so concurrent bookings and cancellations (which move only `remaining`) are never lost.
    Known gap: a counter created lazily by a booking that read the hall just before the change still
    starts from the old quota (a window of milliseconds); saving the schedule again corrects it.
    """
    today = local(ctx.clock()).date().isoformat()
    query: dict[str, Any] = {"hall_id": hall["_id"], "date": only_date or {"$gte": today}}
    exceptions = {e["date"]: e for e in await ctx.db.hall_schedule_exceptions.find(
        {"hall_id": hall["_id"], "date": query["date"]}).to_list()}
    overbooked = []
    for counter in await ctx.db.slot_counters.find(query).to_list():
        slots, _ = day_plan(hall, exceptions.get(counter["date"]), datetime.date.fromisoformat(counter["date"]))
        quota = quota_of(slots, counter["slot_id"]) or 0
        for _attempt in range(10):
            delta = quota - counter["capacity"]
            if delta == 0:
                break
            result = await ctx.db.slot_counters.update_one(
                {"_id": counter["_id"], "capacity": counter["capacity"]},
                {"$inc": {"capacity": delta, "remaining": delta}})
            if result.modified_count:
                break
            counter = await ctx.db.slot_counters.find_one({"_id": counter["_id"]})
        current = await ctx.db.slot_counters.find_one({"_id": counter["_id"]})
        if current and current["remaining"] < 0:
            overbooked.append({"date": current["date"], "slot_id": current["slot_id"], "capacity": current["capacity"],
                               "booked": current["capacity"] - current["remaining"]})
    return overbooked
