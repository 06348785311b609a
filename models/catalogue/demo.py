"""The demo catalogue (data/demo_catalogue/): the demo city and its departments' service items.

`city.toml` holds the city, its region tree and its themes; `departments/<code>.toml` holds one
department (`[department]`) with its items (`[[items]]`) and any intentional drafts (`[[drafts]]`),
each item whole, in the shape of docs/service-item.md, as it is stored. Loaded at start-up in
development; tests/test_demo_catalogue.py runs every item through the publish gate.
"""

from __future__ import annotations

import datetime
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from models.catalogue import rendered
from models.catalogue.gate import guide_problems
from models.catalogue.items import catalogue_changed
from models.core.context import Context

DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "demo_catalogue"


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
                              now: datetime.datetime) -> dict[str, Any]:
    """Upsert the demo catalogue (idempotent) and publish every item through the gate.

    Returns {"items": n, "published": n, "drafts": {code: [problem codes]}}.
    """
    data = data or read_demo()
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


async def load_demo(ctx: Context) -> dict[str, Any]:
    """Start-up hook (server/registry.py DEMO_MODULES): the demo catalogue, published."""
    data = read_demo()
    loaded = await load_demo_catalogue(ctx.db, redis=ctx.redis, data=data, now=ctx.clock())
    await rendered.forget(ctx, [item["code"] for item in [*data["items"], *data["drafts"]]])
    return loaded
