"""Channels (渠道): the third-party entrances citizens come through (WeChat and Alipay mini-programs).

A channel document holds the app's id, its API base URL (the real vendor or our sandbox: the client
code is the same, only this URL differs), non-secret key material in `public`, and secrets in
`secrets`, each encrypted at rest with the field cipher. Ciphertexts carry their key id, so
`rotate_channel_secrets` can re-encrypt them under a new key while old values still decrypt.

Operators manage channels through `/admin/v1/channels` (functions at the end of this module):
secrets are write-only (answers show `secret_set`, a `sha256:` fingerprint and `rotated_at` per
secret, never a value); sending a new secret in a PATCH replaces it at once, `rotate_secret` keeps
the old one valid for an overlap window (`previous.<name>`, see `Channel.previous_values`);
`kind` and `app_id` never change. A channel is enabled only with a config that passes
`check_config` (calling the channel). Payment merchant keys are set through
`/admin/v1/channels/{app_id}/merchant` (models.payments) instead. `exposed_services` lists what a
channel offers, in which order and regions (models.exposure; empty: every item). A channel is deleted
only when nothing depends on it: the demo channels (recreated at every start) and channels through
which citizens logged in or fee orders were placed are refused with 409 — disable them instead, so
their identities and refunds keep working history. Changing an Alipay app's private key here does
not re-register it with the sandbox gateway (the demo loader does that for the demo channel).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import logging
import re
import secrets as secrets_module
from collections.abc import Mapping
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models import exposure
from models.errors import BadRequest, Conflict, DomainError, FieldError, NotFound, ValidationFailed

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
    # Rotated-out secrets and keys still accepted until their overlap window closes: name -> (value, until).
    previous: Mapping[str, tuple[str, datetime.datetime]] = dataclasses.field(default_factory=dict, repr=False)

    def secret(self, name: str) -> str:
        try:
            return self.secrets[name]
        except KeyError:
            raise ChannelError("channel_misconfigured", "渠道缺少密钥配置", f"Channel lacks secret {name!r}") from None

    def previous_values(self, name: str, now: datetime.datetime) -> list[str]:
        """The rotated-out value of secret or key `name` while its overlap window is open ([] after)."""
        found = self.previous.get(name)
        return [found[0]] if found is not None and found[1] > now else []

    def with_previous(self, name: str, now: datetime.datetime) -> Channel | None:
        """This channel with the rotated-out `name` in place of the current one (for a retry during
        the overlap window); None when there is none or the window has closed."""
        values = self.previous_values(name, now)
        if not values:
            return None
        if name in self.secrets:
            return dataclasses.replace(self, secrets={**self.secrets, name: values[0]})
        return dataclasses.replace(self, public={**self.public, name: values[0]})


def _secret_context(channel_id: str, name: str) -> str:
    """Binds a ciphertext to its channel and field, so it cannot be pasted into another one."""
    return f"channel:{channel_id}:{name}"


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.channels.create_index("app_id", unique=True)


def _aware(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def _from_document(ctx, doc: dict[str, Any]) -> Channel:  # noqa: ANN001 - AppContext
    decrypted = {name: ctx.cipher.decrypt(value, _secret_context(doc["_id"], name))
                 for name, value in (doc.get("secrets") or {}).items()}
    previous = {}
    for name, entry in (doc.get("previous") or {}).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("until"), datetime.datetime):
            continue
        value = entry.get("value") or ""
        if entry.get("secret"):
            value = ctx.cipher.decrypt(value, _previous_context(doc["_id"], name))
        previous[name] = (value, _aware(entry["until"]))
    return Channel(
        id=doc["_id"], kind=doc["kind"], app_id=doc["app_id"], name=doc.get("name", ""),
        enabled=bool(doc.get("enabled", True)), api_base_url=doc["api_base_url"].rstrip("/"),
        timeout_seconds=float(doc.get("timeout_seconds", 5.0)), public=dict(doc.get("public") or {}),
        templates=dict(doc.get("templates") or {}), secrets=decrypted, previous=previous,
    )


def _previous_context(channel_id: str, name: str) -> str:
    return f"channel:{channel_id}:{name}:previous"


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
    existing = await ctx.db.channels.find_one({"app_id": app_id}, {"_id": 1, "secrets": 1})
    channel_id = existing["_id"] if existing else (channel_id or f"{kind.split('_')[0]}-{app_id}")
    stored = (existing or {}).get("secrets") or {}
    now = ctx.clock()
    fields: dict[str, Any] = {
        "kind": kind, "app_id": app_id, "name": name, "api_base_url": api_base_url.rstrip("/"),
        "enabled": enabled, "timeout_seconds": timeout_seconds, "updated_at": now,
    }
    for secret_name, value in (secrets or {}).items():
        context = _secret_context(channel_id, secret_name)
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
    async for doc in ctx.db.channels.find({}, {"secrets": 1, "previous": 1}):
        stored = [(f"secrets.{name}", value, _secret_context(doc["_id"], name))
                  for name, value in (doc.get("secrets") or {}).items()]
        # Rotated-out secrets still in (or past) their overlap window are ciphertexts too.
        stored += [(f"previous.{name}.value", entry["value"], _previous_context(doc["_id"], name))
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


# ---- operators' console (CRUD /admin/v1/channels) --------------------------------------------------
# ---- operators' console (CRUD /admin/v1/channels) --------------------------------------------------
# Secrets an operator sets through the channel routes; payment secrets go through .../merchant.
CHANNEL_SECRETS = {WECHAT_MINIPROGRAM: ("app_secret",), ALIPAY_MINIPROGRAM: ("app_private_key",)}
CHANNEL_PUBLIC = {WECHAT_MINIPROGRAM: (), ALIPAY_MINIPROGRAM: ("alipay_public_key",)}
DEMO_APP_IDS = (DEMO_WECHAT_APP_ID, DEMO_ALIPAY_APP_ID)
_APP_ID = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
_BASE_URL = re.compile(r"^https?://[^\s/]+(/[^\s]*)?$")
_TEMPLATE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def fingerprint(value: str) -> str:
    """A short, one-way label of a secret, so operators can tell which one is set without seeing it."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]


