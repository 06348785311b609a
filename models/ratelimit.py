"""Fixed-window rate limits in Redis, shared by every worker process (and every instance on that Redis).

Each limit is one key (`cg:rl:<name>`, counted and given its window in one transaction), so it lives
in one slot of a Redis Cluster. While Redis is unreachable a limit either fails closed (the caller
answers 503: logins, submissions, anything that needs Redis anyway) or, with `degrade=True`, counts
in this process's memory instead: public reads that work without Redis (progress lookups) stay
limited, at most `limit` per worker process and window, until Redis is back.
"""

from __future__ import annotations

import collections
import time

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from models.core import redisio
from models.errors import RateLimited


async def hit(redis: Redis | RedisCluster, key: str, limit: int, window_seconds: int) -> tuple[bool, int]:
    """Count one attempt under `key`; return (allowed, seconds until the window resets)."""
    full_key = f"cg:rl:{key}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(full_key)
        pipe.expire(full_key, window_seconds, nx=True)
        pipe.ttl(full_key)
        count, _, ttl = await pipe.execute()
    return count <= limit, max(1, int(ttl if ttl and ttl > 0 else window_seconds))


class LocalWindows:
    """The stand-in while Redis is away: fixed windows in this process's memory, bounded in size."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._windows: collections.OrderedDict[str, list[float]] = collections.OrderedDict()  # key -> [ends, count]

    def hit(self, key: str, limit: int, window_seconds: int) -> tuple[bool, int]:
        now = time.monotonic()
        window = self._windows.get(key)
        if window is None or window[0] <= now:
            window = self._windows[key] = [now + window_seconds, 0]
        self._windows.move_to_end(key)
        window[1] += 1
        while len(self._windows) > self.max_keys:
            self._windows.popitem(last=False)
        return window[1] <= limit, max(1, int(window[0] - now))


_local = LocalWindows()


async def enforce(redis: Redis | RedisCluster, key: str, limit: int, window_seconds: int,
                  code: str = "rate_limited", zh: str | None = None, en: str | None = None,
                  *, degrade: bool = False) -> None:
    """Raise RateLimited (429 with Retry-After) once `key` went over `limit` in its window.

    Redis unreachable: re-raised (the caller answers 503), or with `degrade` counted in this process."""
    try:
        allowed, retry_after = await hit(redis, key, limit, window_seconds)
    except redisio.UNREACHABLE:
        if not degrade:
            raise
        allowed, retry_after = _local.hit(key, limit, window_seconds)
    if not allowed:
        raise RateLimited(code, zh, en, retry_after=retry_after)
