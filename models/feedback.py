"""Error reports (我为政府网站找错): anyone reports wrong or missing content of a service item.

A report names the item and the element of its guide concerned (e.g. `guide.fee`, or one material
as `guide.materials.<key>`), and goes to the item's department. Operators confirm it and, once the
item is corrected, mark it fixed; or explain why the content is right. Either way the reporter is
answered: a logged-in citizen through the notification outbox, anyone through the report's id and
the query code handed out when it was filed (only its hash is stored).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from models import catalogue, outbox, usertext
from models.access import OperatorScope
from models.core.context import Context
from models.core.pagination import page_of
from models.core.timezone import local_iso
from models.errors import Conflict, FieldError, NotFound, ValidationFailed

# Elements of a service item a report may concern (see docs/service-item.md).
ELEMENTS = (
    "name", "aliases", "department", "region_code", "audience", "themes", "handling_depth",
    "guide.legal_basis", "guide.conditions", "guide.materials", "guide.process",
    "guide.legal_time_limit_days", "guide.promised_time_limit_days", "guide.fee", "guide.locations",
    "guide.consultation_phone", "guide.supervision_phone", "guide.result", "guide.delivery",
    "form_schema", "other",
)
_MATERIAL_ELEMENT = re.compile(r"^guide\.materials\.([A-Za-z0-9_-]{1,64})$")
STATUSES = ("pending", "confirmed", "fixed", "explained")
# action → (status it leads to, statuses it may come from, note required)
ACTIONS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "confirm": ("confirmed", ("pending",), False),
    "fix": ("fixed", ("pending", "confirmed"), True),
    "explain": ("explained", ("pending",), True),
}
DESCRIPTION_MAX = 1000
SUGGESTION_MAX = 1000
NOTE_MAX = 1000

# (requests, window seconds) per logged-in citizen, per address for anonymous reporters and lookups.
RATE_LIMITS = {"citizen": (10, 3600), "anonymous": (5, 3600), "lookup": (30, 60)}


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.feedback.create_index([("department", ASCENDING), ("status", ASCENDING), ("created_at", DESCENDING)])
    await db.feedback.create_index([("service_code", ASCENDING), ("element", ASCENDING)])
    await db.feedback.create_index("citizen_id")


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _id(value: str) -> ObjectId:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        raise NotFound("feedback_not_found", "未找到该纠错报告", "Error report not found") from None


async def report(ctx: Context, body: dict[str, Any], citizen_id: str | None = None) -> dict[str, Any]:
    """File an error report (login optional); returns it with the query code for following it up."""
    errors: list[FieldError] = []
    service_code = body.get("service_code")
    if not isinstance(service_code, str) or not 1 <= len(service_code) <= 32:
        errors.append(FieldError("service_code", "required", "请选择有误的事项", "service_code is required"))
    element = body.get("element")
    if not isinstance(element, str) or not (element in ELEMENTS or _MATERIAL_ELEMENT.match(element)):
        errors.append(FieldError("element", "invalid_element", "请选择有误的内容项（如 guide.fee）",
                                 "element must name a part of the item, e.g. guide.fee"))
    description = usertext.text_field(body, "description", errors, max_length=DESCRIPTION_MAX, min_length=5)
    suggestion = usertext.text_field(body, "suggestion", errors, max_length=SUGGESTION_MAX, required=False)
    if errors:
        raise ValidationFailed(errors=errors)
    item = await catalogue.get_published_item(ctx.db, service_code)
    material = _MATERIAL_ELEMENT.match(element)
    if material and material.group(1) not in {m.get("key") for m in item.get("guide", {}).get("materials", [])}:
        raise ValidationFailed(errors=[FieldError("element", "unknown_material", "该事项没有此材料",
                                                  "The item lists no such material")])
    query_code = secrets.token_hex(5)
    now = ctx.clock()
    doc = {
        "_id": ObjectId(), "service_code": service_code, "service_name": item.get("name", {}),
        "department": item.get("department", ""), "region_code": item.get("region_code", ""), "element": element, "description": description,
        "suggestion": suggestion, "query_code_hash": _hash(query_code),
        "status": "pending", "created_at": now, "updated_at": now,
    }
    if citizen_id:
        doc["citizen_id"] = citizen_id
    await ctx.db.feedback.insert_one(doc)
    return {**reporter_view(doc), "query_code": query_code}


async def get_for_reporter(ctx: Context, feedback_id: str, *, citizen_id: str | None = None,
                           query_code: str | None = None) -> dict[str, Any]:
    """The report as its reporter sees it: their login, or the query code, opens it."""
    doc = await ctx.db.feedback.find_one({"_id": _id(feedback_id)})
    allowed = doc is not None and (
        (citizen_id is not None and doc.get("citizen_id") == citizen_id)
        or (bool(query_code) and hmac.compare_digest(doc["query_code_hash"], _hash(query_code or ""))))
    if not allowed:
        raise NotFound("feedback_not_found", "未找到该纠错报告", "Error report not found")
    return reporter_view(doc)


async def list_for_operator(ctx: Context, operator: OperatorScope, *, department: str | None = None,
                            status: str | None = None, service_code: str | None = None,
                            page: int = 1, page_size: int = 20) -> dict[str, Any]:
    if status and status not in STATUSES:
        raise ValidationFailed(errors=[FieldError("status", "invalid_status", "status 取值无效",
                                                  "status must be pending, confirmed, fixed or explained")])
    query = operator.filter(department)
    if status:
        query["status"] = status
    if service_code:
        query["service_code"] = service_code
    return await page_of(ctx.db.feedback, query, [("created_at", DESCENDING)], page, page_size, operator_view)


async def _for_operator(db: AsyncDatabase, operator: OperatorScope, feedback_id: str) -> dict[str, Any]:
    doc = await db.feedback.find_one({"_id": _id(feedback_id)})
    if doc is None or not operator.allows(doc["department"], doc.get("region_code")):
        raise NotFound("feedback_not_found", "未找到该纠错报告", "Error report not found")
    return doc


async def get_for_operator(ctx: Context, operator: OperatorScope, feedback_id: str) -> dict[str, Any]:
    return operator_view(await _for_operator(ctx.db, operator, feedback_id))


async def resolve(ctx: Context, operator: OperatorScope, feedback_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """confirm (it is an error), fix (corrected, with a note), or explain (the content is right)."""
    errors: list[FieldError] = []
    action = body.get("action")
    known = isinstance(action, str) and action in ACTIONS  # a dict or list is no action (and not hashable)
    if not known:
        errors.append(FieldError("action", "invalid_action", "action 应为 confirm、fix 或 explain",
                                 "action must be confirm, fix or explain"))
    needs_note = known and ACTIONS[action][2]
    note = usertext.text_field(body, "note", errors, max_length=NOTE_MAX, required=needs_note,
                               min_length=5 if needs_note else 1)
    if errors:
        raise ValidationFailed(errors=errors)
    current = await _for_operator(ctx.db, operator, feedback_id)
    target, sources, _ = ACTIONS[action]
    now = ctx.clock()
    changes: dict[str, Any] = {"status": target, "updated_at": now}
    if action == "confirm":
        changes.update({"confirmed_at": now, "confirmed_by": operator.operator_id})
    else:
        changes.update({"answer": note, "answered_at": now, "answered_by": operator.operator_id})
    doc = await ctx.db.feedback.find_one_and_update(
        {"_id": current["_id"], "status": {"$in": list(sources)}}, {"$set": changes},
        return_document=ReturnDocument.AFTER)
    if doc is None:
        raise Conflict("feedback_invalid_transition", f"该报告当前状态下不能执行 {action}",
                       f"Cannot {action} a report in its current status")
    if action != "confirm" and doc.get("citizen_id"):
        await outbox.enqueue(ctx, citizen_id=doc["citizen_id"], event="feedback.answered",
                             dedupe_key=f"feedback:{doc['_id']}:answered", template="feedback_answered",
                             data={"feedback_id": str(doc["_id"]), "service_code": doc["service_code"],
                                   "element": doc["element"], "outcome": target, "answered_at": local_iso(now)})
    return operator_view(doc)


def reporter_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(doc["_id"]), "service_code": doc["service_code"], "service_name": doc.get("service_name", {}),
        "element": doc["element"], "description": doc["description"], "suggestion": doc.get("suggestion"),
        "status": doc["status"], "answer": doc.get("answer"), "created_at": local_iso(doc["created_at"]),
        "answered_at": local_iso(doc.get("answered_at")),
    }


def operator_view(doc: dict[str, Any]) -> dict[str, Any]:
    view = reporter_view(doc)
    view.update({"department": doc["department"], "citizen_id": doc.get("citizen_id"),
                 "confirmed_at": local_iso(doc.get("confirmed_at")), "answered_by": doc.get("answered_by")})
    return view
