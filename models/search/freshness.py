"""Keeping each process's index fresh.

Several worker processes each hold their own index. A write that changes what is published calls
`catalogue_changed`, which bumps this process's generation (rebuild at the next query) and the Redis
counter `catalogue:version`; the other processes look at that counter at most once a second and
rebuild when it moved.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from models.core.context import Context
from models.search.index import SearchIndex

log = logging.getLogger("citygate.search")

VERSION_KEY = "catalogue:version"
CHECK_INTERVAL_SECONDS = 1.0

_local_generation: dict[str, int] = {}


async def catalogue_changed(db: Any, redis: Any = None) -> None:
    """Published items changed: rebuild here at the next query, and tell the other processes."""
    name = getattr(db, "name", str(db))
    _local_generation[name] = _local_generation.get(name, 0) + 1
    if redis is not None:
        try:
            await redis.incr(VERSION_KEY)
        except Exception as exc:  # noqa: BLE001 - other processes catch up when Redis is back
            log.warning("could not bump %s: %s", VERSION_KEY, exc)


class CatalogueSearch:
    """One process's index over one database's published items."""

    def __init__(self, check_interval: float = CHECK_INTERVAL_SECONDS) -> None:
        self.check_interval = check_interval
        self._index: SearchIndex | None = None
        self._generation = -1
        self._version: str | None = None
        self._checked_at = 0.0
        self._lock = asyncio.Lock()
        self.builds = 0

    async def index(self, db: Any, redis: Any = None) -> SearchIndex:
        """The current index, rebuilt when this process or (checked at most once a second) any
        other process changed the published catalogue."""
        name = getattr(db, "name", str(db))
        if self._index is not None and self._generation == _local_generation.get(name, 0):
            now = time.monotonic()
            if redis is None or now - self._checked_at < self.check_interval:
                return self._index
            self._checked_at = now
            version = await self._read_version(redis)
            if version == self._version:
                return self._index
        async with self._lock:
            generation = _local_generation.get(name, 0)
            version = await self._read_version(redis) if redis is not None else None
            if self._index is None or generation != self._generation or version != self._version:
                self._index = await self._build(db)
                self._generation, self._version = generation, version
                self._checked_at = time.monotonic()
                self.builds += 1
        return self._index

    @staticmethod
    async def _read_version(redis: Any) -> str | None:
        try:
            value = await redis.get(VERSION_KEY)
        except Exception as exc:  # noqa: BLE001 - serve the index we have while Redis is away
            log.warning("could not read %s: %s", VERSION_KEY, exc)
            return None
        return value.decode() if isinstance(value, bytes) else value

    @staticmethod
    async def _build(db: Any) -> SearchIndex:
        items = await db.services.find({"status": "published"}, {"_id": 0}).to_list(None)
        departments = {d["code"]: d.get("name") for d in await db.departments.find({}, {"_id": 0}).to_list(None)}
        themes = {t["code"]: t.get("name") for t in await db.themes.find({}, {"_id": 0}).to_list(None)}
        regions = {r["code"]: r.get("name") for r in await db.regions.find({}, {"_id": 0}).to_list(None)}
        started = time.perf_counter()
        index = await asyncio.to_thread(SearchIndex.build, items, departments=departments, themes=themes,
                                        regions=regions)
        log.info("search index built: %d items in %.0f ms", len(index), (time.perf_counter() - started) * 1000)
        return index


async def index_for(ctx: Context) -> SearchIndex:
    """The search index of this app (kept in `ctx.extras`)."""
    holder = ctx.extras.get("catalogue_search")
    if holder is None:
        holder = ctx.extras.setdefault("catalogue_search", CatalogueSearch())
    return await holder.index(ctx.db, ctx.redis)


async def keep_fresh(ctx: Context) -> None:
    """Background task: build the index at start-up and follow catalogue changes, so no citizen's
    search waits for a (re)build."""
    await index_for(ctx)
