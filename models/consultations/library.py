"""The question-and-answer library (问答库): answered consultations made public, and answers written directly.

An operator publishes an answered consultation (its question and the department's replies, edited
if need be) or writes an entry directly, and attaches it to one or more service items of one
department. Every text is stripped of what is personal (`privacy.scrub`) before it is stored, the
operator's own edits included, and the entry records what was masked (`redactions`). The entry
belongs to its items' department and region: only operators whose scope covers them publish,
edit or unpublish it (403 `out_of_scope` otherwise); a consultation of another department is not
found, as everywhere. Unpublishing keeps the entry (status `unpublished`) and its open counts; it
may be published again with PATCH. Each consultation becomes at most one entry.

Document (`qa_library`): question, answer ({"zh-CN": ..., "en": ...}), service_codes, department,
region_code, status, source_consultation_id (absent for entries written directly), opened (times a
citizen opened it), redactions ({kind: count}), created/updated/published at and by.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models import catalogue, usertext
from models.access import OperatorScope
from models.consultations import answers, deflection, privacy, suggestions
from models.consultations.questions import messages_of
from models.core.context import Context
from models.core.localized import SUPPORTED_LOCALES
from models.core.pagination import page_of
from models.core.timezone import local_iso
from models.errors import Conflict, FieldError, NotFound, ValidationFailed

STATUSES = ("published", "unpublished")
QUESTION_MAX = 500
ANSWER_MAX = 4000
MAX_ITEMS = 10


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.qa_library.create_index([("department", ASCENDING), ("status", ASCENDING), ("updated_at", DESCENDING)])
    await db.qa_library.create_index("source_consultation_id", unique=True, sparse=True)
    await db.qa_library.create_index("demo_key", unique=True, sparse=True)


def parse_id(value: str) -> ObjectId:
    """A library entry's id from a path; NotFound for anything that is not one."""
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        raise NotFound("qa_not_found", "未找到该问答", "Q&A entry not found") from None


# ---- input -----------------------------------------------------------------------------------------
def localized_field(body: dict[str, Any], name: str, errors: list[FieldError], *, max_length: int,
                    required: bool) -> dict[str, str] | None:
    """A text in one or more languages: "text" (Chinese) or {"zh-CN": ..., "en": ...}, cleaned."""
    raw = body.get(name)
    if raw is None:
        if required:
            errors.append(FieldError(name, "required", f"{name} 为必填项", f"{name} is required"))
        return None
    if isinstance(raw, str):
        raw = {"zh-CN": raw}
    if not isinstance(raw, dict) or not raw or any(k not in SUPPORTED_LOCALES for k in raw):
        errors.append(FieldError(name, "invalid_text", f"{name} 应为文本或 {{\"zh-CN\": …, \"en\": …}}",
                                 f'{name} must be a text or {{"zh-CN": ..., "en": ...}}'))
        return None
    if "zh-CN" not in raw:
        errors.append(FieldError(f"{name}.zh-CN", "required", f"{name} 须有中文", f"{name} needs a Chinese text"))
        return None
    out = {}
    for locale, value in raw.items():
        before = len(errors)
        cleaned = usertext.text_field({f"{name}.{locale}": value}, f"{name}.{locale}", errors, max_length=max_length)
        if len(errors) == before and cleaned:
            out[locale] = cleaned
    return out if len(out) == len(raw) else None


def service_codes_field(body: dict[str, Any], errors: list[FieldError], *, required: bool) -> list[str] | None:
    raw = body.get("service_codes")
    if raw is None:
        if required:
            errors.append(FieldError("service_codes", "required", "请选择问答所属的事项", "service_codes is required"))
        return None
    if (not isinstance(raw, list) or not raw or len(raw) > MAX_ITEMS
            or not all(isinstance(c, str) and 1 <= len(c) <= 32 for c in raw) or len(set(raw)) != len(raw)):
        errors.append(FieldError("service_codes", "invalid", f"service_codes 应为 1 至 {MAX_ITEMS} 个不重复的事项编码",
                                 f"service_codes must list 1 to {MAX_ITEMS} distinct item codes"))
        return None
    return raw


async def placement(ctx: Context, operator: OperatorScope, codes: list[str]) -> tuple[str, str]:
    """(department, region) of the published items `codes`, which must share one department within
    the operator's scope."""
    items = [await catalogue.get_published_item(ctx.db, code) for code in codes]
    departments = {item.get("department", "") for item in items}
    if len(departments) > 1:
        raise ValidationFailed(errors=[FieldError("service_codes", "several_departments", "问答只能关联同一部门的事项",
                                                  "An entry's items must belong to one department")])
    for item in items:
        operator.require(item.get("department"), item.get("region_code"))
    return items[0].get("department", ""), items[0].get("region_code", "")


