"""Applications (办件): a citizen's request for one service item, from draft to result.

States: draft → submitted → accepted → (supplement_requested → resubmitted)* → approved | rejected
→ completed, and withdrawn by the citizen before a decision. `ACTIONS` is the whole state machine.

Every transition is one conditional `find_one_and_update` on (number, status, version) inside a
transaction that also inserts the timeline event (`application_events`, unique per (number, seq))
and the outbox record announcing it (dedupe key "application:<no>:<version>"): two operators acting
at once cannot both win, and a change is never recorded without its notification or vice versa.
Timeline events live in their own collection rather than an array pushed onto the application
(nx-27017 stores pushed sub-documents as JSON strings, and a separate collection needs no $push).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure
from redis.exceptions import RedisError

from models import deadlines, files, outbox, workdays
from models.access import OperatorScope
from models.core.timezone import SHANGHAI, local, local_iso, local_minute
from models.errors import Conflict, FieldError, NotFound, ValidationFailed
from models.localcache import LocalCache

log = logging.getLogger("citygate.applications")

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "draft": ("草稿", "Draft"),
    "submitted": ("已提交", "Submitted"),
    "accepted": ("已受理", "Accepted"),
    "supplement_requested": ("待补正材料", "Supplement requested"),
    "resubmitted": ("已补正", "Supplement received"),
    "approved": ("审批通过", "Approved"),
    "rejected": ("不予批准", "Rejected"),
    "completed": ("已办结", "Completed"),
    "withdrawn": ("已撤回", "Withdrawn"),
}

ACTION_LABELS: dict[str, tuple[str, str]] = {
    "save_draft": ("保存草稿", "Draft saved"),
    "submit": ("提交申请", "Submitted"),
    "accept": ("受理", "Accepted"),
    "request_supplement": ("一次性告知补正材料", "Supplement requested"),
    "supplement": ("补正材料", "Supplement provided"),
    "approve": ("审批通过", "Approved"),
    "reject": ("不予批准", "Rejected"),
    "complete": ("办结", "Completed"),
    "withdraw": ("撤回申请", "Withdrawn"),
}


@dataclasses.dataclass(frozen=True)
class Action:
    sources: frozenset[str]
    target: str
    actor: str  # "citizen" | "operator"


ACTIONS: dict[str, Action] = {
    "submit": Action(frozenset({"draft"}), "submitted", "citizen"),
    "accept": Action(frozenset({"submitted"}), "accepted", "operator"),
    "request_supplement": Action(frozenset({"accepted", "resubmitted"}), "supplement_requested", "operator"),
    "supplement": Action(frozenset({"supplement_requested"}), "resubmitted", "citizen"),
    "approve": Action(frozenset({"accepted", "resubmitted"}), "approved", "operator"),
    "reject": Action(frozenset({"accepted", "resubmitted"}), "rejected", "operator"),
    "complete": Action(frozenset({"approved", "rejected"}), "completed", "operator"),
    "withdraw": Action(frozenset({"draft", "submitted", "accepted", "supplement_requested", "resubmitted"}),
                       "withdrawn", "citizen"),
}
OPERATOR_ACTIONS = tuple(name for name, action in ACTIONS.items() if action.actor == "operator")
# States in which the promised time limit runs (not paused, not decided).
RUNNING = ("accepted", "resubmitted")
OPEN = ("submitted", "accepted", "supplement_requested", "resubmitted")

QUERY_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone
QUERY_CODE_LENGTH = 8
MAX_FILES_PER_MATERIAL = 20
NOTE_MAX = 500
# Meanings whose values never leave the server unmasked (prefill shows them masked only).
SENSITIVE_MEANINGS = frozenset({"id_number", "phone"})
# Property names that mean the same thing across items' forms (prefill matches on meaning).
SYNONYMS = {
    "applicant_name": "name", "real_name": "name", "full_name": "name", "xingming": "name",
    "mobile": "phone", "mobile_phone": "phone", "phone_number": "phone", "telephone": "phone", "contact_phone": "phone",
    "id_no": "id_number", "id_card": "id_number", "id_card_no": "id_number", "id_card_number": "id_number",
    "home_address": "address", "contact_address": "address", "residential_address": "address",
    "email_address": "email", "mail": "email",
}


async def ensure_indexes(db: AsyncDatabase) -> None:
    # nx-27017 serves queries only from single-field indexes (a compound index's prefix is not used),
    # so each field queried alone has its own index; the compound ones serve MongoDB's sorted lists.
    await db.applications.create_index("citizen_id")
    await db.applications.create_index("status")
    await db.applications.create_index("deadline.due_date")
    await db.applications.create_index([("department", ASCENDING), ("status", ASCENDING), ("created_at", DESCENDING)])
    await db.application_events.create_index("application_no")
    await db.application_events.create_index([("application_no", ASCENDING), ("seq", ASCENDING)], unique=True)
    await db.counters.create_index("updated_at")  # also makes sure the collection exists before transactions


# ---- service items -------------------------------------------------------------------------------
async def load_item(db: AsyncDatabase, code: str, *, published: bool = False) -> dict[str, Any]:
    """A service item through the catalogue (any status unless `published`); 404 service_not_found."""
    from models import catalogue

    if not isinstance(code, str) or not code:
        raise NotFound("service_not_found", "未找到该事项", "Service item not found")
    return await (catalogue.get_published_item(db, code) if published else catalogue.get_item(db, code))


async def online_item(db: AsyncDatabase, code: str) -> dict[str, Any]:
    """An item citizens can apply for online; 409 not_online for unpublished or information-only items."""
    item = await load_item(db, code)
    if item.get("status") != "published" or item.get("handling_depth", "info_only") == "info_only":
        raise Conflict("not_online", "该事项暂不支持网上申请", "This service item cannot be applied for online",
                       extra={"service_code": code})
    return item


def localized(value: Any, locale: str) -> str:
    """The `locale` text of an {"zh-CN", "en"} dict (falling back to Chinese), or the value itself."""
    if isinstance(value, dict):
        return str(value.get(locale) or value.get("zh-CN") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def _materials_of(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["key"]: m for m in (item.get("guide") or {}).get("materials") or [] if isinstance(m, dict) and m.get("key")}


# ---- form validation -----------------------------------------------------------------------------
_TYPE_WORDS = {"string": ("文本", "text"), "integer": ("整数", "a whole number"), "number": ("数字", "a number"),
               "boolean": ("是或否", "true or false"), "object": ("对象", "an object"), "array": ("列表", "a list"),
               "null": ("空值", "null")}
_FORMAT_WORDS = {"date": ("日期（YYYY-MM-DD）", "date (YYYY-MM-DD)"), "email": ("电子邮箱", "email address"),
                 "date-time": ("日期时间", "date-time"), "uri": ("网址", "URL")}


def _titles(schema: Any, name: str) -> tuple[str, str]:
    if not isinstance(schema, dict):
        return name, name
    title = schema.get("title")
    if isinstance(title, dict):
        return localized(title, "zh-CN") or name, localized(title, "en") or name
    return (title or name), (schema.get("x-title-en") or title or name)


def form_errors(schema: dict[str, Any], form: Any, prefix: str = "form") -> list[FieldError]:
    """Every way `form` breaks `schema`, each with its dotted field path and a zh/en message."""
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    found: list[FieldError] = []
    for error in validator.iter_errors(form):
        found.extend(_explain(error, prefix))
    unique = {(e.field, e.code): e for e in found}
    return sorted(unique.values(), key=lambda e: (e.field, e.code))


def _explain(error: jsonschema.ValidationError, prefix: str) -> Iterator[FieldError]:
    path = [str(p) for p in error.absolute_path]
    field = ".".join([prefix, *path])
    keyword, expected = error.validator, error.validator_value
    if keyword == "required":
        properties = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        present = error.instance if isinstance(error.instance, dict) else {}
        for name in expected:
            if name not in present:
                zh, en = _titles(properties.get(name), name)
                yield FieldError(f"{field}.{name}", "required", f"「{zh}」为必填项", f"{en} is required")
        return
    if keyword == "additionalProperties":
        known = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
        for name in sorted(set(error.instance) - known if isinstance(error.instance, dict) else ()):
            yield FieldError(f"{field}.{name}", "unknown_field", f"不允许的字段「{name}」", f"Unknown field {name!r}")
        return
    zh, en = _titles(error.schema, path[-1] if path else prefix)
    if keyword == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        yield FieldError(field, "type", f"「{zh}」应为{'或'.join(_TYPE_WORDS.get(k, (k, k))[0] for k in kinds)}",
                         f"{en} must be {' or '.join(_TYPE_WORDS.get(k, (k, k))[1] for k in kinds)}")
    elif keyword in ("enum", "const"):
        options = expected if keyword == "enum" else [expected]
        text = "、".join(str(o) for o in options)
        yield FieldError(field, "enum", f"「{zh}」应为以下之一：{text}",
                         f"{en} must be one of: {', '.join(str(o) for o in options)}")
    elif keyword == "pattern":
        yield FieldError(field, "pattern", f"「{zh}」格式不正确", f"{en} is not in the expected format")
    elif keyword == "format":
        words = _FORMAT_WORDS.get(expected, (expected, expected))
        yield FieldError(field, "format", f"「{zh}」不是有效的{words[0]}", f"{en} is not a valid {words[1]}")
    elif keyword in ("minLength", "maxLength"):
        yield FieldError(field, keyword, f"「{zh}」{'至少' if keyword == 'minLength' else '最多'} {expected} 个字符",
                         f"{en} must be {'at least' if keyword == 'minLength' else 'at most'} {expected} characters")
    elif keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        low = keyword.endswith("inimum")
        strict = keyword.startswith("exclusive")
        zh_rel = ("大于" if strict else "不小于") if low else ("小于" if strict else "不大于")
        en_rel = ("greater than" if strict else "at least") if low else ("less than" if strict else "at most")
        yield FieldError(field, keyword, f"「{zh}」应{zh_rel} {expected}", f"{en} must be {en_rel} {expected}")
    elif keyword in ("minItems", "maxItems"):
        yield FieldError(field, keyword, f"「{zh}」{'至少' if keyword == 'minItems' else '最多'} {expected} 项",
                         f"{en} must have {'at least' if keyword == 'minItems' else 'at most'} {expected} items")
    else:
        yield FieldError(field, keyword, f"「{zh}」的内容不符合要求", f"{en} is not valid")


# ---- materials -----------------------------------------------------------------------------------
def _normalize_materials(raw: Any) -> tuple[dict[str, list[str]], list[FieldError]]:
    """Accept {"key": "file_id" | ["file_id", ...]} or [{"key", "file_id"}]; return {key: [ids]}."""
    if raw is None:
        return {}, []
    pairs: list[tuple[str, Any]]
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list) and all(isinstance(x, dict) for x in raw):
        pairs = [(str(x.get("key", "")), x.get("file_id")) for x in raw]
    else:
        return {}, [FieldError("materials", "type", "「材料」格式应为 {材料: [文件编号]}",
                               "materials must be an object {material: [file_id, ...]}")]
    result: dict[str, list[str]] = {}
    problems: list[FieldError] = []
    for key, value in pairs:
        ids = [value] if isinstance(value, str) else value
        if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
            problems.append(FieldError(f"materials.{key}", "type", "应为文件编号或文件编号列表",
                                       "must be a file id or a list of file ids"))
            continue
        if len(ids) > MAX_FILES_PER_MATERIAL:
            problems.append(FieldError(f"materials.{key}", "maxItems", f"每项材料最多 {MAX_FILES_PER_MATERIAL} 个文件",
                                       f"at most {MAX_FILES_PER_MATERIAL} files per material"))
            continue
        result.setdefault(key, [])
        result[key] += [i for i in ids if i not in result[key]]
    return result, problems


async def _attached(db: AsyncDatabase, item: dict[str, Any], citizen_id: str, materials: dict[str, list[str]],
                    *, required: set[str] | None) -> tuple[dict[str, list[dict[str, Any]]], list[FieldError]]:
    """Check the files given for each material (owner, type, size) and, when `required` is given, that
    each material in it has at least one file. Return the files' descriptions by material."""
    declared = _materials_of(item)
    stored = await files.find_files(db, [f for ids in materials.values() for f in ids])
    attached: dict[str, list[dict[str, Any]]] = {}
    problems: list[FieldError] = []
    for key, ids in materials.items():
        material = declared.get(key)
        if material is None:
            problems.append(FieldError(f"materials.{key}", "unknown_material", f"该事项没有材料「{key}」",
                                       f"The service item has no material {key!r}"))
            continue
        rules = files.rules_for_material(material, 1 << 62)
        for index, file_id in enumerate(ids):
            document = stored.get(file_id)
            field = f"materials.{key}.{index}"
            if document is None or (document.get("metadata") or {}).get("owner_id") != citizen_id:
                problems.append(FieldError(field, "file_not_found", "未找到该文件（请重新上传）", "File not found (upload it again)"))
                continue
            kind = document["metadata"].get("content_type")
            if kind not in rules.allowed_types:
                problems.append(FieldError(field, "file_type_not_allowed", "文件类型不符合该材料的要求",
                                           "The file type is not allowed for this material"))
            elif int(document.get("length", 0)) > rules.max_bytes:
                problems.append(FieldError(field, "file_too_large", "文件超过该材料的大小上限",
                                           "The file exceeds this material's size limit"))
            else:
                attached.setdefault(key, []).append(files.describe(document))
    for key in sorted(required or ()):
        if not attached.get(key) and not any(p.field.startswith(f"materials.{key}.") for p in problems):
            name = declared.get(key, {}).get("name", key)
            problems.append(FieldError(f"materials.{key}", "material_required", f"请上传「{localized(name, 'zh-CN')}」",
                                       f"Please attach: {localized(name, 'en')}"))
    return attached, problems


