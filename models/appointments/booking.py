"""Booking (预约) and cancelling a place, and a citizen's own appointments.

A booking takes a place with one conditional decrement of its slot counter (`remaining > 0`), so any
number of server processes never hand out more places than the quota; a cancellation gives the place
back with one increment. A citizen's one-booking-per-service-per-day rule is a unique index on the
appointment's `active_key`, which is removed when the booking is cancelled.
"""

from __future__ import annotations

import datetime
from typing import Any

from bson import ObjectId
from pymongo import DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.appointments.lookups import appointment_oid, bookable_service, get_hall, own_appointment
from models.appointments.parsing import parse_date
from models.appointments.rules import STATUSES, day_plan, slot_id, slot_instant
from models.appointments.slots import booking_horizon
from models.appointments.views import appointment_view
from models.core.context import Context
from models.core.pagination import page_of
from models.errors import Conflict, FieldError, Forbidden, ValidationFailed


async def _take_place(ctx: Context, hall: dict[str, Any], day: datetime.date, slot: dict[str, Any]) -> str:
    """Take one place of a slot with a single conditional decrement; raise `slot_full` when none is left."""
    counter_id = f"{hall['_id']}|{day.isoformat()}|{slot['id']}"
    for _attempt in range(3):
        taken = await ctx.db.slot_counters.find_one_and_update(
            {"_id": counter_id, "remaining": {"$gt": 0}}, {"$inc": {"remaining": -1}}, projection={"_id": 1})
        if taken is not None:
            return counter_id
        counter = await ctx.db.slot_counters.find_one({"_id": counter_id}, {"remaining": 1})
        if counter is not None:
            if counter["remaining"] <= 0:
                break  # full
            continue  # created (or a place given back) since our attempt: try again
        try:  # first booking of this slot: create its counter from the schedule, then decrement
            await ctx.db.slot_counters.insert_one({
                "_id": counter_id, "hall_id": hall["_id"], "date": day.isoformat(), "slot_id": slot["id"],
                "capacity": int(slot["quota"]), "remaining": int(slot["quota"])})
        except DuplicateKeyError:
            pass  # another request created it first
    raise Conflict("slot_full", "该时段号源已约满，请选择其他时段", "This time slot is fully booked; choose another")


async def _give_back(ctx: Context, counter_id: str) -> None:
    await ctx.db.slot_counters.update_one({"_id": counter_id}, {"$inc": {"remaining": 1}})


async def suspension_of(ctx: Context, citizen_id: str) -> dict[str, Any] | None:
    """The citizen's current online-booking suspension, if any."""
    return await ctx.db.booking_suspensions.find_one({"_id": citizen_id, "until": {"$gt": ctx.clock()}})


