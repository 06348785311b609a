"""Channel documents: loading a channel with its secrets decrypted, saving one, re-encrypting secrets.

Secrets are encrypted at rest with the field cipher, each bound to its channel and field; a
ciphertext carries its key id, so `rotate_channel_secrets` can re-encrypt them under a new key while
old values still decrypt. Rotated-out values in their overlap window live under `previous.<name>`.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models.core.context import Context
from models.core.timezone import as_utc
from models.errors import BadRequest, NotFound
from models.ports import Channel

log = logging.getLogger("citygate.channels")

WECHAT_MINIPROGRAM = "wechat_miniprogram"
ALIPAY_MINIPROGRAM = "alipay_miniprogram"
# H5 entrances (docs/h5.md): a WeChat official account's web authorisation (网页授权) and an Alipay
# web app's (网页授权), each with the domains its pages may be served from (`public.redirect_domains`).
WECHAT_OA = "wechat_oa"
ALIPAY_WEB = "alipay_web"
KINDS = (WECHAT_MINIPROGRAM, ALIPAY_MINIPROGRAM, WECHAT_OA, ALIPAY_WEB)
WEB_KINDS = (WECHAT_OA, ALIPAY_WEB)

DEMO_WECHAT_APP_ID = "wxdemo0000000001"
DEMO_ALIPAY_APP_ID = "2021000000000001"
DEMO_WECHAT_OA_APP_ID = "wxdemooa00000001"
DEMO_ALIPAY_WEB_APP_ID = "2021000000000002"
# The demo channels are recreated at every start (server.demo_channels), so they cannot be deleted.
DEMO_APP_IDS = (DEMO_WECHAT_APP_ID, DEMO_ALIPAY_APP_ID, DEMO_WECHAT_OA_APP_ID, DEMO_ALIPAY_WEB_APP_ID)


def secret_context(channel_id: str, name: str) -> str:
    """Binds a ciphertext to its channel and field, so it cannot be pasted into another one."""
    return f"channel:{channel_id}:{name}"


def previous_context(channel_id: str, name: str) -> str:
    """The same binding for a rotated-out value kept through its overlap window."""
    return f"channel:{channel_id}:{name}:previous"


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.channels.create_index("app_id", unique=True)


def from_document(ctx: Context, doc: dict[str, Any]) -> Channel:
    """A channel document as the config adapters work from, its secrets (and rotated-out ones) decrypted."""
    decrypted = {name: ctx.cipher.decrypt(value, secret_context(doc["_id"], name))
                 for name, value in (doc.get("secrets") or {}).items()}
    previous = {}
    for name, entry in (doc.get("previous") or {}).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("until"), datetime.datetime):
            continue
        value = entry.get("value") or ""
        if entry.get("secret"):
            value = ctx.cipher.decrypt(value, previous_context(doc["_id"], name))
        previous[name] = (value, as_utc(entry["until"]))
    return Channel(
        id=doc["_id"], kind=doc["kind"], app_id=doc["app_id"], name=doc.get("name", ""),
        enabled=bool(doc.get("enabled", True)), api_base_url=doc["api_base_url"].rstrip("/"),
        timeout_seconds=float(doc.get("timeout_seconds", 5.0)), public=dict(doc.get("public") or {}),
        templates=dict(doc.get("templates") or {}), secrets=decrypted, previous=previous,
    )



async def find_channel(ctx: Context, app_id: str) -> Channel | None:
    """The channel with this app id, enabled or not; None when there is none."""
    doc = await ctx.db.channels.find_one({"app_id": app_id})
    return from_document(ctx, doc) if doc else None


async def get_enabled(ctx: Context, app_id: Any, kind: str | None = None) -> Channel:
    """The enabled channel for `app_id` (of `kind`, when given); 400 `channel_unknown` otherwise."""
    channel = await find_channel(ctx, app_id) if isinstance(app_id, str) and app_id else None
    if channel is None or not channel.enabled or (kind and channel.kind != kind):
        raise BadRequest("channel_unknown", "未知或已停用的渠道（app_id）", "Unknown or disabled channel (app_id)")
    return channel


async def upsert_channel(ctx: Context, *, kind: str, app_id: str, name: str, api_base_url: str,
                         secrets: Mapping[str, str] | None = None, public: Mapping[str, str] | None = None,
                         templates: Mapping[str, str] | None = None, enabled: bool = True,
                         timeout_seconds: float = 5.0, channel_id: str | None = None) -> Channel:
    """Create or update the channel for `app_id`; given secrets are encrypted, others kept."""
    if kind not in KINDS:
        raise ValueError(f"unknown channel kind {kind!r}")
    existing = await ctx.db.channels.find_one({"app_id": app_id}, {"_id": 1, "secrets": 1})
    channel_id = existing["_id"] if existing else (channel_id or f"{kind.split('_')[0]}-{app_id}")
    stored = (existing or {}).get("secrets") or {}
    now = ctx.clock()
    fields: dict[str, Any] = {
        "kind": kind, "app_id": app_id, "name": name, "api_base_url": api_base_url.rstrip("/"),
        "enabled": enabled, "timeout_seconds": timeout_seconds, "updated_at": now,
    }
    for secret_name, value in (secrets or {}).items():
        context = secret_context(channel_id, secret_name)
        if secret_name not in stored or ctx.cipher.decrypt(stored[secret_name], context) != value:
            fields[f"rotated_at.{secret_name}"] = now
        fields[f"secrets.{secret_name}"] = ctx.cipher.encrypt(value, context)
    for public_name, value in (public or {}).items():
        fields[f"public.{public_name}"] = value
    for template_name, template_id in (templates or {}).items():
        fields[f"templates.{template_name}"] = template_id
    try:
        await ctx.db.channels.update_one(
            {"_id": channel_id}, {"$set": fields, "$setOnInsert": {"created_at": now}}, upsert=True)
    except DuplicateKeyError:  # another writer created this app_id under another id just now
        raise BadRequest("channel_exists", "该 app_id 的渠道已存在", "A channel with this app_id exists") from None
    channel = await find_channel(ctx, app_id)
    assert channel is not None
    return channel


async def set_enabled(ctx: Context, app_id: str, enabled: bool) -> bool:
    result = await ctx.db.channels.update_one({"app_id": app_id},
                                              {"$set": {"enabled": enabled, "updated_at": ctx.clock()}})
    return result.matched_count == 1


async def rotate_channel_secrets(ctx: Context) -> int:
    """Re-encrypt every channel secret not under the current key; return how many changed.

    Safe while the service runs: both keys decrypt during the rotation, and each value is replaced
    only if it is still the ciphertext we read (a concurrent update wins over the rotation).
    """
    rotated = 0
    async for doc in ctx.db.channels.find({}, {"secrets": 1, "previous": 1}):
        stored = [(f"secrets.{name}", value, secret_context(doc["_id"], name))
                  for name, value in (doc.get("secrets") or {}).items()]
        # Rotated-out secrets still in (or past) their overlap window are ciphertexts too.
        stored += [(f"previous.{name}.value", entry["value"], previous_context(doc["_id"], name))
                   for name, entry in (doc.get("previous") or {}).items()
                   if isinstance(entry, dict) and entry.get("secret") and isinstance(entry.get("value"), str)]
        for field, value, context in stored:
            if not ctx.cipher.needs_rotation(value):
                continue
            fresh = ctx.cipher.rotate(value, context)
            result = await ctx.db.channels.update_one({"_id": doc["_id"], field: value}, {"$set": {field: fresh}})
            rotated += result.modified_count
    if rotated:
        log.info("re-encrypted %d channel secrets under key %s", rotated, ctx.cipher.current_kid)
    return rotated



def not_found() -> NotFound:
    return NotFound("channel_not_found", "未找到该渠道", "No such channel")
