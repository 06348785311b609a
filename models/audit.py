"""Audit log (操作留痕): who changed what, for every operator write under /admin/v1.

The base handler records one entry per operator POST/PUT/PATCH/DELETE once the response status
is known: who (operator id and username, with the department and region they acted for, so the
log can be scoped like everything else), when, from where (client address), what (method, route
template, action name, the objects named in the path) and how it ended (status, outcome), plus
the NAMES of the fields the request body held (`guide.fee.amount_fen`). Values are never stored:
a body may hold personal data or channel secrets, and a key that does not look like a field name
(a phone number used as a key...) is recorded as `*`. Entries are only ever inserted
(`insert_one`); nothing here updates or deletes them, and no route does.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from bson import ObjectId
from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from models.core.context import Context
from models.core.pagination import page_of
from models.core.timezone import SHANGHAI, local_instant, local_iso
from models.errors import FieldError, ValidationFailed

SUMMARY_MAX = 200
PARAM_MAX = 128
FIELDS_MAX = 200          # field names kept per entry
FIELD_DEPTH_MAX = 8       # nesting levels of field names followed
FIELD_NAME_MAX = 200      # characters of one dotted field name
CSV_MAX_ROWS = 10_000     # rows of one CSV export
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z", re.ASCII)
# A key that reads as a field name. Anything else (digits first, CJK, punctuation) may be a value
# used as a key (a phone number, a citizen's name) and is recorded as "*".
_FIELD_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}\Z", re.ASCII)


async def ensure_indexes(db: AsyncDatabase) -> None:
    # Single-field indexes: nx-27017 serves queries from those only. `objects` (an array) is not
    # indexed: nx-27017 matches nothing by membership on an indexed array field.
    await db.audit_log.create_index("at")
    await db.audit_log.create_index("operator_id")
    await db.audit_log.create_index("operator_username")
    await db.audit_log.create_index("route")
    await db.audit_log.create_index("action")


def _clip(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- what a request is -----------------------------------------------------------------------------
def field_names(body: Any) -> list[str]:
    """The dotted names of every key in a JSON body, top-level and nested (`guide.fee.amount_fen`;
    `materials[].name` for objects inside lists), in order, without any value."""
    names: list[str] = []
    seen: set[str] = set()

    def walk(value: Any, prefix: str, depth: int) -> None:
        if depth > FIELD_DEPTH_MAX or len(names) >= FIELDS_MAX:
            return
        if isinstance(value, Mapping):
            for key, child in value.items():
                part = key if isinstance(key, str) and _FIELD_KEY.match(key) else "*"
                name = f"{prefix}.{part}" if prefix else part
                if len(name) > FIELD_NAME_MAX:
                    continue
                if name not in seen:
                    if len(names) >= FIELDS_MAX:
                        return
                    seen.add(name)
                    names.append(name)
                walk(child, name, depth + 1)
        elif isinstance(value, list) and prefix:
            for item in value:
                walk(item, prefix + "[]", depth + 1)

    walk(body, "", 0)
    return names


# The body field that names the object each create makes (searchable as `object=`), by route: an
# explicit list, because the same name means a secret elsewhere (`code` of a TOTP confirmation).
CREATED_ID_FIELDS = {
    "/admin/v1/services": "code",
    "/admin/v1/channels": "app_id",
    "/admin/v1/operators": "username",
}
_OBJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z", re.ASCII)


def object_ids(method: str, route: str, body: Any) -> list[str]:
    """The id a create names in its body (`POST /admin/v1/services {"code": "GA-9", ...}` → ["GA-9"])."""
    field = CREATED_ID_FIELDS.get(route) if method.upper() == "POST" else None
    if not field or not isinstance(body, Mapping):
        return []
    value = body.get(field)
    return [value] if isinstance(value, str) and _OBJECT_ID.match(value) else []


def action_name(method: str, template: str) -> str:
    """A short name for what a write does: `services.create`, `services.update`, `services.delete`,
    `services.publish` (POST to a named step), `halls.windows.call-next`."""
    parts = [p for p in template.split("/") if p][2:]  # without "admin", "v1"
    literals = [p for p in parts if not p.startswith("{")]
    if not literals:
        return method.lower()
    base = ".".join(literals)
    method = method.upper()
    if method == "DELETE":
        return base + ".delete"
    if method in ("PATCH", "PUT"):
        return base + ".update"
    if len(parts) == 1 or parts[-1].startswith("{"):  # POST to a collection (or to an item)
        return base + ".create"
    return base  # POST to a step of an item: services.publish, applications.actions


def entry(*, at: datetime.datetime, operator_id: str, operator_username: str, method: str, route: str,
          path_params: Mapping[str, Any] | None, status: int, request_id: str, template: str | None = None,
          department: str = "", region_code: str = "", client_ip: str = "", fields: Iterable[str] = (),
          objects: Iterable[str] = (), summary: str | None = None) -> dict[str, Any]:
    """The stored document of one audited request (field names, never values; values clipped).

    `template` is the route as the API documents it (`/admin/v1/services/{code}/publish`, from
    server.openapi); without one, the route pattern stands in."""
    params = {str(k): _clip(v, PARAM_MAX) for k, v in (path_params or {}).items()}
    template = template or route
    method = method.upper()
    named = list(dict.fromkeys([*params.values(), *(_clip(o, PARAM_MAX) for o in objects if o)]))
    return {
        "_id": ObjectId(), "at": at, "operator_id": str(operator_id),
        "operator_username": _clip(operator_username or "", 64),
        "department": str(department or ""), "region_code": str(region_code or ""),
        "client_ip": _clip(client_ip or "", 64),
        "method": method, "route": _clip(route, 200), "action": _clip(f"{method} {template}", 240),
        "action_name": _clip(action_name(method, template), 120),
        "path_params": params, "objects": named,
        "fields": [_clip(f, FIELD_NAME_MAX) for f in list(fields)[:FIELDS_MAX]],
        "status": int(status), "outcome": "succeeded" if int(status) < 400 else "refused",
        "request_id": _clip(request_id, 128), "summary": _clip(summary, SUMMARY_MAX) if summary else None,
    }


async def username_of(ctx: Context, operator_id: str) -> str:
    """The operator's username as it is now ("" when the account is gone)."""
    key: Any = ObjectId(operator_id) if ObjectId.is_valid(operator_id) else operator_id
    found = await ctx.db.operators.find_one({"_id": key}, {"username": 1})
    return str(found.get("username") or "") if found else ""


