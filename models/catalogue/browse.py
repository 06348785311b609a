"""Citizens' browse and search over published items, and the queries that found nothing."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models.catalogue.gate import AUDIENCES
from models.core.context import Context
from models.core.localized import DEFAULT_LOCALE, text
from models.core.pagination import page_of
from models.errors import FieldError, ValidationFailed


def summary(item: dict[str, Any], locale: str) -> dict[str, Any]:
    """What a result list shows of one item, in `locale`."""
    guide = item.get("guide") or {}
    fee = guide.get("fee") or {}
    return {
        "code": item["code"],
        "name": text(item.get("name"), locale),
        "department": item.get("department"),
        "region_code": item.get("region_code"),
        "audience": item.get("audience", []),
        "themes": item.get("themes", []),
        "handling_depth": item.get("handling_depth"),
        "promised_time_limit_days": guide.get("promised_time_limit_days"),
        "free": fee.get("free"),
    }


async def record_search_miss(db: AsyncDatabase, query: str, *, now: datetime.datetime) -> None:
    """Count a query that found nothing (upsert with $inc), for operators to fix the catalogue."""
    query = " ".join(query.split())[:100]
    if not query:
        return
    try:
        await db.search_misses.update_one(
            {"query": query},
            {"$inc": {"count": 1}, "$set": {"last_at": now}, "$setOnInsert": {"first_at": now}},
            upsert=True)
    except DuplicateKeyError:  # two first misses raced on the upsert: the loser increments
        await db.search_misses.update_one({"query": query}, {"$inc": {"count": 1}, "$set": {"last_at": now}})


async def list_search_misses(db: AsyncDatabase, *, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """Zero-result queries, most frequent first."""
    return await page_of(db.search_misses, {}, [("count", DESCENDING), ("query", ASCENDING)], page, page_size,
                         projection={"_id": 0})


def _check_filters(q: str | None, audience: str | None, region: str | None, department: str | None,
                   theme: str | None) -> None:
    problems = []
    if q is not None and len(q) > 100:
        problems.append(FieldError("q", "too_long", "搜索词不能超过100个字符", "The query may have at most 100 characters"))
    if audience and audience not in AUDIENCES:
        problems.append(FieldError("audience", "invalid", "服务对象应为 personal 或 enterprise",
                                   "audience must be personal or enterprise"))
    if region and not (region.isascii() and region.isdigit() and 2 <= len(region) <= 6):
        problems.append(FieldError("region", "invalid", "行政区划代码应为2至6位数字",
                                   "region must be a region code of 2 to 6 digits"))
    for name, value in (("department", department), ("theme", theme)):
        if value and (len(value) > 40 or not re.fullmatch(r"[A-Za-z0-9_-]+", value)):
            problems.append(FieldError(name, "invalid", f"{name} 格式不正确", f"{name} is not a valid code"))
    if problems:
        raise ValidationFailed(errors=problems)


def _answer(index: Any, q: str | None, filters: dict[str, str | None], page: int, page_size: int,
            locale: str) -> dict[str, Any]:
    # A query never finds nothing: when no item matches what was asked, the closest ones ("related").
    result = index.find(q, **filters, page=page, page_size=page_size)
    return {
        "items": [summary(item, locale) for item in result.items],
        "total": result.total,
        "page": page,
        "page_size": page_size,
        # False when a broad query matched more items than the engine reads per query (see
        # models/search.py): `total` then counts the best-ranked ones it read, not every match.
        "total_exact": result.total_exact,
        "match": result.match,
        "themes": [{"code": code, "name": text(index.theme_names.get(code), locale) or code}
                   for code in result.themes],
    }


async def search_catalogue(ctx: Context, *, q: str | None = None, department: str | None = None,
                           theme: str | None = None, audience: str | None = None, region: str | None = None,
                           page: int = 1, page_size: int = 20, locale: str = DEFAULT_LOCALE) -> dict[str, Any]:
    """Citizens' browse and search over published items; a query that matches nothing answers the
    closest items (`match` "related") and is logged."""
    from models import search  # the search engine reads the catalogue; import late to avoid a cycle
    _check_filters(q, audience, region, department, theme)
    index = await search.index_for(ctx)
    filters = {"department": department, "theme": theme, "audience": audience, "region": region}
    answer = _answer(index, q, filters, page, page_size, locale)
    if q and q.strip() and answer["match"] == "related":  # the catalogue missed it: operators should know
        await record_search_miss(ctx.db, q.strip(), now=ctx.clock())
    return answer


async def search_catalogue_body(ctx: Context, encode: Callable[[Any], bytes], *, q: str | None = None,
                                department: str | None = None, theme: str | None = None, audience: str | None = None,
                                region: str | None = None, page: int = 1, page_size: int = 20,
                                locale: str = DEFAULT_LOCALE) -> bytes:
    """`search_catalogue`'s answer encoded by `encode`, kept with the index that answered it (the
    most asked queries recur; a changed catalogue is a new index): the hot path of the citizens'
    first minute renders nothing twice. A related answer is still logged each time."""
    from models import search  # the search engine reads the catalogue; import late to avoid a cycle
    _check_filters(q, audience, region, department, theme)
    index = await search.index_for(ctx)
    filters = {"department": department, "theme": theme, "audience": audience, "region": region}

    def render() -> tuple[bytes, str]:
        answer = _answer(index, q, filters, page, page_size, locale)
        return encode(answer), answer["match"]

    body, match = index.kept(("search", q, *filters.values(), page, page_size, locale), render)
    if q and q.strip() and match == "related":
        await record_search_miss(ctx.db, q.strip(), now=ctx.clock())
    return body


SUGGEST_LIMIT = 10


async def suggest_services(ctx: Context, q: str | None, *, locale: str = DEFAULT_LOCALE,
                           allowed: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """Names and aliases of published items beginning with what the citizen has typed (characters,
    pinyin or initials), from the process's index: no datastore read per keystroke."""
    from models import search  # the search engine reads the catalogue; import late to avoid a cycle
    if q is not None and len(q) > 100:
        raise ValidationFailed(errors=[FieldError("q", "too_long", "搜索词不能超过100个字符",
                                                  "The query may have at most 100 characters")])
    if not q or not q.strip():
        return {"items": []}
    index = await search.index_for(ctx)
    return _suggestions(index, q.strip(), locale, allowed)


async def suggest_services_body(ctx: Context, q: str | None, encode: Callable[[Any], bytes], *,
                                locale: str = DEFAULT_LOCALE) -> bytes:
    """`suggest_services` for every published item, encoded by `encode` and kept with the index."""
    from models import search  # the search engine reads the catalogue; import late to avoid a cycle
    if q is not None and len(q) > 100 or not q or not q.strip():
        return encode(await suggest_services(ctx, q, locale=locale))
    index = await search.index_for(ctx)
    return index.kept(("suggest", q.strip(), locale), lambda: encode(_suggestions(index, q.strip(), locale, None)))


def _suggestions(index: Any, prefix: str, locale: str, allowed: Callable[[dict[str, Any]], bool] | None) -> dict[str, Any]:
    return {"items": [{"text": entry.text, "kind": entry.kind, "code": item["code"],
                       "name": text(item.get("name"), locale)}
                      for entry, item in index.suggest(prefix, SUGGEST_LIMIT, allowed)]}
