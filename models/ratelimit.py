"""Fixed-window rate limits in Redis, shared by every worker process."""

from __future__ import annotations

from redis.asyncio import Redis

from models.errors import RateLimited


async def hit(redis: Redis, key: str, limit: int, window_seconds: int) -> tuple[bool, int]:
    """Count one attempt under `key`; return (allowed, seconds until the window resets)."""
    full_key = f"cg:rl:{key}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(full_key)
        pipe.expire(full_key, window_seconds, nx=True)
        pipe.ttl(full_key)
        count, _, ttl = await pipe.execute()
    return count <= limit, max(1, int(ttl if ttl and ttl > 0 else window_seconds))


async def enforce(redis: Redis, key: str, limit: int, window_seconds: int,
                  code: str = "rate_limited", zh: str | None = None, en: str | None = None) -> None:
    """Raise RateLimited (429 with Retry-After) once `key` went over `limit` in its window."""
    allowed, retry_after = await hit(redis, key, limit, window_seconds)
    if not allowed:
        raise RateLimited(code, zh, en, retry_after=retry_after)
