"""Appointments (预约办事): halls, windows, time-slot quotas, bookings, check-in and calling.

A hall (办事大厅) has an address, office hours, dates it is closed, and windows (窗口), each handling
some service codes. Its schedule gives per-time-slot quotas (号源): a default day, optional per-weekday
days, and single-day exceptions. Slots are bookable only on working days of the State Council
calendar (调休 weekends included, holidays excluded), not on the hall's closed dates, and only within
`settings.booking_horizon_days`.

Places are counted in one `slot_counters` document per (hall, date, slot), created lazily from the
schedule with `remaining = quota`. A booking takes a place with one conditional decrement
(`remaining > 0`), so any number of server processes never hand out more places than the quota; a
cancellation gives the place back with one increment. A citizen's one-booking-per-service-per-day rule
is a unique index on the appointment's `active_key`, which is removed when the booking is cancelled.

Times of day are local to the hall (Asia/Shanghai); stored instants are UTC.
"""

from __future__ import annotations

import datetime
import logging
import math
import re
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models import outbox
from models.access import OperatorScope
from models.core.timezone import SHANGHAI, local
from models.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from models.workdays import is_workday

log = logging.getLogger("citygate.appointments")

Localized = dict[str, str]

ACTIVE = ("booked", "checked_in")  # statuses that hold a place in a hall
STATUSES = ("booked", "checked_in", "called", "cancelled", "no_show")
REMINDER_FROM_HOUR = 9  # reminders for tomorrow are queued from 09:00 local, not at midnight
MAX_SLOTS_PER_DAY = 96
MAX_WINDOWS = 60

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z", re.ASCII)
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d\Z", re.ASCII)  # not "0٨:30", not "08:30\n"
_WINDOW = re.compile(r"^[A-Za-z0-9]{1,8}$")
_PREFIX = re.compile(r"^[A-Z]{1,3}$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


# ---- indexes ----------------------------------------------------------------------------------------

async def ensure_indexes(db: AsyncDatabase) -> None:
    # No index on halls.service_codes: halls are few, and nx-27017 answers array-membership queries
    # wrongly (no match) when the array field is indexed.
    await db.hall_schedule_exceptions.create_index([("hall_id", ASCENDING), ("date", ASCENDING)], unique=True)
    await db.slot_counters.create_index([("hall_id", ASCENDING), ("date", ASCENDING)])
    # One active booking per citizen, service and day: `active_key` exists only while the booking holds
    # a place (a partial index would say this more directly, but nx-27017 ignores partialFilterExpression).
    await db.appointments.create_index("active_key", unique=True, sparse=True)
    await db.appointments.create_index([("citizen_id", ASCENDING), ("starts_at", DESCENDING)])
    await db.appointments.create_index([("hall_id", ASCENDING), ("date", ASCENDING), ("window", ASCENDING),
                                        ("status", ASCENDING), ("queue_seq", ASCENDING)])
    await db.appointments.create_index([("status", ASCENDING), ("ends_at", ASCENDING)])
    await db.appointments.create_index([("status", ASCENDING), ("date", ASCENDING)])


# ---- pure rules -------------------------------------------------------------------------------------

def local_now(now: datetime.datetime) -> datetime.datetime:
    return local(now)


def slot_instant(day: datetime.date, hhmm: str) -> datetime.datetime:
    """The UTC instant of a local time of day ("08:30") on `day`."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI).astimezone(datetime.UTC)


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


def text(value: Any, locale: str) -> str:
    """One language of a localised dict (falling back to zh-CN), or the value itself."""
    if isinstance(value, dict):
        return value.get(locale) or value.get("zh-CN") or next(iter(value.values()), "")
    return value or ""


# ---- validation -------------------------------------------------------------------------------------

def _err(field: str, code: str, zh: str, en: str) -> FieldError:
    return FieldError(field, code, zh, en)


def parse_date(raw: Any, field: str = "date") -> datetime.date:
    if isinstance(raw, str) and _DATE.match(raw):
        try:
            return datetime.date.fromisoformat(raw)
        except ValueError:
            pass
    raise ValidationFailed(errors=[_err(field, "invalid_date", f"{field} 应为 YYYY-MM-DD 格式的日期",
                                        f"{field} must be a date as YYYY-MM-DD")])


def _localized(raw: Any, field: str, errors: list[FieldError], required: bool = True) -> Localized | None:
    if raw is None or raw == "":
        if required:
            errors.append(_err(field, "required", f"{field} 为必填项", f"{field} is required"))
        return None
    if isinstance(raw, str):
        raw = {"zh-CN": raw}
    if (not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items())
            or not raw.get("zh-CN", "").strip() or len(raw) > 5 or any(len(v) > 500 for v in raw.values())):
        errors.append(_err(field, "invalid_text", f"{field} 应为文本或含 zh-CN 的多语言文本",
                           f"{field} must be text or a dict of languages including zh-CN"))
        return None
    return {k: v.strip() for k, v in raw.items()}


def parse_slots(raw: Any, field: str, errors: list[FieldError]) -> list[dict[str, Any]]:
    """Validate a day's slots `[{"start": "08:30", "end": "09:00", "quota": 6}, ...]` (sorted, no overlap)."""
    if not isinstance(raw, list) or len(raw) > MAX_SLOTS_PER_DAY:
        errors.append(_err(field, "invalid_slots", f"{field} 应为不超过 {MAX_SLOTS_PER_DAY} 个时段的列表",
                           f"{field} must be a list of at most {MAX_SLOTS_PER_DAY} slots"))
        return []
    slots: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            errors.append(_err(where, "invalid_slot", "时段应为对象", "a slot must be an object"))
            continue
        start, end, quota = item.get("start"), item.get("end"), item.get("quota")
        if not (isinstance(start, str) and _TIME.match(start) and isinstance(end, str) and _TIME.match(end)):
            errors.append(_err(where, "invalid_time", "开始和结束时间应为 HH:MM", "start and end must be HH:MM"))
            continue
        if end <= start:
            errors.append(_err(where, "end_before_start", "结束时间应晚于开始时间", "end must be after start"))
            continue
        if isinstance(quota, bool) or not isinstance(quota, int) or not 0 <= quota <= 10_000:
            errors.append(_err(where + ".quota", "invalid_quota", "号源数量应为 0 到 10000 的整数",
                               "quota must be a whole number from 0 to 10000"))
            continue
        slots.append({"id": slot_id(start), "start": start, "end": end, "quota": quota})
    slots.sort(key=lambda s: s["start"])
    for before, after in zip(slots, slots[1:], strict=False):
        if after["start"] < before["end"]:
            errors.append(_err(field, "overlapping_slots", f"时段 {before['start']} 与 {after['start']} 重叠",
                               f"slots {before['start']} and {after['start']} overlap"))
            break
    return slots


def parse_schedule(raw: Any, errors: list[FieldError], field: str = "schedule") -> dict[str, Any]:
    """`{"default": [slots], "weekdays": {"1".."7": [slots]}}`: weekdays override the default day."""
    if not isinstance(raw, dict):
        errors.append(_err(field, "invalid_schedule", "排班应为对象", "schedule must be an object"))
        return {}
    schedule: dict[str, Any] = {"default": parse_slots(raw.get("default", []), f"{field}.default", errors),
                                "weekdays": {}}
    weekdays = raw.get("weekdays") or {}
    if not isinstance(weekdays, dict) or not all(str(k) in "1234567" and len(str(k)) == 1 for k in weekdays):
        errors.append(_err(f"{field}.weekdays", "invalid_weekdays", "weekdays 的键应为 1（周一）到 7（周日）",
                           "weekdays keys must be 1 (Monday) to 7 (Sunday)"))
        return schedule
    for key, slots in weekdays.items():
        schedule["weekdays"][str(key)] = parse_slots(slots, f"{field}.weekdays.{key}", errors)
    return schedule


def _parse_windows(raw: Any, errors: list[FieldError]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_WINDOWS:
        errors.append(_err("windows", "invalid_windows", f"窗口应为 1 到 {MAX_WINDOWS} 个的列表",
                           f"windows must be a list of 1 to {MAX_WINDOWS} windows"))
        return []
    windows: list[dict[str, Any]] = []
    numbers: set[str] = set()
    for index, item in enumerate(raw):
        where = f"windows[{index}]"
        if not isinstance(item, dict):
            errors.append(_err(where, "invalid_window", "窗口应为对象", "a window must be an object"))
            continue
        number = str(item.get("number", ""))
        if not _WINDOW.match(number) or number in numbers:
            errors.append(_err(where + ".number", "invalid_window_number", "窗口号应为 1 到 8 位字母或数字且不重复",
                               "window number must be 1-8 letters or digits, unique in the hall"))
            continue
        numbers.add(number)
        codes = item.get("service_codes")
        if (not isinstance(codes, list) or not codes or len(codes) > 200
                or not all(isinstance(c, str) and _CODE.match(c) for c in codes)):
            errors.append(_err(where + ".service_codes", "invalid_service_codes", "窗口应至少办理一个事项编码",
                               "a window must list at least one valid service code"))
            continue
        prefix = item.get("queue_prefix") or (chr(ord("A") + index) if index < 26 else "W")
        if not isinstance(prefix, str) or not _PREFIX.match(prefix):
            errors.append(_err(where + ".queue_prefix", "invalid_queue_prefix", "排队号前缀应为 1 到 3 个大写字母",
                               "queue_prefix must be 1-3 capital letters"))
            continue
        window = {"number": number, "service_codes": sorted(set(codes)), "queue_prefix": prefix}
        name = _localized(item.get("name"), where + ".name", errors, required=False)
        if name:
            window["name"] = name
        windows.append(window)
    return windows


def finite_number(value: Any, low: float, high: float) -> float | None:
    """`value` when it is a finite number from `low` to `high`, else None.

    Numbers only: float() would also take True, "nan" and "inf", and NaN is never farther than any
    radius (every comparison with it is false), so a NaN location would pass every geofence.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) and low <= number <= high else None


def _parse_geo(raw: Any, errors: list[FieldError]) -> dict[str, Any] | None:
    if raw is None:
        return None
    fields = raw if isinstance(raw, dict) else {}
    lat, lng = finite_number(fields.get("latitude"), -90, 90), finite_number(fields.get("longitude"), -180, 180)
    radius = finite_number(fields.get("radius_m", 500), 50, 5000)
    if lat is None or lng is None or radius is None or radius != int(radius):
        errors.append(_err("geo", "invalid_geo", "位置应含 latitude、longitude 与 50–5000 米的 radius_m",
                           "geo needs latitude, longitude and radius_m of 50-5000 metres"))
        return None
    return {"latitude": lat, "longitude": lng, "radius_m": int(radius)}


def _location(body: dict[str, Any]) -> tuple[float, float]:
    """Where the citizen says they are: finite latitude and longitude in range, else a field error."""
    if body.get("latitude") is None and body.get("longitude") is None:
        raise ValidationFailed(errors=[_err("latitude", "location_required", "请在大厅现场签到（需要位置）",
                                            "Check in at the hall: latitude and longitude are required")])
    lat, lng = finite_number(body.get("latitude"), -90, 90), finite_number(body.get("longitude"), -180, 180)
    errors = []
    if lat is None:
        errors.append(_err("latitude", "invalid_location", "纬度应为 -90 到 90 之间的数字",
                           "latitude must be a number from -90 to 90"))
    if lng is None:
        errors.append(_err("longitude", "invalid_location", "经度应为 -180 到 180 之间的数字",
                           "longitude must be a number from -180 to 180"))
    if errors:
        raise ValidationFailed(errors=errors)
    return lat, lng


def _parse_closed_dates(raw: Any, errors: list[FieldError]) -> list[str]:
    if not isinstance(raw, list) or len(raw) > 1000:
        errors.append(_err("closed_dates", "invalid_dates", "closed_dates 应为日期列表", "closed_dates must be a list of dates"))
        return []
    dates: set[str] = set()
    for index, value in enumerate(raw):
        try:
            dates.add(parse_date(value, f"closed_dates[{index}]").isoformat())
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    return sorted(dates)


def parse_hall(body: dict[str, Any], partial: bool = False) -> dict[str, Any]:
    """Validated hall fields from an operator's body (only the given ones when `partial`)."""
    errors: list[FieldError] = []
    fields: dict[str, Any] = {}
    for name, required in (("name", True), ("address", True), ("hours", False)):
        if name in body or (required and not partial):
            value = _localized(body.get(name), name, errors, required=required)
            if value is not None or name in body:
                fields[name] = value
    if "phone" in body:
        phone = body["phone"]
        if phone is not None and (not isinstance(phone, str) or not re.fullmatch(r"[0-9+\- ]{3,30}", phone)):
            errors.append(_err("phone", "invalid_phone", "电话号码格式不正确", "phone is not a valid number"))
        fields["phone"] = phone
    if "region_code" in body:
        region = body["region_code"]
        if region is not None and (not isinstance(region, str) or not re.fullmatch(r"\d{6}", region)):
            errors.append(_err("region_code", "invalid_region", "区划代码应为 6 位数字", "region_code must be 6 digits"))
        fields["region_code"] = region
    if "windows" in body or not partial:
        fields["windows"] = _parse_windows(body.get("windows"), errors)
    if "closed_dates" in body:
        fields["closed_dates"] = _parse_closed_dates(body["closed_dates"], errors)
    if "geo" in body:
        fields["geo"] = _parse_geo(body["geo"], errors)
    if "active" in body:
        if not isinstance(body["active"], bool):
            errors.append(_err("active", "invalid_boolean", "active 应为 true 或 false", "active must be true or false"))
        fields["active"] = body["active"]
    if "schedule" in body:
        fields["schedule"] = parse_schedule(body["schedule"], errors)
    if errors:
        raise ValidationFailed(errors=errors)
    if "windows" in fields:
        fields["service_codes"] = sorted({code for window in fields["windows"] for code in window["service_codes"]})
    return fields


# ---- halls (operators) ------------------------------------------------------------------------------

def hall_view(hall: dict[str, Any]) -> dict[str, Any]:
    """An operator's view of a hall: every field, `id` instead of `_id`."""
    view = {k: v for k, v in hall.items() if k != "_id"}
    view["id"] = hall["_id"]
    return view


async def _hall(ctx, hall_id: str, active_only: bool = False) -> dict[str, Any]:  # noqa: ANN001
    query: dict[str, Any] = {"_id": hall_id}
    if active_only:
        query["active"] = True
    hall = await ctx.db.halls.find_one(query)
    if hall is None:
        raise NotFound("hall_not_found", "未找到该办事大厅", "Hall not found")
    return hall


async def create_hall(ctx, body: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
    fields = parse_hall(body)
    now = ctx.clock()
    hall = {"_id": str(ObjectId()), "hours": None, "phone": None, "region_code": None, "closed_dates": [],
            "geo": None, "active": True, "schedule": {"default": [], "weekdays": {}}}
    hall.update(fields)
    hall.update(created_at=now, updated_at=now)
    await ctx.db.halls.insert_one(hall)
    return hall_view(hall)


async def hall_for_operator(ctx, scope: OperatorScope, hall_id: str) -> dict[str, Any]:  # noqa: ANN001
    """A hall in the operator's region (halls serve every department); 403 out_of_scope otherwise."""
    hall = await _hall(ctx, hall_id)
    scope.require_region(hall.get("region_code"))
    return hall


def require_hall_placement(scope: OperatorScope, body: Any, hall: dict[str, Any] | None = None) -> None:
    """403 unless the hall, with the region `body` gives it, stays in the operator's region."""
    if isinstance(body, dict) and ("region_code" in body or hall is None):
        scope.require_region(body.get("region_code"))


async def list_halls(ctx, scope: OperatorScope, page: int, page_size: int) -> dict[str, Any]:  # noqa: ANN001
    query = scope.filter(department_field=None)
    total = await ctx.db.halls.count_documents(query)
    cursor = ctx.db.halls.find(query).sort("created_at", ASCENDING).skip((page - 1) * page_size).limit(page_size)
    return {"items": [hall_view(h) for h in await cursor.to_list()], "total": total, "page": page,
            "page_size": page_size}


async def update_hall(ctx, hall_id: str, body: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
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


async def delete_hall(ctx, hall_id: str) -> None:  # noqa: ANN001
    await _hall(ctx, hall_id)
    today = local_now(ctx.clock()).date().isoformat()
    if await ctx.db.appointments.count_documents({"hall_id": hall_id, "status": {"$in": list(ACTIVE)},
                                                 "date": {"$gte": today}}, limit=1):
        raise Conflict("hall_has_bookings", "该大厅仍有未办理的预约，不能删除（可先停用）",
                       "The hall still has upcoming bookings; deactivate it instead")
    await ctx.db.halls.delete_one({"_id": hall_id})
    await ctx.db.hall_schedule_exceptions.delete_many({"hall_id": hall_id})
    await ctx.db.slot_counters.delete_many({"hall_id": hall_id})


async def get_schedule(ctx, hall_id: str) -> dict[str, Any]:  # noqa: ANN001
    hall = await _hall(ctx, hall_id)
    today = local_now(ctx.clock()).date().isoformat()
    cursor = ctx.db.hall_schedule_exceptions.find({"hall_id": hall_id, "date": {"$gte": today}}).sort("date", ASCENDING)
    exceptions = [{"date": e["date"], "slots": e["slots"], "note": e.get("note")} for e in await cursor.to_list()]
    schedule = hall.get("schedule") or {"default": [], "weekdays": {}}
    return {"hall_id": hall_id, "default": schedule.get("default", []), "weekdays": schedule.get("weekdays", {}),
            "closed_dates": hall.get("closed_dates", []), "exceptions": exceptions}


async def set_schedule(ctx, hall_id: str, body: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
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


async def set_exception(ctx, hall_id: str, date: str, body: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
    """Give one date its own slots (an empty list closes the hall that day)."""
    day = parse_date(date)
    errors: list[FieldError] = []
    slots = parse_slots(body.get("slots"), "slots", errors)
    note = _localized(body.get("note"), "note", errors, required=False)
    if errors:
        raise ValidationFailed(errors=errors)
    hall = await _hall(ctx, hall_id)
    await ctx.db.hall_schedule_exceptions.update_one(
        {"_id": f"{hall_id}|{day.isoformat()}"},
        {"$set": {"hall_id": hall_id, "date": day.isoformat(), "slots": slots, "note": note,
                  "updated_at": ctx.clock()}},
        upsert=True)
    overbooked = await resync_counters(ctx, hall, only_date=day.isoformat())
    return {"hall_id": hall_id, "date": day.isoformat(), "slots": slots, "note": note, "overbooked": overbooked}


async def delete_exception(ctx, hall_id: str, date: str) -> dict[str, Any]:  # noqa: ANN001
    day = parse_date(date)
    hall = await _hall(ctx, hall_id)
    result = await ctx.db.hall_schedule_exceptions.delete_one({"_id": f"{hall_id}|{day.isoformat()}"})
    if not result.deleted_count:
        raise NotFound("schedule_exception_not_found", "该日期没有特殊排班", "No exception for that date")
    overbooked = await resync_counters(ctx, hall, only_date=day.isoformat())
    return {"hall_id": hall_id, "date": day.isoformat(), "overbooked": overbooked}


async def resync_counters(ctx, hall: dict[str, Any], only_date: str | None = None) -> list[dict[str, Any]]:  # noqa: ANN001
    """Bring existing place counters in line with a changed schedule; return slots now overbooked.

    Each counter moves by (new quota - old capacity) with an update conditional on the old capacity,
    so concurrent bookings and cancellations (which move only `remaining`) are never lost.
    Known gap: a counter created lazily by a booking that read the hall just before the change still
    starts from the old quota (a window of milliseconds); saving the schedule again corrects it.
    """
    today = local_now(ctx.clock()).date().isoformat()
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


# ---- slots (citizens) -------------------------------------------------------------------------------

async def _service(ctx, code: str) -> dict[str, Any] | None:  # noqa: ANN001
    """The catalogue item (docs/service-item.md), when the catalogue has one; drafts are not bookable."""
    item = await ctx.db.services.find_one({"code": code}, {"code": 1, "name": 1, "status": 1})
    if item is not None and item.get("status") != "published":
        raise NotFound("service_not_found", "未找到该事项", "Service item not found")
    return item


def _horizon(ctx, now: datetime.datetime) -> tuple[datetime.date, datetime.date]:  # noqa: ANN001
    today = local_now(now).date()
    return today, today + datetime.timedelta(days=ctx.settings.booking_horizon_days)


async def list_slots(ctx, service_code: str, hall_id: str | None, date: str | None,  # noqa: ANN001
                     locale: str) -> dict[str, Any]:
    """Halls offering `service_code` with their slots and remaining places on `date`.

    Without a date: each hall's bookable days in the horizon with the places left on each.
    """
    if not service_code:
        raise ValidationFailed(errors=[_err("service_code", "required", "service_code 为必填项",
                                            "service_code is required")])
    await _service(ctx, service_code)
    query: dict[str, Any] = {"service_codes": service_code, "active": True}
    if hall_id:
        query["_id"] = hall_id
    halls = await ctx.db.halls.find(query).sort("created_at", ASCENDING).to_list()
    if hall_id and not halls:
        raise NotFound("hall_not_found", "未找到办理该事项的办事大厅", "No such hall handles this service")
    now = ctx.clock()
    today, last = _horizon(ctx, now)
    if date is None:
        return {"service_code": service_code, "from": today.isoformat(), "to": last.isoformat(),
                "halls": [await _hall_days(ctx, hall, today, last, now, locale) for hall in halls]}
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
        result.append({**_hall_summary(hall, locale), "date": day.isoformat(),
                       "bookable": any(s["bookable"] for s in shown), "closed_reason": reason, "slots": shown})
    return {"service_code": service_code, "date": day.isoformat(), "halls": result}


async def _hall_days(ctx, hall: dict[str, Any], first: datetime.date, last: datetime.date,  # noqa: ANN001
                     now: datetime.datetime, locale: str) -> dict[str, Any]:
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
    return {**_hall_summary(hall, locale), "days": days}


def _hall_summary(hall: dict[str, Any], locale: str) -> dict[str, Any]:
    return {"hall_id": hall["_id"], "name": text(hall.get("name"), locale), "address": text(hall.get("address"), locale),
            "hours": text(hall.get("hours"), locale), "phone": hall.get("phone")}


# ---- booking ----------------------------------------------------------------------------------------

async def _take_place(ctx, hall: dict[str, Any], day: datetime.date, slot: dict[str, Any]) -> str:  # noqa: ANN001
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


async def _give_back(ctx, counter_id: str) -> None:  # noqa: ANN001
    await ctx.db.slot_counters.update_one({"_id": counter_id}, {"$inc": {"remaining": 1}})


async def suspension_of(ctx, citizen_id: str) -> dict[str, Any] | None:  # noqa: ANN001
    """The citizen's current online-booking suspension, if any."""
    return await ctx.db.booking_suspensions.find_one({"_id": citizen_id, "until": {"$gt": ctx.clock()}})


async def book(ctx, citizen_id: str, body: dict[str, Any], locale: str) -> dict[str, Any]:  # noqa: ANN001
    """Book one place: `{service_code, hall_id, date, slot_id}` → the appointment."""
    errors = [_err(name, "required", f"{name} 为必填项", f"{name} is required")
              for name in ("service_code", "hall_id", "date", "slot_id")
              if not isinstance(body.get(name), str) or not body.get(name)]
    if errors:
        raise ValidationFailed(errors=errors)
    service_code, wanted = body["service_code"], slot_id(body["slot_id"])
    day = parse_date(body["date"])
    now = ctx.clock()
    hall = await _hall(ctx, body["hall_id"], active_only=True)
    if service_code not in hall.get("service_codes", []):
        raise ValidationFailed(errors=[_err("service_code", "service_not_offered", "该大厅不办理此事项",
                                            "This hall does not handle that service")])
    service = await _service(ctx, service_code)
    today, last = _horizon(ctx, now)
    if not today <= day <= last:
        raise ValidationFailed(errors=[_err("date", "outside_booking_horizon",
                                            f"只能预约今天起 {ctx.settings.booking_horizon_days} 天内的日期",
                                            f"Bookings open {ctx.settings.booking_horizon_days} days ahead at most")])
    exception = await ctx.db.hall_schedule_exceptions.find_one({"_id": f"{hall['_id']}|{day.isoformat()}"})
    slots, reason = day_plan(hall, exception, day)
    if reason == "not_working_day":
        raise ValidationFailed(errors=[_err("date", "not_working_day", "该日期为法定节假日或休息日，不可预约",
                                            "That date is not a working day")])
    if reason is not None:
        raise ValidationFailed(errors=[_err("date", "hall_closed", "该大厅当天不开放预约",
                                            "The hall takes no bookings that day")])
    slot = next((s for s in slots if s["id"] == wanted), None)
    if slot is None:
        raise ValidationFailed(errors=[_err("slot_id", "unknown_slot", "当天没有该时段", "No such slot that day")])
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


def appointment_view(ctx, doc: dict[str, Any], locale: str) -> dict[str, Any]:  # noqa: ANN001
    """What a citizen (or an operator) sees of an appointment."""
    settings = ctx.settings
    view = {
        "id": str(doc["_id"]), "service_code": doc["service_code"], "service_name": text(doc.get("service_name"), locale),
        "hall_id": doc["hall_id"], "hall_name": text(doc.get("hall_name"), locale),
        "hall_address": text(doc.get("hall_address"), locale), "date": doc["date"], "slot_id": doc["slot_id"],
        "start": doc["start"], "end": doc["end"], "starts_at": doc["starts_at"], "status": doc["status"],
        "cancellable_until": doc["starts_at"] - datetime.timedelta(minutes=settings.appointment_cancel_cutoff_minutes),
        "check_in_from": doc["starts_at"] - datetime.timedelta(minutes=settings.appointment_checkin_open_minutes),
        "check_in_until": doc["ends_at"] + datetime.timedelta(minutes=settings.appointment_checkin_grace_minutes),
        "created_at": doc["created_at"],
    }
    for name in ("window", "queue_number", "checked_in_at", "called_at", "cancelled_at", "no_show_at"):
        if doc.get(name) is not None:
            view[name] = doc[name]
    return view


def _object_id(raw: str) -> ObjectId:
    try:
        return ObjectId(raw)
    except (InvalidId, TypeError):
        raise NotFound("appointment_not_found", "未找到该预约", "Appointment not found") from None


async def _mine(ctx, citizen_id: str, appointment_id: str) -> dict[str, Any]:  # noqa: ANN001
    doc = await ctx.db.appointments.find_one({"_id": _object_id(appointment_id), "citizen_id": citizen_id})
    if doc is None:
        raise NotFound("appointment_not_found", "未找到该预约", "Appointment not found")
    return doc


async def get_mine(ctx, citizen_id: str, appointment_id: str, locale: str) -> dict[str, Any]:  # noqa: ANN001
    return appointment_view(ctx, await _mine(ctx, citizen_id, appointment_id), locale)


async def list_mine(ctx, citizen_id: str, page: int, page_size: int, status: str | None,  # noqa: ANN001
                    locale: str) -> dict[str, Any]:
    query: dict[str, Any] = {"citizen_id": citizen_id}
    if status:
        if status not in STATUSES:
            raise ValidationFailed(errors=[_err("status", "invalid_status", "未知的预约状态", "Unknown status")])
        query["status"] = status
    total = await ctx.db.appointments.count_documents(query)
    cursor = ctx.db.appointments.find(query).sort("starts_at", DESCENDING).skip((page - 1) * page_size).limit(page_size)
    return {"items": [appointment_view(ctx, d, locale) for d in await cursor.to_list()], "total": total,
            "page": page, "page_size": page_size}


async def cancel(ctx, citizen_id: str, appointment_id: str, locale: str) -> dict[str, Any]:  # noqa: ANN001
    """Cancel up to the cut-off before the slot; the place is free again at once."""
    oid = _object_id(appointment_id)
    now = ctx.clock()
    cutoff = datetime.timedelta(minutes=ctx.settings.appointment_cancel_cutoff_minutes)
    doc = await ctx.db.appointments.find_one_and_update(
        {"_id": oid, "citizen_id": citizen_id, "status": "booked", "starts_at": {"$gt": now + cutoff}},
        {"$set": {"status": "cancelled", "cancelled_at": now, "updated_at": now}, "$unset": {"active_key": ""}},
        return_document=ReturnDocument.AFTER)
    if doc is None:
        current = await _mine(ctx, citizen_id, appointment_id)
        if current["status"] != "booked":
            raise Conflict("appointment_not_cancellable", "该预约当前状态不能取消",
                           "This appointment cannot be cancelled in its current state",
                           extra={"appointment_status": current["status"]})
        minutes = ctx.settings.appointment_cancel_cutoff_minutes
        raise Conflict("cancel_cutoff_passed", f"距预约时段开始已不足 {minutes} 分钟，不能取消",
                       f"Cancellations close {minutes} minutes before the slot")
    await _give_back(ctx, doc["counter_id"])
    return appointment_view(ctx, doc, locale)


# ---- on the day: check-in and calling ---------------------------------------------------------------

async def check_in(ctx, citizen_id: str, appointment_id: str, body: dict[str, Any],  # noqa: ANN001
                   locale: str) -> dict[str, Any]:
    """Check in at the hall within the check-in window: a queue number at a window for the service."""
    doc = await _mine(ctx, citizen_id, appointment_id)
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
    hall = await _hall(ctx, doc["hall_id"])
    geo = hall.get("geo")
    if geo:
        here = _location(body)
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
        updated = await _mine(ctx, citizen_id, appointment_id)
        if updated["status"] not in ("checked_in", "called"):
            raise Conflict("appointment_not_checkable", "该预约当前状态不能签到",
                           "This appointment cannot be checked in in its current state")
    return appointment_view(ctx, updated, locale)


async def _shortest_queue(ctx, doc: dict[str, Any], windows: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: ANN001
    if len(windows) == 1:
        return windows[0]
    waiting = [await ctx.db.appointments.count_documents(
        {"hall_id": doc["hall_id"], "date": doc["date"], "window": w["number"], "status": "checked_in"})
        for w in windows]
    return windows[waiting.index(min(waiting))]


async def _next_number(ctx, key: str) -> int:  # noqa: ANN001
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


async def call_next(ctx, hall_id: str, window: str, operator_id: str, locale: str) -> dict[str, Any]:  # noqa: ANN001
    """Call the lowest waiting number at one window today; two operators never call the same one."""
    hall = await _hall(ctx, hall_id)
    if not any(w["number"] == window for w in hall.get("windows", [])):
        raise NotFound("window_not_found", "该大厅没有这个窗口", "No such window in this hall")
    now = ctx.clock()
    doc = await ctx.db.appointments.find_one_and_update(
        {"hall_id": hall_id, "date": local_now(now).date().isoformat(), "window": window, "status": "checked_in"},
        {"$set": {"status": "called", "called_at": now, "called_by": operator_id, "updated_at": now}},
        sort=[("queue_seq", ASCENDING)], return_document=ReturnDocument.AFTER)
    if doc is None:
        raise NotFound("queue_empty", "该窗口当前没有等候的号", "Nobody is waiting at this window")
    waiting = await ctx.db.appointments.count_documents(
        {"hall_id": hall_id, "date": doc["date"], "window": window, "status": "checked_in"})
    return {"window": window, "queue_number": doc["queue_number"], "waiting": waiting,
            "appointment": appointment_view(ctx, doc, locale)}


async def hall_appointments(ctx, hall_id: str, date: str | None, status: str | None, page: int,  # noqa: ANN001
                            page_size: int, locale: str) -> dict[str, Any]:
    """One day's appointments at a hall (default today), in time and queue order."""
    await _hall(ctx, hall_id)
    day = parse_date(date) if date else local_now(ctx.clock()).date()
    query: dict[str, Any] = {"hall_id": hall_id, "date": day.isoformat()}
    if status:
        if status not in STATUSES:
            raise ValidationFailed(errors=[_err("status", "invalid_status", "未知的预约状态", "Unknown status")])
        query["status"] = status
    total = await ctx.db.appointments.count_documents(query)
    cursor = (ctx.db.appointments.find(query).sort([("starts_at", ASCENDING), ("queue_seq", ASCENDING)])
              .skip((page - 1) * page_size).limit(page_size))
    return {"items": [appointment_view(ctx, d, locale) for d in await cursor.to_list()], "total": total,
            "page": page, "page_size": page_size}


# ---- no-shows ---------------------------------------------------------------------------------------

async def mark_no_show(ctx, scope: OperatorScope, appointment_id: str, operator_id: str,  # noqa: ANN001
                       locale: str) -> dict[str, Any]:
    """An operator records that a booked citizen never checked in (after the check-in window)."""
    now = ctx.clock()
    grace = datetime.timedelta(minutes=ctx.settings.appointment_checkin_grace_minutes)
    oid = _object_id(appointment_id)
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


async def mark_no_shows(ctx, limit: int = 500) -> int:  # noqa: ANN001
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


async def apply_no_show_policy(ctx, citizen_id: str) -> dict[str, Any] | None:  # noqa: ANN001
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


# ---- reminders --------------------------------------------------------------------------------------

async def enqueue_reminders(ctx, limit: int = 1000) -> int:  # noqa: ANN001
    """Periodic: queue a reminder through the outbox for each of tomorrow's bookings (once each)."""
    local = local_now(ctx.clock())
    if local.hour < REMINDER_FROM_HOUR:
        return 0
    tomorrow = (local.date() + datetime.timedelta(days=1)).isoformat()
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


# ---- demo -------------------------------------------------------------------------------------------

def _half_hours(first: str, last: str, quota: int) -> list[dict[str, Any]]:
    slots = []
    start = datetime.datetime.strptime(first, "%H:%M")
    stop = datetime.datetime.strptime(last, "%H:%M")
    while start < stop:
        end = start + datetime.timedelta(minutes=30)
        slots.append({"id": start.strftime("%H%M"), "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"),
                      "quota": quota})
        start = end
    return slots


def demo_halls() -> list[dict[str, Any]]:
    """Two demo halls of the demo city 示范市, matching the demo catalogue's items and their locations."""
    return [
        {"_id": "hall-demo-exit-entry",
         "name": {"zh-CN": "示范市公安局出入境接待大厅", "en": "Exit-Entry Reception Hall, Shifan Public Security Bureau"},
         "address": {"zh-CN": "示范市西山区解放路120号", "en": "120 Jiefang Road, Xishan District"},
         "hours": {"zh-CN": "工作日 8:30-12:00、13:30-17:00（法定节假日除外）",
                   "en": "Working days 8:30-12:00 and 13:30-17:00, closed on public holidays"},
         "phone": "0571-12345", "region_code": "330105", "closed_dates": [], "geo": None, "active": True,
         "windows": [
             {"number": "1", "name": {"zh-CN": "护照窗口", "en": "Passports"}, "service_codes": ["GA-0001", "GA-0002"],
              "queue_prefix": "A"},
             {"number": "2", "name": {"zh-CN": "护照窗口", "en": "Passports"}, "service_codes": ["GA-0001", "GA-0002"],
              "queue_prefix": "B"},
             {"number": "3", "name": {"zh-CN": "港澳台通行证窗口", "en": "Hong Kong, Macao and Taiwan permits"},
              "service_codes": ["GA-0003", "GA-0004"], "queue_prefix": "C"}],
         "schedule": {"default": _half_hours("08:30", "12:00", 6) + _half_hours("13:30", "17:00", 6), "weekdays": {}}},
        {"_id": "hall-demo-citizen-center",
         "name": {"zh-CN": "示范市民中心", "en": "Shifan Citizen Service Center"},
         "address": {"zh-CN": "示范市东湖区市民大道88号市民中心A座", "en": "Building A, 88 Shimin Avenue, Donghu District"},
         "hours": {"zh-CN": "工作日 9:00-12:00、13:30-17:00（法定节假日除外）",
                   "en": "Working days 9:00-12:00 and 13:30-17:00, closed on public holidays"},
         "phone": "0571-12345", "region_code": "330102", "closed_dates": [], "geo": None, "active": True,
         "windows": [
             {"number": "1", "name": {"zh-CN": "公安综合窗口", "en": "Public security"},
              "service_codes": ["GA-0001", "GA-0003"], "queue_prefix": "A"},
             {"number": "2", "name": {"zh-CN": "身份证窗口", "en": "Identity cards"}, "service_codes": ["GA-0007", "GA-0008"],
              "queue_prefix": "B"}],
         "schedule": {"default": _half_hours("09:00", "12:00", 4) + _half_hours("13:30", "17:00", 4),
                      # Friday afternoons are busy: more places then
                      "weekdays": {"5": _half_hours("09:00", "12:00", 4) + _half_hours("13:30", "17:00", 8)}}},
    ]


async def load_demo(ctx) -> None:  # noqa: ANN001
    """Create the demo halls once (an operator's later edits are kept)."""
    now = ctx.clock()
    for hall in demo_halls():
        hall["service_codes"] = sorted({c for w in hall["windows"] for c in w["service_codes"]})
        await ctx.db.halls.update_one({"_id": hall["_id"]},
                                      {"$setOnInsert": {**{k: v for k, v in hall.items() if k != "_id"},
                                                        "created_at": now, "updated_at": now}}, upsert=True)
