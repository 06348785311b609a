"""Importing licences issued elsewhere: a CSV or JSON batch, all or nothing.

Every row is checked first (type within the operator's scope, number unique in the batch and in the
library, holder's name and ID number, dates); one bad row rejects the batch, and the report names
every bad row and field. A clean batch is signed row by row and inserted in one transaction, so a
failure midway (a number someone else took meanwhile) leaves nothing behind. The import record
(`licence_imports`) carries the progress (`processed` of `total`) while it runs and the report after.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import secrets
from typing import Any

from pymongo.errors import DuplicateKeyError, OperationFailure

from models import idcard
from models.access import OperatorScope
from models.core.context import Context
from models.core.timezone import local_iso
from models.errors import FieldError, NotFound, ValidationFailed
from models.licences import store
from models.licences.types import all_types, in_scope

MAX_ROWS = 2000
PROGRESS_EVERY = 100
COLUMNS = ("type", "number", "holder_name", "holder_id_number", "valid_from", "valid_until")
_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{1,63}\Z", re.ASCII)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z", re.ASCII)
_NAME = re.compile(r"^[\u3400-\u9fffA-Za-z][\u3400-\u9fffA-Za-z·•. ]{0,28}[\u3400-\u9fffA-Za-z]$")


async def ensure_indexes(db: Any) -> None:
    await db.licence_imports.create_index("operator_id")


def _rows_of(body: dict[str, Any]) -> list[Any]:
    """The batch's rows: `rows` (JSON objects) or `csv` (text with a header row of COLUMNS)."""
    has_rows, has_csv = "rows" in body, "csv" in body
    if has_rows == has_csv:
        raise ValidationFailed(errors=[FieldError("rows", "required", "请提供 rows（JSON）或 csv（文本）之一",
                                                  "Give either rows (JSON) or csv (text)")])
    if has_csv:
        text = body["csv"]
        if not isinstance(text, str):
            raise ValidationFailed(errors=[FieldError("csv", "type", "csv 应为文本", "csv must be text")])
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValidationFailed(errors=[FieldError("csv", "missing_columns", f"CSV 缺少列：{'、'.join(missing)}",
                                                      f"The CSV lacks columns: {', '.join(missing)}")])
        rows: list[Any] = list(reader)
    else:
        rows = body["rows"]
        if not isinstance(rows, list):
            raise ValidationFailed(errors=[FieldError("rows", "type", "rows 应为数组", "rows must be an array")])
    if not rows or len(rows) > MAX_ROWS:
        raise ValidationFailed(errors=[FieldError("rows", "out_of_range", f"每批 1 到 {MAX_ROWS} 条",
                                                  f"A batch holds 1 to {MAX_ROWS} rows")])
    return rows


