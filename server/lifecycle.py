"""Start-up and shutdown steps shared by the server process and the tests."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from pathlib import Path

from config.settings import Settings
from server.context import AppContext
from server.embedded import EmbeddedMongo, EmbeddedRedis, EmbeddedServer
from server.registry import DEMO_MODULES, INDEX_MODULES, load

log = logging.getLogger("citygate.lifecycle")


def event_loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """How to make the event loop to run on (Settings.event_loop): "uvloop", libuv under the same
    asyncio API that Tornado, PyMongo and redis-py use, serves about 10% more requests per core than
    the standard library's loop ("asyncio")."""
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def start_backing_servers(settings: Settings) -> tuple[str, str, list[EmbeddedServer]]:
    """Return MongoDB and Redis URLs, starting embedded servers for those not configured."""
    started: list[EmbeddedServer] = []
    mongodb_url, redis_url = settings.mongodb_url, settings.redis_url
    data_dir = Path(settings.data_dir)
    try:
        if not mongodb_url:
            mongo = EmbeddedMongo(data_dir).start()
            started.append(mongo)
            mongodb_url = mongo.url
        if not redis_url:
            # Persisted under data_dir/redis: a restart of `make run` keeps sessions and rate limits,
            # as the embedded datastore keeps its data.
            redis = EmbeddedRedis(data_dir, persist=True).start()
            started.append(redis)
            redis_url = redis.url
    except Exception:
        stop_backing_servers(started)
        raise
    return mongodb_url, redis_url, started


def stop_backing_servers(servers: list[EmbeddedServer]) -> None:
    for server in reversed(servers):
        server.stop()


async def ensure_indexes(ctx: AppContext) -> None:
    """Create every collection's indexes; safe to run at every start (create_index is idempotent)."""
    for name in INDEX_MODULES:
        await load(name).ensure_indexes(ctx.db)


async def load_demo_data(ctx: AppContext) -> None:
    """Load the demo catalogue, channels and accounts (idempotent upserts)."""
    for name in DEMO_MODULES:
        loader = load(name).load_demo
        first = next(iter(inspect.signature(loader).parameters), "ctx")
        await loader(ctx.db if first == "db" else ctx)
        log.info("demo data loaded: %s", name)