def channel_view(ctx, doc: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
    """A channel as operators see it: every setting, secrets only as 'set', a fingerprint and when each
    was last rotated; a rotated-out secret or key still accepted shows its fingerprint and until when."""
    channel = _from_document(ctx, doc)
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


def _field_error(field: str, code: str, zh: str, en: str) -> FieldError:
    return FieldError(field, code, zh, en)


def parse_channel(body: dict[str, Any], kind: str | None, *, creating: bool) -> dict[str, Any]:
    """Validated channel settings from an operator's body; ValidationFailed names each bad field."""
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    if creating:
        kind = body.get("kind")
        if not isinstance(kind, str) or kind not in KINDS:
            errors.append(_field_error("kind", "invalid", "kind 应为 wechat_miniprogram 或 alipay_miniprogram",
                                       "kind must be wechat_miniprogram or alipay_miniprogram"))
        app_id = body.get("app_id")
        if not isinstance(app_id, str) or not _APP_ID.match(app_id):
            errors.append(_field_error("app_id", "invalid", "app_id 应为 4 到 64 位字母、数字、下划线或连字符",
                                       "app_id must be 4 to 64 letters, digits, _ or -"))
        out.update(kind=kind, app_id=app_id)
    else:
        for fixed in ("kind", "app_id"):
            if fixed in body:
                errors.append(_field_error(fixed, "immutable", f"{fixed} 创建后不能修改（请新建渠道）",
                                           f"{fixed} cannot change; create another channel"))
    if "name" in body or creating:
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 64:
            errors.append(_field_error("name", "required", "请填写 1 到 64 个字符的渠道名称", "name must have 1 to 64 characters"))
        else:
            out["name"] = name.strip()
    if "api_base_url" in body or creating:
        url = body.get("api_base_url")
        if not isinstance(url, str) or len(url) > 500 or not _BASE_URL.match(url):
            errors.append(_field_error("api_base_url", "invalid", "api_base_url 应为 http(s) 地址", "api_base_url must be an http(s) URL"))
        else:
            out["api_base_url"] = url.rstrip("/")
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            errors.append(_field_error("enabled", "invalid", "enabled 应为 true 或 false", "enabled must be true or false"))
        else:
            out["enabled"] = body["enabled"]
    if "timeout_seconds" in body:
        timeout = body["timeout_seconds"]
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0.5 <= timeout <= 30:
            errors.append(_field_error("timeout_seconds", "invalid", "timeout_seconds 应在 0.5 到 30 之间",
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
            errors.append(_field_error("templates", "invalid", "templates 应为 {模板名: 渠道模板ID}",
                                       "templates must map our template names to the channel's template ids"))
        else:
            out["templates"] = templates
    if kind in KINDS:
        out["secrets"] = _named_texts(body, "secrets", CHANNEL_SECRETS[kind], errors)
        out["public"] = _named_texts(body, "public", CHANNEL_PUBLIC[kind], errors)
        if creating and not all(out["secrets"].get(n) for n in CHANNEL_SECRETS[kind]):
            missing = ", ".join(CHANNEL_SECRETS[kind])
            errors.append(_field_error("secrets", "required", f"请设置渠道密钥：{missing}", f"Set the channel's secrets: {missing}"))
        if kind == ALIPAY_MINIPROGRAM and out["secrets"].get("app_private_key"):
            from integrations import alipay as alipay_client  # the app's public key follows its private key
            try:
                out["public"]["app_public_key"] = alipay_client.public_key_pem(out["secrets"]["app_private_key"])
            except (ValueError, TypeError):
                errors.append(_field_error("secrets.app_private_key", "invalid", "应用私钥不是有效的 RSA 私钥（PEM）",
                                           "app_private_key is not a valid RSA private key (PEM)"))
    if errors:
        raise ValidationFailed(errors=errors)
    return out


def _named_texts(body: dict[str, Any], field: str, allowed: tuple[str, ...], errors: list[FieldError]) -> dict[str, str]:
    given = body.get(field, {})
    if not isinstance(given, dict):
        errors.append(_field_error(field, "invalid", f"{field} 应为对象", f"{field} must be an object"))
        return {}
    out = {}
    for name, value in given.items():
        if name not in allowed:
            errors.append(_field_error(f"{field}.{name}", "unknown", f"不支持的字段 {name}（支付商户信息请在 /merchant 设置）",
                                       f"Unknown {field} entry {name} (payment keys go to /merchant)"))
        elif not isinstance(value, str) or not value.strip() or len(value) > 10_000:
            errors.append(_field_error(f"{field}.{name}", "invalid", f"{name} 应为非空文本", f"{name} must be a non-empty text"))
        else:
            out[name] = value.strip() if field == "secrets" and not value.lstrip().startswith("-----") else value
    return out


async def list_channels(ctx, *, kind: str | None = None, page: int = 1, page_size: int = 20) -> dict[str, Any]:  # noqa: ANN001
    if kind is not None and kind not in KINDS:
        raise ValidationFailed(errors=[_field_error("kind", "invalid", "kind 应为 wechat_miniprogram 或 alipay_miniprogram",
                                                    "kind must be wechat_miniprogram or alipay_miniprogram")])
    query: dict[str, Any] = {"kind": kind} if kind else {}
    total = await ctx.db.channels.count_documents(query)
    docs = await ctx.db.channels.find(query).sort("app_id", 1).skip((page - 1) * page_size).to_list(page_size)
    return {"items": [channel_view(ctx, d) for d in docs], "total": total, "page": page, "page_size": page_size}


def _not_found() -> NotFound:
    return NotFound("channel_not_found", "未找到该渠道", "No such channel")


async def get_channel_view(ctx, app_id: str) -> dict[str, Any]:  # noqa: ANN001
    doc = await ctx.db.channels.find_one({"app_id": app_id})
    if doc is None:
        raise _not_found()
    return channel_view(ctx, doc)


async def create_channel(ctx, body: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
    """A new channel from an operator's settings; 409 channel_exists when the app_id has one.

    A new channel is disabled unless the body asks for `enabled: true`, and then only once the
    config check passes (422 channel_check_failed otherwise, and nothing is stored)."""
    fields = parse_channel(body, None, creating=True)
    channel_id = f"{fields['kind'].split('_')[0]}-{fields['app_id']}"
    now = ctx.clock()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as stored: the answer equals later reads
    doc = {
        "_id": channel_id, "kind": fields["kind"], "app_id": fields["app_id"], "name": fields["name"],
        "api_base_url": fields["api_base_url"], "enabled": fields.get("enabled", False),
        "timeout_seconds": fields.get("timeout_seconds", 5.0), "public": fields["public"],
        "templates": fields.get("templates", {}), "exposed_services": fields.get("exposed_services", []),
        "secrets": {name: ctx.cipher.encrypt(value, _secret_context(channel_id, name))
                    for name, value in fields["secrets"].items()},
        "rotated_at": {name: now for name in fields["secrets"]},
        "created_at": now, "updated_at": now,
    }
    if doc["enabled"]:
        if await ctx.db.channels.find_one({"app_id": fields["app_id"]}, {"_id": 1}) is not None:
            raise _exists()  # before calling the channel: a check must not disturb a live app's tokens
        doc["last_check"] = _require_passing(await check_config(ctx, _from_document(ctx, doc)))
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


async def update_channel(ctx, app_id: str, body: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
    """Change some settings; given secrets replace the stored ones, others are kept.

    When the result is an enabled channel and this change enables it or changes what the config
    check depends on (URL, timeout, secrets, keys), the new config is checked by calling the channel
    first: 422 channel_check_failed and nothing stored when it fails."""
    current = await ctx.db.channels.find_one({"app_id": app_id})
    if current is None:
        raise _not_found()
    fields = parse_channel(body, current["kind"], creating=False)
    now = ctx.clock()
    update: dict[str, Any] = {"updated_at": now}
    for name in ("name", "api_base_url", "enabled", "timeout_seconds", "exposed_services", "templates"):
        if name in fields:
            update[name] = fields[name]
    for name, value in fields.get("secrets", {}).items():
        update[f"secrets.{name}"] = ctx.cipher.encrypt(value, _secret_context(current["_id"], name))
        update[f"rotated_at.{name}"] = now
    for name, value in fields.get("public", {}).items():
        update[f"public.{name}"] = value
    enabling = fields.get("enabled") is True and not current.get("enabled", True)
    config_changed = any(n in fields for n in _CHECKED_FIELDS) or bool(fields.get("secrets")) or bool(fields.get("public"))
    if fields.get("enabled", current.get("enabled", True)) and (enabling or config_changed):
        proposed = _from_document(ctx, {
            **current, **{k: v for k, v in update.items() if "." not in k},
            "secrets": {**(current.get("secrets") or {}),
                        **{k[8:]: v for k, v in update.items() if k.startswith("secrets.")}},
            "public": {**(current.get("public") or {}), **fields.get("public", {})}})
        update["last_check"] = _require_passing(await check_config(ctx, proposed))
    doc = await ctx.db.channels.find_one_and_update({"_id": current["_id"]}, {"$set": update},
                                                    return_document=ReturnDocument.AFTER)
    if doc is None:
        raise _not_found()
    await exposure.forget(ctx, app_id)
    return channel_view(ctx, doc)


async def channel_usage(ctx, app_id: str) -> dict[str, int]:  # noqa: ANN001
    """What still depends on a channel: citizens' identities linked through it, fee orders placed with it."""
    pattern = "^(wx|alio):" + re.escape(app_id) + ":"
    return {"identities": await ctx.db.identities.count_documents({"_id": {"$regex": pattern}}),
            "payment_orders": await ctx.db.payment_orders.count_documents({"app_id": app_id})}


async def delete_channel(ctx, app_id: str) -> None:  # noqa: ANN001
    """Delete a channel nobody depends on. The demo channels and channels with linked citizens or
    fee orders are refused (409): disable them instead, so logins and refunds keep their history."""
    doc = await ctx.db.channels.find_one({"app_id": app_id}, {"_id": 1})
    if doc is None:
        raise _not_found()
    if app_id in DEMO_APP_IDS:
        raise Conflict("channel_demo", "演示渠道每次启动都会重建，不能删除，请停用",
                       "Demo channels are recreated at every start; disable them instead")
    usage = await channel_usage(ctx, app_id)
    if any(usage.values()):
        raise Conflict("channel_in_use", "仍有市民账号或支付订单关联该渠道，不能删除，请停用",
                       "Citizens or fee orders still refer to this channel; disable it instead", extra={"usage": usage})
    await ctx.db.channels.delete_one({"_id": doc["_id"]})
    await exposure.forget(ctx, app_id)


# ---- checking a config by calling the channel -------------------------------------------------------

class ChannelCheckFailed(DomainError):
    """The channel refused (or could not be reached with) the config about to be enabled."""

    status = 422
    default_code = "channel_check_failed"
    default_zh = "渠道配置校验未通过（调用渠道接口失败），不能启用"
    default_en = "The channel config failed its check (calling the channel failed); it cannot be enabled"


def _require_passing(result: dict[str, Any]) -> dict[str, Any]:
    if not result["ok"]:
        raise ChannelCheckFailed(extra={"check": result})
    return result


async def check_config(ctx, channel: Channel) -> dict[str, Any]:  # noqa: ANN001
    """Call the channel with this config and say whether it works: {ok, call, at, error?}.

    WeChat: fetch an access token (cgi-bin/token proves the app id and app secret; the token is kept
    as the app's current one, since each fetch retires the previous). Alipay: a signed gateway call
    (alipay.system.oauth.token with a code that cannot exist): an `isv.code-invalid` answer proves the
    gateway verified our signature (app id and private key) and its signed answer verified with
    `alipay_public_key`. Never raises for what the channel answers.
    """
    from integrations import alipay as alipay_client
    from integrations import wechat as wechat_client

    result: dict[str, Any] = {"ok": False, "at": ctx.clock()}
    if channel.kind == WECHAT_MINIPROGRAM:
        result["call"] = "cgi-bin/token"
        try:
            await wechat_client.WeChatMiniProgram(ctx, channel).access_token(force_refresh=True, previous_ok=False)
            result["ok"] = True
        except wechat_client.WeChatClientException as exc:
            result["error"] = f"errcode {exc.errcode}"
        except (wechat_client.WeChatTransportError, ChannelError) as exc:
            result["error"] = _short(exc)
        return result
    result["call"] = "alipay.system.oauth.token"
    try:
        await alipay_client.AlipayClient(channel, ctx.http, previous_ok=False).call(
            "alipay.system.oauth.token", grant_type="authorization_code", code="citygate-config-check")
        result["ok"] = True  # the gateway took a code that cannot exist; it also verified our signature
    except alipay_client.AlipayError as exc:
        result["ok"] = "code" in exc.sub_code and ("invalid" in exc.sub_code or "expired" in exc.sub_code)
        if not result["ok"]:
            result["error"] = f"{exc.code} {exc.sub_code}".strip()
    except alipay_client.AlipayResponseUnverified:
        result["error"] = "response_unverified (alipay_public_key)"
    except (alipay_client.AlipayTransportError, ChannelError, ValueError, TypeError, KeyError) as exc:
        result["error"] = _short(exc)
    return result


def _short(exc: Exception) -> str:
    text = str(exc)
    return type(exc).__name__ + (f": {text[:120]}" if text else "")


async def check_channel(ctx, app_id: str) -> dict[str, Any]:  # noqa: ANN001
    """Run the config check on a stored channel (enabled or not) and record its outcome."""
    channel = await find_channel(ctx, app_id)
    if channel is None:
        raise _not_found()
    result = await check_config(ctx, channel)
    await ctx.db.channels.update_one({"_id": channel.id}, {"$set": {"last_check": result}})
    return {"app_id": app_id, **result}


# ---- rotation with an overlap window ------------------------------------------------------------------
# What POST /admin/v1/channels/{app_id}/rotations may rotate, by the name an operator sends. During the
# overlap the rotated-out value still works where it verifies or authenticates something that may
# still be on the old one: WeChat Pay callbacks encrypted with the old APIv3 key, Alipay callbacks
# signed with Alipay's old key, logins while the vendor still knows the old app secret or app key.
ROTATABLE: dict[str, dict[str, str]] = {
    WECHAT_MINIPROGRAM: {"app_secret": "app_secret", "apiv3_key": "wechatpay_apiv3_key",
                         "wechatpay_apiv3_key": "wechatpay_apiv3_key",
                         "private_key": "wechatpay_private_key", "wechatpay_private_key": "wechatpay_private_key"},
    ALIPAY_MINIPROGRAM: {"private_key": "app_private_key", "app_private_key": "app_private_key",
                         "alipay_public_key": "alipay_public_key"},
}
PUBLIC_ROTATABLE = frozenset({"alipay_public_key"})  # keys, not secrets: shown, stored in clear
DEFAULT_OVERLAP_SECONDS = 86_400
MAX_OVERLAP_SECONDS = 30 * 86_400


def _rotation_value_problems(stored_name: str, value: str, body: dict[str, Any]) -> list[FieldError]:
    from integrations import alipay as alipay_client
    from integrations import wechatpay

    if stored_name == "wechatpay_apiv3_key" and len(value.encode()) != 32:
        return [_field_error("value", "invalid", "APIv3 密钥应为 32 个字符", "an APIv3 key has 32 characters")]
    if stored_name == "app_secret" and not 8 <= len(value) <= 128:
        return [_field_error("value", "invalid", "AppSecret 应为 8 到 128 个字符", "an app secret has 8 to 128 characters")]
    try:
        if stored_name == "app_private_key":
            alipay_client.public_key_pem(value)
        elif stored_name == "alipay_public_key":
            alipay_client._public_key(value)
        elif stored_name == "wechatpay_private_key":
            wechatpay.load_private_key(value)
    except (ValueError, TypeError):
        return [_field_error("value", "invalid", "密钥无法读取（RSA PEM）", "not a readable RSA key (PEM)")]
    if stored_name == "wechatpay_private_key":
        serial = body.get("serial_no")
        if not isinstance(serial, str) or not 8 <= len(serial) <= 64 or not serial.isalnum():
            return [_field_error("serial_no", "required", "更换商户私钥需同时提供新证书序列号",
                                 "a new merchant key needs its certificate's serial_no")]
    return []


async def rotate_secret(ctx, app_id: str, body: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
    """Make `value` the current `secret` of a channel; the one it replaces stays valid where it is
    checked (callbacks, login fallbacks) for `overlap_seconds` (default one day, 0 = not at all).

    409 rotation_conflict when the secret changed meanwhile (another rotation won).
    """
    current = await ctx.db.channels.find_one({"app_id": app_id})
    if current is None:
        raise _not_found()
    kind = current["kind"]
    names = ROTATABLE[kind]
    errors: list[FieldError] = []
    asked, value, overlap = body.get("secret"), body.get("value"), body.get("overlap_seconds", DEFAULT_OVERLAP_SECONDS)
    if not isinstance(asked, str) or asked not in names:
        errors.append(_field_error("secret", "invalid", "可轮换：" + "、".join(sorted(names)),
                                   "rotatable here: " + ", ".join(sorted(names))))
    if not isinstance(value, str) or not value.strip() or len(value) > 10_000:
        errors.append(_field_error("value", "required", "请提供新的密钥值", "value must be the new secret"))
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap <= MAX_OVERLAP_SECONDS:
        errors.append(_field_error("overlap_seconds", "invalid", f"overlap_seconds 应为 0 到 {MAX_OVERLAP_SECONDS} 的整数",
                                   f"overlap_seconds must be a whole number from 0 to {MAX_OVERLAP_SECONDS}"))
    if errors:
        raise ValidationFailed(errors=errors)
    stored_name = names[asked]
    value = value if value.lstrip().startswith("-----") else value.strip()
    problems = _rotation_value_problems(stored_name, value, body)
    if problems:
        raise ValidationFailed(errors=problems)
    is_public = stored_name in PUBLIC_ROTATABLE
    field = ("public." if is_public else "secrets.") + stored_name
    old_stored = (current.get("public" if is_public else "secrets") or {}).get(stored_name)
    channel = _from_document(ctx, current)
    old_value = (channel.public if is_public else channel.secrets).get(stored_name)
    if old_value == value:
        raise ValidationFailed(errors=[_field_error("value", "unchanged", "新值与当前值相同", "value is the current one")])
    now = ctx.clock()
    until = now + datetime.timedelta(seconds=overlap)
    update: dict[str, Any] = {
        field: value if is_public else ctx.cipher.encrypt(value, _secret_context(current["_id"], stored_name)),
        f"rotated_at.{stored_name}": now, "updated_at": now,
    }
    if old_value:
        update[f"previous.{stored_name}"] = {
            "value": old_value if is_public else ctx.cipher.encrypt(old_value, _previous_context(current["_id"], stored_name)),
            "secret": not is_public, "until": until, "rotated_at": now, "fingerprint": fingerprint(old_value)}
    if stored_name == "app_private_key":
        from integrations import alipay as alipay_client
        update["public.app_public_key"] = alipay_client.public_key_pem(value)
    if stored_name == "wechatpay_private_key":
        update["public.wechatpay_serial_no"] = body["serial_no"]
    guard: dict[str, Any] = {"_id": current["_id"]}
    if old_stored is not None:
        guard[field] = old_stored
    doc = await ctx.db.channels.find_one_and_update(guard, {"$set": update}, return_document=ReturnDocument.AFTER)
    if doc is None:
        raise Conflict("rotation_conflict", "该密钥刚被修改，请刷新后重试", "This secret changed meanwhile; reload and retry")
    ctx.extras.get("payments_channel_cache", {}).pop(current["_id"], None)
    log.info("channel %s: %s rotated, the previous one accepted until %s", app_id, stored_name, until.isoformat())
    return {"secret": stored_name, "rotated_at": now, "previous_valid_until": until if old_value else None,
            "channel": channel_view(ctx, doc)}
