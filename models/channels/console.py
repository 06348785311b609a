"""Operators' console for channels (CRUD /admin/v1/channels): views, validated settings, create,
update, delete.

Secrets are write-only: answers show `secret_set`, a `sha256:` fingerprint and `rotated_at` per
secret, never a value; sending a new secret in a PATCH replaces it at once (models.channels.rotation
keeps the old one valid for an overlap window instead). `kind` and `app_id` never change. A channel
is enabled only with a config that passes its check (models.channels.checks, calling the channel).
A channel is deleted only when nothing depends on it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models import exposure
from models.channels.checks import check_config, require_passing
from models.channels.store import (
    ALIPAY_MINIPROGRAM,
    ALIPAY_WEB,
    DEMO_APP_IDS,
    KINDS,
    WECHAT_MINIPROGRAM,
    WECHAT_OA,
    from_document,
    not_found,
    secret_context,
)
from models.core.context import Context
from models.core.pagination import page_of
from models.errors import Conflict, FieldError, ValidationFailed
from models.ports import ChannelCredentials

# Secrets an operator sets through the channel routes; payment secrets go through .../merchant.
CHANNEL_SECRETS = {WECHAT_MINIPROGRAM: ("app_secret",), ALIPAY_MINIPROGRAM: ("app_private_key",),
                   WECHAT_OA: ("app_secret",), ALIPAY_WEB: ("app_private_key",)}
# H5 channels: `redirect_domains` lists, comma-separated, the host names their pages may be served from
# (the vendor's 网页授权域名 / JS 接口安全域名), and `authorize_base_url` where the vendor's consent page is.
CHANNEL_PUBLIC = {WECHAT_MINIPROGRAM: (), ALIPAY_MINIPROGRAM: ("alipay_public_key",),
                  WECHAT_OA: ("redirect_domains", "authorize_base_url"),
                  ALIPAY_WEB: ("alipay_public_key", "redirect_domains", "authorize_base_url")}
_APP_ID = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
_BASE_URL = re.compile(r"^https?://[^\s/]+(/[^\s]*)?$")
_TEMPLATE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def fingerprint(value: str) -> str:
    """A short, one-way label of a secret, so operators can tell which one is set without seeing it."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]


def channel_view(ctx: Context, doc: dict[str, Any]) -> dict[str, Any]:
    """A channel as operators see it: every setting, secrets only as 'set', a fingerprint and when each
    was last rotated; a rotated-out secret or key still accepted shows its fingerprint and until when."""
    channel = from_document(ctx, doc)
    now = ctx.clock()
    rotated_at = doc.get("rotated_at") or {}
    previous = doc.get("previous") or {}

    def overlap(name: str) -> dict[str, Any] | None:
        entry = previous.get(name)
        if not isinstance(entry, dict) or not channel.previous_values(name, now):
            return None
        return {"fingerprint": entry.get("fingerprint"), "valid_until": entry.get("until")}

    secrets_view = {}
    for name, value in sorted(channel.secrets.items()):
        secrets_view[name] = {"set": True, "fingerprint": fingerprint(value),
                              "rotated_at": rotated_at.get(name, doc.get("created_at"))}
        if overlap(name):
            secrets_view[name]["previous"] = overlap(name)
    public_previous = {name: overlap(name) for name in sorted(channel.public) if overlap(name)}
    return {
        "id": channel.id, "kind": channel.kind, "app_id": channel.app_id, "name": channel.name,
        "enabled": channel.enabled, "api_base_url": channel.api_base_url, "timeout_seconds": channel.timeout_seconds,
        "public": dict(channel.public), "public_previous": public_previous, "templates": dict(channel.templates),
        "exposed_services": exposure.stored_entries(doc),
        "secret_set": all(channel.secrets.get(n) for n in CHANNEL_SECRETS[channel.kind]),
        "secrets": secrets_view,
        "last_check": doc.get("last_check"),
        "demo": channel.app_id in DEMO_APP_IDS,
        "created_at": doc.get("created_at"), "updated_at": doc.get("updated_at"),
    }


