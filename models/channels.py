"""Channels (渠道): the third-party entrances citizens come through (WeChat and Alipay mini-programs).

A channel document holds the app's id, its API base URL (the real vendor or our sandbox: the client
code is the same, only this URL differs), non-secret key material in `public`, and secrets in
`secrets`, each encrypted at rest with the field cipher. Ciphertexts carry their key id, so
`rotate_channel_secrets` can re-encrypt them under a new key while old values still decrypt.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets as secrets_module
from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models.errors import BadRequest, DomainError

log = logging.getLogger("citygate.channels")

WECHAT_MINIPROGRAM = "wechat_miniprogram"
ALIPAY_MINIPROGRAM = "alipay_miniprogram"
KINDS = (WECHAT_MINIPROGRAM, ALIPAY_MINIPROGRAM)

DEMO_WECHAT_APP_ID = "wxdemo0000000001"
DEMO_ALIPAY_APP_ID = "2021000000000001"


class ChannelError(DomainError):
    """The channel answered with something we cannot use (misconfiguration, bad signature...)."""

    status = 502
    default_code = "channel_error"
    default_zh = "第三方渠道返回异常，请稍后再试"
    default_en = "The channel returned an error"


@dataclasses.dataclass(frozen=True)
class Channel:
    """One loaded channel, secrets decrypted (kept out of repr so they never reach a log)."""

    id: str
    kind: str
    app_id: str
    name: str
    enabled: bool
    api_base_url: str
    timeout_seconds: float
    public: Mapping[str, str]
    templates: Mapping[str, str]  # our message template name -> the channel's template id
    secrets: Mapping[str, str] = dataclasses.field(repr=False)

    def secret(self, name: str) -> str:
        try:
            return self.secrets[name]
        except KeyError:
            raise ChannelError("channel_misconfigured", "渠道缺少密钥配置", f"Channel lacks secret {name!r}") from None


def _secret_context(channel_id: str, name: str) -> str:
    """Binds a ciphertext to its channel and field, so it cannot be pasted into another one."""
    return f"channel:{channel_id}:{name}"


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.channels.create_index("app_id", unique=True)


def _from_document(ctx, doc: dict[str, Any]) -> Channel:  # noqa: ANN001 - AppContext
    decrypted = {name: ctx.cipher.decrypt(value, _secret_context(doc["_id"], name))
                 for name, value in (doc.get("secrets") or {}).items()}
    return Channel(
        id=doc["_id"], kind=doc["kind"], app_id=doc["app_id"], name=doc.get("name", ""),
        enabled=bool(doc.get("enabled", True)), api_base_url=doc["api_base_url"].rstrip("/"),
        timeout_seconds=float(doc.get("timeout_seconds", 5.0)), public=dict(doc.get("public") or {}),
        templates=dict(doc.get("templates") or {}), secrets=decrypted,
    )


async def find_channel(ctx, app_id: str) -> Channel | None:  # noqa: ANN001
    """The channel with this app id, enabled or not; None when there is none."""
    doc = await ctx.db.channels.find_one({"app_id": app_id})
    return _from_document(ctx, doc) if doc else None


async def get_enabled(ctx, app_id: Any, kind: str | None = None) -> Channel:  # noqa: ANN001
    """The enabled channel for `app_id` (of `kind`, when given); 400 `channel_unknown` otherwise."""
    channel = await find_channel(ctx, app_id) if isinstance(app_id, str) and app_id else None
    if channel is None or not channel.enabled or (kind and channel.kind != kind):
        raise BadRequest("channel_unknown", "未知或已停用的渠道（app_id）", "Unknown or disabled channel (app_id)")
    return channel


async def upsert_channel(ctx, *, kind: str, app_id: str, name: str, api_base_url: str,  # noqa: ANN001
                         secrets: Mapping[str, str] | None = None, public: Mapping[str, str] | None = None,
                         templates: Mapping[str, str] | None = None, enabled: bool = True,
                         timeout_seconds: float = 5.0, channel_id: str | None = None) -> Channel:
    """Create or update the channel for `app_id`; given secrets are encrypted, others kept."""
    if kind not in KINDS:
        raise ValueError(f"unknown channel kind {kind!r}")
    existing = await ctx.db.channels.find_one({"app_id": app_id}, {"_id": 1})
    channel_id = existing["_id"] if existing else (channel_id or f"{kind.split('_')[0]}-{app_id}")
    now = ctx.clock()
    fields: dict[str, Any] = {
        "kind": kind, "app_id": app_id, "name": name, "api_base_url": api_base_url.rstrip("/"),
        "enabled": enabled, "timeout_seconds": timeout_seconds, "updated_at": now,
    }
    for secret_name, value in (secrets or {}).items():
        fields[f"secrets.{secret_name}"] = ctx.cipher.encrypt(value, _secret_context(channel_id, secret_name))
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


async def set_enabled(ctx, app_id: str, enabled: bool) -> bool:  # noqa: ANN001
    result = await ctx.db.channels.update_one({"app_id": app_id},
                                              {"$set": {"enabled": enabled, "updated_at": ctx.clock()}})
    return result.matched_count == 1


async def rotate_channel_secrets(ctx) -> int:  # noqa: ANN001
    """Re-encrypt every channel secret not under the current key; return how many changed.

    Safe while the service runs: both keys decrypt during the rotation, and each value is replaced
    only if it is still the ciphertext we read (a concurrent update wins over the rotation).
    """
    rotated = 0
    async for doc in ctx.db.channels.find({}, {"secrets": 1}):
        for name, value in (doc.get("secrets") or {}).items():
            if not ctx.cipher.needs_rotation(value):
                continue
            fresh = ctx.cipher.rotate(value, _secret_context(doc["_id"], name))
            result = await ctx.db.channels.update_one(
                {"_id": doc["_id"], f"secrets.{name}": value}, {"$set": {f"secrets.{name}": fresh}})
            rotated += result.modified_count
    if rotated:
        log.info("re-encrypted %d channel secrets under key %s", rotated, ctx.cipher.current_kid)
    return rotated


async def load_demo(ctx) -> None:  # noqa: ANN001 - AppContext
    """The demo WeChat and Alipay channels, wired to the sandbox on this server's own port.

    Demo data exists only where the sandbox does, so the demo loader also registers the apps with
    the sandbox (as a developer registers an app on the vendor's console): the WeChat app secret,
    and the Alipay app's public key in exchange for the gateway's public key.
    """
    from integrations import alipay as alipay_client
    from integrations.sandbox import alipay as alipay_sandbox
    from integrations.sandbox import keys as sandbox_keys
    from integrations.sandbox import wechat as wechat_sandbox

    base = ctx.settings.base_url
    wechat = await find_channel(ctx, DEMO_WECHAT_APP_ID)
    app_secret = wechat.secrets.get("app_secret") if wechat else None
    app_secret = app_secret or secrets_module.token_hex(16)
    await upsert_channel(
        ctx, kind=WECHAT_MINIPROGRAM, app_id=DEMO_WECHAT_APP_ID, name="城市通办（微信小程序演示）",
        api_base_url=base + "/sandbox/wechat", secrets={"app_secret": app_secret}, channel_id="wechat-demo")
    await wechat_sandbox.register_app(ctx, DEMO_WECHAT_APP_ID, app_secret)

    alipay = await find_channel(ctx, DEMO_ALIPAY_APP_ID)
    private_pem = alipay.secrets.get("app_private_key") if alipay else None
    if not private_pem:
        private_pem = sandbox_keys.process_private_key_pem("demo_alipay_app")
    app_public_pem = alipay_client.public_key_pem(private_pem)
    gateway_public_pem = await alipay_sandbox.gateway_public_key_pem(ctx)
    await upsert_channel(
        ctx, kind=ALIPAY_MINIPROGRAM, app_id=DEMO_ALIPAY_APP_ID, name="城市通办（支付宝小程序演示）",
        api_base_url=base + "/sandbox/alipay/gateway.do", secrets={"app_private_key": private_pem},
        public={"app_public_key": app_public_pem, "alipay_public_key": gateway_public_pem}, channel_id="alipay-demo")
    await alipay_sandbox.register_app(ctx, DEMO_ALIPAY_APP_ID, app_public_pem)
