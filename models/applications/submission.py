"""What a citizen sends with an application, checked: the form (its masked numbers put back), the
materials and the delivery choice."""

from __future__ import annotations

import json
from typing import Any

from models import citizens
from models.applications import licensed
from models.applications.forms import form_errors
from models.applications.materials import attached_files, normalize_materials, required_materials
from models.applications.prefill import citizen_secrets, unmask
from models.core.context import Context
from models.core.masking import mask
from models.errors import FieldError, ValidationFailed


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


async def checked_input(ctx: Context, item: dict[str, Any], citizen_id: str, body: dict[str, Any], *, complete: bool,
                        base: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict, dict, dict]:
    """Form, attached file descriptions, delivery and the licences given for materials
    (models.applications.licensed) from `body` (over a draft's `base`); a complete submission is
    validated fully, a draft only for shape, file ownership, masked numbers and the licences."""
    base = base or {}
    schema = item.get("form_schema") or {"type": "object"}
    problems: list[FieldError] = []
    form, found = _form_of(body, base.get("form"))
    problems += found
    known = citizen_secrets(ctx, await citizens.find_citizen(ctx, citizen_id, follow_merge=False) or {})
    form, found = unmask(schema, form, known, base.get("form"))
    problems += found
    if "materials" in body:
        materials, found = normalize_materials(body.get("materials"))
        problems += found
    else:
        materials = {key: [f["file_id"] for f in described] for key, described in (base.get("materials") or {}).items()}
    delivery, found = _delivery(item, body["delivery"] if "delivery" in body else base.get("delivery"))
    problems += found + _unmask_delivery_phone(delivery, known, base.get("delivery"))
    if complete and not any(p.code == "masked_value" for p in problems):
        problems += form_errors(schema, form)
    given, offered, found = await licensed.check(ctx, item, citizen_id, body, base)
    problems += found
    required = required_materials(item) - offered if complete else None
    attached, found = await attached_files(ctx.db, item, citizen_id, materials, required=required)
    problems += found
    if problems:
        raise ValidationFailed(errors=problems)
    return form, attached, delivery, given


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
