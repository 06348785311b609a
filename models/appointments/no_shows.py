"""No-shows (爽约): bookings never checked in, and suspending online booking after too many."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from pymongo import ASCENDING, ReturnDocument

from models.access import OperatorScope
from models.appointments.halls import hall_for_operator
from models.appointments.lookups import appointment_oid
from models.appointments.views import appointment_view
from models.core.context import Context
from models.errors import Conflict, NotFound

log = logging.getLogger("citygate.appointments")


async def mark_no_show(ctx: Context, scope: OperatorScope, appointment_id: str, operator_id: str,
                       locale: str) -> dict[str, Any]:
    """An operator records that a booked citizen never checked in (after the check-in window)."""
    now = ctx.clock()
    grace = datetime.timedelta(minutes=ctx.settings.appointment_checkin_grace_minutes)
    oid = appointment_oid(appointment_id)
    booked = await ctx.db.appointments.find_one({"_id": oid})
    if booked is not None:
        await hall_for_operator(ctx, scope, booked["hall_id"])
    doc = await ctx.db.appointments.find_one_and_update(
        {"_id": oid, "status": "booked", "ends_at": {"$lt": now - grace}},
        {"$set": {"status": "no_show", "no_show_at": now, "no_show_by": operator_id, "updated_at": now}},
        return_document=ReturnDocument.AFTER)
    if doc is None:
        current = await ctx.db.appointments.find_one({"_id": oid})
        if current is None:
            raise NotFound("appointment_not_found", "未找到该预约", "Appointment not found")
        if current["status"] != "booked":
            raise Conflict("appointment_not_markable", "该预约当前状态不能记为未到",
                           "This appointment cannot be marked as a no-show in its current state",
                           extra={"appointment_status": current["status"]})
        raise Conflict("check_in_still_open", "签到时间尚未结束", "The check-in window has not closed yet")
    await apply_no_show_policy(ctx, doc["citizen_id"])
    return appointment_view(ctx, doc, locale)


async def mark_no_shows(ctx: Context, limit: int = 500) -> int:
    """Periodic: bookings whose check-in window closed without a check-in become no-shows."""
    now = ctx.clock()
    grace = datetime.timedelta(minutes=ctx.settings.appointment_checkin_grace_minutes)
    marked = 0
    while marked < limit:
        doc = await ctx.db.appointments.find_one_and_update(
            {"status": "booked", "ends_at": {"$lt": now - grace}},
            {"$set": {"status": "no_show", "no_show_at": now, "no_show_by": "system", "updated_at": now}},
            sort=[("ends_at", ASCENDING)], return_document=ReturnDocument.AFTER)
        if doc is None:
            break
        marked += 1
        await apply_no_show_policy(ctx, doc["citizen_id"])
    return marked


async def apply_no_show_policy(ctx: Context, citizen_id: str) -> dict[str, Any] | None:
    """Suspend online booking when the citizen reached the no-show limit within the window."""
    settings, now = ctx.settings, ctx.clock()
    since = now - datetime.timedelta(days=settings.no_show_window_days)
    count = await ctx.db.appointments.count_documents(
        {"citizen_id": citizen_id, "status": "no_show", "starts_at": {"$gte": since}})
    if count < settings.no_show_limit:
        return None
    suspension = {"until": now + datetime.timedelta(days=settings.no_show_suspension_days), "since": now,
                  "no_shows": count}
    await ctx.db.booking_suspensions.update_one({"_id": citizen_id}, {"$set": suspension}, upsert=True)
    log.info("online booking suspended after %d no-shows until %s", count, suspension["until"].isoformat())
    return suspension
