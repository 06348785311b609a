"""Operators' side of consultations: the department's lists, replies, closing, answer-time statistics.

Only operators of the consultation's department (or of no department: city-wide supervisors and
admins) within their region see and answer it; another department's consultation is "not found".
Status: `open` (waiting for an answer) → `answered` (the citizen may follow up, which re-opens it
with a new deadline) → `closed` (rateable once).
"""

from __future__ import annotations

import datetime
import statistics
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from models import outbox, usertext, workdays
from models.access import OperatorScope
from models.consultations.questions import (
    CONTENT_MAX,
    KINDS,
    OFFICE_HOURS,
    STATUSES,
    messages_of,
    operator_view,
    parse_id,
)
from models.core.context import Context
from models.core.pagination import page_of
from models.core.timezone import local_iso
from models.errors import Conflict, FieldError, NotFound, ValidationFailed


async def list_for_operator(ctx: Context, operator: OperatorScope, *, department: str | None = None,
                            unanswered: bool = False, overdue: bool = False, kind: str | None = None,
                            status: str | None = None, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """Consultations of the operator's department; `overdue` = waiting past the deadline."""
    now = ctx.clock()
    errors = []
    if kind and kind not in KINDS:
        errors.append(FieldError("kind", "invalid_kind", "kind 应为 consultation 或 complaint",
                                 "kind must be consultation or complaint"))
    if status and status not in STATUSES:
        errors.append(FieldError("status", "invalid_status", "status 应为 open、answered 或 closed",
                                 "status must be open, answered or closed"))
    if errors:
        raise ValidationFailed(errors=errors)
    query = operator.filter(department)
    if kind:
        query["kind"] = kind
    if status:
        query["status"] = status
    if unanswered or overdue:
        query["status"] = "open"
    if overdue:
        query["due_at"] = {"$lt": now}
    order = [("due_at", ASCENDING)] if unanswered or overdue else [("created_at", DESCENDING)]
    return await page_of(ctx.db.consultations, query, order, page, page_size, lambda doc: operator_view(doc, None, now))


async def for_operator(db: AsyncDatabase, operator: OperatorScope, consultation_id: str) -> dict[str, Any]:
    doc = await db.consultations.find_one({"_id": parse_id(consultation_id)})
    # Another department's consultation is "not found": its existence is not theirs to know.
    if doc is None or not operator.allows(doc["department"], doc.get("region_code")):
        raise NotFound("consultation_not_found", "未找到该咨询", "Consultation not found")
    return doc


async def get_for_operator(ctx: Context, operator: OperatorScope, consultation_id: str) -> dict[str, Any]:
    doc = await for_operator(ctx.db, operator, consultation_id)
    return operator_view(doc, await messages_of(ctx.db, doc["_id"]), ctx.clock())


async def reply(ctx: Context, operator: OperatorScope, consultation_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """An operator answers; the answer time in working hours is recorded and the citizen notified."""
    errors: list[FieldError] = []
    content = usertext.text_field(body, "content", errors, max_length=CONTENT_MAX)
    if errors:
        raise ValidationFailed(errors=errors)
    doc = await for_operator(ctx.db, operator, consultation_id)
    await _reply(ctx, operator, doc, content or "")
    return await get_for_operator(ctx, operator, consultation_id)


async def _reply(ctx: Context, operator: OperatorScope, doc: dict[str, Any], content: str) -> None:
    now = ctx.clock()
    before = await ctx.db.consultations.find_one_and_update(
        {"_id": doc["_id"], "status": {"$in": ["open", "answered"]}},
        {"$set": {"status": "answered", "pending_since": None, "updated_at": now, "last_reply_at": now},
         "$inc": {"turns": 1}},
        return_document=ReturnDocument.BEFORE)
    if before is None:
        raise Conflict("consultation_closed", "该咨询已办结", "This consultation is closed")
    seq = before["turns"] + 1
    answer_hours = None
    if before["status"] == "open" and before.get("pending_since"):
        answer_hours = round(workdays.working_hours_between(before["pending_since"], now, OFFICE_HOURS), 4)
        if before.get("first_answered_at") is None:
            await ctx.db.consultations.update_one(
                {"_id": doc["_id"], "first_answered_at": {"$exists": False}},
                {"$set": {"first_answered_at": now, "first_answer_hours": answer_hours,
                          "answered_late": now > before["due_at"]}})
    await ctx.db.consultation_messages.insert_one({
        "consultation_id": str(doc["_id"]), "seq": seq, "author": "operator", "operator_id": operator.operator_id,
        "operator_name": operator.name, "content": content, "attachments": [], "created_at": now,
        "answer_working_hours": answer_hours,
    })
    await outbox.enqueue(ctx, citizen_id=doc["citizen_id"], event="consultation.replied",
                         dedupe_key=f"consultation:{doc['_id']}:{seq}", template="consultation_replied",
                         data={"consultation_id": str(doc["_id"]), "kind": doc["kind"], "subject": doc["subject"],
                               "service_code": doc["service_code"], "replied_at": local_iso(now)})


async def close(ctx: Context, operator: OperatorScope, consultation_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """An operator closes the consultation (with an optional final note); the citizen may then rate it."""
    errors: list[FieldError] = []
    note = usertext.text_field(body, "note", errors, max_length=CONTENT_MAX, required=False)
    if errors:
        raise ValidationFailed(errors=errors)
    doc = await for_operator(ctx.db, operator, consultation_id)
    if doc["status"] == "open" and not note:
        raise ValidationFailed(errors=[FieldError("note", "required", "尚未答复的咨询须附办结说明",
                                                  "Closing an unanswered consultation needs a note")])
    if note:
        await _reply(ctx, operator, doc, note)
    now = ctx.clock()
    closed = await ctx.db.consultations.find_one_and_update(
        {"_id": doc["_id"], "status": {"$in": ["open", "answered"]}},
        {"$set": {"status": "closed", "closed_at": now, "closed_by": operator.operator_id, "updated_at": now}},
        return_document=ReturnDocument.AFTER)
    if closed is None:
        raise Conflict("consultation_closed", "该咨询已办结", "This consultation is closed")
    await outbox.enqueue(ctx, citizen_id=doc["citizen_id"], event="consultation.closed",
                         dedupe_key=f"consultation:{doc['_id']}:closed", template="consultation_closed",
                         data={"consultation_id": str(doc["_id"]), "kind": doc["kind"], "subject": doc["subject"],
                               "service_code": doc["service_code"], "closed_at": local_iso(now)})
    return operator_view(closed, await messages_of(ctx.db, doc["_id"]), now)


async def answer_time_stats(ctx: Context, operator: OperatorScope, *, department: str | None = None,
                            since: datetime.datetime | None = None,
                            until: datetime.datetime | None = None) -> dict[str, Any]:
    """Per department: first-answer time in working hours (median, 90th percentile), waiting, overdue."""
    now = ctx.clock()
    query = operator.filter(department)
    if since or until:
        query["created_at"] = {**({"$gte": since} if since else {}), **({"$lt": until} if until else {})}
    answered: dict[str, list[float]] = {}
    late: dict[str, int] = {}
    waiting: dict[str, int] = {}
    overdue: dict[str, int] = {}
    cursor = ctx.db.consultations.find(query, {"department": 1, "status": 1, "due_at": 1, "first_answer_hours": 1,
                                               "answered_late": 1})
    async for doc in cursor:
        dept = doc.get("department", "")
        if doc.get("first_answer_hours") is not None:
            answered.setdefault(dept, []).append(float(doc["first_answer_hours"]))
            late[dept] = late.get(dept, 0) + (1 if doc.get("answered_late") else 0)
        if doc.get("status") == "open":
            waiting[dept] = waiting.get(dept, 0) + 1
            if doc["due_at"] < now:
                overdue[dept] = overdue.get(dept, 0) + 1
    five_days = 5 * OFFICE_HOURS.hours_per_day
    items = []
    for dept in sorted(set(answered) | set(waiting)):
        hours = sorted(answered.get(dept, []))
        items.append({
            "department": dept,
            "answered": len(hours),
            "median_working_hours": round(percentile(hours, 50), 2) if hours else None,
            "p90_working_hours": round(percentile(hours, 90), 2) if hours else None,
            "answered_late": late.get(dept, 0),
            "over_5_working_days": sum(1 for h in hours if h > five_days),
            "unanswered": waiting.get(dept, 0),
            "overdue": overdue.get(dept, 0),
        })
    return {"items": items, "working_hours_per_day": OFFICE_HOURS.hours_per_day}


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation between closest ranks."""
    if not sorted_values:
        raise ValueError("no values")
    if len(sorted_values) == 1:
        return sorted_values[0]
    if q == 50:
        return statistics.median(sorted_values)
    position = (len(sorted_values) - 1) * q / 100
    lower = int(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (position - lower)


