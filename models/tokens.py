"""Bearer tokens: opaque random strings whose state lives in Redis, and rotating refresh tokens.

Opaque tokens (not self-contained JWTs) can be revoked on every worker: deleting the Redis key is
the revocation. Only a SHA-256 of a token is stored, so a Redis dump leaks no token.

Sessions (citizens) pair a short-lived access token with a refresh token. Refresh tokens rotate:
each use returns a new one and retires the old. All tokens descending from one login form a
*family* (MongoDB `refresh_families`; each token digest in `refresh_tokens`). Presenting a retired
refresh token means two parties hold the family (a stolen token), so the whole family is revoked,
its access tokens included (Redis keeps each family's access-token digests for that).

Every authenticated request resolves its token, so each process keeps what it resolved for at most
`TOKEN_CACHE_SECONDS` (models.localcache) instead of asking Redis each time. Every revocation
deletes the Redis keys first, then evicts the digests here and, through pub/sub, on every other
worker; should that message be lost, the TTL still ends the token everywhere within a second
(issue 3). Unknown tokens are never cached, so a token just issued works at once.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import logging
import secrets
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from models.core import redisio
from models.core.context import Context
from models.core.timezone import as_utc
from models.errors import Unauthorized
from models.localcache import LocalCache

log = logging.getLogger("citygate.tokens")

ACCESS_PREFIX = "cg:at:"
SUBJECT_PREFIX = "cg:at-of:"
FAMILY_PREFIX = "cg:at-fam:"
TOKEN_CACHE = "access-tokens"
TOKEN_CACHE_SECONDS = 0.5
TOKEN_CACHE_ENTRIES = 20_000


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who is calling: a citizen or an operator."""

    kind: str  # "citizen" | "operator"
    subject_id: str
    roles: tuple[str, ...] = ()
    family_id: str = ""  # refresh-token family this access token came from
    department: str = ""  # operators: the department they act for ("" = all)
    region_code: str = ""  # operators: the region they act in, with everything under it ("" = all)
    channel: str = ""  # citizens: app id of the channel they logged in through (models.exposure)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> Principal:
        data = json.loads(raw)
        data["roles"] = tuple(data.get("roles", ()))
        return cls(**data)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_access_token(redis: Redis | RedisCluster, principal: Principal, ttl_seconds: int) -> str:
    """Create an access token for `principal` that expires after `ttl_seconds`."""
    token = "at_" + secrets.token_urlsafe(32)
    digest = token_digest(token)
    # Index by subject so logout-everywhere and operator revocation can find every token, and by
    # family so revoking the refresh family can. The three keys belong to three things (and so to
    # three slots of a Redis Cluster: no transaction spans them), hence the order: indexes first,
    # then the token, so a token never lives where revocation cannot find it.
    indexes = [SUBJECT_PREFIX + f"{principal.kind}:{principal.subject_id}"]
    if principal.family_id:
        indexes.append(FAMILY_PREFIX + principal.family_id)
    async with redis.pipeline(transaction=False) as pipe:
        for index in indexes:
            pipe.sadd(index, digest)
            pipe.expire(index, ttl_seconds)
        await pipe.execute()
    await redis.set(ACCESS_PREFIX + digest, principal.to_json(), ex=ttl_seconds)
    return token


def _resolved(ctx: Context) -> LocalCache:
    return ctx.caches.cache(TOKEN_CACHE, TOKEN_CACHE_ENTRIES, TOKEN_CACHE_SECONDS)


async def resolve_access_token(ctx: Context, token: str) -> Principal | None:
    """Who holds `token`, or None when it is unknown, expired or revoked."""
    digest = token_digest(token)
    cache = _resolved(ctx)
    principal = cache.get(digest)
    if principal is not None:
        return principal
    epoch = cache.epoch
    raw = await ctx.redis.get(ACCESS_PREFIX + digest)
    if not raw:
        return None
    principal = Principal.from_json(raw)
    cache.put(digest, principal, epoch)  # refused if a revocation was heard meanwhile
    return principal


async def _forget_resolved(ctx: Context, digests: list[str]) -> None:
    """After the Redis keys are gone: drop the digests from every worker's cache."""
    await ctx.caches.invalidate(TOKEN_CACHE, digests)


async def revoke_access_token(ctx: Context, token: str) -> None:
    digest = token_digest(token)
    await ctx.redis.delete(ACCESS_PREFIX + digest)
    await _forget_resolved(ctx, [digest])


async def revoke_subject(ctx: Context, kind: str, subject_id: str) -> int:
    """Revoke every access token of one citizen or operator; return how many were live."""
    key = SUBJECT_PREFIX + f"{kind}:{subject_id}"
    digests = sorted(await ctx.redis.smembers(key))
    if not digests:
        return 0
    removed = await ctx.redis.delete(*(ACCESS_PREFIX + d for d in digests))
    await ctx.redis.delete(key)
    await _forget_resolved(ctx, digests)
    return int(removed)