async def book(ctx: Context, citizen_id: str, body: dict[str, Any], locale: str) -> dict[str, Any]:
    """Book one place: `{service_code, hall_id, date, slot_id}` → the appointment."""
    errors = [FieldError(name, "required", f"{name} 为必填项", f"{name} is required")
              for name in ("service_code", "hall_id", "date", "slot_id")
              if not isinstance(body.get(name), str) or not body.get(name)]
    if errors:
        raise ValidationFailed(errors=errors)
    service_code, wanted = body["service_code"], slot_id(body["slot_id"])
    day = parse_date(body["date"])
    now = ctx.clock()
    hall = await get_hall(ctx, body["hall_id"], active_only=True)
    if service_code not in hall.get("service_codes", []):
        raise ValidationFailed(errors=[FieldError("service_code", "service_not_offered", "该大厅不办理此事项",
                                                  "This hall does not handle that service")])
    service = await bookable_service(ctx, service_code)
    today, last = booking_horizon(ctx, now)
    if not today <= day <= last:
        raise ValidationFailed(errors=[FieldError("date", "outside_booking_horizon",
                                                  f"只能预约今天起 {ctx.settings.booking_horizon_days} 天内的日期",
                                                  f"Bookings open {ctx.settings.booking_horizon_days} days ahead at most")])
    exception = await ctx.db.hall_schedule_exceptions.find_one({"_id": f"{hall['_id']}|{day.isoformat()}"})
    slots, reason = day_plan(hall, exception, day)
    if reason == "not_working_day":
        raise ValidationFailed(errors=[FieldError("date", "not_working_day", "该日期为法定节假日或休息日，不可预约",
                                                  "That date is not a working day")])
    if reason is not None:
        raise ValidationFailed(errors=[FieldError("date", "hall_closed", "该大厅当天不开放预约",
                                                  "The hall takes no bookings that day")])
    slot = next((s for s in slots if s["id"] == wanted), None)
    if slot is None:
        raise ValidationFailed(errors=[FieldError("slot_id", "unknown_slot", "当天没有该时段", "No such slot that day")])
    starts_at, ends_at = slot_instant(day, slot["start"]), slot_instant(day, slot["end"])
    if starts_at <= now:
        raise Conflict("slot_started", "该时段已开始，不能再预约", "This slot has already started")
    suspension = await suspension_of(ctx, citizen_id)
    if suspension is not None:
        raise Forbidden("booking_suspended", "因多次预约未到，暂停网上预约", "Online booking is suspended after repeated no-shows",
                        extra={"suspended_until": suspension["until"]})
    active_key = f"{citizen_id}|{service_code}|{day.isoformat()}"
    # Only for a clear answer before taking a place; the unique index below is what guarantees it.
    if await ctx.db.appointments.find_one({"active_key": active_key}, {"_id": 1}) is not None:
        raise _duplicate()
    counter_id = await _take_place(ctx, hall, day, slot)
    appointment = {
        "_id": ObjectId(), "citizen_id": citizen_id, "service_code": service_code,
        "service_name": (service or {}).get("name"), "hall_id": hall["_id"], "hall_name": hall.get("name"),
        "hall_address": hall.get("address"), "date": day.isoformat(), "slot_id": slot["id"],
        "start": slot["start"], "end": slot["end"], "starts_at": starts_at, "ends_at": ends_at,
        "status": "booked", "active_key": active_key, "counter_id": counter_id, "reminder_queued": False,
        "created_at": now, "updated_at": now,
    }
    try:
        await ctx.db.appointments.insert_one(appointment)
    except DuplicateKeyError:
        await _give_back(ctx, counter_id)
        raise _duplicate() from None
    except BaseException:
        await _give_back(ctx, counter_id)
        raise
    return appointment_view(ctx, appointment, locale)


def _duplicate() -> Conflict:
    return Conflict("duplicate_booking", "您当天已预约该事项，不能重复预约",
                    "You already hold a booking for this service on that day")


async def get_mine(ctx: Context, citizen_id: str, appointment_id: str, locale: str) -> dict[str, Any]:
    return appointment_view(ctx, await own_appointment(ctx, citizen_id, appointment_id), locale)


async def list_mine(ctx: Context, citizen_id: str, page: int, page_size: int, status: str | None,
                    locale: str) -> dict[str, Any]:
    query: dict[str, Any] = {"citizen_id": citizen_id}
    if status:
        if status not in STATUSES:
            raise ValidationFailed(errors=[FieldError("status", "invalid_status", "未知的预约状态", "Unknown status")])
        query["status"] = status
    return await page_of(ctx.db.appointments, query, [("starts_at", DESCENDING)], page, page_size,
                         lambda doc: appointment_view(ctx, doc, locale))


async def cancel(ctx: Context, citizen_id: str, appointment_id: str, locale: str) -> dict[str, Any]:
    """Cancel up to the cut-off before the slot; the place is free again at once."""
    oid = appointment_oid(appointment_id)
    now = ctx.clock()
    cutoff = datetime.timedelta(minutes=ctx.settings.appointment_cancel_cutoff_minutes)
    doc = await ctx.db.appointments.find_one_and_update(
        {"_id": oid, "citizen_id": citizen_id, "status": "booked", "starts_at": {"$gt": now + cutoff}},
        {"$set": {"status": "cancelled", "cancelled_at": now, "updated_at": now}, "$unset": {"active_key": ""}},
        return_document=ReturnDocument.AFTER)
    if doc is None:
        current = await own_appointment(ctx, citizen_id, appointment_id)
        if current["status"] != "booked":
            raise Conflict("appointment_not_cancellable", "该预约当前状态不能取消",
                           "This appointment cannot be cancelled in its current state",
                           extra={"appointment_status": current["status"]})
        minutes = ctx.settings.appointment_cancel_cutoff_minutes
        raise Conflict("cancel_cutoff_passed", f"距预约时段开始已不足 {minutes} 分钟，不能取消",
                       f"Cancellations close {minutes} minutes before the slot")
    await _give_back(ctx, doc["counter_id"])
    return appointment_view(ctx, doc, locale)
