"""The publish gate (发布校验): every missing or vague element of a service item's guide (办事指南).

Items are saved as drafts however incomplete they are and published only when `guide_problems`
finds nothing; a published item stays publishable (models.catalogue.items refuses an edit that
would fail here). Pure rules, no datastore.
"""

from __future__ import annotations

import re
from typing import Any

from models.core.localized import DEFAULT_LOCALE, is_localized, text
from models.errors import FieldError

AUDIENCES = ("personal", "enterprise")
HANDLING_DEPTHS = ("info_only", "online_application", "whole_process_online", "at_most_one_visit")
ONLINE_DEPTHS = ("online_application", "whole_process_online")
ORIGINALS = ("original", "copy", "both")
MEDIUMS = ("paper", "electronic", "both")
DEFAULT_ALLOWED_TYPES = ["image/jpeg", "image/png", "application/pdf"]

ITEM_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,7}-[0-9A-Za-z]{2,12}$")
REGION_CODE = re.compile(r"^\d{6}\Z", re.ASCII)  # ASCII: "３３０１００" is no region code
PHONE = re.compile(r"^(\d{3,4}-)?\d{5,8}(-\d{1,6})?$|^1\d{10}$|^[48]00-?\d{3}-?\d{4}$", re.ASCII)
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


def problem(field: str, code: str, zh: str, en: str) -> FieldError:
    """A field error with the gate's zh-CN and en message for `code`, naming the element `zh` / `en`."""
    zh_tpl, en_tpl = _MESSAGES[code]
    return FieldError(field, code, zh_tpl.format(zh=zh), en_tpl.format(en=en))


def check_text(problems: list[FieldError], field: str, value: Any, zh: str, en: str) -> bool:
    """Append `required` / `missing_zh` for an absent text; True when zh-CN text is present."""
    if value is None or value == "" or value == {} or (isinstance(value, str) and not value.strip()):
        problems.append(problem(field, "required", zh, en))
        return False
    if isinstance(value, str):
        return True  # plain strings count as zh-CN
    if not is_localized(value):
        problems.append(problem(field, "invalid", zh, en))
        return False
    if not isinstance(value.get(DEFAULT_LOCALE), str) or not value[DEFAULT_LOCALE].strip():
        problems.append(problem(field, "missing_zh", zh, en))
        return False
    return True


