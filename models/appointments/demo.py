"""The demo city's halls (示范市), loaded at start-up in development."""

from __future__ import annotations

import datetime
from typing import Any

from models.core.context import Context


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


async def load_demo(ctx: Context) -> None:
    """Create the demo halls once (an operator's later edits are kept)."""
    now = ctx.clock()
    for hall in demo_halls():
        hall["service_codes"] = sorted({c for w in hall["windows"] for c in w["service_codes"]})
        await ctx.db.halls.update_one({"_id": hall["_id"]},
                                      {"$setOnInsert": {**{k: v for k, v in hall.items() if k != "_id"},
                                                        "created_at": now, "updated_at": now}}, upsert=True)