def _redactions(found: Counter[str], *more: Counter[str]) -> dict[str, int]:
    total = Counter(found)
    for counter in more:
        total.update(counter)
    return {kind: total[kind] for kind in privacy.KINDS if total[kind]}


# ---- operators ---------------------------------------------------------------------------------------
async def publish_consultation(ctx: Context, operator: OperatorScope, consultation_id: str,
                               body: dict[str, Any]) -> dict[str, Any]:
    """Make an answered consultation public: its question and the replies (or the operator's edits),
    stripped of what is personal, attached to its item (or to `service_codes`)."""
    errors: list[FieldError] = []
    question = localized_field(body, "question", errors, max_length=QUESTION_MAX, required=False)
    answer = localized_field(body, "answer", errors, max_length=ANSWER_MAX, required=False)
    codes = service_codes_field(body, errors, required=False)
    if errors:
        raise ValidationFailed(errors=errors)
    doc = await answers.for_operator(ctx.db, operator, consultation_id)
    replies = [m["content"] for m in await messages_of(ctx.db, doc["_id"]) if m["author"] == "operator"]
    if not replies:
        raise Conflict("consultation_not_answered", "该咨询尚未答复，无法公开", "This consultation has no answer to publish")
    if question is None:
        question = {"zh-CN": doc["content"] if len(html.unescape(doc["content"])) <= QUESTION_MAX else doc["subject"]}
    if answer is None:
        answer = {"zh-CN": "\n\n".join(replies)[:ANSWER_MAX]}
    codes = codes or [doc["service_code"]]
    return await _insert(ctx, operator, question, answer, codes, source=str(doc["_id"]))


async def create_entry(ctx: Context, operator: OperatorScope, body: dict[str, Any]) -> dict[str, Any]:
    """Write an entry directly (a frequent question nobody has asked online yet)."""
    errors: list[FieldError] = []
    question = localized_field(body, "question", errors, max_length=QUESTION_MAX, required=True)
    answer = localized_field(body, "answer", errors, max_length=ANSWER_MAX, required=True)
    codes = service_codes_field(body, errors, required=True)
    if errors:
        raise ValidationFailed(errors=errors)
    return await _insert(ctx, operator, question, answer, codes, source=None)


async def _insert(ctx: Context, operator: OperatorScope, question: dict[str, str], answer: dict[str, str],
                  codes: list[str], *, source: str | None) -> dict[str, Any]:
    department, region_code = await placement(ctx, operator, codes)
    question, found_q = privacy.scrub_texts(question)
    answer, found_a = privacy.scrub_texts(answer)
    now = ctx.clock()
    doc = {"_id": ObjectId(), "question": question, "answer": answer, "service_codes": codes,
           "department": department, "region_code": region_code, "status": "published", "opened": 0,
           "redactions": _redactions(found_q, found_a), "created_at": now, "updated_at": now, "published_at": now,
           "created_by": operator.operator_id, "updated_by": operator.operator_id}
    if source:
        doc["source_consultation_id"] = source
    try:
        await ctx.db.qa_library.insert_one(doc)
    except DuplicateKeyError:
        raise Conflict("consultation_already_published", "该咨询已公开到问答库",
                       "This consultation is in the Q&A library already") from None
    await suggestions.forget(ctx)
    return admin_view(doc)


async def _entry_for(ctx: Context, operator: OperatorScope, qa_id: str) -> dict[str, Any]:
    doc = await ctx.db.qa_library.find_one({"_id": parse_id(qa_id)})
    if doc is None:
        raise NotFound("qa_not_found", "未找到该问答", "Q&A entry not found")
    operator.require(doc.get("department"), doc.get("region_code"))
    return doc


async def get_entry(ctx: Context, operator: OperatorScope, qa_id: str) -> dict[str, Any]:
    return admin_view(await _entry_for(ctx, operator, qa_id))