def required_materials(item: dict[str, Any]) -> set[str]:
    """Materials that must be uploaded online (paper-only ones are shown at the counter instead)."""
    return {key for key, m in _materials_of(item).items() if m.get("required") and m.get("medium", "electronic") != "paper"}


def _delivery(item: dict[str, Any], raw: Any) -> tuple[dict[str, Any], list[FieldError]]:
    """The citizen's choice of how to receive the result: pickup (default) or post."""
    if raw is None:
        return {"method": "pickup"}, []
    if not isinstance(raw, dict) or raw.get("method") not in ("pickup", "post"):
        return {}, [FieldError("delivery.method", "enum", "「领取方式」应为 pickup 或 post", "delivery.method must be pickup or post")]
    if raw["method"] == "pickup":
        return {"method": "pickup"}, []
    if not ((item.get("guide") or {}).get("delivery") or {}).get("by_post"):
        return {}, [FieldError("delivery.method", "post_not_offered", "该事项不提供邮寄送达", "This item does not deliver by post")]
    problems = [FieldError(f"delivery.{name}", "required", f"「{zh}」为必填项", f"{en} is required")
                for name, zh, en in (("recipient", "收件人", "Recipient"), ("phone", "收件电话", "Phone"),
                                     ("address", "收件地址", "Address"))
                if not isinstance(raw.get(name), str) or not raw[name].strip() or len(raw[name]) > 200]
    return {"method": "post", **{k: raw[k].strip() for k in ("recipient", "phone", "address") if isinstance(raw.get(k), str)}}, problems


