"""What every sandbox channel shares: its registry of apps, injected faults, recorded messages.

The sandboxes keep their state in MongoDB (collections prefixed `sandbox_`), not in memory, so
several worker processes behave as one vendor and tests can read what the vendor "received".
"""

from __future__ import annotations

import asyncio
import datetime
import re
import secrets
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.core.context import Context
from models.errors import FieldError, ValidationFailed

CODE_TTL = datetime.timedelta(minutes=5)
FAULTS_ARMED_KEY = "cg:sandbox:faults-armed"  # set once any fault was armed (shared by all workers)
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def new_code(length: int = 32) -> str:
    """A random code in the vendor's style (letters and digits)."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def request_id() -> str:
    return secrets.token_hex(12)


def required_identifier(body: dict[str, Any], name: str, optional: bool = False) -> str | None:
    """A test-helper field that must look like an app id / openid / user id."""
    value = body.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise ValidationFailed(errors=[FieldError(name, "invalid", f"{name} 应为 1-64 位字母、数字、_ 或 -",
                                                  f"{name} must be 1-64 letters, digits, _ or -")])
    return value


# ---- apps ----------------------------------------------------------------------------------
async def register_app(ctx: Context, vendor: str, app_id: str, **credentials: Any) -> None:
    """Register (or update) an app with a sandbox vendor, as a developer does on its console."""
    await ctx.db.sandbox_apps.update_one(
        {"_id": f"{vendor}:{app_id}"},
        {"$set": {"vendor": vendor, "app_id": app_id, **credentials, "updated_at": ctx.clock()}}, upsert=True)


async def find_app(ctx: Context, vendor: str, app_id: str) -> dict[str, Any] | None:
    return await ctx.db.sandbox_apps.find_one({"_id": f"{vendor}:{app_id}"})


async def require_registered(ctx: Context, vendor: str, body: dict[str, Any]) -> str:
    app_id = required_identifier(body, "app_id")
    assert app_id is not None
    if await find_app(ctx, vendor, app_id) is None:
        raise ValidationFailed(errors=[FieldError("app_id", "sandbox_app_unknown", "沙箱中没有这个应用",
                                                  "No such app is registered with the sandbox")])
    return app_id


# ---- injected faults -------------------------------------------------------------------------
async def arm_fault(ctx: Context, vendor: str, app_id: str, api: str, answer: dict[str, Any] | None,
                    times: int = 1, delay_ms: int = 0) -> None:
    """Make the next `times` calls of `api` answer `answer` (None: answer normally) after `delay_ms`."""
    await ctx.db.sandbox_faults.insert_one({
        "vendor": vendor, "app_id": app_id, "api": api, "answer": answer, "remaining": times,
        "delay_ms": delay_ms, "created_at": ctx.clock()})
    await ctx.redis.set(FAULTS_ARMED_KEY, "1")


async def take_fault(ctx: Context, vendor: str, app_id: str, api: str) -> dict[str, Any] | None:
    """Consume one armed fault for this call (sleeping its delay); return its answer or None."""
    if not await ctx.redis.exists(FAULTS_ARMED_KEY):  # the usual case: skip the datastore round trip
        return None
    fault = await ctx.db.sandbox_faults.find_one_and_update(
        {"vendor": vendor, "app_id": app_id, "api": api, "remaining": {"$gt": 0}},
        {"$inc": {"remaining": -1}}, sort=[("created_at", 1)], return_document=ReturnDocument.AFTER)
    if fault is None:
        return None
    if fault.get("delay_ms"):
        await asyncio.sleep(fault["delay_ms"] / 1000)
    return fault.get("answer")


# ---- recorded messages -----------------------------------------------------------------------
async def record_message(ctx: Context, vendor: str, app_id: str, recipient: str, client_msg_id: str | None,
                         message: dict[str, Any]) -> tuple[str, bool]:
    """Store a message the vendor accepted; return (its id, False when it was a duplicate).

    A message carrying a client message id already seen for this app is not stored again (its
    duplicate count goes up), so tests can prove a resent notification reaches the citizen once.
    """
    message_id = f"{vendor}:{app_id}:{client_msg_id}" if client_msg_id else str(ObjectId())
    try:
        await ctx.db.sandbox_messages.insert_one({
            "_id": message_id, "vendor": vendor, "app_id": app_id, "recipient": recipient,
            "client_msg_id": client_msg_id, "message": message, "received_at": ctx.clock(), "duplicates": 0})
    except DuplicateKeyError:
        await ctx.db.sandbox_messages.update_one({"_id": message_id}, {"$inc": {"duplicates": 1}})
        return message_id, False
    return message_id, True


async def list_messages(ctx: Context, vendor: str, app_id: str | None = None,
                        recipient: str | None = None) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"vendor": vendor}
    if app_id:
        query["app_id"] = app_id
    if recipient:
        query["recipient"] = recipient
    found = await ctx.db.sandbox_messages.find(query).sort("received_at", 1).to_list(None)
    return [{"id": m["_id"], **{k: v for k, v in m.items() if k != "_id"}} for m in found]


async def set_refusal(ctx: Context, vendor: str, app_id: str, recipient: str, refuse: bool) -> None:
    """Make messages to one recipient fail as "not subscribed" (or stop doing so)."""
    refusals = ctx.db[f"sandbox_{vendor}_refusals"]
    key = f"{app_id}:{recipient}"
    if refuse:
        await refusals.update_one({"_id": key}, {"$set": {"at": ctx.clock()}}, upsert=True)
    else:
        await refusals.delete_one({"_id": key})


async def refuses_messages(ctx: Context, vendor: str, app_id: str, recipient: str) -> bool:
    return await ctx.db[f"sandbox_{vendor}_refusals"].find_one({"_id": f"{app_id}:{recipient}"}) is not None
