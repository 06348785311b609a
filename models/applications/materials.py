"""An application's materials (申请材料): which files the citizen attached for each material the item
declares, checked for owner, type and size against the item's rules."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from models import files
from models.core import localized
from models.errors import FieldError

MAX_FILES_PER_MATERIAL = 20


def materials_of(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The materials the item's guide declares, by key."""
    return {m["key"]: m for m in (item.get("guide") or {}).get("materials") or [] if isinstance(m, dict) and m.get("key")}


def required_materials(item: dict[str, Any]) -> set[str]:
    """Materials that must be uploaded online (paper-only ones are shown at the counter instead)."""
    return {key for key, m in materials_of(item).items() if m.get("required") and m.get("medium", "electronic") != "paper"}


def material_view(material: dict[str, Any], locale: str) -> dict[str, Any]:
    """A declared material as the prefill answer shows it: name, whether required, medium and upload rules."""
    return {"key": material["key"], "name": localized.text(material.get("name"), locale),
            "required": bool(material.get("required")), "medium": material.get("medium", "electronic"),
            "allowed_types": list(material.get("allowed_types") or files.KNOWN_TYPES),
            "max_bytes": material.get("max_bytes")}


def normalize_materials(raw: Any) -> tuple[dict[str, list[str]], list[FieldError]]:
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


async def attached_files(db: AsyncDatabase, item: dict[str, Any], citizen_id: str, materials: dict[str, list[str]],
                         *, required: set[str] | None) -> tuple[dict[str, list[dict[str, Any]]], list[FieldError]]:
    """Check the files given for each material (owner, type, size) and, when `required` is given, that
    each material in it has at least one file. Return the files' descriptions by material."""
    declared = materials_of(item)
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
            field = f"materials.{key}[{index}]"
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
        if not attached.get(key) and not any(p.field.startswith(f"materials.{key}[") for p in problems):
            name = declared.get(key, {}).get("name", key)
            problems.append(FieldError(f"materials.{key}", "material_required", f"请上传「{localized.text(name, 'zh-CN')}」",
                                       f"Please attach: {localized.text(name, 'en')}"))
    return attached, problems


def has_file(application: dict[str, Any], file_id: str) -> bool:
    """True when `file_id` is one of the application's attached materials."""
    return any(f.get("file_id") == file_id for described in (application.get("materials") or {}).values() for f in described)