async def record(ctx: Context, *, operator_id: str, method: str, route: str, path_params: Mapping[str, Any] | None,
                 status: int, request_id: str, template: str | None = None, operator_username: str | None = None,
                 department: str = "", region_code: str = "", client_ip: str = "", fields: Iterable[str] = (),
                 objects: Iterable[str] = (), summary: str | None = None) -> None:
    """Append one entry to the audit log (the username is looked up when the caller has none)."""
    if operator_username is None:
        operator_username = await username_of(ctx, operator_id)
    await ctx.db.audit_log.insert_one(entry(
        at=ctx.clock(), operator_id=operator_id, operator_username=operator_username, method=method,
        route=route, template=template, path_params=path_params, status=status, request_id=request_id,
        department=department,
        region_code=region_code, client_ip=client_ip, fields=fields, objects=objects, summary=summary))



# ---- reading ---------------------------------------------------------------------------------------
def parse_instant(raw: str | None, field: str, *, end: bool = False) -> datetime.datetime | None:
    """`YYYY-MM-DD` (a Shanghai day: its start, or for `end` the next day's start) or an ISO instant."""
    if not raw:
        return None
    try:
        if _DATE.match(raw):
            day = datetime.date.fromisoformat(raw) + datetime.timedelta(days=1 if end else 0)
            return local_instant(day)
        moment = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=SHANGHAI)
        return moment.astimezone(datetime.UTC)
    except (ValueError, OverflowError):  # OverflowError: 9999-12-31's next day, year 1 moved to UTC
        raise ValidationFailed(errors=[FieldError(
            field, "invalid", f"{field} 应为日期（YYYY-MM-DD）或带时区的时间（ISO 8601）",
            f"{field} must be a date (YYYY-MM-DD) or an ISO 8601 time with offset")]) from None


