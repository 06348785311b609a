"""Reading operators' and citizens' input: halls, windows, schedules, slots, dates and locations.

Each parser either returns clean values or adds zh-CN/en field errors (raising `ValidationFailed`).
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

from models.appointments.rules import slot_id
from models.errors import FieldError, ValidationFailed

Localized = dict[str, str]

MAX_SLOTS_PER_DAY = 96
MAX_WINDOWS = 60

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z", re.ASCII)
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d\Z", re.ASCII)  # not "0٨:30", not "08:30\n"
_WINDOW = re.compile(r"^[A-Za-z0-9]{1,8}$")
_PREFIX = re.compile(r"^[A-Z]{1,3}$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


def parse_date(raw: Any, field: str = "date") -> datetime.date:
    if isinstance(raw, str) and _DATE.match(raw):
        try:
            return datetime.date.fromisoformat(raw)
        except ValueError:
            pass
    raise ValidationFailed(errors=[FieldError(field, "invalid_date", f"{field} 应为 YYYY-MM-DD 格式的日期",
                                              f"{field} must be a date as YYYY-MM-DD")])


def parse_localized(raw: Any, field: str, errors: list[FieldError], required: bool = True) -> Localized | None:
    if raw is None or raw == "":
        if required:
            errors.append(FieldError(field, "required", f"{field} 为必填项", f"{field} is required"))
        return None
    if isinstance(raw, str):
        raw = {"zh-CN": raw}
    if (not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items())
            or not raw.get("zh-CN", "").strip() or len(raw) > 5 or any(len(v) > 500 for v in raw.values())):
        errors.append(FieldError(field, "invalid_text", f"{field} 应为文本或含 zh-CN 的多语言文本",
                                 f"{field} must be text or a dict of languages including zh-CN"))
        return None
    return {k: v.strip() for k, v in raw.items()}


def parse_slots(raw: Any, field: str, errors: list[FieldError]) -> list[dict[str, Any]]:
    """Validate a day's slots `[{"start": "08:30", "end": "09:00", "quota": 6}, ...]` (sorted, no overlap)."""
    if not isinstance(raw, list) or len(raw) > MAX_SLOTS_PER_DAY:
        errors.append(FieldError(field, "invalid_slots", f"{field} 应为不超过 {MAX_SLOTS_PER_DAY} 个时段的列表",
                                 f"{field} must be a list of at most {MAX_SLOTS_PER_DAY} slots"))
        return []
    slots: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            errors.append(FieldError(where, "invalid_slot", "时段应为对象", "a slot must be an object"))
            continue
        start, end, quota = item.get("start"), item.get("end"), item.get("quota")
        if not (isinstance(start, str) and _TIME.match(start) and isinstance(end, str) and _TIME.match(end)):
            errors.append(FieldError(where, "invalid_time", "开始和结束时间应为 HH:MM", "start and end must be HH:MM"))
            continue
        if end <= start:
            errors.append(FieldError(where, "end_before_start", "结束时间应晚于开始时间", "end must be after start"))
            continue
        if isinstance(quota, bool) or not isinstance(quota, int) or not 0 <= quota <= 10_000:
            errors.append(FieldError(where + ".quota", "invalid_quota", "号源数量应为 0 到 10000 的整数",
                                     "quota must be a whole number from 0 to 10000"))
            continue
        slots.append({"id": slot_id(start), "start": start, "end": end, "quota": quota})
    slots.sort(key=lambda s: s["start"])
    for before, after in zip(slots, slots[1:], strict=False):
        if after["start"] < before["end"]:
            errors.append(FieldError(field, "overlapping_slots", f"时段 {before['start']} 与 {after['start']} 重叠",
                                     f"slots {before['start']} and {after['start']} overlap"))
            break
    return slots


def parse_schedule(raw: Any, errors: list[FieldError], field: str = "schedule") -> dict[str, Any]:
    """`{"default": [slots], "weekdays": {"1".."7": [slots]}}`: weekdays override the default day."""
    if not isinstance(raw, dict):
        errors.append(FieldError(field, "invalid_schedule", "排班应为对象", "schedule must be an object"))
        return {}
    schedule: dict[str, Any] = {"default": parse_slots(raw.get("default", []), f"{field}.default", errors),
                                "weekdays": {}}
    weekdays = raw.get("weekdays") or {}
    if not isinstance(weekdays, dict) or not all(str(k) in "1234567" and len(str(k)) == 1 for k in weekdays):
        errors.append(FieldError(f"{field}.weekdays", "invalid_weekdays", "weekdays 的键应为 1（周一）到 7（周日）",
                                 "weekdays keys must be 1 (Monday) to 7 (Sunday)"))
        return schedule
    for key, slots in weekdays.items():
        schedule["weekdays"][str(key)] = parse_slots(slots, f"{field}.weekdays.{key}", errors)
    return schedule