# ---- refresh-token families (MongoDB) ------------------------------------------------------------
REFRESH_TOKEN_PREFIX = "rt_"


@dataclasses.dataclass(frozen=True)
class TokenPair:
    """What a login or a refresh hands the client."""

    access_token: str = dataclasses.field(repr=False)
    refresh_token: str = dataclasses.field(repr=False)
    expires_in: int
    refresh_expires_in: int
    family_id: str

    def to_json(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "token_type": "Bearer", "expires_in": self.expires_in,
                "refresh_token": self.refresh_token, "refresh_expires_in": self.refresh_expires_in}


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.refresh_families.create_index([("subject_kind", 1), ("subject_id", 1)])
    await db.refresh_tokens.create_index("family_id")
    # Expired records only serve reuse detection for a while; let the datastore drop them later.
    await db.refresh_families.create_index("purge_after", expireAfterSeconds=0)
    await db.refresh_tokens.create_index("purge_after", expireAfterSeconds=0)


def _seconds_until(moment: datetime.datetime, now: datetime.datetime) -> int:
    return max(0, int((moment - now).total_seconds()))


async def _store_refresh_token(db: AsyncDatabase, family_id: str, now: datetime.datetime,
                               expires_at: datetime.datetime) -> str:
    token = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
    await db.refresh_tokens.insert_one({
        "_id": token_digest(token), "family_id": family_id, "issued_at": now, "used_at": None,
        "expires_at": expires_at, "purge_after": expires_at + datetime.timedelta(days=7)})
    return token


async def _issue_in_family(ctx: Context, family: dict[str, Any], now: datetime.datetime,
                           recheck: bool = True) -> TokenPair:
    """A new refresh token and access token in `family`; refused if the family got revoked meanwhile."""
    principal = Principal(family["subject_kind"], family["subject_id"], tuple(family.get("roles", ())),
                          family_id=family["_id"], department=family.get("department", ""),
                          region_code=family.get("region_code", ""), channel=family.get("channel", ""))
    access_ttl = ctx.settings.access_token_ttl_seconds
    # Redis first: should it be unreachable (503), no refresh token (nor, for a login, family) is stored.
    access = await issue_access_token(ctx.redis, principal, access_ttl)
    if not recheck:  # a login: its family is stored only now that its access token exists
        await ctx.db.refresh_families.insert_one(family)
    refresh = await _store_refresh_token(ctx.db, family["_id"], now, family["expires_at"])
    # A revocation that ran between our family check and the access token's creation would have
    # missed that token; look again now that it exists (revocation sets revoked_at first). A brand
    # new family needs no second look: a login is a fresh proof, later than any revocation.
    current = await ctx.db.refresh_families.find_one({"_id": family["_id"]}, {"revoked_at": 1}) if recheck else family
    if current is None or current.get("revoked_at") is not None:
        await revoke_access_token(ctx, access)
        raise Unauthorized("session_revoked", "登录状态已失效，请重新登录", "This session was revoked; please log in again")
    return TokenPair(access, refresh, access_ttl, _seconds_until(family["expires_at"], now), family["_id"])


async def start_session(ctx: Context, principal: Principal) -> TokenPair:
    """A new token family for `principal` (one login): access token plus refresh token."""
    now = ctx.clock()
    expires_at = now + datetime.timedelta(seconds=ctx.settings.refresh_token_ttl_seconds)
    family = {
        "_id": "fam_" + secrets.token_urlsafe(12), "subject_kind": principal.kind,
        "subject_id": principal.subject_id, "roles": list(principal.roles), "department": principal.department,
        "region_code": principal.region_code, "channel": principal.channel,
        "created_at": now, "expires_at": expires_at, "revoked_at": None, "rotations": 0,
        "purge_after": expires_at + datetime.timedelta(days=7),
    }
    return await _issue_in_family(ctx, family, now, recheck=False)


# How long after a rotation presenting the old refresh token again counts as the same client's
# concurrent retry rather than reuse. Replays later than this revoke the whole family.
CONCURRENT_REFRESH_GRACE = datetime.timedelta(seconds=2)


