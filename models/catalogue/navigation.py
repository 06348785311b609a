"""Navigation: departments, themes (life events) and the region tree, as citizens browse them.

Departments and themes without a published item are left out unless asked for.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from models.core.localized import text


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
    """A region and the regions under it as citizens see them, in `locale`."""
    return {"code": node["code"], "name": text(node.get("name"), locale), "level": node.get("level"),
            "children": [public_region(c, locale) for c in node.get("children", [])]}