def _parse_windows(raw: Any, errors: list[FieldError]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_WINDOWS:
        errors.append(FieldError("windows", "invalid_windows", f"窗口应为 1 到 {MAX_WINDOWS} 个的列表",
                                 f"windows must be a list of 1 to {MAX_WINDOWS} windows"))
        return []
    windows: list[dict[str, Any]] = []
    numbers: set[str] = set()
    for index, item in enumerate(raw):
        where = f"windows[{index}]"
        if not isinstance(item, dict):
            errors.append(FieldError(where, "invalid_window", "窗口应为对象", "a window must be an object"))
            continue
        number = str(item.get("number", ""))
        if not _WINDOW.match(number) or number in numbers:
            errors.append(FieldError(where + ".number", "invalid_window_number", "窗口号应为 1 到 8 位字母或数字且不重复",
                                     "window number must be 1-8 letters or digits, unique in the hall"))
            continue
        numbers.add(number)
        codes = item.get("service_codes")
        if (not isinstance(codes, list) or not codes or len(codes) > 200
                or not all(isinstance(c, str) and _CODE.match(c) for c in codes)):
            errors.append(FieldError(where + ".service_codes", "invalid_service_codes", "窗口应至少办理一个事项编码",
                                     "a window must list at least one valid service code"))
            continue
        prefix = item.get("queue_prefix") or (chr(ord("A") + index) if index < 26 else "W")
        if not isinstance(prefix, str) or not _PREFIX.match(prefix):
            errors.append(FieldError(where + ".queue_prefix", "invalid_queue_prefix", "排队号前缀应为 1 到 3 个大写字母",
                                     "queue_prefix must be 1-3 capital letters"))
            continue
        window = {"number": number, "service_codes": sorted(set(codes)), "queue_prefix": prefix}
        name = parse_localized(item.get("name"), where + ".name", errors, required=False)
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
        errors.append(FieldError("geo", "invalid_geo", "位置应含 latitude、longitude 与 50–5000 米的 radius_m",
                                 "geo needs latitude, longitude and radius_m of 50-5000 metres"))
        return None
    return {"latitude": lat, "longitude": lng, "radius_m": int(radius)}


def parse_location(body: dict[str, Any]) -> tuple[float, float]:
    """Where the citizen says they are: finite latitude and longitude in range, else a field error."""
    if body.get("latitude") is None and body.get("longitude") is None:
        raise ValidationFailed(errors=[FieldError("latitude", "location_required", "请在大厅现场签到（需要位置）",
                                                  "Check in at the hall: latitude and longitude are required")])
    lat, lng = finite_number(body.get("latitude"), -90, 90), finite_number(body.get("longitude"), -180, 180)
    errors = []
    if lat is None:
        errors.append(FieldError("latitude", "invalid_location", "纬度应为 -90 到 90 之间的数字",
                                 "latitude must be a number from -90 to 90"))
    if lng is None:
        errors.append(FieldError("longitude", "invalid_location", "经度应为 -180 到 180 之间的数字",
                                 "longitude must be a number from -180 to 180"))
    if errors:
        raise ValidationFailed(errors=errors)
    return lat, lng


def _parse_closed_dates(raw: Any, errors: list[FieldError]) -> list[str]:
    if not isinstance(raw, list) or len(raw) > 1000:
        errors.append(FieldError("closed_dates", "invalid_dates", "closed_dates 应为日期列表", "closed_dates must be a list of dates"))
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
            value = parse_localized(body.get(name), name, errors, required=required)
            if value is not None or name in body:
                fields[name] = value
    if "phone" in body:
        phone = body["phone"]
        if phone is not None and (not isinstance(phone, str) or not re.fullmatch(r"[0-9+\- ]{3,30}", phone)):
            errors.append(FieldError("phone", "invalid_phone", "电话号码格式不正确", "phone is not a valid number"))
        fields["phone"] = phone
    if "region_code" in body:
        region = body["region_code"]
        if region is not None and (not isinstance(region, str) or not re.fullmatch(r"\d{6}", region)):
            errors.append(FieldError("region_code", "invalid_region", "区划代码应为 6 位数字", "region_code must be 6 digits"))
        fields["region_code"] = region
    if "windows" in body or not partial:
        fields["windows"] = _parse_windows(body.get("windows"), errors)
    if "closed_dates" in body:
        fields["closed_dates"] = _parse_closed_dates(body["closed_dates"], errors)
    if "geo" in body:
        fields["geo"] = _parse_geo(body["geo"], errors)
    if "active" in body:
        if not isinstance(body["active"], bool):
            errors.append(FieldError("active", "invalid_boolean", "active 应为 true 或 false", "active must be true or false"))
        fields["active"] = body["active"]
    if "schedule" in body:
        fields["schedule"] = parse_schedule(body["schedule"], errors)
    if errors:
        raise ValidationFailed(errors=errors)
    if "windows" in fields:
        fields["service_codes"] = sorted({code for window in fields["windows"] for code in window["service_codes"]})
    return fields