def parse_channel(body: dict[str, Any], kind: str | None, *, creating: bool,
                  credentials: Mapping[str, ChannelCredentials]) -> dict[str, Any]:
    """Validated channel settings from an operator's body; ValidationFailed names each bad field.

    `credentials` (by kind) derive the public half of a key sent as a secret."""
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    if creating:
        kind = body.get("kind")
        if not isinstance(kind, str) or kind not in KINDS:
            errors.append(FieldError("kind", "invalid", f"kind 应为 {'、'.join(KINDS)} 之一",
                                     f"kind must be one of {', '.join(KINDS)}"))
        app_id = body.get("app_id")
        if not isinstance(app_id, str) or not _APP_ID.match(app_id):
            errors.append(FieldError("app_id", "invalid", "app_id 应为 4 到 64 位字母、数字、下划线或连字符",
                                     "app_id must be 4 to 64 letters, digits, _ or -"))
        out.update(kind=kind, app_id=app_id)
    else:
        for fixed in ("kind", "app_id"):
            if fixed in body:
                errors.append(FieldError(fixed, "immutable", f"{fixed} 创建后不能修改（请新建渠道）",
                                         f"{fixed} cannot change; create another channel"))
    if "name" in body or creating:
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 64:
            errors.append(FieldError("name", "required", "请填写 1 到 64 个字符的渠道名称", "name must have 1 to 64 characters"))
        else:
            out["name"] = name.strip()
    if "api_base_url" in body or creating:
        url = body.get("api_base_url")
        if not isinstance(url, str) or len(url) > 500 or not _BASE_URL.match(url):
            errors.append(FieldError("api_base_url", "invalid", "api_base_url 应为 http(s) 地址", "api_base_url must be an http(s) URL"))
        else:
            out["api_base_url"] = url.rstrip("/")
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            errors.append(FieldError("enabled", "invalid", "enabled 应为 true 或 false", "enabled must be true or false"))
        else:
            out["enabled"] = body["enabled"]
    if "timeout_seconds" in body:
        timeout = body["timeout_seconds"]
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0.5 <= timeout <= 30:
            errors.append(FieldError("timeout_seconds", "invalid", "timeout_seconds 应在 0.5 到 30 之间",
                                     "timeout_seconds must be from 0.5 to 30"))
        else:
            out["timeout_seconds"] = float(timeout)
    if "exposed_services" in body:
        out["exposed_services"] = exposure.parse(body["exposed_services"], errors)
    if "templates" in body:
        templates = body["templates"]
        if not isinstance(templates, dict) or not all(
                isinstance(k, str) and _TEMPLATE.match(k) and isinstance(v, str) and _TEMPLATE.match(v)
                for k, v in templates.items()):
            errors.append(FieldError("templates", "invalid", "templates 应为 {模板名: 渠道模板ID}",
                                     "templates must map our template names to the channel's template ids"))
        else:
            out["templates"] = templates
    if kind in KINDS:
        out["secrets"] = _named_texts(body, "secrets", CHANNEL_SECRETS[kind], errors)
        out["public"] = _named_texts(body, "public", CHANNEL_PUBLIC[kind], errors)
        if creating and not all(out["secrets"].get(n) for n in CHANNEL_SECRETS[kind]):
            missing = ", ".join(CHANNEL_SECRETS[kind])
            errors.append(FieldError("secrets", "required", f"请设置渠道密钥：{missing}", f"Set the channel's secrets: {missing}"))
        if kind in (ALIPAY_MINIPROGRAM, ALIPAY_WEB) and out["secrets"].get("app_private_key"):
            try:
                out["public"].update(credentials[kind].derived_public("app_private_key", out["secrets"]["app_private_key"]))
            except (ValueError, TypeError):
                errors.append(FieldError("secrets.app_private_key", "invalid", "应用私钥不是有效的 RSA 私钥（PEM）",
                                         "app_private_key is not a valid RSA private key (PEM)"))
    if errors:
        raise ValidationFailed(errors=errors)
    return out


def _named_texts(body: dict[str, Any], field: str, allowed: tuple[str, ...], errors: list[FieldError]) -> dict[str, str]:
    given = body.get(field, {})
    if not isinstance(given, dict):
        errors.append(FieldError(field, "invalid", f"{field} 应为对象", f"{field} must be an object"))
        return {}
    out = {}
    for name, value in given.items():
        if name not in allowed:
            errors.append(FieldError(f"{field}.{name}", "unknown", f"不支持的字段 {name}（支付商户信息请在 /merchant 设置）",
                                     f"Unknown {field} entry {name} (payment keys go to /merchant)"))
        elif not isinstance(value, str) or not value.strip() or len(value) > 10_000:
            errors.append(FieldError(f"{field}.{name}", "invalid", f"{name} 应为非空文本", f"{name} must be a non-empty text"))
        else:
            out[name] = value.strip() if field == "secrets" and not value.lstrip().startswith("-----") else value
    return out