def _zh(value: Any) -> str:
    """The Chinese text itself: the gate judges it, not a translation standing in for it."""
    return text(value, DEFAULT_LOCALE, fallback=False)


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
        add(problem("code", "required" if not item.get("code") else "invalid", "事项编码", "Item code"))
    check_text(problems, "name", item.get("name"), "事项名称", "Item name")
    aliases = item.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        add(problem("aliases", "invalid", "事项别名", "Aliases"))
    if not isinstance(item.get("department"), str) or not item.get("department"):
        add(problem("department", "required", "实施部门", "Department"))
    region = item.get("region_code")
    if not region:
        add(problem("region_code", "required", "行政区划代码", "Region code"))
    elif not isinstance(region, str) or not REGION_CODE.match(region):
        add(problem("region_code", "invalid", "行政区划代码", "Region code"))
    audience = item.get("audience")
    if not audience:
        add(problem("audience", "required", "服务对象", "Audience"))
    elif not isinstance(audience, list) or not all(isinstance(a, str) and a in AUDIENCES for a in audience):
        add(problem("audience", "invalid", "服务对象", "Audience"))
    themes = item.get("themes", [])
    if not isinstance(themes, list) or not all(isinstance(t, str) and t for t in themes):
        add(problem("themes", "invalid", "主题分类", "Themes"))
    depth = item.get("handling_depth")
    if not depth:
        add(problem("handling_depth", "required", "办理深度", "Handling depth"))
    elif depth not in HANDLING_DEPTHS:
        add(problem("handling_depth", "invalid", "办理深度", "Handling depth"))

    guide = item.get("guide")
    if not isinstance(guide, dict):
        add(problem("guide", "required", "办事指南", "Service guide"))
        guide = {}

    legal = guide.get("legal_basis")
    if check_text(problems, "guide.legal_basis", legal, "设定依据", "Legal basis") \
            and is_vague_legal_basis(_zh(legal)):
        add(problem("guide.legal_basis", "vague_legal_basis", "设定依据", "Legal basis"))
    conditions = guide.get("conditions")
    if check_text(problems, "guide.conditions", conditions, "受理条件", "Acceptance conditions") \
            and is_vague_conditions(_zh(conditions)):
        add(problem("guide.conditions", "vague_conditions", "受理条件", "Acceptance conditions"))
    _material_problems(problems, guide.get("materials"))
    _process_problems(problems, guide.get("process"))
    _time_limit_problems(problems, guide)
    _fee_problems(problems, guide.get("fee"))

    locations = guide.get("locations")
    if not isinstance(locations, list) or not locations:
        add(problem("guide.locations", "required", "办理地点", "Handling locations"))
    else:
        for i, loc in enumerate(locations):
            loc = loc if isinstance(loc, dict) else {}
            base = f"guide.locations[{i}]"
            check_text(problems, f"{base}.name", loc.get("name"), f"第{i + 1}个办理地点的名称",
                       f"Name of location {i + 1}")
            check_text(problems, f"{base}.address", loc.get("address"), f"第{i + 1}个办理地点的地址",
                       f"Address of location {i + 1}")
            check_text(problems, f"{base}.office_hours", loc.get("office_hours"),
                       f"第{i + 1}个办理地点的办公时间", f"Office hours of location {i + 1}")

    for key, zh, en in (("consultation_phone", "咨询电话", "Consultation phone"),
                        ("supervision_phone", "监督投诉电话", "Supervision phone")):
        phone = guide.get(key)
        if not phone:
            add(problem(f"guide.{key}", "required", zh, en))
        elif not isinstance(phone, str) or not PHONE.match(phone.strip()):
            add(problem(f"guide.{key}", "invalid", zh, en))

    result = guide.get("result")
    if not isinstance(result, dict):
        add(problem("guide.result", "required", "办理结果", "Result"))
    else:
        check_text(problems, "guide.result.name", result.get("name"), "办理结果名称", "Result name")
        if "licence_type" in result and not _is_code(result["licence_type"]):
            add(problem("guide.result.licence_type", "invalid", "办理结果的电子证照类型", "Result licence type"))

    delivery = guide.get("delivery")
    if not isinstance(delivery, dict) or not isinstance(delivery.get("by_post"), bool):
        add(problem("guide.delivery.by_post", "required", "结果送达方式（是否邮寄）",
                    "Delivery of the result (by post or not)"))

    _form_problems(problems, item.get("form_schema"), depth in ONLINE_DEPTHS)
    _face_problems(problems, item.get("face_verification"))
    return problems


# 刷脸: an item may require a real person verified within N minutes (models.face consumes one per
# submission); `auto_complete` finishes a verified submission at once (e.g. 养老金资格认证).
MAX_FACE_WITHIN_MINUTES = 24 * 60


