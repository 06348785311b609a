"""The service items applications are made for, as this package reads them from the catalogue."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from models import catalogue
from models.errors import Conflict, NotFound


async def load_item(db: AsyncDatabase, code: str, *, published: bool = False) -> dict[str, Any]:
    """A service item through the catalogue (any status unless `published`); 404 service_not_found."""
    if not isinstance(code, str) or not code:
        raise NotFound("service_not_found", "未找到该事项", "Service item not found")
    return await (catalogue.get_published_item(db, code) if published else catalogue.get_item(db, code))


async def online_item(db: AsyncDatabase, code: str) -> dict[str, Any]:
    """An item citizens can apply for online; 409 not_online for unpublished or information-only items."""
    item = await load_item(db, code)
    if item.get("status") != "published" or item.get("handling_depth", "info_only") == "info_only":
        raise Conflict("not_online", "该事项暂不支持网上申请", "This service item cannot be applied for online",
                       extra={"service_code": code})
    return item


