"""Catalogue (政务服务事项目录): service items, departments, themes, regions.

A service item (政务服务事项) is one service a citizen can apply for; its shape is described in
docs/service-item.md. Items are saved as drafts however incomplete they are, and published only
through the publish gate (`guide_problems`), which names every missing or vague element of the
guide (办事指南). Citizens see only published items, and navigation hides departments and themes
that have none. Other modules read items through `get_published_item` / `get_item` only.
"""

from __future__ import annotations

import datetime
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models.access import OperatorScope
from models.errors import Conflict, FieldError, NotFound, ValidationFailed

DEFAULT_LOCALE = "zh-CN"
SUPPORTED_LOCALES = ("zh-CN", "en")
AUDIENCES = ("personal", "enterprise")
HANDLING_DEPTHS = ("info_only", "online_application", "whole_process_online", "at_most_one_visit")
ONLINE_DEPTHS = ("online_application", "whole_process_online")
STATUSES = ("draft", "published")
ORIGINALS = ("original", "copy", "both")
MEDIUMS = ("paper", "electronic", "both")
DEFAULT_ALLOWED_TYPES = ["image/jpeg", "image/png", "application/pdf"]

DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo_catalogue"

ITEM_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,7}-[0-9A-Za-z]{2,12}$")
REGION_CODE = re.compile(r"^\d{6}\Z", re.ASCII)  # ASCII: "３３０１００" is no region code
PHONE = re.compile(r"^(\d{3,4}-)?\d{5,8}(-\d{1,6})?$|^1\d{10}$|^[48]00-?\d{3}-?\d{4}$", re.ASCII)
LOCALE_KEY = re.compile(r"^[a-z]{2}(-[A-Za-z]{2,4})?$")
LAW_TITLE = re.compile(r"《[^》]{2,}》")
LAW_REFERENCE = re.compile(r"第[一二三四五六七八九十百零〇\d]+[条款章]|〔\d{4}〕\d+号|\[\d{4}\]\d+号|令第\d+号|公告\d{4}年第\d+号")
# Materials an applicant fills in on a form of the department's making: a template must be offered.
FORM_MATERIAL = re.compile(r"(表|申请书|承诺书|声明书|委托书|申报书|告知书)$")
VAGUE_LAW_PHRASES = ("相关法规", "有关规定", "相关规定", "有关法规", "相关法律", "有关法律", "国家规定", "法律法规")
VAGUE_MATERIAL_WORDS = ("相关", "有关", "其他", "其它", "等材料", "等证明", "等资料", "要求的材料")
GENERIC_STEPS = {
    "申请", "提交", "提交申请", "受理", "审核", "审查", "初审", "复审", "核准", "审批", "批准", "决定",
    "发照", "发证", "颁证", "制证", "办结", "送达", "领证", "取证", "审定", "核发", "出证", "签发",
}
STEP_SEPARATORS = re.compile(r"[\s\-—–－>＞→、，,。.；;/|0-9一二三四五六七八九十（）()第步]+")

Localized = dict[str, str]


# ---- locale ---------------------------------------------------------------------------------

def resolve_locale(requested: str | None) -> str:
    """A supported locale for `requested` ("en-GB" → "en"), or zh-CN."""
    if not requested:
        return DEFAULT_LOCALE
    if requested in SUPPORTED_LOCALES:
        return requested
    lang = requested.split("-")[0].lower()
    for locale in SUPPORTED_LOCALES:
        if locale.split("-")[0].lower() == lang:
            return locale
    return DEFAULT_LOCALE


def is_localized(value: Any) -> bool:
    """A localised text: a non-empty dict keyed by locale codes only, holding texts (or lists)."""
    return isinstance(value, dict) and bool(value) and all(
        isinstance(k, str) and LOCALE_KEY.match(k) and isinstance(v, (str, list)) for k, v in value.items())


def _pick(value: dict[str, Any], locale: str) -> Any:
    """The translation for `locale`, else for its language, else zh-CN, else any non-empty one."""
    for key in (locale, locale.split("-")[0], DEFAULT_LOCALE):
        candidate = value.get(key)
        if isinstance(candidate, str) and candidate.strip() or isinstance(candidate, list) and candidate:
            return candidate
    for candidate in value.values():  # last resort: any translation rather than nothing
        if isinstance(candidate, str) and candidate.strip() or isinstance(candidate, list) and candidate:
            return candidate
    return ""


