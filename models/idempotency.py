"""Idempotency-Key: a retried create returns the first result instead of creating twice.

The key is claimed with a unique insert, so two concurrent retries cannot both run the create.
The same key with a different body is a client bug and gets 409.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models.core.context import Context
from models.errors import Conflict, DomainError

KEEP_FOR = datetime.timedelta(hours=24)

Create = Callable[[], Awaitable[tuple[int, Any]]]


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.idempotency_keys.create_index("expires_at", expireAfterSeconds=0)


def fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


async def run_once(ctx: Context, scope: str, key: str | None, body: Any, create: Create) -> tuple[int, Any]:
    """Run `create` once per (scope, key); return its (status, payload), replayed on retries.

    `scope` must name the caller and the operation (e.g. "citizen:<id>:applications.create"), so two
    citizens choosing the same key never see each other's results.
    """
    if not key:
        return await create()
    if len(key) > 200:
        raise Conflict("idempotency_key_invalid", "Idempotency-Key 过长", "Idempotency-Key is too long")
    record_id = f"{scope}:{key}"
    digest = fingerprint(body)
    if not await _claim(ctx, record_id, digest):
        return await _replay(ctx.db, record_id, digest)
    try:
        status, payload = await create()
    except DomainError:
        # A refused request created nothing: free the key so the corrected retry can run.
        await ctx.db.idempotency_keys.delete_one({"_id": record_id})
        raise
    except BaseException:
        await ctx.db.idempotency_keys.delete_one({"_id": record_id})
        raise
    await ctx.db.idempotency_keys.update_one(
        {"_id": record_id}, {"$set": {"state": "done", "status": status, "payload": json.dumps(payload, default=str)}})
    return status, payload


async def _claim(ctx: Context, record_id: str, digest: str) -> bool:
    """Claim the key for this request; False when a live record of an earlier request holds it.

    A record past its `expires_at` (by our clock) no longer counts, whether or not the datastore's
    TTL sweep has removed it yet: MongoDB removes expired documents only once a minute, and the
    embedded server likewise, so a claim must not depend on when the sweep ran.
    """
    now = ctx.clock()
    record = {"_id": record_id, "digest": digest, "state": "running", "created_at": now, "expires_at": now + KEEP_FOR}
    try:
        await ctx.db.idempotency_keys.insert_one(record)
        return True
    except DuplicateKeyError:
        pass
    expired = await ctx.db.idempotency_keys.find_one_and_replace(
        {"_id": record_id, "expires_at": {"$lte": now}}, record)
    return expired is not None


async def _replay(db: AsyncDatabase, record_id: str, digest: str) -> tuple[int, Any]:
    record = await db.idempotency_keys.find_one({"_id": record_id})
    if record is None:  # freed (a refused request) or swept between our claim and this read: ask for a retry
        raise Conflict("idempotency_in_progress", "相同请求正在处理中，请稍后重试", "The same request is being processed; retry shortly",
                       headers={"Retry-After": "1"})
    if record["digest"] != digest:
        raise Conflict("idempotency_key_reused", "该 Idempotency-Key 已用于内容不同的请求",
                       "This Idempotency-Key was already used with a different request body")
    if record["state"] != "done":
        raise Conflict("idempotency_in_progress", "相同请求正在处理中，请稍后重试", "The same request is being processed; retry shortly",
                       headers={"Retry-After": "1"})
    return record["status"], json.loads(record["payload"])
