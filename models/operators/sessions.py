"""Operator sessions: each login recorded (when, from where, with what), listed, and revocable.

A session is one login. Its id is the access token's family (`Principal.family_id`), so revoking a
session deletes exactly the tokens that login issued (models.tokens keeps them per family in
Redis). Revoking all of an operator's sessions also revokes every token issued to them
(`tokens.revoke_subject`): a disabled account or a changed role or scope must stop working at once.
"""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from models import tokens
from models.core.context import Context
from models.core.timezone import as_utc
from models.errors import NotFound

USER_AGENT_MAX = 300


def new_session_id() -> str:
    return "ops_" + secrets.token_urlsafe(12)


async def ensure_indexes(db) -> None:  # noqa: ANN001 - AsyncDatabase
    await db.operator_sessions.create_index("operator_id")
    await db.operator_sessions.create_index("purge_after", expireAfterSeconds=0)


async def record(ctx: Context, session_id: str, operator_id: str, *, ip: str, user_agent: str,
                 ttl_seconds: int, second_factor: str) -> None:
    """Write down a login that is about to be given its token."""
    now = ctx.clock()
    expires_at = now + datetime.timedelta(seconds=ttl_seconds)
    await ctx.db.operator_sessions.insert_one({
        "_id": session_id, "operator_id": operator_id, "started_at": now, "expires_at": expires_at,
        "ip": ip[:64], "user_agent": user_agent[:USER_AGENT_MAX], "second_factor": second_factor,
        "revoked_at": None, "revoked_reason": None, "purge_after": expires_at + datetime.timedelta(days=30),
    })


def _view(doc: dict[str, Any], current: str) -> dict[str, Any]:
    return {"id": doc["_id"], "started_at": doc["started_at"], "expires_at": doc["expires_at"], "ip": doc["ip"],
            "user_agent": doc["user_agent"], "second_factor": doc.get("second_factor", "none"),
            "current": doc["_id"] == current}


async def live(ctx: Context, operator_id: str, current: str = "") -> list[dict[str, Any]]:
    """The operator's sessions not revoked and not expired, newest first (`current`: the caller's)."""
    now = ctx.clock()
    docs = await ctx.db.operator_sessions.find({"operator_id": operator_id, "revoked_at": None}).to_list(None)
    docs = [doc for doc in docs if as_utc(doc["expires_at"]) > now]
    docs.sort(key=lambda doc: as_utc(doc["started_at"]), reverse=True)
    return [_view(doc, current) for doc in docs]


async def revoke(ctx: Context, operator_id: str, session_id: str, reason: str) -> None:
    """End one session of `operator_id` (404 when it is not theirs, or already ended)."""
    doc = await ctx.db.operator_sessions.find_one({"_id": session_id})
    if doc is None or doc["operator_id"] != operator_id or doc.get("revoked_at") is not None:
        raise NotFound("session_not_found", "未找到该登录会话", "No such session")
    await ctx.db.operator_sessions.update_one(
        {"_id": session_id}, {"$set": {"revoked_at": ctx.clock(), "revoked_reason": reason}})
    await tokens.revoke_family(ctx, session_id, reason)


async def revoke_all(ctx: Context, operator_id: str, reason: str) -> int:
    """End every session of `operator_id` and every token issued to them; return how many sessions were live."""
    docs = await ctx.db.operator_sessions.find({"operator_id": operator_id, "revoked_at": None}, {"_id": 1}).to_list(None)
    if docs:
        await ctx.db.operator_sessions.update_many(
            {"operator_id": operator_id, "revoked_at": None}, {"$set": {"revoked_at": ctx.clock(), "revoked_reason": reason}})
    await tokens.revoke_subject(ctx, "operator", operator_id)
    return len(docs)


async def is_live(ctx: Context, session_id: str) -> bool:
    """Whether a session is still on record and not revoked (a login checks its own after issuing the token)."""
    doc = await ctx.db.operator_sessions.find_one({"_id": session_id}, {"revoked_at": 1})
    return doc is not None and doc.get("revoked_at") is None