def text(value: Any, locale: str = DEFAULT_LOCALE) -> str:
    """The text of a localised value in `locale`, falling back to its language, then zh-CN."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return str(value)
    picked = _pick(value, locale)
    return picked if isinstance(picked, str) else ""


def localize(value: Any, locale: str = DEFAULT_LOCALE) -> Any:
    """A copy of a document with every localised text replaced by its text in `locale`.

    JSON Schema property titles follow too: with locale "en", `title` becomes `x-title-en`.
    """
    if is_localized(value):
        return _pick(value, locale)
    if isinstance(value, dict):
        out = {k: localize(v, locale) for k, v in value.items() if k != "_id"}
        if locale != DEFAULT_LOCALE:
            translated = value.get(f"x-title-{locale.split('-')[0]}")
            if isinstance(translated, str) and translated and "title" in value:
                out["title"] = translated
        return out
    if isinstance(value, list):
        return [localize(v, locale) for v in value]
    return value


# ---- the publish gate -----------------------------------------------------------------------

_MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("{zh}为必填项", "Missing: {en}"),
    "missing_zh": ("{zh}缺少中文（zh-CN）内容", "{en} has no zh-CN text"),
    "invalid": ("{zh}格式不正确", "Not valid: {en}"),
    "vague_legal_basis": ("{zh}表述笼统，应写明法律法规全称（书名号）及条款或文号",
                          "{en} is vague: name the law in full (in 《》) with its articles or document number"),
    "vague_material": ("{zh}名称笼统（如“相关材料”“相关表格”），应写明具体材料名称",
                       "{en} is vague (e.g. \"related materials\"); name the concrete document"),
    "generic_process": ("{zh}仅为“申请-审核-核准-发证”式的笼统环节，应逐步写明办理过程",
                        "{en} only lists generic stages (apply-review-approve-issue); describe each step"),
    "template_required": ("{zh}为需要填写的表格，应提供空白表格下载地址",
                          "{en} is a form to fill in: a blank template download is required"),
    "vague_conditions": ("{zh}表述笼统（如“符合有关规定”），应写明具体受理条件",
                         "{en} is vague (e.g. \"meets the relevant rules\"); state the concrete conditions"),
    "inconsistent": ("{zh}不得长于法定办结时限", "{en} must not exceed the legal time limit"),
    "not_found": ("{zh}不存在", "Does not exist: {en}"),
}


def _error(field: str, code: str, zh: str, en: str) -> FieldError:
    zh_tpl, en_tpl = _MESSAGES[code]
    return FieldError(field, code, zh_tpl.format(zh=zh), en_tpl.format(en=en))


def _check_text(problems: list[FieldError], field: str, value: Any, zh: str, en: str) -> bool:
    """Append `required` / `missing_zh` for an absent text; True when zh-CN text is present."""
    if value is None or value == "" or value == {} or (isinstance(value, str) and not value.strip()):
        problems.append(_error(field, "required", zh, en))
        return False
    if isinstance(value, str):
        return True  # plain strings count as zh-CN
    if not is_localized(value):
        problems.append(_error(field, "invalid", zh, en))
        return False
    if not isinstance(value.get(DEFAULT_LOCALE), str) or not value[DEFAULT_LOCALE].strip():
        problems.append(_error(field, "missing_zh", zh, en))
        return False
    return True


def _zh(value: Any) -> str:
    return value if isinstance(value, str) else (value.get(DEFAULT_LOCALE) or "") if isinstance(value, dict) else ""


def is_vague_legal_basis(value: str) -> bool:
    """True unless the text names a law in 《》 and cites an article or a document number."""
    return not (LAW_TITLE.search(value) and LAW_REFERENCE.search(value))


def is_vague_conditions(value: str) -> bool:
    """Conditions that only point elsewhere ("符合有关规定") instead of saying who may apply."""
    stripped = re.sub(r"[\s。，,.；;]", "", value)
    if len(stripped) < 8:
        return True
    for phrase in VAGUE_LAW_PHRASES + ("相关条件", "有关条件", "规定条件"):
        stripped = stripped.replace(phrase, "")
    return len(re.sub(r"(符合|满足|具备|按照|依照|的|者|申请人)", "", stripped)) < 4


def is_vague_material_name(name: str) -> bool:
    stripped = name.strip().strip("《》")
    return len(stripped) < 2 or any(word in stripped for word in VAGUE_MATERIAL_WORDS)


def is_generic_step(step: str) -> bool:
    """A step that is nothing but stage names ("申请-审核-核准-发照") and says nothing concrete."""
    words = [w for w in STEP_SEPARATORS.split(step) if w]
    return not words or all(w in GENERIC_STEPS for w in words)


def guide_problems(item: dict[str, Any]) -> list[FieldError]:
    """Every missing or vague element that stops `item` from being published (empty: publishable)."""
    problems: list[FieldError] = []
    add = problems.append

    if not isinstance(item.get("code"), str) or not ITEM_CODE.match(item["code"]):
        add(_error("code", "required" if not item.get("code") else "invalid", "事项编码", "Item code"))
    _check_text(problems, "name", item.get("name"), "事项名称", "Item name")
    aliases = item.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        add(_error("aliases", "invalid", "事项别名", "Aliases"))
    if not isinstance(item.get("department"), str) or not item.get("department"):
        add(_error("department", "required", "实施部门", "Department"))
    region = item.get("region_code")
    if not region:
        add(_error("region_code", "required", "行政区划代码", "Region code"))
    elif not isinstance(region, str) or not REGION_CODE.match(region):
        add(_error("region_code", "invalid", "行政区划代码", "Region code"))
    audience = item.get("audience")
    if not audience:
        add(_error("audience", "required", "服务对象", "Audience"))
    elif not isinstance(audience, list) or not all(isinstance(a, str) and a in AUDIENCES for a in audience):
        add(_error("audience", "invalid", "服务对象", "Audience"))
    themes = item.get("themes", [])
    if not isinstance(themes, list) or not all(isinstance(t, str) and t for t in themes):
        add(_error("themes", "invalid", "主题分类", "Themes"))
    depth = item.get("handling_depth")
    if not depth:
        add(_error("handling_depth", "required", "办理深度", "Handling depth"))
    elif depth not in HANDLING_DEPTHS:
        add(_error("handling_depth", "invalid", "办理深度", "Handling depth"))

    guide = item.get("guide")
    if not isinstance(guide, dict):
        add(_error("guide", "required", "办事指南", "Service guide"))
        guide = {}

    legal = guide.get("legal_basis")
    if _check_text(problems, "guide.legal_basis", legal, "设定依据", "Legal basis") \
            and is_vague_legal_basis(_zh(legal)):
        add(_error("guide.legal_basis", "vague_legal_basis", "设定依据", "Legal basis"))
    conditions = guide.get("conditions")
    if _check_text(problems, "guide.conditions", conditions, "受理条件", "Acceptance conditions") \
            and is_vague_conditions(_zh(conditions)):
        add(_error("guide.conditions", "vague_conditions", "受理条件", "Acceptance conditions"))
    _material_problems(problems, guide.get("materials"))
    _process_problems(problems, guide.get("process"))
    _time_limit_problems(problems, guide)
    _fee_problems(problems, guide.get("fee"))

    locations = guide.get("locations")
    if not isinstance(locations, list) or not locations:
        add(_error("guide.locations", "required", "办理地点", "Handling locations"))
    else:
        for i, loc in enumerate(locations):
            loc = loc if isinstance(loc, dict) else {}
            base = f"guide.locations[{i}]"
            _check_text(problems, f"{base}.name", loc.get("name"), f"第{i + 1}个办理地点的名称",
                        f"Name of location {i + 1}")
            _check_text(problems, f"{base}.address", loc.get("address"), f"第{i + 1}个办理地点的地址",
                        f"Address of location {i + 1}")
            _check_text(problems, f"{base}.office_hours", loc.get("office_hours"),
                        f"第{i + 1}个办理地点的办公时间", f"Office hours of location {i + 1}")

    for key, zh, en in (("consultation_phone", "咨询电话", "Consultation phone"),
                        ("supervision_phone", "监督投诉电话", "Supervision phone")):
        phone = guide.get(key)
        if not phone:
            add(_error(f"guide.{key}", "required", zh, en))
        elif not isinstance(phone, str) or not PHONE.match(phone.strip()):
            add(_error(f"guide.{key}", "invalid", zh, en))

    result = guide.get("result")
    if not isinstance(result, dict):
        add(_error("guide.result", "required", "办理结果", "Result"))
    else:
        _check_text(problems, "guide.result.name", result.get("name"), "办理结果名称", "Result name")

    delivery = guide.get("delivery")
    if not isinstance(delivery, dict) or not isinstance(delivery.get("by_post"), bool):
        add(_error("guide.delivery.by_post", "required", "结果送达方式（是否邮寄）",
                   "Delivery of the result (by post or not)"))

    _form_problems(problems, item.get("form_schema"), depth in ONLINE_DEPTHS)
    return problems


def _material_problems(problems: list[FieldError], materials: Any) -> None:
    add = problems.append
    if not isinstance(materials, list) or not materials:
        add(_error("guide.materials", "required", "申请材料", "Materials"))
        return
    keys: set[str] = set()
    for i, mat in enumerate(materials):
        base = f"guide.materials[{i}]"
        n = i + 1
        if not isinstance(mat, dict):
            add(_error(base, "invalid", f"第{n}项材料", f"Material {n}"))
            continue
        key = mat.get("key")
        if not isinstance(key, str) or not key:
            add(_error(f"{base}.key", "required", f"第{n}项材料的标识", f"Key of material {n}"))
        elif key in keys:
            add(_error(f"{base}.key", "invalid", f"第{n}项材料的标识（重复）", f"Key of material {n} (duplicate)"))
        else:
            keys.add(key)
        name = mat.get("name")
        if _check_text(problems, f"{base}.name", name, f"第{n}项材料的名称", f"Name of material {n}") \
                and is_vague_material_name(_zh(name)):
            add(_error(f"{base}.name", "vague_material", f"第{n}项材料“{_zh(name)}”", f"Material {n}"))
        label_zh, label_en = f"第{n}项材料的", f"material {n}: "
        if mat.get("original_or_copy") not in ORIGINALS:
            code = "required" if mat.get("original_or_copy") is None else "invalid"
            add(_error(f"{base}.original_or_copy", code, label_zh + "原件/复印件要求",
                       "Original or copy for " + label_en.rstrip(": ")))
        copies = mat.get("copies")
        if copies is None:
            add(_error(f"{base}.copies", "required", label_zh + "份数", "Number of copies of " + label_en.rstrip(": ")))
        elif not isinstance(copies, int) or isinstance(copies, bool) or copies < 0:
            add(_error(f"{base}.copies", "invalid", label_zh + "份数", "Number of copies of " + label_en.rstrip(": ")))
        medium = mat.get("medium")
        if medium not in MEDIUMS:
            add(_error(f"{base}.medium", "required" if medium is None else "invalid", label_zh + "纸质/电子要求",
                       "Paper or electronic for " + label_en.rstrip(": ")))
        if not isinstance(mat.get("required"), bool):
            add(_error(f"{base}.required", "required", label_zh + "是否必需",
                       "Whether required, for " + label_en.rstrip(": ")))
        if medium in ("paper", "both") and FORM_MATERIAL.search(_zh(name).strip().strip("《》")) \
                and not mat.get("template_url"):
            add(_error(f"{base}.template_url", "template_required", f"第{n}项材料“{_zh(name)}”", f"Material {n}"))
        if medium in ("electronic", "both"):
            types = mat.get("allowed_types")
            if not isinstance(types, list) or not types or not all(isinstance(t, str) and "/" in t for t in types):
                add(_error(f"{base}.allowed_types", "required", label_zh + "电子文件类型",
                           "Allowed file types of " + label_en.rstrip(": ")))
            size = mat.get("max_bytes")
            if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
                add(_error(f"{base}.max_bytes", "required", label_zh + "电子文件大小上限",
                           "Maximum file size of " + label_en.rstrip(": ")))


def _process_problems(problems: list[FieldError], process: Any) -> None:
    if not isinstance(process, list) or not process:
        problems.append(_error("guide.process", "required", "办理流程", "Process"))
        return
    texts = []
    for i, step in enumerate(process):
        if _check_text(problems, f"guide.process[{i}]", step, f"办理流程第{i + 1}步", f"Process step {i + 1}"):
            texts.append(_zh(step))
    if texts and all(is_generic_step(t) for t in texts):
        problems.append(_error("guide.process", "generic_process", "办理流程", "Process"))


# A time limit is counted out day by day on the working-day calendar (models.workdays): no law sets
# one anywhere near four years, and a larger number would only fail there, at every submission.
MAX_TIME_LIMIT_DAYS = 1000


def _time_limit_problems(problems: list[FieldError], guide: dict[str, Any]) -> None:
    values = {}
    for key, zh, en in (("legal_time_limit_days", "法定办结时限（工作日）", "Legal time limit (working days)"),
                        ("promised_time_limit_days", "承诺办结时限（工作日）", "Promised time limit (working days)")):
        value = guide.get(key)
        if value is None:
            problems.append(_error(f"guide.{key}", "required", zh, en))
        elif not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_TIME_LIMIT_DAYS:
            problems.append(_error(f"guide.{key}", "invalid", zh, en))
        else:
            values[key] = value
    if len(values) == 2 and values["promised_time_limit_days"] > values["legal_time_limit_days"]:
        problems.append(_error("guide.promised_time_limit_days", "inconsistent", "承诺办结时限",
                               "The promised time limit"))


def _fee_problems(problems: list[FieldError], fee: Any) -> None:
    if not isinstance(fee, dict) or not isinstance(fee.get("free"), bool):
        problems.append(_error("guide.fee", "required", "收费说明（是否收费）", "Fee statement (free or not)"))
        return
    if fee["free"]:
        return
    amount = fee.get("amount_fen")
    if amount is None:
        problems.append(_error("guide.fee.amount_fen", "required", "收费金额（分）", "Fee amount (fen)"))
    elif not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        problems.append(_error("guide.fee.amount_fen", "invalid", "收费金额（分）", "Fee amount (fen)"))
    basis = fee.get("basis")
    if _check_text(problems, "guide.fee.basis", basis, "收费依据", "Fee basis") and is_vague_legal_basis(_zh(basis)):
        problems.append(_error("guide.fee.basis", "vague_legal_basis", "收费依据", "Fee basis"))


def _form_problems(problems: list[FieldError], schema: Any, required: bool) -> None:
    if schema is None or schema == {}:
        if required:
            problems.append(_error("form_schema", "required", "在线申请表单", "Online application form"))
        return
    if not isinstance(schema, dict) or schema.get("type") != "object" \
            or not isinstance(schema.get("properties"), dict) or not schema["properties"]:
        problems.append(_error("form_schema", "invalid", "在线申请表单（应为含字段的 JSON Schema 对象）",
                               "Online application form (a JSON Schema object with properties)"))
        return
    for name, prop in schema["properties"].items():
        if not isinstance(prop, dict) or not isinstance(prop.get("title"), str) or not prop["title"].strip():
            problems.append(_error(f"form_schema.properties.{name}.title", "required",
                                   f"表单字段 {name} 的标题", f"Title of form field {name}"))
    for name in schema.get("required", []) or []:
        if name not in schema["properties"]:
            problems.append(_error("form_schema.required", "invalid", f"表单必填字段 {name}（未定义）",
                                   f"Required form field {name} (not defined)"))


# ---- misfiling -------------------------------------------------------------------------------

def _fold(value: str) -> str:
    return unicodedata.normalize("NFKC", value).lower()


def misfiling_problems(item: dict[str, Any], departments: dict[str, dict[str, Any]],
                       themes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Where `item` looks filed in the wrong department or theme: its name and aliases match none
    of that department's (theme's) keywords, or the department (theme) does not exist."""
    names = [_fold(text(item.get("name")))] + [_fold(a) for a in item.get("aliases", []) if isinstance(a, str)]
    names = [n for n in names if n]

    def matches(entry: dict[str, Any]) -> bool:
        keywords = [_fold(k) for k in entry.get("keywords", []) if isinstance(k, str) and k]
        return any(k in n for k in keywords for n in names)

    found: list[dict[str, Any]] = []
    dept_code = item.get("department")
    dept = departments.get(dept_code or "")
    if dept is None:
        found.append({"field": "department", "value": dept_code, "reason": "unknown_department"})
    elif not matches(dept):
        found.append({"field": "department", "value": dept_code, "reason": "keywords_mismatch"})
    for theme_code in item.get("themes", []) or []:
        theme = themes.get(theme_code)
        if theme is None:
            found.append({"field": "themes", "value": theme_code, "reason": "unknown_theme"})
        elif not matches(theme):
            found.append({"field": "themes", "value": theme_code, "reason": "keywords_mismatch"})
    return found


