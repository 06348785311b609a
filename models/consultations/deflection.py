"""Deflection (咨询分流): a published answer was opened, and the question was then not sent.

Each time a citizen opens a suggested answer (POST /api/v1/consultations/suggest/{id}/opened) an
*open* is recorded in `qa_opens`, for the item the citizen was looking at, with a
`suggestion_token` (the open's id) handed back. The open counts as *asked* when, within `WINDOW`
(30 minutes, on the clock seam) of opening it,
- the same logged-in citizen sends a consultation about the same item, or
- anyone sends a consultation carrying the open's `suggestion_token` (a citizen who opened the
  answer before logging in).
An open whose window has passed without either is *deflected*: the answer spared a question. Opens
still inside their window are *pending* and counted as neither. The deflection rate is deflected ÷
(deflected + asked); the scorecard shows it in its "fast" dimension.
"""

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from models.core.context import Context
from models.core.timezone import as_utc

WINDOW = datetime.timedelta(minutes=30)


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.qa_opens.create_index([("citizen_id", ASCENDING), ("service_code", ASCENDING), ("opened_at", DESCENDING)])
    await db.qa_opens.create_index("opened_at")


def is_token(value: Any) -> bool:
    """Whether `value` has the shape of a suggestion token (it may still name no open)."""
    return isinstance(value, str) and len(value) == 24 and value.isascii() and ObjectId.is_valid(value)


async def record_open(ctx: Context, entry: dict[str, Any], service_code: str, department: str, region_code: str,
                      citizen_id: str | None) -> str:
    """Record that a published answer was opened for `service_code`; the suggestion token."""
    doc = {"_id": ObjectId(), "qa_id": str(entry["_id"]), "service_code": service_code, "department": department,
           "region_code": region_code, "citizen_id": citizen_id or "", "asked": False, "opened_at": ctx.clock()}
    await ctx.db.qa_opens.insert_one(doc)
    return str(doc["_id"])


async def mark_asked(ctx: Context, citizen_id: str, service_code: str, consultation_id: str, token: str | None) -> None:
    """A consultation was sent: the opens it follows within the window were not deflected."""
    now = ctx.clock()
    since = now - WINDOW
    update = {"$set": {"asked": True, "asked_at": now, "consultation_id": consultation_id}}
    await ctx.db.qa_opens.update_many(
        {"citizen_id": citizen_id, "service_code": service_code, "asked": False, "opened_at": {"$gte": since}}, update)
    if token:
        await ctx.db.qa_opens.update_one({"_id": ObjectId(token), "asked": False, "opened_at": {"$gte": since}}, update)


async def figures(ctx: Context, *, since: datetime.datetime, department: str | None = None,
                  region_prefix: str | None = None) -> dict[str, Any]:
    """Opens since `since` within a department and region: opened, asked, deflected, pending, the
    rate, and per service item (most asked after opening first)."""
    now = ctx.clock()
    settled_before = now - WINDOW
    query: dict[str, Any] = {"opened_at": {"$gte": since}}
    if department:
        query["department"] = department
    opened: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    deflected: Counter[str] = Counter()
    pending: Counter[str] = Counter()
    async for doc in ctx.db.qa_opens.find(query, {"service_code": 1, "region_code": 1, "asked": 1, "opened_at": 1}):
        if region_prefix and not str(doc.get("region_code") or "").startswith(region_prefix):
            continue
        code = doc.get("service_code", "")
        opened[code] += 1
        if doc.get("asked"):  # bool(): nx-27017 may hand back a $set boolean as 0/1
            asked[code] += 1
        elif as_utc(doc["opened_at"]) <= settled_before:
            deflected[code] += 1
        else:
            pending[code] += 1
    total_asked, total_deflected = sum(asked.values()), sum(deflected.values())
    settled = total_asked + total_deflected
    by_service = [{"service_code": code, "opened": opened[code], "asked": asked[code], "deflected": deflected[code],
                   "pending": pending[code], "rate": rate(deflected[code], asked[code])}
                  for code in sorted(opened, key=lambda c: (-asked[c], -opened[c], c))]
    return {"opened": sum(opened.values()), "asked": total_asked, "deflected": total_deflected,
            "pending": sum(pending.values()), "settled": settled, "rate": rate(total_deflected, total_asked),
            "window_minutes": int(WINDOW.total_seconds() // 60), "by_service": by_service}


def rate(deflected: int, asked: int) -> float | None:
    """Deflected ÷ settled opens, None when none has settled."""
    settled = deflected + asked
    return round(deflected / settled, 4) if settled else None
