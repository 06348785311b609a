"""Lockout with back-off: repeated wrong logins lock a username for a while, longer each time.

Per username (known or not, so the answer reveals nothing about which exist), in Redis so every
worker sees it. The 5th consecutive failure locks the username for 1 minute; every failure after a
lock ends locks it again for twice as long (2, 4, 8 ... minutes, at most an hour); a successful
login forgets it all. Times come from `ctx.clock()` (the key's own expiry only clears old entries).
"""

from __future__ import annotations

import datetime
import hashlib
import math

from models.core.context import Context
from models.core.timezone import local_iso
from models.errors import RateLimited

THRESHOLD = 5
FIRST_LOCK_SECONDS = 60
MAX_LOCK_SECONDS = 3600
FORGET_AFTER_SECONDS = 24 * 3600  # a day without failures starts over
_PREFIX = "cg:op-lock:"


def _key(username: str) -> str:
    return _PREFIX + hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def _locked(ctx: Context, until: float) -> RateLimited:
    now = ctx.clock().timestamp()
    seconds = max(1, math.ceil(until - now))
    moment = datetime.datetime.fromtimestamp(until, datetime.UTC)
    return RateLimited("operator_locked", f"登录失败次数过多，账号已临时锁定，请在 {seconds} 秒后再试",
                       f"Too many failed logins; this account is locked for {seconds} more seconds",
                       retry_after=seconds, extra={"retry_after_seconds": seconds, "locked_until": local_iso(moment)})


async def check(ctx: Context, username: str) -> None:
    """Raise 429 operator_locked (with Retry-After) while `username` is locked."""
    until = await ctx.redis.hget(_key(username), "until")
    if until is not None and float(until) > ctx.clock().timestamp():
        raise _locked(ctx, float(until))


# One step, so that concurrent failures lock once: a failure arriving while a lock holds (it passed
# `check` just before another failure set the lock) neither raises the level nor extends the lock.
_FAIL = """
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
if failures < tonumber(ARGV[2]) then return '' end
local now = tonumber(ARGV[3])
local current = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if current > now then return tostring(current) end
local level = redis.call('HINCRBY', KEYS[1], 'level', 1)
local seconds = math.min(tonumber(ARGV[5]), tonumber(ARGV[4]) * 2 ^ (level - 1))
redis.call('HSET', KEYS[1], 'until', tostring(now + seconds))
return tostring(now + seconds)
"""


async def failed(ctx: Context, username: str) -> None:
    """Count a failed login; raise 429 operator_locked when the username is now locked."""
    until = await ctx.redis.eval(_FAIL, 1, _key(username), FORGET_AFTER_SECONDS, THRESHOLD,
                                 repr(ctx.clock().timestamp()), FIRST_LOCK_SECONDS, MAX_LOCK_SECONDS)
    if until:
        raise _locked(ctx, float(until))


async def succeeded(ctx: Context, username: str) -> None:
    """A correct login: forget the failures and the back-off."""
    await ctx.redis.delete(_key(username))


async def release(ctx: Context, username: str) -> None:
    """Unlock at once (an operator manager's decision)."""
    await ctx.redis.delete(_key(username))
