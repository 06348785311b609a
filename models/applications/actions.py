"""The steps citizens and operators take on an application: create, save and submit a draft,
supplement, withdraw, and the operator's accept, request_supplement, approve, reject and complete."""

from __future__ import annotations

import datetime
from typing import Any

from pymongo import ReturnDocument

from models import idempotency
from models.access import OperatorScope
from models.applications.caches import cache_generation, changed_everywhere, remember
from models.applications.events import actor, timeline, timeline_event
from models.applications.items import load_item, online_item
from models.applications.materials import attached_files, materials_of, normalize_materials
from models.applications.numbering import allocate_number
from models.applications.prefill import form_meanings, sensitive_paths
from models.applications.queries import get_for_operator
from models.applications.states import OPERATOR_ACTIONS, invalid_transition
from models.applications.store import (
    application_changed,
    get_owned,
    in_transaction,
    new_application,
    notice,
    transition,
)
from models.applications.submission import checked_input
from models.applications.views import citizen_view, operator_view
from models.core.context import Context
from models.errors import FieldError, ValidationFailed

NOTE_MAX = 500


async def create(ctx: Context, citizen_id: str, body: dict[str, Any], locale: str = "zh-CN") -> tuple[int, dict[str, Any]]:
    """Save a draft (`draft: true`) or submit a new application; (201, the application as its owner sees it)."""
    if not isinstance(body.get("service_code"), str) or not body["service_code"].strip():
        raise ValidationFailed(errors=[FieldError("service_code", "required", "「事项编码」为必填项", "service_code is required")])
    item = await online_item(ctx.db, body["service_code"].strip())
    draft = body.get("draft") is True
    form, attached, delivery = await checked_input(ctx, item, citizen_id, body, complete=not draft)
    now = ctx.clock()
    no = await allocate_number(ctx.db, item.get("region_code", ""), now)
    application = new_application(no, citizen_id, item, form, attached, delivery, draft=draft, now=now)
    key_record = idempotency.current_record.get()
    if key_record:  # committed with the application, so a retry after a failure finds it (recover_created)
        application["idempotency_record"] = key_record
    event = timeline_event(no, 1, now, "save_draft" if draft else "submit", None, application["status"],
                           actor("citizen", citizen_id))

    async def write(session: Any) -> None:
        await ctx.db.applications.insert_one(application, session=session)
        await ctx.db.application_events.insert_one(event, session=session)
        if not draft:
            await ctx.db.outbox.insert_one(notice(application, event), session=session)

    await in_transaction(ctx, write)
    return 201, citizen_view(application, [event], ctx.clock(), locale)


async def recover_created(ctx: Context, citizen_id: str, key_record: str,
                          locale: str = "zh-CN") -> tuple[int, dict[str, Any]] | None:
    """The answer `create` gave under the Idempotency-Key record `key_record`, if its writes committed."""
    application = await ctx.db.applications.find_one({"idempotency_record": key_record, "citizen_id": citizen_id})
    if application is None:
        return None
    return 201, citizen_view(application, await timeline(ctx.db, application["_id"]), ctx.clock(), locale)


