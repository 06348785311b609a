"""Ratings (好差评) of completed applications and closed consultations, and rectification cases.

A citizen rates a thing once (a unique index on the rated thing decides races), on five grades:
5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意. A bad rating (2 or 1) opens a rectification
case (差评整改) for the department: due 15 working days later, closed by a required written response,
after which the citizen is asked whether the rectification satisfied them (回访).
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models import applications, catalogue, consultations, outbox, usertext, workdays
from models.access import OperatorScope
from models.core.context import Context
from models.core.pagination import page_of
from models.core.timezone import local_iso
from models.errors import Conflict, FieldError, NotFound, ValidationFailed

GRADES: dict[int, tuple[str, str]] = {
    5: ("非常满意", "very_satisfied"),
    4: ("满意", "satisfied"),
    3: ("基本满意", "basically_satisfied"),
    2: ("不满意", "dissatisfied"),
    1: ("非常不满意", "very_dissatisfied"),
}
BAD_GRADES = (1, 2)
COMMENT_MAX = 500
RESPONSE_MIN, RESPONSE_MAX = 10, 2000
MAX_TAGS, TAG_MAX = 5, 20
RECTIFICATION_WORKDAYS = 15
FOLLOW_UP_QUESTION = {"zh-CN": "您对本次差评的整改结果是否满意？",
                      "en": "Are you satisfied with how your unfavourable rating was addressed?"}
CASE_STATUSES = ("open", "responded", "closed")

RATE_LIMITS = {"rate": (20, 3600)}

_TAG = re.compile(r"^[\w\u4e00-\u9fff·\- ]{1,20}$")


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.ratings.create_index([("target_type", ASCENDING), ("target_id", ASCENDING)], unique=True)
    await db.ratings.create_index([("department", ASCENDING), ("service_code", ASCENDING)])
    await db.ratings.create_index([("citizen_id", ASCENDING), ("created_at", DESCENDING)])
    await db.rectification_cases.create_index("rating_id", unique=True)
    await db.rectification_cases.create_index([("department", ASCENDING), ("status", ASCENDING), ("due_at", ASCENDING)])
    await db.rectification_cases.create_index("citizen_id")


def parse_rating(body: dict[str, Any]) -> tuple[int, str, list[str]]:
    """(grade, comment, tags) from a rating body; ValidationFailed names each bad field."""
    errors: list[FieldError] = []
    grade = body.get("grade")
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in GRADES:
        errors.append(FieldError("grade", "invalid_grade", "评价等级应为 1 到 5 的整数（5 为非常满意）",
                                 "grade must be a whole number from 1 to 5 (5 = very satisfied)"))
    comment = usertext.text_field(body, "comment", errors, max_length=COMMENT_MAX, required=False) or ""
    tags = body.get("tags", [])
    if not isinstance(tags, list) or len(tags) > MAX_TAGS or not all(
            isinstance(t, str) and _TAG.match(t.strip()) for t in tags):
        errors.append(FieldError("tags", "invalid_tags", f"标签最多 {MAX_TAGS} 个，每个不超过 {TAG_MAX} 个字",
                                 f"tags: at most {MAX_TAGS}, each at most {TAG_MAX} letters or digits"))
        tags = []
    if grade in BAD_GRADES and not comment:
        errors.append(FieldError("comment", "required", "差评请说明原因，便于整改",
                                 "Please explain an unfavourable rating so it can be rectified"))
    if errors:
        raise ValidationFailed(errors=errors)
    return grade, comment, sorted({usertext.clean(t) for t in tags})


# ---- rating --------------------------------------------------------------------------------------
async def rate_application(ctx: Context, citizen_id: str, application_no: str, body: dict[str, Any]) -> dict[str, Any]:
    """Rate the citizen's own application, once, after it is completed."""
    grade, comment, tags = parse_rating(body)
    application = await applications.get_owned(ctx.db, application_no, citizen_id)
    if application.get("status") != "completed":
        raise Conflict("application_not_completed", "办件办结后才能评价", "An application can be rated once it is completed")
    service_code = application.get("service_code", "")
    department, region_code = application.get("department"), application.get("region_code")
    if not department:
        department, region_code = await _placement_of(ctx.db, service_code)
    return await _record(ctx, "application", application_no, citizen_id, (department, region_code or ""),
                         service_code, grade, comment, tags)