async def list_channels(ctx: Context, *, kind: str | None = None, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    if kind is not None and kind not in KINDS:
        raise ValidationFailed(errors=[FieldError("kind", "invalid", f"kind 应为 {'、'.join(KINDS)} 之一",
                                                  f"kind must be one of {', '.join(KINDS)}")])
    query: dict[str, Any] = {"kind": kind} if kind else {}
    return await page_of(ctx.db.channels, query, [("app_id", 1)], page, page_size, lambda doc: channel_view(ctx, doc))

async def get_channel_view(ctx: Context, app_id: str) -> dict[str, Any]:
    doc = await ctx.db.channels.find_one({"app_id": app_id})
    if doc is None:
        raise not_found()
    return channel_view(ctx, doc)


async def create_channel(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """A new channel from an operator's settings; 409 channel_exists when the app_id has one.

    A new channel is disabled unless the body asks for `enabled: true`, and then only once the
    config check passes (422 channel_check_failed otherwise, and nothing is stored)."""
    fields = parse_channel(body, None, creating=True, credentials=ctx.channel_credentials)
    channel_id = f"{fields['kind'].split('_')[0]}-{fields['app_id']}"
    now = ctx.clock()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as stored: the answer equals later reads
    doc = {
        "_id": channel_id, "kind": fields["kind"], "app_id": fields["app_id"], "name": fields["name"],
        "api_base_url": fields["api_base_url"], "enabled": fields.get("enabled", False),
        "timeout_seconds": fields.get("timeout_seconds", 5.0), "public": fields["public"],
        "templates": fields.get("templates", {}), "exposed_services": fields.get("exposed_services", []),
        "secrets": {name: ctx.cipher.encrypt(value, secret_context(channel_id, name))
                    for name, value in fields["secrets"].items()},
        "rotated_at": {name: now for name in fields["secrets"]},
        "created_at": now, "updated_at": now,
    }
    if doc["enabled"]:
        if await ctx.db.channels.find_one({"app_id": fields["app_id"]}, {"_id": 1}) is not None:
            raise _exists()  # before calling the channel: a check must not disturb a live app's tokens
        doc["last_check"] = require_passing(await check_config(ctx, from_document(ctx, doc)))
    try:
        await ctx.db.channels.insert_one(doc)
    except DuplicateKeyError:
        raise _exists() from None
    await exposure.forget(ctx, doc["app_id"])
    return channel_view(ctx, doc)


def _exists() -> Conflict:
    return Conflict("channel_exists", "该 app_id 的渠道已存在", "A channel with this app_id exists")


# What the config check depends on: changing any of these on an enabled channel checks it again.
_CHECKED_FIELDS = ("api_base_url", "timeout_seconds")


async def update_channel(ctx: Context, app_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Change some settings; given secrets replace the stored ones, others are kept.

    When the result is an enabled channel and this change enables it or changes what the config
    check depends on (URL, timeout, secrets, keys), the new config is checked by calling the channel
    first: 422 channel_check_failed and nothing stored when it fails."""
    current = await ctx.db.channels.find_one({"app_id": app_id})
    if current is None:
        raise not_found()
    fields = parse_channel(body, current["kind"], creating=False, credentials=ctx.channel_credentials)
    now = ctx.clock()
    update: dict[str, Any] = {"updated_at": now}
    for name in ("name", "api_base_url", "enabled", "timeout_seconds", "exposed_services", "templates"):
        if name in fields:
            update[name] = fields[name]
    for name, value in fields.get("secrets", {}).items():
        update[f"secrets.{name}"] = ctx.cipher.encrypt(value, secret_context(current["_id"], name))
        update[f"rotated_at.{name}"] = now
    for name, value in fields.get("public", {}).items():
        update[f"public.{name}"] = value
    enabling = fields.get("enabled") is True and not current.get("enabled", True)
    config_changed = any(n in fields for n in _CHECKED_FIELDS) or bool(fields.get("secrets")) or bool(fields.get("public"))
    if fields.get("enabled", current.get("enabled", True)) and (enabling or config_changed):
        proposed = from_document(ctx, {
            **current, **{k: v for k, v in update.items() if "." not in k},
            "secrets": {**(current.get("secrets") or {}),
                        **{k[8:]: v for k, v in update.items() if k.startswith("secrets.")}},
            "public": {**(current.get("public") or {}), **fields.get("public", {})}})
        update["last_check"] = require_passing(await check_config(ctx, proposed))
    doc = await ctx.db.channels.find_one_and_update({"_id": current["_id"]}, {"$set": update},
                                                    return_document=ReturnDocument.AFTER)
    if doc is None:
        raise not_found()
    await exposure.forget(ctx, app_id)
    return channel_view(ctx, doc)


async def channel_usage(ctx: Context, app_id: str) -> dict[str, int]:
    """What still depends on a channel: citizens' identities linked through it, fee orders placed with it."""
    pattern = "^(wx|alio):" + re.escape(app_id) + ":"
    return {"identities": await ctx.db.identities.count_documents({"_id": {"$regex": pattern}}),
            "payment_orders": await ctx.db.payment_orders.count_documents({"app_id": app_id})}


async def delete_channel(ctx: Context, app_id: str) -> None:
    """Delete a channel nobody depends on. The demo channels and channels with linked citizens or
    fee orders are refused (409): disable them instead, so logins and refunds keep their history."""
    doc = await ctx.db.channels.find_one({"app_id": app_id}, {"_id": 1})
    if doc is None:
        raise not_found()
    if app_id in DEMO_APP_IDS:
        raise Conflict("channel_demo", "演示渠道每次启动都会重建，不能删除，请停用",
                       "Demo channels are recreated at every start; disable them instead")
    usage = await channel_usage(ctx, app_id)
    if any(usage.values()):
        raise Conflict("channel_in_use", "仍有市民账号或支付订单关联该渠道，不能删除，请停用",
                       "Citizens or fee orders still refer to this channel; disable it instead", extra={"usage": usage})
    await ctx.db.channels.delete_one({"_id": doc["_id"]})
    await exposure.forget(ctx, app_id)