def _face_problems(problems: list[FieldError], rule: Any) -> None:
    if rule is None:
        return
    if not isinstance(rule, dict):
        problems.append(problem("face_verification", "invalid", "刷脸核验要求（{within_minutes}）",
                                "Face verification requirement ({within_minutes})"))
        return
    for key in rule:
        if key not in ("within_minutes", "auto_complete"):
            problems.append(FieldError(f"face_verification.{key}", "unknown_field", f"不支持的字段 {key}",
                                       f"Unknown field {key}"))
    minutes = rule.get("within_minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_FACE_WITHIN_MINUTES:
        problems.append(problem("face_verification.within_minutes", "required" if minutes is None else "invalid",
                                f"刷脸核验有效期（1-{MAX_FACE_WITHIN_MINUTES} 分钟）",
                                f"Face verification validity (1-{MAX_FACE_WITHIN_MINUTES} minutes)"))
    if "auto_complete" in rule and not isinstance(rule["auto_complete"], bool):
        problems.append(problem("face_verification.auto_complete", "invalid", "刷脸核验后自动办结（是/否）",
                                "auto_complete (true or false)"))


def _material_problems(problems: list[FieldError], materials: Any) -> None:
    add = problems.append
    if not isinstance(materials, list) or not materials:
        add(problem("guide.materials", "required", "申请材料", "Materials"))
        return
    keys: set[str] = set()
    for i, mat in enumerate(materials):
        base = f"guide.materials[{i}]"
        n = i + 1
        if not isinstance(mat, dict):
            add(problem(base, "invalid", f"第{n}项材料", f"Material {n}"))
            continue
        key = mat.get("key")
        if not isinstance(key, str) or not key:
            add(problem(f"{base}.key", "required", f"第{n}项材料的标识", f"Key of material {n}"))
        elif key in keys:
            add(problem(f"{base}.key", "invalid", f"第{n}项材料的标识（重复）", f"Key of material {n} (duplicate)"))
        else:
            keys.add(key)
        name = mat.get("name")
        if check_text(problems, f"{base}.name", name, f"第{n}项材料的名称", f"Name of material {n}") \
                and is_vague_material_name(_zh(name)):
            add(problem(f"{base}.name", "vague_material", f"第{n}项材料“{_zh(name)}”", f"Material {n}"))
        label_zh, label_en = f"第{n}项材料的", f"material {n}: "
        if mat.get("original_or_copy") not in ORIGINALS:
            code = "required" if mat.get("original_or_copy") is None else "invalid"
            add(problem(f"{base}.original_or_copy", code, label_zh + "原件/复印件要求",
                        "Original or copy for " + label_en.rstrip(": ")))
        copies = mat.get("copies")
        if copies is None:
            add(problem(f"{base}.copies", "required", label_zh + "份数", "Number of copies of " + label_en.rstrip(": ")))
        elif not isinstance(copies, int) or isinstance(copies, bool) or copies < 0:
            add(problem(f"{base}.copies", "invalid", label_zh + "份数", "Number of copies of " + label_en.rstrip(": ")))
        medium = mat.get("medium")
        if medium not in MEDIUMS:
            add(problem(f"{base}.medium", "required" if medium is None else "invalid", label_zh + "纸质/电子要求",
                        "Paper or electronic for " + label_en.rstrip(": ")))
        if not isinstance(mat.get("required"), bool):
            add(problem(f"{base}.required", "required", label_zh + "是否必需",
                        "Whether required, for " + label_en.rstrip(": ")))
        if medium in ("paper", "both") and FORM_MATERIAL.search(_zh(name).strip().strip("《》")) \
                and not mat.get("template_url"):
            add(problem(f"{base}.template_url", "template_required", f"第{n}项材料“{_zh(name)}”", f"Material {n}"))
        if "licence_types" in mat and not (isinstance(mat["licence_types"], list) and mat["licence_types"]
                                           and all(_is_code(t) for t in mat["licence_types"])):
            add(problem(f"{base}.licence_types", "invalid", label_zh + "可替代的电子证照类型",
                        "Licence types accepted for " + label_en.rstrip(": ")))
        if medium in ("electronic", "both"):
            types = mat.get("allowed_types")
            if not isinstance(types, list) or not types or not all(isinstance(t, str) and "/" in t for t in types):
                add(problem(f"{base}.allowed_types", "required", label_zh + "电子文件类型",
                            "Allowed file types of " + label_en.rstrip(": ")))
            size = mat.get("max_bytes")
            if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
                add(problem(f"{base}.max_bytes", "required", label_zh + "电子文件大小上限",
                            "Maximum file size of " + label_en.rstrip(": ")))


def _is_code(value: Any) -> bool:
    """A licence type code (models.licences.types): lower-case letters, digits and underscores."""
    return isinstance(value, str) and re.fullmatch(r"[a-z][a-z0-9_]{1,47}", value, re.ASCII) is not None


def licence_types_named(item: dict[str, Any]) -> set[str]:
    """The licence types an item names: its result's, and those its materials accept."""
    guide = item.get("guide") if isinstance(item.get("guide"), dict) else {}
    named = {(guide.get("result") or {}).get("licence_type")} if isinstance(guide.get("result"), dict) else set()
    for mat in guide.get("materials") or []:
        if isinstance(mat, dict) and isinstance(mat.get("licence_types"), list):
            named.update(mat["licence_types"])
    return {t for t in named if _is_code(t)}


def _process_problems(problems: list[FieldError], process: Any) -> None:
    if not isinstance(process, list) or not process:
        problems.append(problem("guide.process", "required", "办理流程", "Process"))
        return
    texts = []
    for i, step in enumerate(process):
        if check_text(problems, f"guide.process[{i}]", step, f"办理流程第{i + 1}步", f"Process step {i + 1}"):
            texts.append(_zh(step))
    if texts and all(is_generic_step(t) for t in texts):
        problems.append(problem("guide.process", "generic_process", "办理流程", "Process"))


# A time limit is counted out day by day on the working-day calendar (models.workdays): no law sets
# one anywhere near four years, and a larger number would only fail there, at every submission.
MAX_TIME_LIMIT_DAYS = 1000


def _time_limit_problems(problems: list[FieldError], guide: dict[str, Any]) -> None:
    values = {}
    for key, zh, en in (("legal_time_limit_days", "法定办结时限（工作日）", "Legal time limit (working days)"),
                        ("promised_time_limit_days", "承诺办结时限（工作日）", "Promised time limit (working days)")):
        value = guide.get(key)
        if value is None:
            problems.append(problem(f"guide.{key}", "required", zh, en))
        elif not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_TIME_LIMIT_DAYS:
            problems.append(problem(f"guide.{key}", "invalid", zh, en))
        else:
            values[key] = value
    if len(values) == 2 and values["promised_time_limit_days"] > values["legal_time_limit_days"]:
        problems.append(problem("guide.promised_time_limit_days", "inconsistent", "承诺办结时限",
                                "The promised time limit"))


def _fee_problems(problems: list[FieldError], fee: Any) -> None:
    if not isinstance(fee, dict) or not isinstance(fee.get("free"), bool):
        problems.append(problem("guide.fee", "required", "收费说明（是否收费）", "Fee statement (free or not)"))
        return
    if fee["free"]:
        return
    amount = fee.get("amount_fen")
    if amount is None:
        problems.append(problem("guide.fee.amount_fen", "required", "收费金额（分）", "Fee amount (fen)"))
    elif not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        problems.append(problem("guide.fee.amount_fen", "invalid", "收费金额（分）", "Fee amount (fen)"))
    basis = fee.get("basis")
    if check_text(problems, "guide.fee.basis", basis, "收费依据", "Fee basis") and is_vague_legal_basis(_zh(basis)):
        problems.append(problem("guide.fee.basis", "vague_legal_basis", "收费依据", "Fee basis"))


def _form_problems(problems: list[FieldError], schema: Any, required: bool) -> None:
    if schema is None or schema == {}:
        if required:
            problems.append(problem("form_schema", "required", "在线申请表单", "Online application form"))
        return
    if not isinstance(schema, dict) or schema.get("type") != "object" \
            or not isinstance(schema.get("properties"), dict) or not schema["properties"]:
        problems.append(problem("form_schema", "invalid", "在线申请表单（应为含字段的 JSON Schema 对象）",
                                "Online application form (a JSON Schema object with properties)"))
        return
    for name, prop in schema["properties"].items():
        if not isinstance(prop, dict) or not isinstance(prop.get("title"), str) or not prop["title"].strip():
            problems.append(problem(f"form_schema.properties.{name}.title", "required",
                                    f"表单字段 {name} 的标题", f"Title of form field {name}"))
    for name in schema.get("required", []) or []:
        if name not in schema["properties"]:
            problems.append(problem("form_schema.required", "invalid", f"表单必填字段 {name}（未定义）",
                                    f"Required form field {name} (not defined)"))
