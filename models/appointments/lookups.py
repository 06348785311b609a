"""Finding one hall, service item or appointment, or answering 404."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from models.core.context import Context
from models.errors import NotFound


async def get_hall(ctx: Context, hall_id: str, active_only: bool = False) -> dict[str, Any]:
    """The hall (only an active one when `active_only`); 404 hall_not_found otherwise."""
    query: dict[str, Any] = {"_id": hall_id}
    if active_only:
        query["active"] = True
    hall = await ctx.db.halls.find_one(query)
    if hall is None:
        raise NotFound("hall_not_found", "未找到该办事大厅", "Hall not found")
    return hall


async def bookable_service(ctx: Context, code: str) -> dict[str, Any] | None:
    """The catalogue item (docs/service-item.md), when the catalogue has one; drafts are not bookable."""
    item = await ctx.db.services.find_one({"code": code}, {"code": 1, "name": 1, "status": 1})
    if item is not None and item.get("status") != "published":
        raise NotFound("service_not_found", "未找到该事项", "Service item not found")
    return item


def appointment_oid(raw: str) -> ObjectId:
    """An appointment id from a path; 404 appointment_not_found when it cannot be one."""
    try:
        return ObjectId(raw)
    except (InvalidId, TypeError):
        raise NotFound("appointment_not_found", "未找到该预约", "Appointment not found") from None


async def own_appointment(ctx: Context, citizen_id: str, appointment_id: str) -> dict[str, Any]:
    """One of the citizen's own appointments; 404 for anyone else's (as for one that does not exist)."""
    doc = await ctx.db.appointments.find_one({"_id": appointment_oid(appointment_id), "citizen_id": citizen_id})
    if doc is None:
        raise NotFound("appointment_not_found", "未找到该预约", "Appointment not found")
    return doc
