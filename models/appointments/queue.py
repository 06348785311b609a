"""On the day: check-in at the hall (a queue number at a window) and calling the next number."""

from __future__ import annotations

import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.appointments.lookups import get_hall, own_appointment
from models.appointments.parsing import parse_date, parse_location
from models.appointments.rules import STATUSES, distance_m
from models.appointments.views import appointment_view
from models.core.context import Context
from models.core.pagination import page_of
from models.core.timezone import local
from models.errors import Conflict, FieldError, NotFound, ValidationFailed


async def check_in(ctx: Context, citizen_id: str, appointment_id: str, body: dict[str, Any],
                   locale: str) -> dict[str, Any]:
    """Check in at the hall within the check-in window: a queue number at a window for the service."""
    doc = await own_appointment(ctx, citizen_id, appointment_id)
    if doc["status"] in ("checked_in", "called"):
        return appointment_view(ctx, doc, locale)  # a repeated check-in shows the same number
    if doc["status"] != "booked":
        raise Conflict("appointment_not_checkable", "该预约当前状态不能签到",
                       "This appointment cannot be checked in in its current state",
                       extra={"appointment_status": doc["status"]})
    now = ctx.clock()
    opens = doc["starts_at"] - datetime.timedelta(minutes=ctx.settings.appointment_checkin_open_minutes)
    closes = doc["ends_at"] + datetime.timedelta(minutes=ctx.settings.appointment_checkin_grace_minutes)
    if now < opens:
        raise Conflict("check_in_not_open", "尚未到签到时间", "Check-in has not opened yet", extra={"check_in_from": opens})
    if now > closes:
        raise Conflict("check_in_closed", "签到时间已过", "Check-in has closed", extra={"check_in_until": closes})
    hall = await get_hall(ctx, doc["hall_id"])
    geo = hall.get("geo")
    if geo:
        here = parse_location(body)
        if distance_m(here[0], here[1], geo["latitude"], geo["longitude"]) > geo["radius_m"]:
            raise Conflict("not_at_hall", "请到办事大厅现场签到", "Check in when you are at the hall")
    windows = [w for w in hall.get("windows", []) if doc["service_code"] in w["service_codes"]]
    if not windows:
        raise Conflict("no_window_for_service", "大厅当前没有办理该事项的窗口", "No window currently handles this service")
    window = await _shortest_queue(ctx, doc, windows)
    seq = await _next_number(ctx, f"{doc['hall_id']}|{doc['date']}|{window['number']}")
    number = f"{window['queue_prefix']}{seq:03d}"
    updated = await ctx.db.appointments.find_one_and_update(
        {"_id": doc["_id"], "status": "booked"},
        {"$set": {"status": "checked_in", "window": window["number"], "queue_seq": seq, "queue_number": number,
                  "checked_in_at": now, "updated_at": now}},
        return_document=ReturnDocument.AFTER)
    if updated is None:  # a concurrent check-in won; its number stands (ours is simply skipped)
        updated = await own_appointment(ctx, citizen_id, appointment_id)
        if updated["status"] not in ("checked_in", "called"):
            raise Conflict("appointment_not_checkable", "该预约当前状态不能签到",
                           "This appointment cannot be checked in in its current state")
    return appointment_view(ctx, updated, locale)


async def _shortest_queue(ctx: Context, doc: dict[str, Any], windows: list[dict[str, Any]]) -> dict[str, Any]:
    if len(windows) == 1:
        return windows[0]
    waiting = [await ctx.db.appointments.count_documents(
        {"hall_id": doc["hall_id"], "date": doc["date"], "window": w["number"], "status": "checked_in"})
        for w in windows]
    return windows[waiting.index(min(waiting))]


async def _next_number(ctx: Context, key: str) -> int:
    """The next queue number of one window on one day (an atomic counter shared by every process)."""
    for _attempt in range(5):
        try:
            counter = await ctx.db.queue_counters.find_one_and_update(
                {"_id": key}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:  # two first upserts raced (MongoDB): the loser retries
            continue
        if counter is not None:
            return int(counter["seq"])
    raise Conflict("queue_busy", "排队号发放繁忙，请重试", "Queue numbering is busy; retry", headers={"Retry-After": "1"})


async def call_next(ctx: Context, hall_id: str, window: str, operator_id: str, locale: str) -> dict[str, Any]:
    """Call the lowest waiting number at one window today; two operators never call the same one."""
    hall = await get_hall(ctx, hall_id)
    if not any(w["number"] == window for w in hall.get("windows", [])):
        raise NotFound("window_not_found", "该大厅没有这个窗口", "No such window in this hall")
    now = ctx.clock()
    doc = await ctx.db.appointments.find_one_and_update(
        {"hall_id": hall_id, "date": local(now).date().isoformat(), "window": window, "status": "checked_in"},
        {"$set": {"status": "called", "called_at": now, "called_by": operator_id, "updated_at": now}},
        sort=[("queue_seq", ASCENDING)], return_document=ReturnDocument.AFTER)
    if doc is None:
        raise NotFound("queue_empty", "该窗口当前没有等候的号", "Nobody is waiting at this window")
    waiting = await ctx.db.appointments.count_documents(
        {"hall_id": hall_id, "date": doc["date"], "window": window, "status": "checked_in"})
    return {"window": window, "queue_number": doc["queue_number"], "waiting": waiting,
            "appointment": appointment_view(ctx, doc, locale)}


async def hall_appointments(ctx: Context, hall_id: str, date: str | None, status: str | None, page: int,
                            page_size: int, locale: str) -> dict[str, Any]:
    """One day's appointments at a hall (default today), in time and queue order."""
    await get_hall(ctx, hall_id)
    day = parse_date(date) if date else local(ctx.clock()).date()
    query: dict[str, Any] = {"hall_id": hall_id, "date": day.isoformat()}
    if status:
        if status not in STATUSES:
            raise ValidationFailed(errors=[FieldError("status", "invalid_status", "未知的预约状态", "Unknown status")])
        query["status"] = status
    return await page_of(ctx.db.appointments, query, [("starts_at", ASCENDING), ("queue_seq", ASCENDING)], page,
                         page_size, lambda doc: appointment_view(ctx, doc, locale))