async def rotate_refresh_token(ctx: Context, presented: str) -> TokenPair:
    """Exchange a refresh token for a new pair; a reused (already rotated) token revokes its family."""
    if not isinstance(presented, str) or not presented.startswith(REFRESH_TOKEN_PREFIX):
        raise Unauthorized("refresh_token_invalid", "刷新令牌无效，请重新登录", "Invalid refresh token; please log in again")
    digest = token_digest(presented)
    now = ctx.clock()
    # Marking the token used is the atomic step: of two concurrent refreshes only one matches.
    record = await ctx.db.refresh_tokens.find_one_and_update(
        {"_id": digest, "used_at": None}, {"$set": {"used_at": now}}, return_document=ReturnDocument.AFTER)
    if record is None:
        known = await ctx.db.refresh_tokens.find_one({"_id": digest}, {"family_id": 1, "rotated": 1, "used_at": 1})
        if known is None:
            raise Unauthorized("refresh_token_invalid", "刷新令牌无效，请重新登录",
                               "Invalid refresh token; please log in again")
        if not known.get("rotated") or now - as_utc(known["used_at"]) < CONCURRENT_REFRESH_GRACE:
            # A double tap: the same client racing itself moments after (or while) the winner rotated.
            # That is not a stolen token, so the session the winner just renewed must survive.
            raise Unauthorized("refresh_token_used", "该刷新令牌正在使用中，请使用最新的登录凭证",
                               "This refresh token is being exchanged; use the newest tokens")
        revoked = await revoke_family(ctx, known["family_id"], "refresh_token_reuse")
        log.warning("refresh token reused: family %s revoked (%d access tokens)", known["family_id"], revoked)
        raise Unauthorized("refresh_token_reused", "检测到登录凭证被重复使用，已注销该登录，请重新登录",
                           "This refresh token was already used; the session is revoked for safety. Please log in again")
    if record["expires_at"] <= now:
        raise Unauthorized("refresh_token_expired", "登录已过期，请重新登录", "Session expired; please log in again")
    family = await ctx.db.refresh_families.find_one_and_update(
        {"_id": record["family_id"], "revoked_at": None, "expires_at": {"$gt": now}},
        {"$set": {"last_rotated_at": now}, "$inc": {"rotations": 1}}, return_document=ReturnDocument.AFTER)
    if family is None:
        raise Unauthorized("session_revoked", "登录状态已失效，请重新登录", "This session was revoked; please log in again")
    try:
        pair = await _issue_in_family(ctx, family, now)
    except redisio.UNREACHABLE:
        # Nothing was issued (503): give the presented token back, so the client's retry rotates it
        # once Redis is back instead of finding it used.
        await ctx.db.refresh_tokens.update_one({"_id": digest, "used_at": now}, {"$set": {"used_at": None}})
        raise
    # From now on presenting this token again is reuse (theft or replay): it revokes the family.
    await ctx.db.refresh_tokens.update_one({"_id": digest}, {"$set": {"rotated": True}})
    return pair


async def _revoke_family_access_tokens(ctx: Context, family_id: str) -> int:
    digests = sorted(await ctx.redis.smembers(FAMILY_PREFIX + family_id))
    removed = await ctx.redis.delete(*(ACCESS_PREFIX + d for d in digests)) if digests else 0
    await ctx.redis.delete(FAMILY_PREFIX + family_id)
    await _forget_resolved(ctx, digests)
    return int(removed)


async def revoke_family(ctx: Context, family_id: str, reason: str) -> int:
    """Revoke one login's refresh tokens and its live access tokens; return how many access tokens died."""
    await ctx.db.refresh_families.update_one(
        {"_id": family_id, "revoked_at": None}, {"$set": {"revoked_at": ctx.clock(), "revoked_reason": reason}})
    return await _revoke_family_access_tokens(ctx, family_id)


async def revoke_all_sessions(ctx: Context, kind: str, subject_id: str, reason: str) -> dict[str, int]:
    """Log a citizen (or operator) out everywhere: every family, every access token."""
    families = [doc["_id"] async for doc in ctx.db.refresh_families.find(
        {"subject_kind": kind, "subject_id": subject_id, "revoked_at": None}, {"_id": 1})]
    if families:
        await ctx.db.refresh_families.update_many(
            {"_id": {"$in": families}, "revoked_at": None},
            {"$set": {"revoked_at": ctx.clock(), "revoked_reason": reason}})
    access = 0
    for family_id in families:
        access += await _revoke_family_access_tokens(ctx, family_id)
    access += await revoke_subject(ctx, kind, subject_id)
    return {"sessions": len(families), "access_tokens": access}


async def logout(ctx: Context, principal: Principal, access_token: str, refresh_token: str | None = None,
                 everywhere: bool = False) -> dict[str, int]:
    """End the caller's session (its whole family), or every session with `everywhere`."""
    if everywhere:
        return await revoke_all_sessions(ctx, principal.kind, principal.subject_id, "logout_everywhere")
    sessions, access = 0, 0
    families = {principal.family_id} if principal.family_id else set()
    if refresh_token:
        record = await ctx.db.refresh_tokens.find_one({"_id": token_digest(refresh_token)}, {"family_id": 1})
        if record is not None:
            owner = await ctx.db.refresh_families.find_one({"_id": record["family_id"]}, {"subject_id": 1})
            if owner is not None and owner["subject_id"] == principal.subject_id:  # only one's own
                families.add(record["family_id"])
    for family_id in families:
        access += await revoke_family(ctx, family_id, "logout")
        sessions += 1
    await revoke_access_token(ctx, access_token)  # also when it belongs to no family
    return {"sessions": sessions, "access_tokens": access}
