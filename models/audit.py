"""Audit log (操作留痕): who changed what, for every operator write under /admin/v1.

The base handler records one entry per operator POST/PUT/PATCH/DELETE once the response status
is known: operator, method, route pattern, path parameters, status, request id and an optional
short summary. Request bodies are never stored: they may hold personal data or channel secrets.
Entries are only ever inserted; nothing here updates or deletes them.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from bson import ObjectId
from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from models.core.timezone import SHANGHAI
from models.errors import FieldError, ValidationFailed

SUMMARY_MAX = 200
PARAM_MAX = 128
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z", re.ASCII)


async def ensure_indexes(db: AsyncDatabase) -> None:
    # Single-field indexes: nx-27017 serves queries from those only.
    await db.audit_log.create_index("at")
    await db.audit_log.create_index("operator_id")
    await db.audit_log.create_index("route")


def _clip(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def entry(*, at: datetime.datetime, operator_id: str, operator_name: str, method: str, route: str,
          path_params: Mapping[str, Any] | None, status: int, request_id: str,
          summary: str | None = None) -> dict[str, Any]:
    """The stored document of one audited request (no bodies, values clipped)."""
    return {
        "_id": ObjectId(), "at": at, "operator_id": str(operator_id), "operator_name": _clip(operator_name or "", 64),
        "method": method.upper(), "route": _clip(route, 200),
        "path_params": {str(k): _clip(v, PARAM_MAX) for k, v in (path_params or {}).items()},
        "status": int(status), "outcome": "succeeded" if int(status) < 400 else "refused",
        "request_id": _clip(request_id, 128), "summary": _clip(summary, SUMMARY_MAX) if summary else None,
    }


async def record(ctx: Any, *, operator_id: str, operator_name: str, method: str, route: str,
                 path_params: Mapping[str, Any] | None, status: int, request_id: str,
                 summary: str | None = None) -> None:
    """Append one entry to the audit log."""
    await ctx.db.audit_log.insert_one(entry(
        at=ctx.clock(), operator_id=operator_id, operator_name=operator_name, method=method, route=route,
        path_params=path_params, status=status, request_id=request_id, summary=summary))


def parse_instant(raw: str | None, field: str, *, end: bool = False) -> datetime.datetime | None:
    """`YYYY-MM-DD` (a Shanghai day: its start, or for `end` the next day's start) or an ISO instant."""
    if not raw:
        return None
    try:
        if _DATE.match(raw):
            day = datetime.date.fromisoformat(raw) + datetime.timedelta(days=1 if end else 0)
            return datetime.datetime.combine(day, datetime.time(), tzinfo=SHANGHAI).astimezone(datetime.UTC)
        moment = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=SHANGHAI)
        return moment.astimezone(datetime.UTC)
    except (ValueError, OverflowError):  # OverflowError: 9999-12-31's next day, year 1 moved to UTC
        raise ValidationFailed(errors=[FieldError(
            field, "invalid", f"{field} 应为日期（YYYY-MM-DD）或带时区的时间（ISO 8601）",
            f"{field} must be a date (YYYY-MM-DD) or an ISO 8601 time with offset")]) from None


def view(doc: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in doc.items() if k != "_id"}
    shown["id"] = str(doc["_id"])
    return shown


async def search(ctx: Any, *, operator: str | None = None, since: str | None = None, until: str | None = None,
                 route: str | None = None, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """Entries newest first; `operator` is an operator id or name, `route` a route or its beginning,
    `since` inclusive and `until` exclusive (a date `until` includes that whole day)."""
    start = parse_instant(since, "since")
    stop = parse_instant(until, "until", end=True)
    errors = []
    for name, value in (("operator", operator), ("route", route)):
        if value is not None and len(value) > 200:
            errors.append(FieldError(name, "too_long", f"{name} 过长", f"{name} is too long"))
    if start and stop and start >= stop:
        errors.append(FieldError("until", "invalid", "until 应晚于 since", "until must be after since"))
    if errors:
        raise ValidationFailed(errors=errors)
    query: dict[str, Any] = {}
    if operator:
        query["$or"] = [{"operator_id": operator}, {"operator_name": operator}]
    if route:
        query["route"] = {"$regex": "^" + re.escape(route)}
    if start or stop:
        query["at"] = {**({"$gte": start} if start else {}), **({"$lt": stop} if stop else {})}
    total = await ctx.db.audit_log.count_documents(query)
    cursor = ctx.db.audit_log.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)])
    docs = await cursor.skip((page - 1) * page_size).limit(page_size).to_list(page_size)
    return {"items": [view(d) for d in docs], "total": total, "page": page, "page_size": page_size}
