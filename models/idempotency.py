"""Idempotency-Key: a retried create returns the first result instead of creating twice.

The key is claimed with a unique insert, so two concurrent retries cannot both run the create.
The same key with a different body is a client bug and gets 409.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from models.core.context import Context
from models.errors import Conflict, DomainError

KEEP_FOR = datetime.timedelta(hours=24)

Create = Callable[[], Awaitable[tuple[int, Any]]]
# recover(record_id) -> the answer of a create that committed under that record, or None if none did.
Recover = Callable[[str], Awaitable[tuple[int, Any] | None]]

# The key record whose create runs in this task: a create that can be recovered keeps it beside what it
# writes, in the same transaction, so that after a failure its retry can tell whether it happened.
current_record: ContextVar[str | None] = ContextVar("idempotency_record", default=None)

# A "running" record older than this outlived its request (the worker died mid-create): a retry may
# recover or rerun it. Longer than any request may take.
STALE_AFTER = datetime.timedelta(seconds=60)


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.idempotency_keys.create_index("expires_at", expireAfterSeconds=0)


def fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


async def run_once(ctx: Context, scope: str, key: str | None, body: Any, create: Create,
                   recover: Recover | None = None) -> tuple[int, Any]:
    """Run `create` once per (scope, key); return its (status, payload), replayed on retries.

    `scope` must name the caller and the operation (e.g. "citizen:<id>:applications.create"), so two
    citizens choosing the same key never see each other's results.

    When the datastore fails mid-create, whether the create committed is unknown. Without `recover`
    the key is freed (a retry runs the create again). With `recover` (for creates that keep
    `current_record` in what they write) the key is kept as "unknown", and a retry asks `recover`:
    the committed answer if there is one, else it runs the create again. Never twice.
    """
    if not key:
        return await create()
    if len(key) > 200:
        raise Conflict("idempotency_key_invalid", "Idempotency-Key 过长", "Idempotency-Key is too long")
    record_id = f"{scope}:{key}"
    digest = fingerprint(body)
    if not await _claim(ctx, record_id, digest):
        return await _replay(ctx, record_id, digest, create, recover)
    return await _run(ctx, record_id, create, recover)


async def _run(ctx: Context, record_id: str, create: Create, recover: Recover | None) -> tuple[int, Any]:
    token = current_record.set(record_id)
    try:
        status, payload = await create()
    except DomainError:
        # A refused request created nothing: free the key so the corrected retry can run.
        await ctx.db.idempotency_keys.delete_one({"_id": record_id})
        raise
    except BaseException:
        if recover is None:
            await ctx.db.idempotency_keys.delete_one({"_id": record_id})
        else:
            # Best effort: with the datastore gone this fails too, and the record goes stale instead.
            with contextlib.suppress(PyMongoError):
                await ctx.db.idempotency_keys.update_one({"_id": record_id}, {"$set": {"state": "unknown"}})
        raise
    finally:
        current_record.reset(token)
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


async def _replay(ctx: Context, record_id: str, digest: str, create: Create,
                  recover: Recover | None) -> tuple[int, Any]:
    record = await ctx.db.idempotency_keys.find_one({"_id": record_id})
    if record is None:  # freed (a refused request) or swept between our claim and this read: ask for a retry
        raise _in_progress()
    if record["digest"] != digest:
        raise Conflict("idempotency_key_reused", "该 Idempotency-Key 已用于内容不同的请求",
                       "This Idempotency-Key was already used with a different request body")
    if record["state"] == "done":
        return record["status"], json.loads(record["payload"])
    stale = record["state"] == "unknown" or record["created_at"] <= ctx.clock() - STALE_AFTER
    if recover is None or not stale:
        raise _in_progress()
    answer = await recover(record_id)
    if answer is not None:
        status, payload = answer
        await ctx.db.idempotency_keys.update_one(
            {"_id": record_id},
            {"$set": {"state": "done", "status": status, "payload": json.dumps(payload, default=str)}})
        return status, payload
    # Nothing committed under the key: take it over (one retry wins) and run the create.
    taken = await ctx.db.idempotency_keys.find_one_and_update(
        {"_id": record_id, "state": record["state"], "created_at": record["created_at"]},
        {"$set": {"state": "running", "created_at": ctx.clock()}})
    if taken is None:
        raise _in_progress()
    return await _run(ctx, record_id, create, recover)


def _in_progress() -> Conflict:
    return Conflict("idempotency_in_progress", "相同请求正在处理中，请稍后重试", "The same request is being processed; retry shortly",
                    headers={"Retry-After": "1"})