# ---- persistence -----------------------------------------------------------------------------

def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.services.create_index("code", unique=True)
    await db.services.create_index([("status", ASCENDING), ("department", ASCENDING)])
    await db.services.create_index([("status", ASCENDING), ("themes", ASCENDING)])
    await db.services.create_index([("status", ASCENDING), ("region_code", ASCENDING)])
    await db.departments.create_index("code", unique=True)
    await db.themes.create_index("code", unique=True)
    await db.regions.create_index("code", unique=True)
    await db.regions.create_index("parent")
    await db.search_misses.create_index("query", unique=True)
    await db.search_misses.create_index([("count", DESCENDING)])


def _clean(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    if doc is not None:
        doc.pop("_id", None)
    return doc


async def find_item(db: AsyncDatabase, code: str) -> dict[str, Any] | None:
    """The stored item (any status), or None."""
    return _clean(await db.services.find_one({"code": code}))


async def get_item(db: AsyncDatabase, code: str) -> dict[str, Any]:
    """The stored item in any status; NotFound `service_not_found` otherwise."""
    item = await find_item(db, code)
    if item is None:
        raise NotFound("service_not_found", "未找到该事项", "Service item not found")
    return item


async def get_published_item(db: AsyncDatabase, code: str) -> dict[str, Any]:
    """A published item (what citizens may apply for); NotFound `service_not_found` otherwise."""
    item = _clean(await db.services.find_one({"code": code, "status": "published"}))
    if item is None:
        raise NotFound("service_not_found", "未找到该事项", "Service item not found")
    return item


async def published_items(db: AsyncDatabase) -> list[dict[str, Any]]:
    """Every published item (for the search index)."""
    cursor = db.services.find({"status": "published"}, {"_id": 0})
    return await cursor.to_list(length=None)


# Top-level fields an operator may set; anything else in a request is refused.
EDITABLE_FIELDS = ("name", "aliases", "department", "region_code", "audience", "themes", "handling_depth",
                   "guide", "form_schema")


def _draft_shape_problems(data: dict[str, Any], *, creating: bool) -> list[FieldError]:
    """Checks every save must pass, even a draft: known fields of the right JSON types."""
    problems: list[FieldError] = []
    allowed = set(EDITABLE_FIELDS) | ({"code"} if creating else set())
    for key in data:
        if key not in allowed:
            problems.append(FieldError(key, "unknown_field", f"不支持的字段 {key}", f"Unknown field {key}"))
    if creating:
        code = data.get("code")
        if not isinstance(code, str) or not ITEM_CODE.match(code):
            problems.append(_error("code", "required" if not code else "invalid", "事项编码（如 GA-0001）",
                                   "Item code (e.g. GA-0001)"))
        _check_text(problems, "name", data.get("name"), "事项名称", "Item name")
    elif "name" in data:
        _check_text(problems, "name", data.get("name"), "事项名称", "Item name")
    types: dict[str, type | tuple[type, ...]] = {
        "aliases": list, "department": str, "region_code": str, "audience": list, "themes": list,
        "handling_depth": str, "guide": dict, "form_schema": dict,
    }
    for key, expected in types.items():
        value = data.get(key)
        if value is not None and (not isinstance(value, expected)
                                  or expected is list and not all(isinstance(v, str) for v in value)):
            problems.append(_error(key, "invalid", key, key))  # lists hold names: {} or [] in one is no name
    return problems


async def create_item(db: AsyncDatabase, data: dict[str, Any], *, now: datetime.datetime | None = None) -> dict:
    """Save a new item as a draft (incomplete guides allowed); Conflict when the code is taken."""
    problems = _draft_shape_problems(data, creating=True)
    if problems:
        raise ValidationFailed(errors=problems)
    now = now or _now()
    doc = {"aliases": [], "themes": [], "audience": [], "guide": {}, **data,
           "status": "draft", "created_at": now, "updated_at": now, "published_at": None}
    try:
        await db.services.insert_one(doc)
    except DuplicateKeyError:
        raise Conflict("service_exists", "该事项编码已存在", "An item with this code already exists") from None
    return _clean(doc)  # type: ignore[return-value]


async def update_item(db: AsyncDatabase, code: str, changes: dict[str, Any], *, redis: Any = None,
                      now: datetime.datetime | None = None) -> dict[str, Any]:
    """Change an item's fields (top level replaced, `guide` merged key by key).

    A published item stays publishable: a change that would fail the publish gate is refused and
    nothing is saved. Concurrent edits are detected (409), never silently merged.
    """
    problems = _draft_shape_problems(changes, creating=False)
    if problems:
        raise ValidationFailed(errors=problems)
    current = await get_item(db, code)
    merged = {**current, **{k: v for k, v in changes.items() if k != "guide"}}
    if "guide" in changes:
        merged["guide"] = {**(current.get("guide") or {}), **(changes["guide"] or {})}
    if current["status"] == "published":
        gate = guide_problems(merged)
        if gate:
            raise ValidationFailed("guide_incomplete", "修改后的办事指南不完整，已发布事项不能保存",
                                   "The change leaves the published item's guide incomplete", errors=gate)
    now = now or _now()
    update = {k: merged[k] for k in EDITABLE_FIELDS if k in changes}
    update["updated_at"] = now
    saved = await db.services.find_one_and_update(
        {"code": code, "updated_at": current["updated_at"]}, {"$set": update},
        projection={"_id": 0}, return_document=ReturnDocument.AFTER)
    if saved is None:
        raise Conflict("concurrent_update", "该事项已被他人修改，请刷新后重试",
                       "The item was changed meanwhile; reload and retry")
    if saved["status"] == "published":
        await catalogue_changed(db, redis)
    return saved


async def delete_item(db: AsyncDatabase, code: str) -> None:
    """Delete a draft; a published item must be unpublished first (applications may refer to it)."""
    result = await db.services.delete_one({"code": code, "status": "draft"})
    if result.deleted_count:
        return
    await get_item(db, code)  # NotFound when it does not exist at all
    raise Conflict("service_published", "已发布的事项不能删除，请先下架", "Unpublish the item before deleting it")


async def publish_item(db: AsyncDatabase, code: str, *, redis: Any = None,
                       now: datetime.datetime | None = None) -> dict[str, Any]:
    """Publish through the gate; ValidationFailed `guide_incomplete` lists every problem."""
    item = await get_item(db, code)
    problems = guide_problems(item)
    if item.get("department") and not await db.departments.find_one({"code": item["department"]}):
        problems.append(_error("department", "not_found", "实施部门", "Department"))
    for theme in item.get("themes") or []:
        if isinstance(theme, str) and not await db.themes.find_one({"code": theme}):
            problems.append(_error("themes", "not_found", f"主题 {theme}", f"Theme {theme}"))
    if problems:
        raise ValidationFailed("guide_incomplete", "办事指南不完整，不能发布", "The service guide is incomplete",
                               errors=problems)
    now = now or _now()
    saved = await db.services.find_one_and_update(
        {"code": code, "updated_at": item["updated_at"]},
        {"$set": {"status": "published", "published_at": item.get("published_at") or now, "updated_at": now}},
        projection={"_id": 0}, return_document=ReturnDocument.AFTER)
    if saved is None:
        raise Conflict("concurrent_update", "该事项已被他人修改，请刷新后重试",
                       "The item was changed meanwhile; reload and retry")
    await catalogue_changed(db, redis)
    return saved


async def unpublish_item(db: AsyncDatabase, code: str, *, redis: Any = None,
                         now: datetime.datetime | None = None) -> dict[str, Any]:
    """Take an item off the citizens' catalogue (back to draft)."""
    saved = await db.services.find_one_and_update(
        {"code": code}, {"$set": {"status": "draft", "updated_at": now or _now()}},
        projection={"_id": 0}, return_document=ReturnDocument.AFTER)
    if saved is None:
        raise NotFound("service_not_found", "未找到该事项", "Service item not found")
    await catalogue_changed(db, redis)
    return saved


async def list_items(db: AsyncDatabase, scope: OperatorScope, *, status: str | None = None,
                     department: str | None = None, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """Operators' list of the items in their scope, in any status, by code."""
    query: dict[str, Any] = scope.filter(department)
    if status:
        query["status"] = status
    total = await db.services.count_documents(query)
    cursor = db.services.find(query, {"_id": 0}).sort("code", ASCENDING).skip((page - 1) * page_size)
    items = await cursor.limit(page_size).to_list(length=page_size)
    return {"items": items, "total": total, "page": page, "page_size": page_size}


async def catalogue_changed(db: AsyncDatabase, redis: Any = None) -> None:
    """Tell every process's search index that published items changed."""
    from models import search  # the search engine reads the catalogue; import late to avoid a cycle
    await search.catalogue_changed(db, redis)


# ---- navigation ------------------------------------------------------------------------------

async def _published_counts(db: AsyncDatabase, field: str) -> dict[str, int]:
    pipeline: list[dict[str, Any]] = [{"$match": {"status": "published"}}]
    if field == "themes":
        pipeline.append({"$unwind": "$themes"})
    pipeline.append({"$group": {"_id": f"${field}", "n": {"$sum": 1}}})
    cursor = await db.services.aggregate(pipeline)
    return {str(row["_id"]): int(row["n"]) for row in await cursor.to_list(length=None) if row["_id"] is not None}


async def _navigation(db: AsyncDatabase, collection: str, item_field: str, include_empty: bool) -> list[dict[str, Any]]:
    """Navigation entries with their published item counts; empty columns left out unless asked."""
    counts = await _published_counts(db, item_field)
    docs = await db[collection].find({}, {"_id": 0}).sort([("order", ASCENDING), ("code", ASCENDING)]).to_list(None)
    for doc in docs:
        doc["item_count"] = counts.get(doc["code"], 0)
    return [doc for doc in docs if include_empty or doc["item_count"]]


async def list_departments(db: AsyncDatabase, *, include_empty: bool = False) -> list[dict[str, Any]]:
    """Departments with their published item counts; those with none are left out unless asked."""
    return await _navigation(db, "departments", "department", include_empty)


async def list_themes(db: AsyncDatabase, *, include_empty: bool = False) -> list[dict[str, Any]]:
    """Themes (life events) with their published item counts; empty ones left out unless asked."""
    return await _navigation(db, "themes", "themes", include_empty)


async def list_regions(db: AsyncDatabase) -> list[dict[str, Any]]:
    """The region tree (province → city → county), each node with `children`."""
    docs = await db.regions.find({}, {"_id": 0}).sort("code", ASCENDING).to_list(None)
    by_code = {d["code"]: {**d, "children": []} for d in docs}
    roots = []
    for node in by_code.values():
        parent = by_code.get(node.get("parent") or "")
        (parent["children"] if parent else roots).append(node)
    return roots


def public_entry(doc: dict[str, Any], locale: str) -> dict[str, Any]:
    """A department or theme as citizens see it: code, name and item count, no internal keywords."""
    return {"code": doc["code"], "name": text(doc.get("name"), locale), "item_count": doc.get("item_count", 0),
            **({"consultation_phone": doc["consultation_phone"]} if doc.get("consultation_phone") else {})}


def public_region(node: dict[str, Any], locale: str) -> dict[str, Any]:
    return {"code": node["code"], "name": text(node.get("name"), locale), "level": node.get("level"),
            "children": [public_region(c, locale) for c in node.get("children", [])]}


def public_item(item: dict[str, Any], locale: str) -> dict[str, Any]:
    """One published item with its complete guide, in `locale` (falling back to zh-CN)."""
    out = localize({k: v for k, v in item.items() if k not in ("status", "created_at")}, locale)
    out["locale"] = locale
    return out


def admin_view(item: dict[str, Any]) -> dict[str, Any]:
    """An item as operators edit it (every locale), with what still stops it from being published."""
    problems = guide_problems(item)
    return {**item, "publishable": not problems,
            "problems": [{"field": p.field, "code": p.code, "message": {"zh-CN": p.zh, "en": p.en}}
                         for p in problems]}


async def get_item_for_operator(db: AsyncDatabase, scope: OperatorScope, code: str) -> dict[str, Any]:
    """An item in any status; 403 out_of_scope when it belongs to another department or region."""
    item = await get_item(db, code)
    scope.require(item.get("department"), item.get("region_code"))
    return item


def require_placement(scope: OperatorScope, changes: Any, item: dict[str, Any] | None = None) -> None:
    """403 unless the item, with the department and region `changes` give it, stays within `scope`:
    an operator may neither create an item for another department nor move one there."""
    if not isinstance(changes, dict):
        return  # the body's own validation answers
    if item is None and "department" not in changes and "region_code" not in changes:
        return  # creating without a department: the field errors say what is missing
    placed = {**(item or {}), **{key: changes[key] for key in ("department", "region_code") if key in changes}}
    scope.require(placed.get("department"), placed.get("region_code"))


async def misfiled_items(db: AsyncDatabase, scope: OperatorScope) -> list[dict[str, Any]]:
    """Items (any status) in the operator's scope whose department or themes do not match their name."""
    departments = {d["code"]: d for d in await db.departments.find({}, {"_id": 0}).to_list(None)}
    themes = {t["code"]: t for t in await db.themes.find({}, {"_id": 0}).to_list(None)}
    report = []
    cursor = db.services.find(scope.filter(), {"_id": 0, "code": 1, "name": 1, "aliases": 1, "department": 1, "themes": 1,
                                   "status": 1}).sort("code", ASCENDING)
    async for item in cursor:
        problems = misfiling_problems(item, departments, themes)
        if problems:
            report.append({"code": item["code"], "name": item.get("name"), "status": item.get("status"),
                           "department": item.get("department"), "themes": item.get("themes", []),
                           "problems": problems})
    return report


# ---- search ----------------------------------------------------------------------------------

def summary(item: dict[str, Any], locale: str) -> dict[str, Any]:
    """What a result list shows of one item, in `locale`."""
    guide = item.get("guide") or {}
    fee = guide.get("fee") or {}
    return {
        "code": item["code"],
        "name": text(item.get("name"), locale),
        "department": item.get("department"),
        "region_code": item.get("region_code"),
        "audience": item.get("audience", []),
        "themes": item.get("themes", []),
        "handling_depth": item.get("handling_depth"),
        "promised_time_limit_days": guide.get("promised_time_limit_days"),
        "free": fee.get("free"),
    }


async def record_search_miss(db: AsyncDatabase, query: str, *, now: datetime.datetime | None = None) -> None:
    """Count a query that found nothing (upsert with $inc), for operators to fix the catalogue."""
    query = " ".join(query.split())[:100]
    if not query:
        return
    now = now or _now()
    try:
        await db.search_misses.update_one(
            {"query": query},
            {"$inc": {"count": 1}, "$set": {"last_at": now}, "$setOnInsert": {"first_at": now}},
            upsert=True)
    except DuplicateKeyError:  # two first misses raced on the upsert: the loser increments
        await db.search_misses.update_one({"query": query}, {"$inc": {"count": 1}, "$set": {"last_at": now}})


async def list_search_misses(db: AsyncDatabase, *, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """Zero-result queries, most frequent first."""
    total = await db.search_misses.count_documents({})
    cursor = db.search_misses.find({}, {"_id": 0}).sort([("count", DESCENDING), ("query", ASCENDING)])
    items = await cursor.skip((page - 1) * page_size).limit(page_size).to_list(length=page_size)
    return {"items": items, "total": total, "page": page, "page_size": page_size}


async def search_catalogue(ctx: Any, *, q: str | None = None, department: str | None = None,
                           theme: str | None = None, audience: str | None = None, region: str | None = None,
                           page: int = 1, page_size: int = 20, locale: str = DEFAULT_LOCALE) -> dict[str, Any]:
    """Citizens' browse and search over published items; a query that finds nothing is logged."""
    from models import search
    problems = []
    if q is not None and len(q) > 100:
        problems.append(FieldError("q", "too_long", "搜索词不能超过100个字符", "The query may have at most 100 characters"))
    if audience and audience not in AUDIENCES:
        problems.append(FieldError("audience", "invalid", "服务对象应为 personal 或 enterprise",
                                   "audience must be personal or enterprise"))
    if region and not (region.isascii() and region.isdigit() and 2 <= len(region) <= 6):
        problems.append(FieldError("region", "invalid", "行政区划代码应为2至6位数字",
                                   "region must be a region code of 2 to 6 digits"))
    for name, value in (("department", department), ("theme", theme)):
        if value and (len(value) > 40 or not re.fullmatch(r"[A-Za-z0-9_-]+", value)):
            problems.append(FieldError(name, "invalid", f"{name} 格式不正确", f"{name} is not a valid code"))
    if problems:
        raise ValidationFailed(errors=problems)
    index = await search.index_for(ctx)
    result = index.search(q, department=department, theme=theme, audience=audience, region=region,
                          page=page, page_size=page_size)
    if q and q.strip() and result.total == 0:
        await record_search_miss(ctx.db, q.strip())
    return {
        "items": [summary(item, locale) for item in result.items],
        "total": result.total,
        "page": page,
        "page_size": page_size,
        # False when a broad query matched more items than the engine reads per query (see
        # models/search.py): `total` then counts the best-ranked ones it read, not every match.
        "total_exact": result.total_exact,
    }


# ---- demo data -------------------------------------------------------------------------------
# data/demo_catalogue/city.toml: the city, its regions and themes; departments/<code>.toml: one
# department with its items and intentional drafts, each item whole, as it is stored.

def _read_toml(path: Path) -> dict[str, Any]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def read_department_files(directory: Path = DEMO_DIR) -> dict[str, dict[str, Any]]:
    """Each department file by its name: {"department": {...}, "items": [...], "drafts": [...]}."""
    files = {}
    for path in sorted((directory / "departments").glob("*.toml")):
        doc = _read_toml(path)
        files[path.stem] = {"department": doc["department"], "items": doc.get("items", []),
                            "drafts": doc.get("drafts", [])}
    return files


def read_demo(directory: Path = DEMO_DIR) -> dict[str, Any]:
    """The demo catalogue: city, regions, departments (in navigation order), themes, items and drafts."""
    city = _read_toml(directory / "city.toml")
    files = sorted(read_department_files(directory).values(), key=lambda f: f["department"]["order"])
    return {
        "city": city["city"],
        # TOML has no null: a region without a parent is a root of the tree
        "regions": [{**region, "parent": region.get("parent")} for region in city["regions"]],
        "departments": [f["department"] for f in files],
        "themes": city["themes"],
        "items": [item for f in files for item in f["items"]],
        "drafts": [draft for f in files for draft in f["drafts"]],
    }


async def load_demo_catalogue(db: AsyncDatabase, *, redis: Any = None, data: dict[str, Any] | None = None,
                              now: datetime.datetime | None = None) -> dict[str, Any]:
    """Upsert the demo catalogue (idempotent) and publish every item through the gate.

    Returns {"items": n, "published": n, "drafts": {code: [problem codes]}}.
    """
    data = data or read_demo()
    now = now or _now()
    for collection, rows in (("regions", data["regions"]), ("departments", data["departments"]),
                             ("themes", data["themes"])):
        for row in rows:
            await db[collection].update_one({"code": row["code"]}, {"$set": row}, upsert=True)
    drafts: dict[str, list[str]] = {}
    published = 0
    items: Iterable[dict[str, Any]] = list(data["items"]) + list(data.get("drafts", []))
    count = 0
    for raw in items:
        count += 1
        item = {k: v for k, v in raw.items() if k not in ("status", "created_at", "updated_at", "published_at")}
        problems = guide_problems(item)
        fields = {**item, "updated_at": now}
        if problems:
            drafts[item["code"]] = sorted({p.code for p in problems})
            fields["status"] = "draft"
            await db.services.update_one({"code": item["code"]},
                                         {"$set": fields, "$setOnInsert": {"created_at": now, "published_at": None}},
                                         upsert=True)
            continue
        fields["status"] = "published"
        await db.services.update_one({"code": item["code"]},
                                     {"$set": fields, "$setOnInsert": {"created_at": now, "published_at": now}},
                                     upsert=True)
        # an item an earlier load left as a draft gets its first publication time now
        await db.services.update_one({"code": item["code"], "published_at": None}, {"$set": {"published_at": now}})
        published += 1
    await catalogue_changed(db, redis)
    return {"items": count, "published": published, "drafts": drafts}


async def load_demo(ctx: Any) -> dict[str, Any]:
    """Start-up hook (server/registry.py DEMO_MODULES): the demo catalogue, published."""
    return await load_demo_catalogue(ctx.db, redis=ctx.redis)