async def rate_consultation(ctx: Context, citizen_id: str, consultation_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Rate the citizen's own consultation, once, after it is closed."""
    grade, comment, tags = parse_rating(body)
    doc = await consultations.get_closed_for_rating(ctx.db, citizen_id, consultation_id)
    view = await _record(ctx, "consultation", str(doc["_id"]), citizen_id,
                         (doc["department"], doc.get("region_code", "")), doc["service_code"], grade, comment, tags)
    await consultations.mark_rated(ctx.db, doc["_id"])
    return view


async def get_own_rating(ctx: Context, citizen_id: str, target_type: str, target_id: str) -> dict[str, Any]:
    rating = await ctx.db.ratings.find_one({"target_type": target_type, "target_id": target_id, "citizen_id": citizen_id})
    if rating is None:
        raise NotFound("rating_not_found", "尚未评价", "Not rated yet")
    return rating_view(rating)


async def _placement_of(db: AsyncDatabase, service_code: str) -> tuple[str, str]:
    """(department, region code) of the item: whose ratings these are, for operators' scope."""
    item = (await catalogue.find_item(db, service_code) if service_code else None) or {}
    return item.get("department", ""), item.get("region_code", "")


async def _record(ctx: Context, target_type: str, target_id: str, citizen_id: str, placement: tuple[str, str],
                  service_code: str, grade: int, comment: str, tags: list[str]) -> dict[str, Any]:
    now = ctx.clock()
    department, region_code = placement
    rating = {
        "_id": ObjectId(), "target_type": target_type, "target_id": target_id, "citizen_id": citizen_id,
        "department": department, "region_code": region_code, "service_code": service_code, "grade": grade,
        "grade_label": GRADES[grade][0],
        "comment": comment, "tags": tags, "created_at": now,
    }
    if grade in BAD_GRADES:
        rating["rectification_id"] = str(ObjectId())
    try:
        await ctx.db.ratings.insert_one(rating)
    except DuplicateKeyError:
        raise Conflict("already_rated", "您已评价过，每项只能评价一次", "Already rated; each can be rated once") from None
    if "rectification_id" in rating:
        # Ids in other fields are strings: nx-27017 does not match ObjectId values outside `_id`.
        await ctx.db.rectification_cases.insert_one({
            "_id": ObjectId(rating["rectification_id"]), "rating_id": str(rating["_id"]), "target_type": target_type,
            "target_id": target_id, "citizen_id": citizen_id, "department": department, "region_code": region_code,
            "service_code": service_code,
            "grade": grade, "comment": comment, "tags": tags, "status": "open", "created_at": now,
            "due_at": workdays.deadline(now, RECTIFICATION_WORKDAYS),
            "follow_up_question": FOLLOW_UP_QUESTION,
        })
    return rating_view(rating)


def rating_view(rating: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(rating["_id"]), "target_type": rating["target_type"], "target_id": rating["target_id"],
        "service_code": rating["service_code"], "department": rating["department"], "grade": rating["grade"],
        "grade_label": rating["grade_label"], "grade_code": GRADES[rating["grade"]][1], "comment": rating["comment"],
        "tags": rating["tags"], "created_at": local_iso(rating["created_at"]),
        "rectification_id": rating.get("rectification_id"),
    }


# ---- rectification -------------------------------------------------------------------------------
def _case_id(value: str) -> ObjectId:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        raise NotFound("rectification_not_found", "未找到该整改事项", "Rectification case not found") from None


async def list_cases(ctx: Context, operator: OperatorScope, *, department: str | None = None, status: str | None = None,
                     overdue: bool = False, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """Rectification cases of the operator's department; `overdue` = still open past the deadline."""
    if status and status not in CASE_STATUSES:
        raise ValidationFailed(errors=[FieldError("status", "invalid_status", "status 应为 open、responded 或 closed",
                                                  "status must be open, responded or closed")])
    now = ctx.clock()
    query = operator.filter(department)
    if status:
        query["status"] = status
    if overdue:
        query.update({"status": "open", "due_at": {"$lt": now}})
    return await page_of(ctx.db.rectification_cases, query, [("due_at", ASCENDING)], page, page_size,
                         lambda doc: case_view(doc, now))


async def get_case_for_operator(ctx: Context, operator: OperatorScope, case_id: str) -> dict[str, Any]:
    doc = await ctx.db.rectification_cases.find_one({"_id": _case_id(case_id)})
    if doc is None or not operator.allows(doc["department"], doc.get("region_code")):
        raise NotFound("rectification_not_found", "未找到该整改事项", "Rectification case not found")
    return case_view(doc, ctx.clock(), for_operator=True)


async def respond(ctx: Context, operator: OperatorScope, case_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The department's required written response; the citizen is then asked the follow-up question."""
    errors: list[FieldError] = []
    response = usertext.text_field(body, "response", errors, min_length=RESPONSE_MIN, max_length=RESPONSE_MAX)
    if errors:
        raise ValidationFailed(errors=errors)
    await get_case_for_operator(ctx, operator, case_id)  # scope check: NotFound for other departments
    now = ctx.clock()
    doc = await ctx.db.rectification_cases.find_one_and_update(
        {"_id": _case_id(case_id), "status": "open"},
        {"$set": {"status": "responded", "response": response, "responded_at": now,
                  "responded_by": operator.operator_id}},
        return_document=ReturnDocument.AFTER)
    if doc is None:
        raise Conflict("rectification_already_responded", "该整改事项已答复", "This case has already been responded to")
    await outbox.enqueue(ctx, citizen_id=doc["citizen_id"], event="rectification.follow_up",
                         dedupe_key=f"rectification:{doc['_id']}:follow_up", template="rectification_follow_up",
                         data={"rectification_id": str(doc["_id"]), "target_type": doc["target_type"],
                               "target_id": doc["target_id"], "question": FOLLOW_UP_QUESTION["zh-CN"]})
    return case_view(doc, now, for_operator=True)


async def get_case_for_citizen(ctx: Context, citizen_id: str, case_id: str) -> dict[str, Any]:
    doc = await ctx.db.rectification_cases.find_one({"_id": _case_id(case_id), "citizen_id": citizen_id})
    if doc is None:
        raise NotFound("rectification_not_found", "未找到该整改事项", "Rectification case not found")
    return case_view(doc, ctx.clock())


async def answer_follow_up(ctx: Context, citizen_id: str, case_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The citizen answers the follow-up question (satisfied or not); the case closes."""
    errors: list[FieldError] = []
    satisfied = body.get("satisfied")
    if not isinstance(satisfied, bool):
        errors.append(FieldError("satisfied", "required", "请选择是否满意", "satisfied must be true or false"))
    comment = usertext.text_field(body, "comment", errors, max_length=COMMENT_MAX, required=False)
    if errors:
        raise ValidationFailed(errors=errors)
    now = ctx.clock()
    oid = _case_id(case_id)
    doc = await ctx.db.rectification_cases.find_one_and_update(
        {"_id": oid, "citizen_id": citizen_id, "status": "responded"},
        {"$set": {"status": "closed", "follow_up_satisfied": satisfied, "follow_up_comment": comment,
                  "follow_up_answered_at": now}},
        return_document=ReturnDocument.AFTER)
    if doc is None:
        current = await ctx.db.rectification_cases.find_one({"_id": oid, "citizen_id": citizen_id})
        if current is None:
            raise NotFound("rectification_not_found", "未找到该整改事项", "Rectification case not found")
        raise Conflict("follow_up_not_open", "部门答复后才能回访，且只能回答一次",
                       "The follow-up opens once the department responds, and is answered once")
    return case_view(doc, now)


def case_view(doc: dict[str, Any], now: datetime.datetime, for_operator: bool = False) -> dict[str, Any]:
    view = {
        "id": str(doc["_id"]), "target_type": doc["target_type"], "target_id": doc["target_id"],
        "department": doc["department"], "service_code": doc["service_code"], "grade": doc["grade"],
        "grade_label": GRADES[doc["grade"]][0], "comment": doc["comment"], "status": doc["status"],
        "created_at": local_iso(doc["created_at"]), "due_at": local_iso(doc["due_at"]),
        "overdue": doc["status"] == "open" and doc["due_at"] < now,
        "response": doc.get("response"), "responded_at": local_iso(doc.get("responded_at")),
        "responded_late": bool(doc.get("responded_at") and doc["responded_at"] > doc["due_at"]),
        "follow_up": {
            "question": doc["follow_up_question"] if doc["status"] != "open" else None,
            # bool(): nx-27017 stores booleans written by $set as 0/1.
            "satisfied": None if doc.get("follow_up_satisfied") is None else bool(doc["follow_up_satisfied"]),
            "comment": doc.get("follow_up_comment"),
            "answered_at": local_iso(doc.get("follow_up_answered_at")),
        },
    }
    if for_operator:
        view["citizen_id"] = doc["citizen_id"]
        view["responded_by"] = doc.get("responded_by")
    return view


# ---- statistics ----------------------------------------------------------------------------------
def _empty_bucket() -> dict[str, Any]:
    return {"total": 0, "grades": {str(g): 0 for g in sorted(GRADES, reverse=True)}, "sum": 0,
            "rectifications_open": 0, "rectifications_overdue": 0}


def _finish(bucket: dict[str, Any]) -> dict[str, Any]:
    total = bucket.pop("total")
    grade_sum = bucket.pop("sum")
    favourable = sum(bucket["grades"][str(g)] for g in GRADES if g not in BAD_GRADES)
    return {"total": total, **bucket,
            "average_grade": round(grade_sum / total, 2) if total else None,
            # 好评率: share of ratings that are not 不满意/非常不满意
            "satisfaction_rate": round(favourable / total, 4) if total else None}


async def rating_stats(ctx: Context, operator: OperatorScope, *, department: str | None = None,
                     service_code: str | None = None, since: datetime.datetime | None = None,
                     until: datetime.datetime | None = None) -> dict[str, Any]:
    """Rating counts per grade, average and satisfaction rate per department and per service."""
    now = ctx.clock()
    query = operator.filter(department)
    if service_code:
        query["service_code"] = service_code
    if since or until:
        query["created_at"] = {**({"$gte": since} if since else {}), **({"$lt": until} if until else {})}
    by_department: dict[str, dict[str, Any]] = {}
    by_service: dict[tuple[str, str], dict[str, Any]] = {}
    async for rating in ctx.db.ratings.find(query, {"department": 1, "service_code": 1, "grade": 1}):
        for bucket in (by_department.setdefault(rating["department"], _empty_bucket()),
                       by_service.setdefault((rating["department"], rating["service_code"]), _empty_bucket())):
            bucket["total"] += 1
            bucket["sum"] += rating["grade"]
            bucket["grades"][str(rating["grade"])] += 1
    case_query = {k: v for k, v in query.items() if k in ("department", "service_code")}
    case_query["status"] = "open"
    async for case in ctx.db.rectification_cases.find(case_query, {"department": 1, "service_code": 1, "due_at": 1}):
        overdue = case["due_at"] < now
        for bucket in (by_department.get(case["department"]), by_service.get((case["department"], case["service_code"]))):
            if bucket is not None:
                bucket["rectifications_open"] += 1
                bucket["rectifications_overdue"] += 1 if overdue else 0
    return {
        "by_department": [{"department": d, **_finish(b)} for d, b in sorted(by_department.items())],
        "by_service": [{"department": d, "service_code": s, **_finish(b)} for (d, s), b in sorted(by_service.items())],
    }