def view(doc: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in doc.items() if k != "_id"}
    shown["id"] = str(doc["_id"])
    return shown


def query(*, operator: str | None = None, object_id: str | None = None, action: str | None = None,
          since: str | None = None, until: str | None = None, route: str | None = None,
          since_field: str = "from", until_field: str = "to",
          scope_filter: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The filter for a search: `operator` an operator id or username, `object_id` an object named in
    the path (service code, application or order number...), `action` either a full action
    (`POST /admin/v1/services/{code}/publish`) or a short name (`services.publish`), `route` a route
    pattern or its beginning, `since` inclusive and `until` exclusive (a date `until` includes that
    whole day); `scope_filter` (the caller's OperatorScope.filter) limits it to the caller's scope."""
    start = parse_instant(since, since_field)
    stop = parse_instant(until, until_field, end=True)
    errors = []
    for name, value in (("operator", operator), ("object", object_id), ("action", action), ("route", route)):
        if value is not None and len(value) > 240:
            errors.append(FieldError(name, "too_long", f"{name} 过长", f"{name} is too long"))
    if start and stop and start >= stop:
        errors.append(FieldError(until_field, "invalid", f"{until_field} 应晚于 {since_field}",
                                 f"{until_field} must be after {since_field}"))
    if errors:
        raise ValidationFailed(errors=errors)
    found: dict[str, Any] = dict(scope_filter or {})
    if operator:
        found["$or"] = [{"operator_id": operator}, {"operator_username": operator}]
    if object_id:
        found["objects"] = object_id
    if action:
        found["action" if " " in action or "/" in action else "action_name"] = action
    if route:
        found["route"] = {"$regex": "^" + re.escape(route)}
    if start or stop:
        found["at"] = {**({"$gte": start} if start else {}), **({"$lt": stop} if stop else {})}
    return found


SORT = [("at", DESCENDING), ("_id", DESCENDING)]


async def search(ctx: Context, found: Mapping[str, Any], *, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """One page of the entries matching `found` (from `query`), newest first."""
    return await page_of(ctx.db.audit_log, dict(found), SORT, page, page_size, view)


async def export_rows(ctx: Context, found: Mapping[str, Any], limit: int | None = None) -> AsyncIterator[dict[str, Any]]:
    """The entries matching `found`, newest first, at most `limit` (CSV_MAX_ROWS) of them."""
    async for doc in ctx.db.audit_log.find(dict(found)).sort(SORT).limit(limit or CSV_MAX_ROWS):
        yield doc


# The CSV columns: (key, zh-CN title, en title).
CSV_COLUMNS = (
    ("at", "时间", "Time"), ("operator_username", "操作人账号", "Username"), ("operator_id", "操作人ID", "Operator ID"),
    ("department", "部门", "Department"), ("region_code", "行政区划", "Region"), ("client_ip", "来源IP", "Client IP"),
    ("action", "请求", "Request"), ("action_name", "操作", "Action"), ("objects", "对象", "Objects"),
    ("fields", "改动字段", "Fields changed"), ("status", "状态码", "Status"), ("outcome", "结果", "Outcome"),
    ("request_id", "请求编号", "Request ID"),
)


def csv_header(locale: str) -> list[str]:
    return [en if locale == "en" else zh for _, zh, en in CSV_COLUMNS]


def csv_row(doc: Mapping[str, Any]) -> list[Any]:
    """One entry as a CSV row (lists joined with spaces, the time in Shanghai)."""
    row: list[Any] = []
    for key, _, _ in CSV_COLUMNS:
        value = doc.get(key)
        if key == "at" and isinstance(value, datetime.datetime):
            value = local_iso(value)
        elif isinstance(value, list):
            value = " ".join(str(v) for v in value)
        row.append("" if value is None else value)
    return row
