"""Citizens' questions: asking, following up, the answer deadline, and how a consultation is shown.

A consultation is about one service item and is routed to the item's department. Each waiting
question has an answer deadline in working days (see `models.workdays`): by default a consultation
received before 15:00 on a working day is due at that day's close of business, any other one at the
next working day's close; a complaint is due 5 working days after its receipt day.

Turns (the citizen's follow-ups, the operators' replies) live in `consultation_messages`, one
document per turn with a sequence number from the consultation's `turns` counter: the datastore
must never `$push` sub-documents.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from config.settings import Settings
from models import applications, catalogue, files, usertext, workdays
from models.consultations import deflection
from models.core.context import Context
from models.core.pagination import page_of
from models.core.timezone import local_iso
from models.errors import Conflict, FieldError, NotFound, ValidationFailed

KINDS = ("consultation", "complaint")
STATUSES = ("open", "answered", "closed")
SUBJECT_MAX = 100
CONTENT_MAX = 2000
NOTE_MAX = 500
MAX_ATTACHMENTS = 5
MAX_TURNS = 60  # a conversation longer than this is abuse or belongs on the phone

# Per-citizen limits: (requests, window seconds).
RATE_LIMITS = {"create": (10, 3600), "message": (30, 3600)}

OFFICE_HOURS = workdays.DEFAULT_OFFICE_HOURS


@dataclasses.dataclass(frozen=True)
class DeadlineRule:
    """How long an answer may take: working days after the receipt day, and the day's cut-off."""

    workdays: int
    cutoff: datetime.time | None = None  # None: received after closing counts as the next day


def deadline_rules(settings: Settings) -> dict[str, DeadlineRule]:
    """The answer deadline rule per kind, from settings."""
    return {
        "consultation": DeadlineRule(settings.consultation_answer_workdays,
                                     datetime.time(settings.consultation_cutoff_hour)),
        "complaint": DeadlineRule(settings.complaint_answer_workdays),
    }


def answer_deadline(kind: str, received: datetime.datetime, settings: Settings) -> datetime.datetime:
    """When an answer to a question of `kind` received at `received` is due."""
    rule = deadline_rules(settings)[kind]
    return workdays.deadline(received, rule.workdays, rule.cutoff, OFFICE_HOURS)


def parse_id(value: str) -> ObjectId:
    """A consultation id from a path; NotFound for anything that is not one."""
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        raise NotFound("consultation_not_found", "未找到该咨询", "Consultation not found") from None


