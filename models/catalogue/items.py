"""Service items (政务服务事项): storage, operators' edits, publication, and the views of one item.

Other modules read items through `get_published_item` / `get_item` only.
"""

from __future__ import annotations

import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models.access import OperatorScope
from models.catalogue import rendered
from models.catalogue.gate import ITEM_CODE, check_text, guide_problems, licence_types_named, problem
from models.core.context import Context
from models.core.localized import localize
from models.core.pagination import page_of
from models.errors import Conflict, FieldError, NotFound, ValidationFailed

STATUSES = ("draft", "published")


async def ensure_indexes(db: AsyncDatabase) -> None:
    """Indexes of every catalogue collection: items, navigation and the search misses."""
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
                   "guide", "form_schema", "face_verification")


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
            problems.append(problem("code", "required" if not code else "invalid", "事项编码（如 GA-0001）",
                                    "Item code (e.g. GA-0001)"))
        check_text(problems, "name", data.get("name"), "事项名称", "Item name")
    elif "name" in data:
        check_text(problems, "name", data.get("name"), "事项名称", "Item name")
    types: dict[str, type | tuple[type, ...]] = {
        "aliases": list, "department": str, "region_code": str, "audience": list, "themes": list,
        "handling_depth": str, "guide": dict, "form_schema": dict, "face_verification": dict,
    }
    for key, expected in types.items():
        value = data.get(key)
        if value is not None and (not isinstance(value, expected)
                                  or expected is list and not all(isinstance(v, str) for v in value)):
            problems.append(problem(key, "invalid", key, key))  # lists hold names: {} or [] in one is no name
    return problems


async def create_item(db: AsyncDatabase, data: dict[str, Any], *, now: datetime.datetime) -> dict:
    """Save a new item as a draft (incomplete guides allowed); Conflict when the code is taken."""
    problems = _draft_shape_problems(data, creating=True)
    if problems:
        raise ValidationFailed(errors=problems)
    doc = {"aliases": [], "themes": [], "audience": [], "guide": {}, **data,
           "status": "draft", "created_at": now, "updated_at": now, "published_at": None}
    try:
        await db.services.insert_one(doc)
    except DuplicateKeyError:
        raise Conflict("service_exists", "该事项编码已存在", "An item with this code already exists") from None
    return _clean(doc)  # type: ignore[return-value]


async def update_item(ctx: Context, code: str, changes: dict[str, Any], *, now: datetime.datetime) -> dict[str, Any]:
    """Change an item's fields (top level replaced, `guide` merged key by key).

    A published item stays publishable: a change that would fail the publish gate is refused and
    nothing is saved. Concurrent edits are detected (409), never silently merged.
    """
    problems = _draft_shape_problems(changes, creating=False)
    if problems:
        raise ValidationFailed(errors=problems)
    db = ctx.db
    current = await get_item(db, code)
    merged = {**current, **{k: v for k, v in changes.items() if k != "guide"}}
    if "guide" in changes:
        merged["guide"] = {**(current.get("guide") or {}), **(changes["guide"] or {})}
    if current["status"] == "published":
        gate = guide_problems(merged)
        if gate:
            raise ValidationFailed("guide_incomplete", "修改后的办事指南不完整，已发布事项不能保存",
                                   "The change leaves the published item's guide incomplete", errors=gate)
    update = {k: merged[k] for k in EDITABLE_FIELDS if k in changes}
    update["updated_at"] = now
    saved = await db.services.find_one_and_update(
        {"code": code, "updated_at": current["updated_at"]}, {"$set": update},
        projection={"_id": 0}, return_document=ReturnDocument.AFTER)
    if saved is None:
        raise Conflict("concurrent_update", "该事项已被他人修改，请刷新后重试",
                       "The item was changed meanwhile; reload and retry")
    if saved["status"] == "published":
        await published_changed(ctx, [code])
    return saved


async def delete_item(db: AsyncDatabase, code: str) -> None:
    """Delete a draft; a published item must be unpublished first (applications may refer to it)."""
    result = await db.services.delete_one({"code": code, "status": "draft"})
    if result.deleted_count:
        return
    await get_item(db, code)  # NotFound when it does not exist at all
    raise Conflict("service_published", "已发布的事项不能删除，请先下架", "Unpublish the item before deleting it")


async def publish_item(ctx: Context, code: str, *, now: datetime.datetime) -> dict[str, Any]:
    """Publish through the gate; ValidationFailed `guide_incomplete` lists every problem."""
    db = ctx.db
    item = await get_item(db, code)
    problems = guide_problems(item)
    if item.get("department") and not await db.departments.find_one({"code": item["department"]}):
        problems.append(problem("department", "not_found", "实施部门", "Department"))
    for theme in item.get("themes") or []:
        if isinstance(theme, str) and not await db.themes.find_one({"code": theme}):
            problems.append(problem("themes", "not_found", f"主题 {theme}", f"Theme {theme}"))
    for licence_type in sorted(licence_types_named(item)):
        if not await db.licence_types.find_one({"code": licence_type}):
            problems.append(problem("guide", "not_found", f"电子证照类型 {licence_type}", f"Licence type {licence_type}"))
    if problems:
        raise ValidationFailed("guide_incomplete", "办事指南不完整，不能发布", "The service guide is incomplete",
                               errors=problems)
    saved = await db.services.find_one_and_update(
        {"code": code, "updated_at": item["updated_at"]},
        {"$set": {"status": "published", "published_at": item.get("published_at") or now, "updated_at": now}},
        projection={"_id": 0}, return_document=ReturnDocument.AFTER)
    if saved is None:
        raise Conflict("concurrent_update", "该事项已被他人修改，请刷新后重试",
                       "The item was changed meanwhile; reload and retry")
    await published_changed(ctx, [code])
    return saved


async def unpublish_item(ctx: Context, code: str, *, now: datetime.datetime) -> dict[str, Any]:
    """Take an item off the citizens' catalogue (back to draft)."""
    saved = await ctx.db.services.find_one_and_update(
        {"code": code}, {"$set": {"status": "draft", "updated_at": now}},
        projection={"_id": 0}, return_document=ReturnDocument.AFTER)
    if saved is None:
        raise NotFound("service_not_found", "未找到该事项", "Service item not found")
    await published_changed(ctx, [code])
    return saved


async def list_items(db: AsyncDatabase, scope: OperatorScope, *, status: str | None = None,
                     department: str | None = None, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """Operators' list of the items in their scope, in any status, by code."""
    query: dict[str, Any] = scope.filter(department)
    if status:
        query["status"] = status
    return await page_of(db.services, query, [("code", ASCENDING)], page, page_size, projection={"_id": 0})


async def catalogue_changed(db: AsyncDatabase, redis: Any = None) -> None:
    """Tell every process's search index that published items changed."""
    from models import search  # the search engine reads the catalogue; import late to avoid a cycle
    await search.catalogue_changed(db, redis)


async def published_changed(ctx: Context, codes: list[str]) -> None:
    """What citizens see of the items `codes` changed (published, unpublished, edited while
    published): every process's search index, and the guides and navigation lists it keeps
    rendered (models.catalogue.public), follow at once. Call it after the change is stored."""
    await catalogue_changed(ctx.db, ctx.redis)
    await rendered.forget(ctx, codes)


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
