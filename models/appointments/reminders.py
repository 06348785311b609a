"""Reminders the day before an appointment, sent through the outbox."""

from __future__ import annotations

import datetime

from models import outbox
from models.core.context import Context
from models.core.localized import text
from models.core.timezone import local

REMINDER_FROM_HOUR = 9  # reminders for tomorrow are queued from 09:00 local, not at midnight


async def enqueue_reminders(ctx: Context, limit: int = 1000) -> int:
    """Periodic: queue a reminder through the outbox for each of tomorrow's bookings (once each)."""
    wall_clock = local(ctx.clock())
    if wall_clock.hour < REMINDER_FROM_HOUR:
        return 0
    tomorrow = (wall_clock.date() + datetime.timedelta(days=1)).isoformat()
    queued = 0
    cursor = ctx.db.appointments.find({"status": "booked", "date": tomorrow, "reminder_queued": False})
    for doc in await cursor.limit(limit).to_list():
        await outbox.enqueue(
            ctx, citizen_id=doc["citizen_id"], event="appointment.reminder",
            dedupe_key=f"appointment:{doc['_id']}:reminder", template="appointment_reminder",
            data={"appointment_id": str(doc["_id"]), "service_code": doc["service_code"],
                  "service_name": text(doc.get("service_name"), "zh-CN"), "hall_name": text(doc.get("hall_name"), "zh-CN"),
                  "hall_address": text(doc.get("hall_address"), "zh-CN"), "date": doc["date"],
                  "start": doc["start"], "end": doc["end"]})
        await ctx.db.appointments.update_one({"_id": doc["_id"]}, {"$set": {"reminder_queued": True}})
        queued += 1
    return queued
