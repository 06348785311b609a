"""The read model (application + timeline) and the owner's bodies rendered from it, cached in Redis
and in each process."""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

from models import workdays
from models.applications.events import timeline
from models.applications.views import citizen_view, plain
from models.core import redisio
from models.core.context import Context
from models.core.redisio import mget_across_slots, tagged
from models.core.timezone import local_instant
from models.errors import NotFound
from models.localcache import LocalCache

log = logging.getLogger("citygate.applications")


# The read model (application + timeline) is cached at two levels. In Redis, shared by all workers:
# written through by every change and only ever replaced by a newer version (a slow reader cannot
# put an old one back); the TTL bounds staleness should a writer die before refreshing. And in each
# process (models.localcache), so a hot GET makes no round trip at all: every change evicts it here
# and, through pub/sub, on every other worker, after the Redis copy is updated, so the next read
# there finds the new state; the short TTL bounds staleness should a message be lost. When it runs
# out, the local copy is checked against the Redis text and kept, the same object, if that text is
# unchanged (no re-parsing, and the bodies rendered from it stay good); misses go to Redis, not to
# the datastore.
# Code outside this package that changes an application must call `forget`.
# Both keys of one application share the hash tag {number} (one slot on a Redis Cluster): the fill
# script, the MGET of both and the `forget` transaction each touch them together.
CACHE_PREFIX = "cg:application:"
GENERATION_PREFIX = "cg:application-gen:"
CACHE_TTL_SECONDS = 300
LOCAL_CACHE = "application-read-models"
LOCAL_CACHE_SECONDS = 30.0  # backstop for a lost invalidation message only (docs/applications.md)
LOCAL_CACHE_ENTRIES = 10_000
# Store ARGV[2] as version ARGV[1] unless a newer version is cached, or `forget` ran since the caller
# read the generation (ARGV[4]) before reading the datastore: then what it read may be stale.
_FILL = """
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[4] then return 0 end
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+)|'))
  if version and version >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
"""


def _cache_key(no: str) -> str:
    return tagged(CACHE_PREFIX, no)


def _generation_key(no: str) -> str:
    return tagged(GENERATION_PREFIX, no)


async def cache_generation(ctx: Context, no: str) -> str | None:
    """The application's cache generation (None when Redis is unavailable: then nothing is cached)."""
    try:
        return await ctx.redis.get(_generation_key(no)) or ""
    except RedisError:
        return None


async def remember(ctx: Context, application: dict[str, Any], events: list[dict[str, Any]],
                   generation: str | None) -> str | None:
    """Offer the read model to the Redis copy (see _FILL); the text stored, or None if it was refused."""
    if generation is None:
        return None
    payload = json.dumps({"application": plain(application), "events": plain(events)}, ensure_ascii=False, default=str)
    no = application["_id"]
    try:
        stored = await ctx.redis.eval(_FILL, 2, _cache_key(no), _generation_key(no), application["version"],
                                      payload, CACHE_TTL_SECONDS, generation)
    except RedisError:
        log.warning("application cache unavailable; reading from the datastore")
        return None
    return f"{application['version']}|{payload}" if stored == 1 else None


def _local(ctx: Context) -> LocalCache:
    return ctx.caches.cache(LOCAL_CACHE, LOCAL_CACHE_ENTRIES, LOCAL_CACHE_SECONDS)


async def changed_everywhere(ctx: Context, no: str) -> None:
    """Evict every worker's local copies; call it once the Redis copy is new or gone.

    The read model goes first, then the bodies rendered from it: a body rendered between the two
    evictions is either refused (its epoch predates the second) or evicted by the second.
    """
    await ctx.caches.invalidate(LOCAL_CACHE, [no])
    await ctx.caches.invalidate(RENDERED_CACHE, [_rendered_key(no, locale) for locale in RENDERED_LOCALES])


PENDING_FORGETS = "application-pending-forgets"  # ctx.extras: numbers whose `forget` Redis missed


async def forget(ctx: Context, no: str) -> None:
    """Drop the cached read model of one application; call it after changing the application outside
    this package (fills based on reads from before this call are refused, so nothing stale comes back).

    Never fails for Redis: the change it follows is stored already (a payment callback must go on to
    its outbox record). With Redis away nobody reads its copy; the number is kept and dropped again
    by `renew_read_models` once Redis answers, so a copy that outlived the outage goes within seconds."""
    try:
        await _drop_shared_copy(ctx, no)
    except redisio.UNREACHABLE:
        log.warning("application cache unavailable; its copy is dropped when Redis is back")
        ctx.extras.setdefault(PENDING_FORGETS, set()).add(no)
    await changed_everywhere(ctx, no)


async def _drop_shared_copy(ctx: Context, no: str) -> None:
    async with ctx.redis.pipeline(transaction=True) as pipe:
        pipe.incr(_generation_key(no))
        pipe.expire(_generation_key(no), 24 * 3600)
        pipe.delete(_cache_key(no))
        await pipe.execute()


async def retry_pending_forgets(ctx: Context) -> int:
    """Drop the Redis copies that `forget` could not reach; return how many are still pending."""
    pending: set[str] = ctx.extras.get(PENDING_FORGETS) or set()
    for no in sorted(pending):
        try:
            await _drop_shared_copy(ctx, no)
        except redisio.UNREACHABLE:
            break
        pending.discard(no)
        await changed_everywhere(ctx, no)
    return len(pending)


