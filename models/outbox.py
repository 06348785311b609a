"""Notification outbox: a state change records what to tell the citizen; a worker sends it.

Records are written together with the change they announce (in the caller's transaction, when
it passes `session`), so a crash between the change and the sending loses nothing. Each record's
`_id` is its dedupe key (e.g. "application:<no>:<seq>"), so one transition enqueues one message
however often the code path runs. The worker claims a record with a lease; a worker that dies
mid-send leaves the lease to expire and another worker takes over. The outbox id travels with the
message as its client message id, so a channel that deduplicates (our sandbox does) never shows a
resent message twice; see docs/notifications.md for what that means on the real channels.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models import citizens, notifications
from models.core.context import Context

log = logging.getLogger("citygate.outbox")

LEASE = datetime.timedelta(seconds=30)
MAX_ATTEMPTS = 8


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.outbox.create_index([("status", 1), ("next_attempt_at", 1)])
    await db.outbox.create_index("citizen_id")


def backoff(attempts: int) -> datetime.timedelta:
    """5 s, 10 s, 20 s ... capped at one hour."""
    return datetime.timedelta(seconds=min(5 * 2 ** max(0, attempts - 1), 3600))


def outbox_record(now: datetime.datetime, *, citizen_id: str, event: str, dedupe_key: str,
                  template: str, data: dict[str, Any]) -> dict[str, Any]:
    """The document `enqueue` inserts; for callers that insert it in their own bulk write."""
    return {
        "_id": dedupe_key, "citizen_id": citizen_id, "event": event, "template": template, "data": data,
        "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
    }


async def enqueue(ctx: Context, *, citizen_id: str, event: str, dedupe_key: str, template: str,
                  data: dict[str, Any], session: AsyncClientSession | None = None) -> bool:
    """Record one message for a citizen; False when this dedupe key was already recorded."""
    record = outbox_record(ctx.clock(), citizen_id=citizen_id, event=event, dedupe_key=dedupe_key,
                           template=template, data=data)
    try:
        await ctx.db.outbox.insert_one(record, session=session)
    except DuplicateKeyError:
        return False
    return True


async def claim_next(ctx: Context) -> dict[str, Any] | None:
    """Take one due record (or one whose sender's lease ran out) for sending."""
    now = ctx.clock()
    return await ctx.db.outbox.find_one_and_update(
        {"$or": [
            {"status": {"$in": ["pending", "retry"]}, "next_attempt_at": {"$lte": now}},
            {"status": "sending", "lease_until": {"$lt": now}},
        ]},
        {"$set": {"status": "sending", "lease_until": now + LEASE}, "$inc": {"attempts": 1}},
        sort=[("next_attempt_at", 1)],
        return_document=ReturnDocument.AFTER,
    )


async def deliver_due(ctx: Context, limit: int = 50) -> int:
    """Send up to `limit` due messages; return how many were handled (any outcome)."""
    handled = 0
    while handled < limit:
        record = await claim_next(ctx)
        if record is None:
            break
        handled += 1
        citizen = await citizens.find_citizen(ctx, record["citizen_id"], follow_merge=False)
        now = ctx.clock()
        if citizen is None:
            await _finish(ctx.db, record, "skipped", now, reason="citizen_not_found")
            continue
        try:
            result = await notifications.send_message(ctx, citizen, {
                "id": record["_id"], "event": record["event"], "template": record["template"], "data": record["data"]})
            outcome, reason = result.outcome, getattr(result, "reason", "")
        except Exception as exc:  # noqa: BLE001 - any sender failure is retried with backoff
            log.warning("outbox %s: sender failed: %s", record["_id"], type(exc).__name__)
            outcome, reason = "retry", type(exc).__name__
        if outcome == "retry" and record["attempts"] >= MAX_ATTEMPTS:
            outcome = "failed"
        if outcome == "retry":
            await ctx.db.outbox.update_one(
                {"_id": record["_id"], "status": "sending"},
                {"$set": {"status": "retry", "next_attempt_at": now + backoff(record["attempts"]), "last_error": reason}})
        else:
            await _finish(ctx.db, record, outcome, now, reason=reason)
    return handled


async def _finish(db: AsyncDatabase, record: dict[str, Any], outcome: str, now: datetime.datetime, reason: str = "") -> None:
    await db.outbox.update_one({"_id": record["_id"]},
                               {"$set": {"status": outcome, "finished_at": now, "last_error": reason}})

