"""Bearer tokens: opaque random strings whose state lives in Redis.

Opaque tokens (not self-contained JWTs) make revocation immediate on every worker: deleting the
Redis key is the revocation. Only a SHA-256 of a token is stored, so a Redis dump leaks no token.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets

from redis.asyncio import Redis

ACCESS_PREFIX = "cg:at:"
SUBJECT_PREFIX = "cg:at-of:"


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who is calling: a citizen or an operator."""

    kind: str  # "citizen" | "operator"
    subject_id: str
    roles: tuple[str, ...] = ()
    family_id: str = ""  # refresh-token family this access token came from
    department: str = ""  # operators: the department they act for ("" = all)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> Principal:
        data = json.loads(raw)
        data["roles"] = tuple(data.get("roles", ()))
        return cls(**data)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_access_token(redis: Redis, principal: Principal, ttl_seconds: int) -> str:
    """Create an access token for `principal` that expires after `ttl_seconds`."""
    token = "at_" + secrets.token_urlsafe(32)
    digest = token_digest(token)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(ACCESS_PREFIX + digest, principal.to_json(), ex=ttl_seconds)
        # Index by subject so logout-everywhere and operator revocation can find every token.
        pipe.sadd(SUBJECT_PREFIX + f"{principal.kind}:{principal.subject_id}", digest)
        pipe.expire(SUBJECT_PREFIX + f"{principal.kind}:{principal.subject_id}", ttl_seconds)
        await pipe.execute()
    return token


async def resolve_access_token(redis: Redis, token: str) -> Principal | None:
    raw = await redis.get(ACCESS_PREFIX + token_digest(token))
    return Principal.from_json(raw) if raw else None


async def revoke_access_token(redis: Redis, token: str) -> None:
    await redis.delete(ACCESS_PREFIX + token_digest(token))


async def revoke_subject(redis: Redis, kind: str, subject_id: str) -> int:
    """Revoke every access token of one citizen or operator; return how many were live."""
    key = SUBJECT_PREFIX + f"{kind}:{subject_id}"
    digests = await redis.smembers(key)
    if not digests:
        return 0
    removed = await redis.delete(*(ACCESS_PREFIX + d for d in digests))
    await redis.delete(key)
    return int(removed)