async def update_entry(ctx: Context, operator: OperatorScope, qa_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Edit the question, the answer, the items or the status (published / unpublished)."""
    errors: list[FieldError] = []
    question = localized_field(body, "question", errors, max_length=QUESTION_MAX, required=False)
    answer = localized_field(body, "answer", errors, max_length=ANSWER_MAX, required=False)
    codes = service_codes_field(body, errors, required=False)
    status = body.get("status")
    if status is not None and status not in STATUSES:
        errors.append(FieldError("status", "invalid_status", "status 应为 published 或 unpublished",
                                 "status must be published or unpublished"))
    if errors:
        raise ValidationFailed(errors=errors)
    doc = await _entry_for(ctx, operator, qa_id)
    now = ctx.clock()
    fields: dict[str, Any] = {"updated_at": now, "updated_by": operator.operator_id}
    found = [Counter(doc.get("redactions") or {})]
    if question is not None:
        fields["question"], counted = privacy.scrub_texts(question)
        found.append(counted)
    if answer is not None:
        fields["answer"], counted = privacy.scrub_texts(answer)
        found.append(counted)
    fields["redactions"] = _redactions(*found)
    if codes is not None:
        fields["service_codes"] = codes
        fields["department"], fields["region_code"] = await placement(ctx, operator, codes)
    if status is not None:
        fields["status"] = status
        if status == "published" and doc.get("status") != "published":
            fields["published_at"] = now
    # Conditional on the department checked above: an entry moved meanwhile is not edited blind.
    updated = await ctx.db.qa_library.find_one_and_update(
        {"_id": doc["_id"], "department": doc.get("department", "")}, {"$set": fields},
        return_document=ReturnDocument.AFTER)
    if updated is None:
        raise Conflict("qa_changed", "该问答刚被修改，请刷新后重试", "This entry changed meanwhile; reload and retry")
    await suggestions.forget(ctx)
    return admin_view(updated)


async def unpublish(ctx: Context, operator: OperatorScope, qa_id: str) -> None:
    """Take an entry out of the public library (kept, with its history, as `unpublished`)."""
    await update_entry(ctx, operator, qa_id, {"status": "unpublished"})


async def list_for_operator(ctx: Context, operator: OperatorScope, *, department: str | None = None,
                            service_code: str | None = None, status: str | None = None,
                            page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """The library entries of the operator's department and region, most recently changed first."""
    if status and status not in STATUSES:
        raise ValidationFailed(errors=[FieldError("status", "invalid_status", "status 应为 published 或 unpublished",
                                                  "status must be published or unpublished")])
    query = operator.filter(department)
    if status:
        query["status"] = status
    if service_code:
        query["service_codes"] = service_code
    return await page_of(ctx.db.qa_library, query, [("updated_at", DESCENDING), ("_id", DESCENDING)], page, page_size,
                         admin_view)


# ---- citizens ----------------------------------------------------------------------------------------
async def open_entry(ctx: Context, qa_id: str, service_code: str | None, citizen_id: str | None,
                     locale: str) -> dict[str, Any]:
    """A citizen opens a published answer: counted (see `deflection`), the answer and a suggestion token."""
    oid = parse_id(qa_id)
    doc = await ctx.db.qa_library.find_one({"_id": oid, "status": "published"})
    if doc is None:
        raise NotFound("qa_not_found", "未找到该问答", "Q&A entry not found")
    codes = doc.get("service_codes") or []
    if service_code is not None and service_code not in codes:
        raise ValidationFailed(errors=[FieldError("service_code", "not_attached", "该问答不属于此事项",
                                                  "This answer is not attached to that item")])
    code = service_code or codes[0]
    token = await deflection.record_open(ctx, doc, code, doc.get("department", ""), doc.get("region_code", ""),
                                         citizen_id)
    await ctx.db.qa_library.update_one({"_id": oid}, {"$inc": {"opened": 1}})
    return {"suggestion": suggestions.doc_view(doc, locale), "suggestion_token": token,
            "window_minutes": int(deflection.WINDOW.total_seconds() // 60)}


# ---- views -------------------------------------------------------------------------------------------
def admin_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(doc["_id"]), "question": doc.get("question") or {}, "answer": doc.get("answer") or {},
        "service_codes": list(doc.get("service_codes") or []), "department": doc.get("department", ""),
        "region_code": doc.get("region_code", ""), "status": doc.get("status", "published"),
        "source_consultation_id": doc.get("source_consultation_id"), "opened": int(doc.get("opened") or 0),
        "redactions": [{"kind": kind, "count": int(count)} for kind, count in (doc.get("redactions") or {}).items()],
        "created_at": local_iso(doc.get("created_at")), "updated_at": local_iso(doc.get("updated_at")),
        "published_at": local_iso(doc.get("published_at")), "created_by": doc.get("created_by"),
        "updated_by": doc.get("updated_by"),
    }
