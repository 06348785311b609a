"""Licence types (电子证照类型): what kind of licence, in which language, issued by which department.

A type is the unit of scope: a department operator imports and revokes licences of their own
department's types only. Types come from `data/demo_catalogue/licence_types.toml` in the demo.
"""

from __future__ import annotations

import datetime
import re
import tomllib
from pathlib import Path
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from models.access import OperatorScope
from models.core import localized
from models.errors import NotFound

TYPES_FILE = Path(__file__).resolve().parents[2] / "data" / "demo_catalogue" / "licence_types.toml"
TYPE_CODE = re.compile(r"^[a-z][a-z0-9_]{1,47}\Z", re.ASCII)


def read_types(path: Path = TYPES_FILE) -> list[dict[str, Any]]:
    """The licence types of the demo data file."""
    with open(path, "rb") as fh:
        return tomllib.load(fh)["types"]


async def load_types(db: AsyncDatabase, types: list[dict[str, Any]], now: datetime.datetime) -> int:
    """Upsert licence types (idempotent); the number loaded."""
    for row in types:
        await db.licence_types.update_one({"code": row["code"]}, {"$set": {**row, "updated_at": now}}, upsert=True)
    return len(types)


async def all_types(db: AsyncDatabase) -> dict[str, dict[str, Any]]:
    """Every licence type by code."""
    return {doc["code"]: doc async for doc in db.licence_types.find({}, {"_id": 0}).sort([("code", ASCENDING)])}


async def get_type(db: AsyncDatabase, code: Any) -> dict[str, Any]:
    """One licence type; 404 licence_type_not_found."""
    found = await db.licence_types.find_one({"code": code}, {"_id": 0}) if isinstance(code, str) else None
    if found is None:
        raise NotFound("licence_type_not_found", "未找到该证照类型", "No such licence type")
    return found


def in_scope(scope: OperatorScope, licence_type: dict[str, Any]) -> bool:
    """Whether an operator of `scope` may import or revoke licences of this type."""
    return scope.allows(licence_type.get("department"), licence_type.get("region_code"))


def type_view(licence_type: dict[str, Any], locale: str) -> dict[str, Any]:
    return {"code": licence_type["code"], "name": localized.text(licence_type.get("name"), locale),
            "department": licence_type.get("department", ""), "region_code": licence_type.get("region_code", ""),
            "validity_days": licence_type.get("validity_days")}