async def read_model(ctx: Context, no: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """(application, timeline) from the caches, else from the datastore (and then cached); None if unknown.

    Datetimes come back as ISO strings from the cache; the views render both forms alike. The
    result may be shared with other requests: read it, never change it.
    """
    if not isinstance(no, str) or not no or len(no) > 64:
        return None
    local = _local(ctx)
    copy = local.get(no)
    if copy is None:
        epoch = local.epoch  # a change heard while we read below makes what we read unfit to keep
        copy = await _shared_read_model(ctx, no, local.last_known(no))
        local.put(no, copy, epoch)
    return None if copy is None else copy.model


@dataclasses.dataclass(frozen=True, eq=False)
class LocalCopy:
    """A read model as this process holds it, with the Redis text it matches (None when unknown)."""

    model: tuple[dict[str, Any], list[dict[str, Any]]]
    source: str | None


async def _shared_read_model(ctx: Context, no: str, previous: LocalCopy | None) -> LocalCopy | None:
    """The read model from the Redis copy, else from the datastore (and then copied). When the Redis
    text is the one `previous` was parsed from, nothing has changed since: `previous` itself comes
    back, and with it the bodies rendered from it stay servable."""
    try:
        cached, generation = await ctx.redis.mget(_cache_key(no), _generation_key(no))
        generation = generation or ""
    except RedisError:
        cached, generation = None, None
    if cached:
        if previous is not None and previous.source == cached:
            return previous
        found = json.loads(cached.partition("|")[2])
        return LocalCopy((found["application"], found["events"]), cached)
    application = await ctx.db.applications.find_one({"_id": no})
    if application is None:
        return None
    events = await timeline(ctx.db, no, up_to=application["version"])
    return LocalCopy((application, events), await remember(ctx, application, events, generation))


async def renew_read_models(ctx: Context) -> int:
    """Periodic, in every worker, more often than every LOCAL_CACHE_SECONDS / 2 (server/registry.py):
    check the read models read lately whose lifetime ends within half of it against the Redis text,
    all in one MGET, and keep the unchanged ones, the same objects, for another lifetime (the bodies
    rendered from them stay servable); changed or missing ones are left to expire. So a read of a
    hot application never waits for that check on its own path. Return how many were kept."""
    if ctx.extras.get(PENDING_FORGETS):
        await retry_pending_forgets(ctx)
    local = _local(ctx)
    due = [(no, copy) for no, copy in local.renewable(LOCAL_CACHE_SECONDS / 2) if copy.source is not None]
    if not due:
        return 0
    epoch = local.epoch  # a change heard meanwhile: keep nothing from this round
    try:
        texts = await mget_across_slots(ctx.redis, [_cache_key(no) for no, _ in due])  # many slots
    except RedisError:
        return 0
    return sum(local.put(no, copy, epoch) for (no, copy), text in zip(due, texts, strict=True) if text == copy.source)


# The owner's view, rendered and encoded, per (number, locale), in each process: a hot GET then does
# no masking, date conversion, deadline arithmetic or JSON encoding. A body is served only while the
# very read model it was rendered from is still this process's copy (live, or found unchanged in Redis
# when its lifetime ran out), so it is never staler than that copy; it is also evicted by the same
# messages (`changed_everywhere`), lives at most RENDERED_SECONDS, and never past the next instant at
# which its time-dependent fields (deadline `days_left`, `overdue`) could change: the next Shanghai
# midnight, or the close of business of the due date. The caller is checked against the owner in
# that read model before anything is written.
RENDERED_CACHE = "application-citizen-bodies"
RENDERED_SECONDS = 600.0
RENDERED_ENTRIES = 20_000
RENDERED_LOCALES = ("zh-CN", "en")


@dataclasses.dataclass(frozen=True)
class RenderedView:
    """An owner's view as encoded once, with the read model it came from and how long it holds."""

    body: bytes
    model: tuple[dict[str, Any], list[dict[str, Any]]]  # the read model it was rendered from
    rendered_at: datetime.datetime
    fresh_until: datetime.datetime


def _rendered_key(no: str, locale: str) -> str:
    return f"{no}|{locale}"


def _rendered(ctx: Context) -> LocalCache:
    return ctx.caches.cache(RENDERED_CACHE, RENDERED_ENTRIES, RENDERED_SECONDS)


def view_fresh_until(application: dict[str, Any], now: datetime.datetime) -> datetime.datetime:
    """The first instant after `now` at which the application's view could read differently by time
    alone (capped at RENDERED_SECONDS from now)."""
    until = min(now + datetime.timedelta(seconds=RENDERED_SECONDS),
                local_instant(workdays.local_date(now) + datetime.timedelta(days=1)))
    record = application.get("deadline") or {}
    if record.get("due_date") and not record.get("finished_on") and not record.get("paused_on"):
        closing = workdays.close_of_business(datetime.date.fromisoformat(str(record["due_date"])[:10]))
        if closing >= now:
            until = min(until, closing)
    return until


async def citizen_body(ctx: Context, citizen_id: str, no: str, locale: str,
                       encode: Callable[[Any], bytes]) -> bytes:
    """`get_for_citizen` encoded by `encode` (the handler's JSON), from this process's memory when fresh."""
    locale = "en" if locale == "en" else "zh-CN"
    key = _rendered_key(no, locale) if isinstance(no, str) else ""
    cache = _rendered(ctx)
    hit = cache.get(key) if key else None
    epoch = cache.epoch  # an eviction while we read and render makes the result unfit to keep
    found = await read_model(ctx, no)  # this process's copy when live: no round trip
    if found is None or found[0]["citizen_id"] != citizen_id:
        raise NotFound("application_not_found", "未找到该办件", "Application not found")
    now = ctx.clock()
    if hit is not None and hit.model is found and hit.rendered_at <= now < hit.fresh_until:
        return hit.body
    body = encode(citizen_view(*found, now, locale))
    cache.put(key, RenderedView(body, found, now, view_fresh_until(found[0], now)), epoch)
    return body