def _text(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    return value.strip() if isinstance(value, str) else ""


def _check_row(index: int, row: Any, types: dict[str, dict[str, Any]], scope: OperatorScope,
               today: datetime.date) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """The row's clean values, or its problems."""
    base = f"rows[{index}]"
    if not isinstance(row, dict):
        return None, [FieldError(base, "type", "每行应为对象", "each row must be an object")]
    problems: list[FieldError] = []
    code = _text(row, "type")
    licence_type = types.get(code)
    if licence_type is None:
        problems.append(FieldError(f"{base}.type", "licence_type_not_found", "未知的证照类型", "Unknown licence type"))
    elif not in_scope(scope, licence_type):
        problems.append(FieldError(f"{base}.type", "out_of_scope", "该证照类型不属于您所在部门",
                                   "This licence type belongs to another department"))
    number = _text(row, "number")
    if not _NUMBER.match(number):
        problems.append(FieldError(f"{base}.number", "invalid", "证照编号应为 2-64 位字母、数字或连字符",
                                   "number: 2-64 letters, digits or hyphens"))
    name = _text(row, "holder_name")
    if not _NAME.match(name):
        problems.append(FieldError(f"{base}.holder_name", "invalid_name", "持证人姓名应为 2-30 个汉字或字母",
                                   "holder_name: 2-30 Chinese characters or letters"))
    holder_id = ""
    try:
        holder_id = idcard.parse_id_number(_text(row, "holder_id_number"), today=today,
                                           field=f"{base}.holder_id_number").value
    except ValidationFailed as exc:
        problems.extend(exc.errors)
    dates: dict[str, datetime.date | None] = {}
    for name_, required in (("valid_from", True), ("valid_until", False)):
        raw = _text(row, name_)
        if not raw and not required:
            dates[name_] = None
            continue
        try:
            dates[name_] = datetime.date.fromisoformat(raw) if _DATE.match(raw) else None
        except ValueError:
            dates[name_] = None
        if dates[name_] is None:
            problems.append(FieldError(f"{base}.{name_}", "invalid_date", "日期应为 YYYY-MM-DD",
                                       "a date as YYYY-MM-DD"))
    if dates.get("valid_from") and dates.get("valid_until") and dates["valid_until"] < dates["valid_from"]:
        problems.append(FieldError(f"{base}.valid_until", "before_valid_from", "有效期止不能早于有效期起",
                                   "valid_until is before valid_from"))
    if problems:
        return None, problems
    return {"type": licence_type, "number": number, "holder_name": name, "holder_id": holder_id,
            "valid_from": dates["valid_from"], "valid_until": dates["valid_until"]}, []


async def _progress(ctx: Context, import_id: str, **fields: Any) -> None:
    await ctx.db.licence_imports.update_one({"_id": import_id}, {"$set": fields})


async def run_import(ctx: Context, scope: OperatorScope, body: dict[str, Any], locale: str) -> dict[str, Any]:
    """Import a batch all or nothing; the import record (201). A batch with bad rows is refused (422
    `import_rejected`, every bad row's field named) and imports nothing."""
    rows = _rows_of(body)
    now = ctx.clock()
    import_id = "imp_" + secrets.token_hex(8)
    await ctx.db.licence_imports.insert_one({
        "_id": import_id, "operator_id": scope.operator_id, "department": scope.department, "status": "validating",
        "total": len(rows), "processed": 0, "imported": 0, "errors": [], "created_at": now, "finished_at": None})
    types = await all_types(ctx.db)
    today = store.today_of(ctx)
    clean: list[dict[str, Any]] = []
    problems: list[FieldError] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        values, found = _check_row(index, row, types, scope, today)
        problems += found
        if values is not None:
            key = f"{values['type']['code']}:{values['number']}"
            if key in seen:
                problems.append(FieldError(f"rows[{index}].number", "duplicate_in_batch",
                                           f"与第 {seen[key] + 1} 行的证照编号重复", f"Same number as row {seen[key] + 1}"))
            seen.setdefault(key, index)
            clean.append({**values, "index": index, "key": key})
        if (index + 1) % PROGRESS_EVERY == 0:
            await _progress(ctx, import_id, processed=index + 1)
    taken = {doc["number_key"] async for doc in ctx.db.licences.find({"number_key": {"$in": list(seen)}},
                                                                      {"number_key": 1})}
    problems += [FieldError(f"rows[{values['index']}].number", "licence_exists", "该证照编号已在证照库中",
                            "A licence with this number exists already")
                 for values in clean if values["key"] in taken and seen[values["key"]] == values["index"]]
    if problems:
        await _finish(ctx, import_id, "rejected", problems, processed=len(rows))
        raise ValidationFailed("import_rejected", "导入数据有误，未导入任何证照", "The batch has bad rows; nothing was imported",
                               errors=problems, extra={"import_id": import_id})
    await _progress(ctx, import_id, status="importing", processed=0)
    licences = []
    for count, values in enumerate(clean, start=1):
        licence = store.new_licence(ctx, values["type"], number=values["number"], holder_name=values["holder_name"],
                                    holder_id=values["holder_id"], valid_from=values["valid_from"],
                                    valid_until=values["valid_until"],
                                    source={"kind": "import", "import_id": import_id, "row": values["index"] + 1},
                                    source_key=f"import:{import_id}:{values['index']}")
        licences.append(await store.signed(ctx, licence))
        if count % PROGRESS_EVERY == 0:
            await _progress(ctx, import_id, processed=count)
    try:
        async with ctx.mongo.start_session() as session:
            # Retried whole by the driver after a transient error (an aborted attempt leaves nothing).
            await session.with_transaction(lambda s: ctx.db.licences.insert_many(licences, session=s))
    except (DuplicateKeyError, OperationFailure):
        failure = FieldError("rows", "licence_exists", "导入期间有证照编号被占用，未导入任何证照",
                             "A number was taken while importing; nothing was imported")
        await _finish(ctx, import_id, "failed", [failure], processed=len(rows))
        raise ValidationFailed("import_failed", "导入失败，未导入任何证照", "The import failed; nothing was imported",
                               errors=[failure], extra={"import_id": import_id}) from None
    return await _finish(ctx, import_id, "completed", [], processed=len(rows), imported=len(licences), locale=locale)


async def _finish(ctx: Context, import_id: str, status: str, problems: list[FieldError], *, processed: int,
                  imported: int = 0, locale: str = "zh-CN") -> dict[str, Any]:
    errors = [{"field": p.field, "code": p.code, "zh": p.zh, "en": p.en} for p in problems]
    await _progress(ctx, import_id, status=status, processed=processed, imported=imported, errors=errors,
                    finished_at=ctx.clock())
    return import_view(await ctx.db.licence_imports.find_one({"_id": import_id}), locale)


def import_view(doc: dict[str, Any], locale: str) -> dict[str, Any]:
    return {"import_id": doc["_id"], "status": doc["status"], "total": doc["total"], "processed": doc["processed"],
            "imported": doc["imported"],
            "errors": [{"field": e["field"], "code": e["code"], "message": e["en"] if locale == "en" else e["zh"]}
                       for e in doc.get("errors") or []],
            "created_at": local_iso(doc["created_at"]), "finished_at": local_iso(doc.get("finished_at"))}


async def get_import(ctx: Context, scope: OperatorScope, import_id: str, locale: str) -> dict[str, Any]:
    """An import's progress and report; only its operator's department (or a platform operator) sees it."""
    doc = await ctx.db.licence_imports.find_one({"_id": import_id}) if isinstance(import_id, str) else None
    if doc is None or (scope.department and doc.get("department") != scope.department):
        raise NotFound("import_not_found", "未找到该导入记录", "Import not found")
    return import_view(doc, locale)