async def save_draft(ctx: Context, citizen_id: str, no: str, body: dict[str, Any], locale: str = "zh-CN") -> dict[str, Any]:
    """Replace a draft's form, materials or delivery choice (only while it is a draft)."""
    application = await get_owned(ctx.db, no, citizen_id)
    if application["status"] != "draft":
        raise invalid_transition(application["status"], "save_draft")
    item = await online_item(ctx.db, application["service_code"])
    form, attached, delivery = await checked_input(ctx, item, citizen_id, body, complete=False, base=application)
    now = ctx.clock()
    generation = await cache_generation(ctx, no)
    updated = await ctx.db.applications.find_one_and_update(
        {"_id": no, "status": "draft", "version": application["version"]},
        {"$set": {"form": form, "materials": attached, "delivery": delivery, "updated_at": now,
                  "sensitive_paths": sensitive_paths(item.get("form_schema"))}, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER)
    if updated is None:
        raise application_changed()
    events = await timeline(ctx.db, no, up_to=updated["version"])
    await remember(ctx, updated, events, generation)
    await changed_everywhere(ctx, no)
    return citizen_view(updated, events, now, locale)


def _note(body: dict[str, Any], name: str = "note", required: bool = False) -> str:
    value = body.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > NOTE_MAX or (required and not value.strip()):
        raise ValidationFailed(errors=[FieldError(
            name, "required" if required and isinstance(value, str) and not value.strip() else "type",
            f"「{name}」应为不超过 {NOTE_MAX} 字的文字" + ("，且不能为空" if required else ""),
            f"{name} must be text of at most {NOTE_MAX} characters" + (" and not empty" if required else ""))])
    return value.strip()


async def submit_draft(ctx: Context, citizen_id: str, no: str, body: dict[str, Any], locale: str = "zh-CN") -> tuple[int, dict[str, Any]]:
    """Submit a saved draft (with any last changes in `body`), validated like a new submission."""
    application = await get_owned(ctx.db, no, citizen_id)
    if application["status"] != "draft":
        raise invalid_transition(application["status"], "submit")
    item = await online_item(ctx.db, application["service_code"])
    form, attached, delivery = await checked_input(ctx, item, citizen_id, body, complete=True, base=application)
    changes = {"form": form, "materials": attached, "delivery": delivery,
               "sensitive_paths": sensitive_paths(item.get("form_schema")),
               "promised_days": (item.get("guide") or {}).get("promised_time_limit_days"),
               "prefill_values": form_meanings(item.get("form_schema"), form)}
    updated, events = await transition(ctx, application, "submit", actor("citizen", citizen_id), changes=changes)
    return 200, citizen_view(updated, events, ctx.clock(), locale)


async def supplement(ctx: Context, citizen_id: str, no: str, body: dict[str, Any], locale: str = "zh-CN") -> tuple[int, dict[str, Any]]:
    """Provide the materials an operator asked for; the application goes back to them as resubmitted."""
    application = await get_owned(ctx.db, no, citizen_id)
    if application["status"] != "supplement_requested":
        raise invalid_transition(application["status"], "supplement")
    item = await load_item(ctx.db, application["service_code"])
    note = _note(body)
    materials, problems = normalize_materials(body.get("materials"))
    requested = {k for k in (application.get("supplement") or {}).get("missing_materials") or [] if k in materials_of(item)}
    attached, found = await attached_files(ctx.db, item, citizen_id, materials, required=requested)
    if problems or found:
        raise ValidationFailed(errors=problems + found)
    merged = {**(application.get("materials") or {}), **attached}
    updated, events = await transition(ctx, application, "supplement", actor("citizen", citizen_id),
                                       changes={"materials": merged}, note=note, materials=sorted(attached))
    return 200, citizen_view(updated, events, ctx.clock(), locale)


async def withdraw(ctx: Context, citizen_id: str, no: str, body: dict[str, Any], locale: str = "zh-CN") -> tuple[int, dict[str, Any]]:
    """Withdraw my application before a decision."""
    application = await get_owned(ctx.db, no, citizen_id)
    note = _note(body, "reason")
    updated, events = await transition(ctx, application, "withdraw", actor("citizen", citizen_id), note=note)
    return 200, citizen_view(updated, events, ctx.clock(), locale)


async def operator_action(ctx: Context, operator_id: str, scope: OperatorScope, no: str, body: dict[str, Any],
                          locale: str = "zh-CN") -> tuple[int, dict[str, Any]]:
    """One operator step: accept, request_supplement, approve, reject or complete."""
    action = body.get("action")
    if action not in OPERATOR_ACTIONS:
        raise ValidationFailed(errors=[FieldError("action", "enum", f"「action」应为以下之一：{'、'.join(OPERATOR_ACTIONS)}",
                                                  f"action must be one of: {', '.join(OPERATOR_ACTIONS)}")])
    expected = body.get("expected_version")
    if expected is not None and (not isinstance(expected, int) or isinstance(expected, bool)):
        raise ValidationFailed(errors=[FieldError("expected_version", "type", "应为整数", "must be a whole number")])
    application = await get_for_operator(ctx.db, no, scope)
    note = _note(body)
    changes: dict[str, Any] = {}
    data: dict[str, Any] = {}
    if action == "request_supplement":
        missing = _missing_materials(body.get("missing_materials"), await load_item(ctx.db, application["service_code"]))
        changes["supplement"] = {"missing_materials": missing, "note": note, "requested_at": ctx.clock()}
        data["missing_materials"] = missing
    elif action in ("approve", "reject"):
        reason = _note(body, "reason", required=action == "reject")
        changes["decision"] = {"outcome": "approved" if action == "approve" else "rejected", "reason": reason, "note": note}
        data["reason"] = reason
    elif action == "complete":
        changes["result"] = _result(body, application, ctx.clock())
        data["delivery"] = changes["result"].get("delivery")
    updated, events = await transition(ctx, application, action, actor("operator", operator_id), changes=changes,
                                       note=note, expected_version=expected, **data)
    return 200, operator_view(updated, events, ctx.clock(), locale)


def _missing_materials(raw: Any, item: dict[str, Any]) -> list[str]:
    declared = materials_of(item)
    if not isinstance(raw, list) or not raw or not all(isinstance(k, str) for k in raw):
        raise ValidationFailed(errors=[FieldError("missing_materials", "required", "请列出需要补正的材料",
                                                  "List the materials that are missing")])
    unknown = [k for k in raw if k not in declared]
    if unknown:
        raise ValidationFailed(errors=[FieldError(f"missing_materials[{raw.index(k)}]", "unknown_material",
                                                  f"该事项没有材料「{k}」", f"The service item has no material {k!r}")
                                       for k in unknown])
    return list(dict.fromkeys(raw))


def _result(body: dict[str, Any], application: dict[str, Any], now: datetime.datetime) -> dict[str, Any]:
    """What the applicant receives at completion: the result, and how it was delivered."""
    result = body.get("result")
    if result is not None and not isinstance(result, (str, dict)):
        raise ValidationFailed(errors=[FieldError("result", "type", "「result」应为文字或对象", "result must be text or an object")])
    delivery = body.get("delivery") or {}
    if not isinstance(delivery, dict):
        raise ValidationFailed(errors=[FieldError("delivery", "type", "「delivery」应为对象", "delivery must be an object")])
    chosen = (application.get("delivery") or {}).get("method", "pickup")
    if chosen == "post" and not (isinstance(delivery.get("tracking_no"), str) and delivery["tracking_no"].strip()):
        raise ValidationFailed(errors=[FieldError("delivery.tracking_no", "required", "申请人选择了邮寄，请填写快递单号",
                                                  "The applicant chose delivery by post: give the tracking number")])
    shipped = {"method": chosen, **{k: str(v)[:100] for k, v in delivery.items() if k in ("carrier", "tracking_no")}}
    return {"content": result, "delivery": shipped, "issued_at": now}
