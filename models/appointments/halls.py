"""Halls (办事大厅) for operators: create, list, change, delete, within the operator's region.

A hall has an address, office hours, dates it is closed, and windows (窗口), each handling some service
codes; `service_codes` is the union of its windows' codes.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, ReturnDocument

from models.access import OperatorScope
from models.appointments.lookups import get_hall
from models.appointments.parsing import parse_hall
from models.appointments.rules import ACTIVE
from models.appointments.schedules import resync_counters
from models.appointments.views import hall_view
from models.core.context import Context
from models.core.pagination import page_of
from models.core.timezone import local
from models.errors import Conflict, NotFound


async def create_hall(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    fields = parse_hall(body)
    now = ctx.clock()
    hall = {"_id": str(ObjectId()), "hours": None, "phone": None, "region_code": None, "closed_dates": [],
            "geo": None, "active": True, "schedule": {"default": [], "weekdays": {}}}
    hall.update(fields)
    hall.update(created_at=now, updated_at=now)
    await ctx.db.halls.insert_one(hall)
    return hall_view(hall)


async def hall_for_operator(ctx: Context, scope: OperatorScope, hall_id: str) -> dict[str, Any]:
    """A hall in the operator's region (halls serve every department); 403 out_of_scope otherwise."""
    hall = await get_hall(ctx, hall_id)
    scope.require_region(hall.get("region_code"))
    return hall


def require_hall_placement(scope: OperatorScope, body: Any, hall: dict[str, Any] | None = None) -> None:
    """403 unless the hall, with the region `body` gives it, stays in the operator's region."""
    if isinstance(body, dict) and ("region_code" in body or hall is None):
        scope.require_region(body.get("region_code"))


async def list_halls(ctx: Context, scope: OperatorScope, page: int, page_size: int) -> dict[str, Any]:
    return await page_of(ctx.db.halls, scope.filter(department_field=None), [("created_at", ASCENDING)], page, page_size,
                         hall_view)


async def update_hall(ctx: Context, hall_id: str, body: dict[str, Any]) -> dict[str, Any]:
    fields = parse_hall(body, partial=True)
    fields["updated_at"] = ctx.clock()
    # Windows, schedules and dates are whole arrays written with $set (never $push of sub-documents).
    hall = await ctx.db.halls.find_one_and_update({"_id": hall_id}, {"$set": fields},
                                                  return_document=ReturnDocument.AFTER)
    if hall is None:
        raise NotFound("hall_not_found", "未找到该办事大厅", "Hall not found")
    view = hall_view(hall)
    if "closed_dates" in fields or "schedule" in fields:
        view["overbooked"] = await resync_counters(ctx, hall)
    return view


async def delete_hall(ctx: Context, hall_id: str) -> None:
    await get_hall(ctx, hall_id)
    today = local(ctx.clock()).date().isoformat()
    if await ctx.db.appointments.count_documents({"hall_id": hall_id, "status": {"$in": list(ACTIVE)},
                                                 "date": {"$gte": today}}, limit=1):
        raise Conflict("hall_has_bookings", "该大厅仍有未办理的预约，不能删除（可先停用）",
                       "The hall still has upcoming bookings; deactivate it instead")
    await ctx.db.halls.delete_one({"_id": hall_id})
    await ctx.db.hall_schedule_exceptions.delete_many({"hall_id": hall_id})
    await ctx.db.slot_counters.delete_many({"hall_id": hall_id})