# ---- citizens ------------------------------------------------------------------------------------
async def create(ctx: Context, citizen_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Record a citizen's consultation or complaint, routed to the item's department."""
    errors: list[FieldError] = []
    kind = body.get("kind", "consultation")
    if kind not in KINDS:
        errors.append(FieldError("kind", "invalid_kind", "kind 应为 consultation 或 complaint",
                                 "kind must be consultation or complaint"))
    service_code = body.get("service_code")
    application_no = body.get("application_no")
    if service_code is not None and (not isinstance(service_code, str) or not 1 <= len(service_code) <= 32):
        errors.append(FieldError("service_code", "invalid", "事项编码无效", "service_code is not valid"))
    if application_no is not None and (not isinstance(application_no, str) or not 1 <= len(application_no) <= 40):
        errors.append(FieldError("application_no", "invalid", "办件编号无效", "application_no is not valid"))
    if service_code is None and application_no is None:
        errors.append(FieldError("service_code", "required", "请选择咨询的事项", "service_code is required"))
    subject = usertext.text_field(body, "subject", errors, max_length=SUBJECT_MAX)
    content = usertext.text_field(body, "content", errors, max_length=CONTENT_MAX)
    attachments = usertext.file_ids(body, "attachments", errors, max_count=MAX_ATTACHMENTS)
    token = body.get("suggestion_token")
    if token is not None and not deflection.is_token(token):
        errors.append(FieldError("suggestion_token", "invalid", "suggestion_token 无效", "suggestion_token is not valid"))
    if errors:
        raise ValidationFailed(errors=errors)
    await check_attachments(ctx.db, citizen_id, attachments)
    if application_no is not None:
        application = await applications.get_owned(ctx.db, application_no, citizen_id)
        if service_code is not None and service_code != application.get("service_code"):
            raise ValidationFailed(errors=[FieldError("service_code", "mismatch", "事项与办件不一致",
                                                      "service_code differs from the application's service")])
        service_code = application.get("service_code")
    item = await catalogue.get_published_item(ctx.db, service_code)
    now = ctx.clock()
    doc = {
        "_id": ObjectId(), "kind": kind, "citizen_id": citizen_id, "service_code": service_code,
        "service_name": item.get("name", {}), "department": item.get("department", ""),
        "region_code": item.get("region_code", ""), "application_no": application_no, "subject": subject, "content": content, "attachments": attachments,
        "status": "open", "turns": 1, "created_at": now, "updated_at": now,
        "pending_since": now, "due_at": answer_deadline(kind, now, ctx.settings), "rated": False,
        # first_answered_at, first_answer_hours, answered_late, closed_at: set when they happen (never
        # stored as null: nx-27017 matches nulls unlike MongoDB, so absence is the portable "not yet").
    }
    await ctx.db.consultations.insert_one(doc)
    # The question was sent after all: the answers the citizen opened before did not deflect it.
    await deflection.mark_asked(ctx, citizen_id, service_code, str(doc["_id"]), token)
    return citizen_view(doc, [], now)


async def check_attachments(db: AsyncDatabase, citizen_id: str, file_ids: list[str]) -> None:
    """Every attachment must be a file this citizen uploaded (POST /api/v1/files)."""
    if not file_ids:
        return
    found = await files.find_files(db, file_ids)
    missing = [f for f in file_ids if (found.get(f, {}).get("metadata") or {}).get("owner_id") != citizen_id]
    if missing:
        raise ValidationFailed(errors=[FieldError("attachments", "file_not_found", "附件不存在或不属于您",
                                                  "An attachment does not exist or is not yours")],
                               extra={"file_ids": missing})


async def list_own(ctx: Context, citizen_id: str, page: int, page_size: int) -> dict[str, Any]:
    """A citizen's consultations, newest first."""
    now = ctx.clock()
    return await page_of(ctx.db.consultations, {"citizen_id": citizen_id}, [("created_at", DESCENDING)], page, page_size,
                         lambda doc: citizen_view(doc, None, now))


async def get_own(ctx: Context, citizen_id: str, consultation_id: str) -> dict[str, Any]:
    """One of the citizen's consultations with every turn; NotFound for anyone else's."""
    doc = await _own(ctx.db, citizen_id, consultation_id)
    return citizen_view(doc, await messages_of(ctx.db, doc["_id"]), ctx.clock())


async def _own(db: AsyncDatabase, citizen_id: str, consultation_id: str) -> dict[str, Any]:
    doc = await db.consultations.find_one({"_id": parse_id(consultation_id), "citizen_id": citizen_id})
    if doc is None:
        raise NotFound("consultation_not_found", "未找到该咨询", "Consultation not found")
    return doc


async def follow_up(ctx: Context, citizen_id: str, consultation_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The citizen adds a turn; an answered consultation re-opens with a new answer deadline."""
    errors: list[FieldError] = []
    content = usertext.text_field(body, "content", errors, max_length=CONTENT_MAX)
    attachments = usertext.file_ids(body, "attachments", errors, max_count=MAX_ATTACHMENTS)
    if errors:
        raise ValidationFailed(errors=errors)
    await check_attachments(ctx.db, citizen_id, attachments)
    oid = parse_id(consultation_id)
    now = ctx.clock()
    doc = None
    # Two conditional updates instead of read-then-write: which one matches decides whether the
    # deadline restarts. Retried because an operator's reply may change the status in between.
    for _ in range(3):
        current = await _own(ctx.db, citizen_id, consultation_id)
        if current["status"] == "closed":
            raise Conflict("consultation_closed", "该咨询已办结，如有问题请重新提问",
                           "This consultation is closed; please ask a new question")
        if current["turns"] >= MAX_TURNS:
            raise Conflict("too_many_turns", "该咨询的对话已过长，请重新提问",
                           "This conversation is too long; please ask a new question")
        reopen = {"$set": {"status": "open", "pending_since": now, "updated_at": now,
                           "due_at": answer_deadline(current["kind"], now, ctx.settings)},
                  "$inc": {"turns": 1}}
        keep = {"$set": {"updated_at": now}, "$inc": {"turns": 1}}
        update = reopen if current["status"] == "answered" else keep
        doc = await ctx.db.consultations.find_one_and_update(
            {"_id": oid, "citizen_id": citizen_id, "status": current["status"], "turns": current["turns"]},
            update, return_document=ReturnDocument.AFTER)
        if doc is not None:
            break
    if doc is None:
        raise Conflict("consultation_busy", "该咨询正在更新，请稍后重试", "This consultation is being updated; retry shortly",
                       headers={"Retry-After": "1"})
    await ctx.db.consultation_messages.insert_one({
        "consultation_id": str(oid), "seq": doc["turns"], "author": "citizen", "content": content,
        "attachments": attachments, "created_at": now,
    })
    return citizen_view(doc, await messages_of(ctx.db, oid), now)


async def get_closed_for_rating(db: AsyncDatabase, citizen_id: str, consultation_id: str) -> dict[str, Any]:
    """The citizen's consultation, which must be closed to be rated."""
    doc = await _own(db, citizen_id, consultation_id)
    if doc["status"] != "closed":
        raise Conflict("consultation_not_closed", "咨询办结后才能评价", "A consultation can be rated once it is closed")
    return doc


async def mark_rated(db: AsyncDatabase, consultation_id: ObjectId) -> None:
    await db.consultations.update_one({"_id": consultation_id}, {"$set": {"rated": True}})


# ---- views ---------------------------------------------------------------------------------------
async def messages_of(db: AsyncDatabase, oid: ObjectId) -> list[dict[str, Any]]:
    # Stored as a string: nx-27017 does not match ObjectId values outside `_id`.
    cursor = db.consultation_messages.find({"consultation_id": str(oid)}).sort("seq", ASCENDING)
    return await cursor.to_list(length=MAX_TURNS + 10)


def _turns(doc: dict[str, Any], messages: list[dict[str, Any]], for_operator: bool) -> list[dict[str, Any]]:
    first = {"seq": 1, "author": "citizen", "content": doc["content"], "attachments": doc.get("attachments", []),
             "created_at": local_iso(doc["created_at"])}
    turns = [first]
    for message in messages:
        turn = {"seq": message["seq"], "author": message["author"], "content": message["content"],
                "attachments": message.get("attachments", []), "created_at": local_iso(message["created_at"])}
        if for_operator and message["author"] == "operator":
            turn["operator_id"] = message.get("operator_id")
            turn["answer_working_hours"] = message.get("answer_working_hours")
        turns.append(turn)
    return turns


def citizen_view(doc: dict[str, Any], messages: list[dict[str, Any]] | None, now: datetime.datetime) -> dict[str, Any]:
    view = {
        "id": str(doc["_id"]), "kind": doc["kind"], "service_code": doc["service_code"],
        "service_name": doc.get("service_name", {}), "department": doc["department"],
        "application_no": doc.get("application_no"), "subject": doc["subject"], "status": doc["status"],
        "turns": doc["turns"], "created_at": local_iso(doc["created_at"]), "due_at": local_iso(doc["due_at"]),
        "first_answered_at": local_iso(doc.get("first_answered_at")), "closed_at": local_iso(doc.get("closed_at")),
        # bool(): nx-27017 stores booleans written by $set as 0/1.
        "rated": bool(doc.get("rated")), "can_rate": doc["status"] == "closed" and not doc.get("rated"),
    }
    if messages is not None:
        view["messages"] = _turns(doc, messages, for_operator=False)
    return view


def operator_view(doc: dict[str, Any], messages: list[dict[str, Any]] | None, now: datetime.datetime) -> dict[str, Any]:
    view = citizen_view(doc, None, now)
    view.update({
        "citizen_id": doc["citizen_id"],
        "overdue": doc["status"] == "open" and doc["due_at"] < now,
        "pending_since": local_iso(doc.get("pending_since")),
        "first_answer_working_hours": doc.get("first_answer_hours"),
        "answered_late": None if doc.get("answered_late") is None else bool(doc["answered_late"]),
    })
    if messages is not None:
        view["messages"] = _turns(doc, messages, for_operator=True)
    return view