def _form_of(body: dict[str, Any], default: Any = None) -> tuple[Any, list[FieldError]]:
    form = body.get("form", default if default is not None else {})
    if not isinstance(form, dict):
        return {}, [FieldError("form", "type", "「表单」应为对象", "form must be an object")]
    if len(json.dumps(form, ensure_ascii=False, default=str)) > 200_000:
        return {}, [FieldError("form", "maxLength", "表单内容过长", "form is too large")]
    return form, []


# ---- prefill -------------------------------------------------------------------------------------
def meaning(name: str, schema: Any) -> str:
    """What a form field means: its `x-meaning` annotation, else its name (with common synonyms folded)."""
    declared = schema.get("x-meaning") if isinstance(schema, dict) else None
    key = str(declared or name).lower()
    return SYNONYMS.get(key, key)


def form_leaves(schema: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """(path, property schema) of every scalar field in an object schema, nested objects included."""
    if not isinstance(schema, dict):
        return
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        if prop.get("type") == "object" or "properties" in prop:
            yield from form_leaves(prop, (*path, name))
        elif prop.get("type") != "array":
            yield (*path, name), prop


def form_meanings(schema: Any, form: dict[str, Any]) -> dict[str, Any]:
    """{meaning: value} of a filled form's scalar fields, kept with the application for later prefill."""
    found: dict[str, Any] = {}
    for path, prop in form_leaves(schema):
        value: Any = form
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        key = meaning(path[-1], prop)
        if value not in (None, "") and not isinstance(value, (dict, list)) and key not in SENSITIVE_MEANINGS:
            found.setdefault(key, value)
    return found


def mask(value: str) -> str:
    """An identifier shown safely: first 3 and last 4 characters, the rest starred (as /me shows them)."""
    return value[:3] + "*" * max(0, len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


def sensitive_paths(schema: Any) -> list[str]:
    """Dotted paths of the form fields holding ID or phone numbers (never returned unmasked)."""
    return [".".join(path) for path, prop in form_leaves(schema) if meaning(path[-1], prop) in SENSITIVE_MEANINGS]


def _get(form: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        form = form.get(part) if isinstance(form, dict) else None
    return form


def _set(form: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        form = form.setdefault(part, {})
    form[last] = value


def masked_form(form: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """A copy of `form` with the values at `paths` masked."""
    shown = json.loads(json.dumps(form, ensure_ascii=False, default=str))
    for dotted in paths:
        value = _get(shown, dotted)
        if isinstance(value, str) and value:
            _set(shown, dotted, mask(value))
    return shown


def citizen_secrets(ctx, citizen: dict[str, Any]) -> dict[str, list[str]]:  # noqa: ANN001
    """The citizen's own ID and phone numbers (decrypted), to recognise them when sent back masked."""
    known: dict[str, list[str]] = {"id_number": [], "phone": []}
    for meaning_key, record, context in (("id_number", citizen.get("realname"), "citizen.id_number"),
                                         ("phone", citizen.get("phone"), "citizen.phone")):
        sealed = (record or {}).get("id_cipher" if meaning_key == "id_number" else "cipher") if isinstance(record, dict) else None
        if sealed:
            try:
                known[meaning_key].append(ctx.cipher.decrypt(sealed, context))
            except ValueError:
                pass  # a retired key: the citizen types the number instead
    for key, value in (citizen.get("profile") or {}).items():
        folded = SYNONYMS.get(key.lower(), key.lower())
        if folded in known and isinstance(value, str) and value:
            known[folded].append(value)
    return known


def unmask(schema: Any, form: dict[str, Any], known: dict[str, list[str]], previous: dict[str, Any] | None
           ) -> tuple[dict[str, Any], list[FieldError]]:
    """Put back the real numbers where `form` carries a masked one we can recognise: the citizen's own
    verified numbers, or the value this draft already holds. Masked values we cannot place are errors."""
    form = json.loads(json.dumps(form, ensure_ascii=False, default=str))
    problems: list[FieldError] = []
    for path, prop in form_leaves(schema):
        dotted = ".".join(path)
        value = _get(form, dotted)
        if not isinstance(value, str) or "*" not in value:
            continue
        candidates = list(known.get(meaning(path[-1], prop), []))
        earlier = _get(previous or {}, dotted)
        if isinstance(earlier, str):
            candidates.append(earlier)
        real = next((c for c in candidates if mask(c) == value), None)
        if real is None and meaning(path[-1], prop) in SENSITIVE_MEANINGS:
            zh, en = _titles(prop, path[-1])
            problems.append(FieldError(f"form.{dotted}", "masked_value", f"「{zh}」请填写完整号码", f"{en}: enter the full number"))
        elif real is not None:
            _set(form, dotted, real)
    return form, problems


def citizen_facts(citizen: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(source, {meaning: value}) the citizen's own record offers, most trustworthy first; numbers masked."""
    facts: list[tuple[str, dict[str, Any]]] = []
    realname = citizen.get("realname") or {}
    if isinstance(realname, dict) and realname.get("name"):
        verified = {"name": realname["name"]}
        verified.update({k: realname[k] for k in ("birth_date", "gender") if realname.get(k)})
        if realname.get("id_masked"):
            verified["id_number"] = realname["id_masked"]
        facts.append(("realname", verified))
    phone = citizen.get("phone") or {}
    if isinstance(phone, dict) and phone.get("masked"):
        facts.append(("phone", {"phone": phone["masked"]}))
    plain = {}
    for key, value in (citizen.get("profile") or {}).items():
        folded = SYNONYMS.get(key.lower(), key.lower())
        if isinstance(value, (str, int, float, bool)) and value not in ("", None):
            plain[folded] = mask(value) if folded in SENSITIVE_MEANINGS and isinstance(value, str) else value
    facts.append(("profile", plain))
    return facts


async def prefilled_form(ctx, citizen_id: str, code: str, locale: str) -> dict[str, Any]:  # noqa: ANN001
    """The item's form schema with the values this citizen already gave, and where each came from.

    ID and phone numbers come masked (listed in `masked`); sent back unchanged, the server puts the
    real number in their place, so the full number never travels back to the client.
    """
    item = await online_item(ctx.db, code)
    schema = item.get("form_schema") or {"type": "object", "properties": {}}
    sources = citizen_facts(await _citizen(ctx.db, citizen_id) or {})
    earlier = ctx.db.applications.find(
        {"citizen_id": citizen_id, "status": {"$ne": "draft"}, "prefill_values": {"$exists": True}},
        {"prefill_values": 1}).sort([("created_at", DESCENDING)]).limit(20)
    async for application in earlier:
        sources.append(("application", application.get("prefill_values") or {}))
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for path, prop in form_leaves(schema):
        key = meaning(path[-1], prop)
        found = next(((source, offered[key]) for source, offered in sources if key in offered), None)
        if found is not None:
            _set(values, ".".join(path), found[1])
            origin[".".join(path)] = found[0]
    draft = await ctx.db.applications.find_one({"citizen_id": citizen_id, "service_code": code, "status": "draft"},
                                               {"_id": 1, "version": 1}, sort=[("updated_at", DESCENDING)])
    return {"service_code": code, "service_name": localized(item.get("name"), locale), "form_schema": schema,
            "values": values, "sources": origin, "masked": sorted(set(origin) & set(sensitive_paths(schema))),
            "materials": [_material_view(m, locale) for m in _materials_of(item).values()],
            "draft_application_no": draft["_id"] if draft else None}


def _material_view(material: dict[str, Any], locale: str) -> dict[str, Any]:
    return {"key": material["key"], "name": localized(material.get("name"), locale),
            "required": bool(material.get("required")), "medium": material.get("medium", "electronic"),
            "allowed_types": list(material.get("allowed_types") or files.KNOWN_TYPES),
            "max_bytes": material.get("max_bytes")}


async def _citizen(db: AsyncDatabase, citizen_id: str) -> dict[str, Any] | None:
    from bson import ObjectId
    from bson.errors import InvalidId

    try:
        return await db.citizens.find_one({"_id": ObjectId(citizen_id)})
    except InvalidId:
        return await db.citizens.find_one({"_id": citizen_id})


# ---- numbers -------------------------------------------------------------------------------------
async def allocate_number(db: AsyncDatabase, region_code: str, now: datetime.datetime) -> str:
    """A readable unique number: region code, local date, and that day's sequence (330100-20261123-000042)."""
    day = local(now).strftime("%Y%m%d")
    region = region_code if isinstance(region_code, str) and region_code.isascii() and region_code.isdigit() else "000000"
    for _ in range(3):
        try:
            counter = await db.counters.find_one_and_update(
                {"_id": f"application:{region}:{day}"}, {"$inc": {"seq": 1}, "$set": {"updated_at": now}},
                upsert=True, return_document=ReturnDocument.AFTER)
            return f"{region}-{day}-{counter['seq']:06d}"
        except DuplicateKeyError:  # two first-of-the-day upserts raced; the counter exists now
            continue
    raise Conflict("number_unavailable", "暂时无法分配办件编号，请重试", "Could not allocate a number; retry")


def new_query_code() -> str:
    return "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))


# ---- writes --------------------------------------------------------------------------------------
def _actor(kind: str, actor_id: str) -> dict[str, str]:
    return {"kind": kind, "id": actor_id}


def timeline_event(no: str, seq: int, at: datetime.datetime, action: str, source: str | None, target: str,
           actor: dict[str, str], note: str = "", **data: Any) -> dict[str, Any]:
    return {"application_no": no, "seq": seq, "at": at, "action": action, "from": source, "to": target,
            "actor": actor, "note": note, "data": {k: v for k, v in data.items() if v not in (None, "", [])}}


def _notice(application: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The outbox record telling the applicant about a state change."""
    no, status = application["_id"], event["to"]
    zh_label = STATUS_LABELS[status][0]
    return outbox.outbox_record(event["at"], citizen_id=application["citizen_id"], event=f"application.{status}",
                                dedupe_key=f"application:{no}:{event['seq']}", template="application_status", data={
        "application_no": no, "service_name": localized(application.get("service_name"), "zh-CN"),
        "status": status, "status_label": zh_label, "note": event.get("note", "")[:20],
        "at": local_minute(event["at"]),
    })


async def _in_transaction(ctx, work) -> Any:  # noqa: ANN001 - AppContext; work: async (session) -> result
    try:
        async with ctx.mongo.start_session() as session:
            async with await session.start_transaction():
                return await work(session)
    except DuplicateKeyError:
        raise _changed() from None
    except OperationFailure as exc:
        if exc.has_error_label("TransientTransactionError"):  # a write conflict with a concurrent change
            raise _changed() from None
        raise


def _changed() -> Conflict:
    return Conflict("application_changed", "办件已被他人处理，请刷新后重试",
                    "The application was changed by someone else; reload and retry")


def _invalid(status: str, action: str) -> Conflict:
    zh, en = STATUS_LABELS.get(status, (status, status))
    act_zh, act_en = ACTION_LABELS.get(action, (action, action))
    return Conflict("invalid_transition", f"办件当前状态为「{zh}」，不能{act_zh}",
                    f"The application is {en.lower()}; it cannot be {act_en.lower()} now",
                    extra={"status": status, "action": action})


def new_application(no: str, citizen_id: str, item: dict[str, Any], form: dict[str, Any],
                    attached: dict[str, list[dict[str, Any]]], delivery: dict[str, Any], *, draft: bool,
                    now: datetime.datetime) -> dict[str, Any]:
    """The stored document of a new application (a draft, or submitted)."""
    application = {
        "_id": no, "query_code": new_query_code(), "citizen_id": citizen_id, "service_code": item["code"],
        "service_name": item.get("name"), "department": item.get("department", ""),
        "region_code": item.get("region_code", ""), "status": "draft" if draft else "submitted", "version": 1,
        "form": form, "materials": attached, "delivery": delivery,
        "sensitive_paths": sensitive_paths(item.get("form_schema")),
        "promised_days": (item.get("guide") or {}).get("promised_time_limit_days"),
        "deadline": None, "supplement": None, "decision": None, "result": None,
        "created_at": now, "updated_at": now, "submitted_at": None if draft else now,
    }
    if not draft:
        application["prefill_values"] = form_meanings(item.get("form_schema"), form)
    return application


async def create(ctx, citizen_id: str, body: dict[str, Any], locale: str = "zh-CN") -> tuple[int, dict[str, Any]]:  # noqa: ANN001
    """Save a draft (`draft: true`) or submit a new application; (201, the application as its owner sees it)."""
    if not isinstance(body.get("service_code"), str) or not body["service_code"].strip():
        raise ValidationFailed(errors=[FieldError("service_code", "required", "「事项编码」为必填项", "service_code is required")])
    item = await online_item(ctx.db, body["service_code"].strip())
    draft = body.get("draft") is True
    form, attached, delivery = await _checked_input(ctx, item, citizen_id, body, complete=not draft)
    now = ctx.clock()
    no = await allocate_number(ctx.db, item.get("region_code", ""), now)
    application = new_application(no, citizen_id, item, form, attached, delivery, draft=draft, now=now)
    event = timeline_event(no, 1, now, "save_draft" if draft else "submit", None, application["status"],
                           _actor("citizen", citizen_id))

    async def write(session: Any) -> None:
        await ctx.db.applications.insert_one(application, session=session)
        await ctx.db.application_events.insert_one(event, session=session)
        if not draft:
            await ctx.db.outbox.insert_one(_notice(application, event), session=session)

    await _in_transaction(ctx, write)
    return 201, citizen_view(application, [event], ctx.clock(), locale)


async def _checked_input(ctx, item: dict[str, Any], citizen_id: str, body: dict[str, Any], *, complete: bool,  # noqa: ANN001
                         base: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict, dict]:
    """Form, attached file descriptions and delivery from `body` (over a draft's `base`); a complete
    submission is validated fully, a draft only for shape, file ownership and masked numbers."""
    base = base or {}
    schema = item.get("form_schema") or {"type": "object"}
    problems: list[FieldError] = []
    form, found = _form_of(body, base.get("form"))
    problems += found
    known = citizen_secrets(ctx, await _citizen(ctx.db, citizen_id) or {})
    form, found = unmask(schema, form, known, base.get("form"))
    problems += found
    if "materials" in body:
        materials, found = _normalize_materials(body.get("materials"))
        problems += found
    else:
        materials = {key: [f["file_id"] for f in described] for key, described in (base.get("materials") or {}).items()}
    delivery, found = _delivery(item, body["delivery"] if "delivery" in body else base.get("delivery"))
    problems += found + _unmask_delivery_phone(delivery, known, base.get("delivery"))
    if complete and not any(p.code == "masked_value" for p in problems):
        problems += form_errors(schema, form)
    attached, found = await _attached(ctx.db, item, citizen_id, materials, required=required_materials(item) if complete else None)
    problems += found
    if problems:
        raise ValidationFailed(errors=problems)
    return form, attached, delivery


def _unmask_delivery_phone(delivery: dict[str, Any], known: dict[str, list[str]],
                           previous: dict[str, Any] | None) -> list[FieldError]:
    shown = delivery.get("phone")
    if not isinstance(shown, str) or "*" not in shown:
        return []
    candidates = [*known.get("phone", []), (previous or {}).get("phone") or ""]
    real = next((c for c in candidates if c and mask(c) == shown), None)
    if real is None:
        return [FieldError("delivery.phone", "masked_value", "「收件电话」请填写完整号码", "Phone: enter the full number")]
    delivery["phone"] = real
    return []


async def get_owned(db: AsyncDatabase, no: str, citizen_id: str) -> dict[str, Any]:
    """The citizen's own application; 404 for an unknown number or someone else's."""
    application = await db.applications.find_one({"_id": no})
    if application is None or application["citizen_id"] != citizen_id:
        raise NotFound("application_not_found", "未找到该办件", "Application not found")
    return application


async def save_draft(ctx, citizen_id: str, no: str, body: dict[str, Any], locale: str = "zh-CN") -> dict[str, Any]:  # noqa: ANN001
    """Replace a draft's form, materials or delivery choice (only while it is a draft)."""
    application = await get_owned(ctx.db, no, citizen_id)
    if application["status"] != "draft":
        raise _invalid(application["status"], "save_draft")
    item = await online_item(ctx.db, application["service_code"])
    form, attached, delivery = await _checked_input(ctx, item, citizen_id, body, complete=False, base=application)
    now = ctx.clock()
    generation = await _generation(ctx, no)
    updated = await ctx.db.applications.find_one_and_update(
        {"_id": no, "status": "draft", "version": application["version"]},
        {"$set": {"form": form, "materials": attached, "delivery": delivery, "updated_at": now,
                  "sensitive_paths": sensitive_paths(item.get("form_schema"))}, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER)
    if updated is None:
        raise _changed()
    events = await timeline(ctx.db, no, up_to=updated["version"])
    await _remember(ctx, updated, events, generation)
    await _changed_everywhere(ctx, no)
    return citizen_view(updated, events, now, locale)


async def transition(ctx, application: dict[str, Any], action: str, actor: dict[str, str], *,  # noqa: ANN001
                     changes: dict[str, Any] | None = None, note: str = "", expected_version: int | None = None,
                     **event_data: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Apply `action` to `application` atomically with its timeline event and outbox notice; return
    the updated application and its timeline.

    409 invalid_transition when the state does not allow it; 409 application_changed when someone
    else changed the application since it was read (or `expected_version` is stale).
    """
    rule = ACTIONS[action]
    status, version = application["status"], application["version"]
    if status not in rule.sources:
        raise _invalid(status, action)
    if expected_version is not None and expected_version != version:
        raise _changed()
    now = ctx.clock()
    no = application["_id"]
    fields = {"status": rule.target, "updated_at": now, **_deadline_change(application, rule.target, now), **(changes or {})}
    event = timeline_event(no, version + 1, now, action, status, rule.target, actor, note, **event_data)

    async def write(session: Any) -> dict[str, Any] | None:
        updated = await ctx.db.applications.find_one_and_update(
            {"_id": no, "status": status, "version": version}, {"$set": fields, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER, session=session)
        if updated is None:
            return None
        await ctx.db.application_events.insert_one(event, session=session)
        await ctx.db.outbox.insert_one(_notice(updated, event), session=session)
        return updated

    generation = await _generation(ctx, no)
    updated = await _in_transaction(ctx, write)
    if updated is None:
        current = await ctx.db.applications.find_one({"_id": no}, {"status": 1})
        if current is not None and current["status"] not in rule.sources:
            raise _invalid(current["status"], action)
        raise _changed()
    events = await timeline(ctx.db, no, up_to=updated["version"])
    await _remember(ctx, updated, events, generation)
    await _changed_everywhere(ctx, no)
    return updated, events


def _deadline_change(application: dict[str, Any], target: str, now: datetime.datetime) -> dict[str, Any]:
    record = application.get("deadline")
    if target == "accepted":
        return {"deadline": deadlines.started(application.get("promised_days"), now), "accepted_at": now}
    if target == "supplement_requested":
        return {"deadline": deadlines.paused(record, now)}
    if target == "resubmitted":
        return {"deadline": deadlines.resumed(record, now)}
    if target in ("approved", "rejected"):
        return {"deadline": deadlines.finished(record, now), "decided_at": now}
    if target == "withdrawn":
        return {"deadline": deadlines.finished(deadlines.paused(record, now), now) if record else None, "withdrawn_at": now}
    if target == "completed":
        return {"completed_at": now}
    if target == "submitted":
        return {"submitted_at": now}
    return {}


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


async def submit_draft(ctx, citizen_id: str, no: str, body: dict[str, Any], locale: str = "zh-CN") -> tuple[int, dict[str, Any]]:  # noqa: ANN001
    """Submit a saved draft (with any last changes in `body`), validated like a new submission."""
    application = await get_owned(ctx.db, no, citizen_id)
    if application["status"] != "draft":
        raise _invalid(application["status"], "submit")
    item = await online_item(ctx.db, application["service_code"])
    form, attached, delivery = await _checked_input(ctx, item, citizen_id, body, complete=True, base=application)
    changes = {"form": form, "materials": attached, "delivery": delivery,
               "sensitive_paths": sensitive_paths(item.get("form_schema")),
               "promised_days": (item.get("guide") or {}).get("promised_time_limit_days"),
               "prefill_values": form_meanings(item.get("form_schema"), form)}
    updated, events = await transition(ctx, application, "submit", _actor("citizen", citizen_id), changes=changes)
    return 200, citizen_view(updated, events, ctx.clock(), locale)


async def supplement(ctx, citizen_id: str, no: str, body: dict[str, Any], locale: str = "zh-CN") -> tuple[int, dict[str, Any]]:  # noqa: ANN001
    """Provide the materials an operator asked for; the application goes back to them as resubmitted."""
    application = await get_owned(ctx.db, no, citizen_id)
    if application["status"] != "supplement_requested":
        raise _invalid(application["status"], "supplement")
    item = await load_item(ctx.db, application["service_code"])
    note = _note(body)
    materials, problems = _normalize_materials(body.get("materials"))
    requested = {k for k in (application.get("supplement") or {}).get("missing_materials") or [] if k in _materials_of(item)}
    attached, found = await _attached(ctx.db, item, citizen_id, materials, required=requested)
    if problems or found:
        raise ValidationFailed(errors=problems + found)
    merged = {**(application.get("materials") or {}), **attached}
    updated, events = await transition(ctx, application, "supplement", _actor("citizen", citizen_id),
                                  changes={"materials": merged}, note=note, materials=sorted(attached))
    return 200, citizen_view(updated, events, ctx.clock(), locale)


async def withdraw(ctx, citizen_id: str, no: str, body: dict[str, Any], locale: str = "zh-CN") -> tuple[int, dict[str, Any]]:  # noqa: ANN001
    """Withdraw my application before a decision."""
    application = await get_owned(ctx.db, no, citizen_id)
    note = _note(body, "reason")
    updated, events = await transition(ctx, application, "withdraw", _actor("citizen", citizen_id), note=note)
    return 200, citizen_view(updated, events, ctx.clock(), locale)


async def operator_action(ctx, operator_id: str, scope: OperatorScope, no: str, body: dict[str, Any],  # noqa: ANN001
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
    updated, events = await transition(ctx, application, action, _actor("operator", operator_id), changes=changes,
                                  note=note, expected_version=expected, **data)
    return 200, operator_view(updated, events, ctx.clock(), locale)


def _missing_materials(raw: Any, item: dict[str, Any]) -> list[str]:
    declared = _materials_of(item)
    if not isinstance(raw, list) or not raw or not all(isinstance(k, str) for k in raw):
        raise ValidationFailed(errors=[FieldError("missing_materials", "required", "请列出需要补正的材料",
                                                  "List the materials that are missing")])
    unknown = [k for k in raw if k not in declared]
    if unknown:
        raise ValidationFailed(errors=[FieldError(f"missing_materials.{raw.index(k)}", "unknown_material",
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


# ---- reads ---------------------------------------------------------------------------------------
async def timeline(db: AsyncDatabase, no: str, up_to: int | None = None) -> list[dict[str, Any]]:
    """The application's events in order (those up to version `up_to`, when given)."""
    events = await db.application_events.find({"application_no": no}).sort([("seq", ASCENDING)]).to_list(None)
    return [e for e in events if up_to is None or e["seq"] <= up_to]


# The read model (application + timeline) is cached at two levels. In Redis, shared by all workers:
# written through by every change and only ever replaced by a newer version (a slow reader cannot
# put an old one back); the TTL bounds staleness should a writer die before refreshing. And in each
# process (models.localcache), so a hot GET makes no round trip at all: every change evicts it here
# and, through pub/sub, on every other worker, after the Redis copy is updated, so the next read
# there finds the new state; the short TTL bounds staleness should a message be lost. When it runs
# out, the local copy is checked against the Redis text and kept, the same object, if that text is
# unchanged (no re-parsing, and the bodies rendered from it stay good); misses go to Redis, not to
# the datastore.
# Code outside this module that changes an application must call `forget`.
CACHE_PREFIX = "cg:application:"
GENERATION_PREFIX = "cg:application-gen:"
CACHE_TTL_SECONDS = 300
LOCAL_CACHE = "application-read-models"
LOCAL_CACHE_SECONDS = 30.0  # backstop for a lost invalidation message only (docs/applications.md)
LOCAL_CACHE_ENTRIES = 10_000
# Store ARGV[2] as version ARGV[1] unless a newer version is cached, or `forget` ran since the caller
# read the generation (ARGV[4]) before reading the datastore: then what it read may be stale.
_FILL = """
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[4] then return 0 end
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+)|'))
  if version and version >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
"""


async def _generation(ctx, no: str) -> str | None:  # noqa: ANN001
    """The application's cache generation (None when Redis is unavailable: then nothing is cached)."""
    try:
        return await ctx.redis.get(GENERATION_PREFIX + no) or ""
    except RedisError:
        return None


async def _remember(ctx, application: dict[str, Any], events: list[dict[str, Any]],  # noqa: ANN001
                    generation: str | None) -> str | None:
    """Offer the read model to the Redis copy (see _FILL); the text stored, or None if it was refused."""
    if generation is None:
        return None
    payload = json.dumps({"application": _plain(application), "events": _plain(events)}, ensure_ascii=False, default=str)
    no = application["_id"]
    try:
        stored = await ctx.redis.eval(_FILL, 2, CACHE_PREFIX + no, GENERATION_PREFIX + no, application["version"],
                                      payload, CACHE_TTL_SECONDS, generation)
    except RedisError:
        log.warning("application cache unavailable; reading from the datastore")
        return None
    return f"{application['version']}|{payload}" if stored == 1 else None


def _local(ctx) -> LocalCache:  # noqa: ANN001 - AppContext
    return ctx.caches.cache(LOCAL_CACHE, LOCAL_CACHE_ENTRIES, LOCAL_CACHE_SECONDS)


async def _changed_everywhere(ctx, no: str) -> None:  # noqa: ANN001
    """Evict every worker's local copies; call it once the Redis copy is new or gone.

    The read model goes first, then the bodies rendered from it: a body rendered between the two
    evictions is either refused (its epoch predates the second) or evicted by the second.
    """
    await ctx.caches.invalidate(LOCAL_CACHE, [no])
    await ctx.caches.invalidate(RENDERED_CACHE, [_rendered_key(no, locale) for locale in RENDERED_LOCALES])


async def forget(ctx, no: str) -> None:  # noqa: ANN001
    """Drop the cached read model of one application; call it after changing the application outside
    this module (fills based on reads from before this call are refused, so nothing stale comes back)."""
    async with ctx.redis.pipeline(transaction=True) as pipe:
        pipe.incr(GENERATION_PREFIX + no)
        pipe.expire(GENERATION_PREFIX + no, 24 * 3600)
        pipe.delete(CACHE_PREFIX + no)
        await pipe.execute()
    await _changed_everywhere(ctx, no)


async def read_model(ctx, no: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:  # noqa: ANN001
    """(application, timeline) from the caches, else from the datastore (and then cached); None if unknown.

    Datetimes come back as ISO strings from the cache; the views render both forms alike. The
    result may be shared with other requests: read it, never change it.
    """
    if not isinstance(no, str) or not no or len(no) > 64:
        return None
    local = _local(ctx)
    copy = local.get(no)
    if copy is None:
        epoch = local.epoch  # a change heard while we read below makes what we read unfit to keep
        copy = await _shared_read_model(ctx, no, local.last_known(no))
        local.put(no, copy, epoch)
    return None if copy is None else copy.model


@dataclasses.dataclass(frozen=True, eq=False)
class LocalCopy:
    """A read model as this process holds it, with the Redis text it matches (None when unknown)."""

    model: tuple[dict[str, Any], list[dict[str, Any]]]
    source: str | None


async def _shared_read_model(ctx, no: str, previous: LocalCopy | None) -> LocalCopy | None:  # noqa: ANN001
    """The read model from the Redis copy, else from the datastore (and then copied). When the Redis
    text is the one `previous` was parsed from, nothing has changed since: `previous` itself comes
    back, and with it the bodies rendered from it stay servable."""
    try:
        cached, generation = await ctx.redis.mget(CACHE_PREFIX + no, GENERATION_PREFIX + no)
        generation = generation or ""
    except RedisError:
        cached, generation = None, None
    if cached:
        if previous is not None and previous.source == cached:
            return previous
        found = json.loads(cached.partition("|")[2])
        return LocalCopy((found["application"], found["events"]), cached)
    application = await ctx.db.applications.find_one({"_id": no})
    if application is None:
        return None
    events = await timeline(ctx.db, no, up_to=application["version"])
    return LocalCopy((application, events), await _remember(ctx, application, events, generation))


async def renew_read_models(ctx) -> int:  # noqa: ANN001
    """Periodic, in every worker, more often than every LOCAL_CACHE_SECONDS / 2 (server/registry.py):
    check the read models read lately whose lifetime ends within half of it against the Redis text,
    all in one MGET, and keep the unchanged ones, the same objects, for another lifetime (the bodies
    rendered from them stay servable); changed or missing ones are left to expire. So a read of a
    hot application never waits for that check on its own path. Return how many were kept."""
    local = _local(ctx)
    due = [(no, copy) for no, copy in local.renewable(LOCAL_CACHE_SECONDS / 2) if copy.source is not None]
    if not due:
        return 0
    epoch = local.epoch  # a change heard meanwhile: keep nothing from this round
    try:
        texts = await ctx.redis.mget([CACHE_PREFIX + no for no, _ in due])
    except RedisError:
        return 0
    return sum(local.put(no, copy, epoch) for (no, copy), text in zip(due, texts, strict=True) if text == copy.source)


async def get_for_citizen(ctx, citizen_id: str, no: str, locale: str) -> dict[str, Any]:  # noqa: ANN001
    found = await read_model(ctx, no)
    if found is None or found[0]["citizen_id"] != citizen_id:
        raise NotFound("application_not_found", "未找到该办件", "Application not found")
    return citizen_view(*found, ctx.clock(), locale)


# The owner's view, rendered and encoded, per (number, locale), in each process: a hot GET then does
# no masking, date conversion, deadline arithmetic or JSON encoding. A body is served only while the
# very read model it was rendered from is still this process's copy (live, or found unchanged in Redis
# when its lifetime ran out), so it is never staler than that copy; it is also evicted by the same
# messages (`_changed_everywhere`), lives at most RENDERED_SECONDS, and never past the next instant at
# which its time-dependent fields (deadline `days_left`, `overdue`) could change: the next Shanghai
# midnight, or the close of business of the due date. The caller is checked against the owner in
# that read model before anything is written.
RENDERED_CACHE = "application-citizen-bodies"
RENDERED_SECONDS = 600.0
RENDERED_ENTRIES = 20_000
RENDERED_LOCALES = ("zh-CN", "en")


@dataclasses.dataclass(frozen=True)
class RenderedView:
    body: bytes
    model: tuple[dict[str, Any], list[dict[str, Any]]]  # the read model it was rendered from
    rendered_at: datetime.datetime
    fresh_until: datetime.datetime


def _rendered_key(no: str, locale: str) -> str:
    return f"{no}|{locale}"


def _rendered(ctx) -> LocalCache:  # noqa: ANN001 - AppContext
    return ctx.caches.cache(RENDERED_CACHE, RENDERED_ENTRIES, RENDERED_SECONDS)


def view_fresh_until(application: dict[str, Any], now: datetime.datetime) -> datetime.datetime:
    """The first instant after `now` at which the application's view could read differently by time
    alone (capped at RENDERED_SECONDS from now)."""
    local = now.astimezone(SHANGHAI)
    until = min(now + datetime.timedelta(seconds=RENDERED_SECONDS),
                datetime.datetime.combine(local.date() + datetime.timedelta(days=1), datetime.time(), tzinfo=SHANGHAI))
    record = application.get("deadline") or {}
    if record.get("due_date") and not record.get("finished_on") and not record.get("paused_on"):
        closing = workdays.close_of_business(datetime.date.fromisoformat(str(record["due_date"])[:10]))
        if closing >= now:
            until = min(until, closing)
    return until


async def citizen_body(ctx, citizen_id: str, no: str, locale: str,  # noqa: ANN001
                       encode: Callable[[Any], bytes]) -> bytes:
    """`get_for_citizen` encoded by `encode` (the handler's JSON), from this process's memory when fresh."""
    locale = "en" if locale == "en" else "zh-CN"
    key = _rendered_key(no, locale) if isinstance(no, str) else ""
    cache = _rendered(ctx)
    hit = cache.get(key) if key else None
    epoch = cache.epoch  # an eviction while we read and render makes the result unfit to keep
    found = await read_model(ctx, no)  # this process's copy when live: no round trip
    if found is None or found[0]["citizen_id"] != citizen_id:
        raise NotFound("application_not_found", "未找到该办件", "Application not found")
    now = ctx.clock()
    if hit is not None and hit.model is found and hit.rendered_at <= now < hit.fresh_until:
        return hit.body
    body = encode(citizen_view(*found, now, locale))
    cache.put(key, RenderedView(body, found, now, view_fresh_until(found[0], now)), epoch)
    return body


async def list_for_citizen(ctx, citizen_id: str, status: str | None, page: int, page_size: int,  # noqa: ANN001
                           locale: str) -> dict[str, Any]:
    query: dict[str, Any] = {"citizen_id": citizen_id}
    if status:
        query["status"] = {"$in": _statuses(status)}
    total = await ctx.db.applications.count_documents(query)
    cursor = ctx.db.applications.find(query, SUMMARY_FIELDS).sort([("created_at", DESCENDING)]) \
        .skip((page - 1) * page_size).limit(page_size)
    now = ctx.clock()
    return {"items": [summary_view(a, now, locale) async for a in cursor], "total": total, "page": page, "page_size": page_size}


def _statuses(raw: str) -> list[str]:
    wanted = [s.strip() for s in raw.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STATUS_LABELS]
    if unknown:
        raise ValidationFailed(errors=[FieldError("status", "enum", f"未知状态：{'、'.join(unknown)}",
                                                  f"Unknown status: {', '.join(unknown)}")])
    return wanted


def _handled_by(application: dict[str, Any] | None, scope: OperatorScope) -> bool:
    """A submitted application within the operator's department and region (a draft is the citizen's own)."""
    return (application is not None and application["status"] != "draft"
            and scope.allows(application.get("department"), application.get("region_code")))


async def get_for_operator(db: AsyncDatabase, no: str, scope: OperatorScope) -> dict[str, Any]:
    """An application within the operator's scope; 404 otherwise (its existence is not theirs to know)."""
    application = await db.applications.find_one({"_id": no})
    if not _handled_by(application, scope):
        raise NotFound("application_not_found", "未找到该办件", "Application not found")
    return application


async def operator_detail(ctx, no: str, scope: OperatorScope, locale: str) -> dict[str, Any]:  # noqa: ANN001
    found = await read_model(ctx, no)
    if found is None or not _handled_by(found[0], scope):
        raise NotFound("application_not_found", "未找到该办件", "Application not found")
    return operator_view(*found, ctx.clock(), locale)


async def list_for_operators(ctx, scope: OperatorScope, department: str | None = None, *,  # noqa: ANN001
                             status: str | None = None, service_code: str | None = None,
                             overdue: bool | None = None, page: int = 1, page_size: int = 20,
                             locale: str = "zh-CN") -> dict[str, Any]:
    """Applications within the operator's scope (or the department asked for), newest first; `overdue`
    selects those past their promised date."""
    # Drafts are the citizen's own until submitted: never listed to operators.
    query: dict[str, Any] = {"status": {"$in": [s for s in _statuses(status) if s != "draft"]} if status else {"$ne": "draft"}}
    query.update(scope.filter(department))
    if service_code:
        query["service_code"] = service_code
    now = ctx.clock()
    if overdue is not None:
        # Due dates are the last working day; past it means due_date < today (local).
        today = workdays.local_date(now).isoformat()
        late = {"$or": [{"status": {"$in": list(RUNNING)}, "deadline.due_date": {"$lt": today}},
                        {"deadline.late": True}]}
        query = {"$and": [query, late]} if overdue else {"$and": [query, {"$nor": late["$or"]}]}
    total = await ctx.db.applications.count_documents(query)
    cursor = ctx.db.applications.find(query, SUMMARY_FIELDS).sort([("created_at", DESCENDING)]) \
        .skip((page - 1) * page_size).limit(page_size)
    return {"items": [summary_view(a, now, locale, operator=True) async for a in cursor],
            "total": total, "page": page, "page_size": page_size}


async def progress(ctx, no: str, query_code: str, locale: str) -> dict[str, Any]:  # noqa: ANN001
    """Status and timeline for whoever holds the number and query code; nothing personal.

    An unknown number and a wrong code give the same answer, so numbers cannot be probed.
    """
    found = await read_model(ctx, no)
    application = found[0] if found else None
    stored = application.get("query_code", "") if application else "-" * QUERY_CODE_LENGTH
    matches = secrets.compare_digest(stored.encode(), (query_code or "").strip().upper().encode())
    if found is None or not matches or application["status"] == "draft":
        raise NotFound("progress_not_found", "办件编号或查询码不正确", "Application number or query code is wrong")
    return public_view(*found, ctx.clock(), locale)


# ---- views (JSON-ready: the idempotency store replays them verbatim) ------------------------------
SUMMARY_FIELDS = {"_id": 1, "service_code": 1, "service_name": 1, "department": 1, "status": 1, "version": 1,
                  "deadline": 1, "created_at": 1, "updated_at": 1, "submitted_at": 1, "citizen_id": 1}

def iso(value: Any) -> Any:
    return local_iso(value) if isinstance(value, datetime.datetime) else value


def _label(status: str, locale: str) -> str:
    zh, en = STATUS_LABELS.get(status, (status, status))
    return en if locale == "en" else zh


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return iso(value)


def summary_view(application: dict[str, Any], now: datetime.datetime, locale: str, operator: bool = False) -> dict[str, Any]:
    shown = {
        "application_no": application["_id"], "service_code": application["service_code"],
        "service_name": localized(application.get("service_name"), locale), "department": application.get("department"),
        "status": application["status"], "status_label": _label(application["status"], locale),
        "version": application.get("version"), "deadline": deadlines.view(application.get("deadline"), now),
        "created_at": iso(application.get("created_at")), "updated_at": iso(application.get("updated_at")),
        "submitted_at": iso(application.get("submitted_at")),
    }
    if operator:
        shown["citizen_id"] = application.get("citizen_id")
    return shown


def _event_view(event: dict[str, Any], locale: str, *, internal: bool) -> dict[str, Any]:
    act_zh, act_en = ACTION_LABELS.get(event["action"], (event["action"], event["action"]))
    shown = {"seq": event["seq"], "at": iso(event["at"]), "action": event["action"],
             "action_label": act_en if locale == "en" else act_zh, "status": event["to"],
             "status_label": _label(event["to"], locale), "actor": event["actor"]["kind"],
             "note": event.get("note", ""), **_plain(event.get("data") or {})}
    if internal:
        shown["actor_id"] = event["actor"]["id"]
    return shown


def allowed_actions(status: str, actor: str) -> list[str]:
    return [name for name, rule in ACTIONS.items() if rule.actor == actor and status in rule.sources]


def citizen_view(application: dict[str, Any], events: list[dict[str, Any]], now: datetime.datetime,
                 locale: str) -> dict[str, Any]:
    """The application as its owner sees it, with the timeline."""
    return {
        **summary_view(application, now, locale),
        "query_code": application.get("query_code"),
        "form": masked_form(application.get("form") or {}, application.get("sensitive_paths") or []),
        "materials": _plain(application.get("materials") or {}),
        "delivery": _masked_delivery(application.get("delivery")),
        "supplement": _plain(application.get("supplement")),
        "decision": _plain(application.get("decision")),
        "result": _plain(application.get("result")),
        "payment": _plain(application.get("payment")),
        "allowed_actions": allowed_actions(application["status"], "citizen"),
        "timeline": [_event_view(e, locale, internal=False) for e in events],
    }


def _masked_delivery(delivery: dict[str, Any] | None) -> dict[str, Any] | None:
    if delivery and isinstance(delivery.get("phone"), str):
        return {**delivery, "phone": mask(delivery["phone"])}
    return delivery


def operator_view(application: dict[str, Any], events: list[dict[str, Any]], now: datetime.datetime,
                  locale: str) -> dict[str, Any]:
    """The application as the handling department sees it (no query code)."""
    shown = citizen_view(application, events, now, locale)
    shown.pop("query_code", None)
    shown.update(form=application.get("form") or {}, delivery=application.get("delivery"))
    shown["citizen_id"] = application.get("citizen_id")
    shown["allowed_actions"] = allowed_actions(application["status"], "operator")
    shown["timeline"] = [_event_view(e, locale, internal=True) for e in events]
    return shown


def public_view(application: dict[str, Any], events: list[dict[str, Any]], now: datetime.datetime,
                locale: str) -> dict[str, Any]:
    """Progress for the public lookup: states and dates only, no notes, names or form values."""
    record = deadlines.view(application.get("deadline"), now)
    return {
        "application_no": application["_id"], "service_name": localized(application.get("service_name"), locale),
        "status": application["status"], "status_label": _label(application["status"], locale),
        "submitted_at": iso(application.get("submitted_at")),
        "deadline": {k: record[k] for k in ("due_date", "days_left", "overdue", "paused")} if record else None,
        "timeline": [{"at": iso(e["at"]), "status": e["to"], "status_label": _label(e["to"], locale)}
                     for e in events if e["action"] != "save_draft"],
    }


def has_file(application: dict[str, Any], file_id: str) -> bool:
    """True when `file_id` is one of the application's attached materials."""
    return any(f.get("file_id") == file_id for described in (application.get("materials") or {}).values() for f in described)
