"""Merchants (商户): a channel's payment set-up, and the gateway that set-up opens at its vendor.

Merchant configuration lives on the channel document (models.channels): non-secret values in
`public`, private keys and the APIv3 key in `secrets`, encrypted at rest with the field cipher. From
it this module builds the plain config object of the vendor's port (models.ports) and asks the
vendor wired at start-up (`ctx.payment_gateways`) for the gateway; nothing else here knows a vendor.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from models import channels
from models.core.context import Context
from models.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from models.ports import AlipayMerchant, MerchantConfig, PaymentGateway, PaymentVendor, WechatPayMerchant

# The channel name fee orders use -> the kind of channel they are paid through.
CHANNEL_KINDS = {"wechat": channels.WECHAT_MINIPROGRAM, "alipay": channels.ALIPAY_MINIPROGRAM}
CHANNEL_NAMES = {kind: name for name, kind in CHANNEL_KINDS.items()}
# The path segment of a channel kind's notify URL (/notify/<vendor>/<channel id>).
NOTIFY_VENDORS = {channels.WECHAT_MINIPROGRAM: "wechatpay", channels.ALIPAY_MINIPROGRAM: "alipay"}
CHANNEL_CACHE_SECONDS = 10.0

WECHATPAY_SECRETS = ("wechatpay_private_key", "wechatpay_apiv3_key")
WECHATPAY_PUBLIC = ("wechatpay_mch_id", "wechatpay_serial_no", "wechatpay_api_base", "wechatpay_platform_keys")


class PaymentChannelError(DomainError):
    """The payment channel refused or could not be trusted (misconfiguration, bad signature...)."""

    status = 502
    default_code = "payment_channel_error"
    default_zh = "支付渠道返回异常，请稍后再试"
    default_en = "The payment channel returned an error"


def not_configured() -> Conflict:
    return Conflict("payment_not_configured", "该渠道尚未开通支付", "Payments are not set up for this channel")


# ---- channels (cached: callbacks come in bursts) ----------------------------------------------------

async def channel_by_id(ctx: Context, channel_id: str, *, fresh: bool = False) -> channels.Channel | None:
    """The channel whose `_id` is `channel_id` (the id in our notify URLs), or None.

    Callbacks come in bursts and each needs the channel's keys: a loaded channel is kept for
    CHANNEL_CACHE_SECONDS in this process (a changed merchant config reaches other workers within
    that time; a callback that fails verification with a cached config is checked again with a fresh one).
    """
    cache: dict[str, tuple[float, channels.Channel]] = ctx.extras.setdefault("payments_channel_cache", {})
    hit = cache.get(channel_id)
    if hit is not None and not fresh and hit[0] > time.monotonic():
        return hit[1]
    doc = await ctx.db.channels.find_one({"_id": channel_id}, {"app_id": 1})
    channel = await channels.find_channel(ctx, doc["app_id"]) if doc else None
    if channel is None:
        cache.pop(channel_id, None)
    else:
        cache[channel_id] = (time.monotonic() + CHANNEL_CACHE_SECONDS, channel)
    return channel


def _forget_channel(ctx: Context, channel: channels.Channel) -> channels.Channel:
    ctx.extras.get("payments_channel_cache", {}).pop(channel.id, None)
    return channel


def notify_url(ctx: Context, channel: channels.Channel) -> str:
    return f"{ctx.settings.base_url.rstrip('/')}/notify/{NOTIFY_VENDORS[channel.kind]}/{channel.id}"


# ---- the vendor's config object, and its gateway ----------------------------------------------------

def wechatpay_config(channel: channels.Channel, now: datetime.datetime | None = None) -> WechatPayMerchant:
    """The channel's WeChat Pay merchant config; 409 when payments are not set up for it. Given `now`,
    it also holds a rotated-out APIv3 key still in its overlap window (for notifications)."""
    public = channel.public
    if channel.kind != channels.WECHAT_MINIPROGRAM or not all(public.get(n) for n in WECHATPAY_PUBLIC) \
            or not all(channel.secrets.get(n) for n in WECHATPAY_SECRETS):
        raise not_configured()
    try:
        platform_keys = json.loads(public["wechatpay_platform_keys"])
    except ValueError:
        raise not_configured() from None
    return WechatPayMerchant(app_id=channel.app_id, mch_id=public["wechatpay_mch_id"],
                             serial_no=public["wechatpay_serial_no"], private_key_pem=channel.secrets["wechatpay_private_key"],
                             apiv3_key=channel.secrets["wechatpay_apiv3_key"], platform_keys=platform_keys,
                             api_base=public["wechatpay_api_base"],
                             previous_apiv3_keys=tuple(channel.previous_values("wechatpay_apiv3_key", now)) if now else (),
                             timeout_seconds=channel.timeout_seconds)


def _alipay_ready(channel: channels.Channel) -> bool:
    return (channel.kind == channels.ALIPAY_MINIPROGRAM and bool(channel.secrets.get("app_private_key"))
            and bool(channel.public.get("alipay_public_key")) and bool(channel.public.get("alipay_seller_id")))


def alipay_config(channel: channels.Channel, now: datetime.datetime | None = None) -> AlipayMerchant:
    """The channel's Alipay payments config; 409 when payments are not set up for it. Given `now`, it
    also holds Alipay's rotated-out public key still in its overlap window."""
    if not _alipay_ready(channel):
        raise not_configured()
    return AlipayMerchant(app_id=channel.app_id, seller_id=channel.public["alipay_seller_id"],
                          app_private_key_pem=channel.secrets["app_private_key"],
                          alipay_public_key_pem=channel.public["alipay_public_key"], gateway_url=channel.api_base_url,
                          previous_alipay_public_keys=tuple(channel.previous_values("alipay_public_key", now)) if now else (),
                          timeout_seconds=channel.timeout_seconds)


MERCHANT_CONFIGS: dict[str, Callable[[channels.Channel, datetime.datetime | None], MerchantConfig]] = {
    channels.WECHAT_MINIPROGRAM: wechatpay_config, channels.ALIPAY_MINIPROGRAM: alipay_config}


def vendor(ctx: Context, channel_name: str) -> PaymentVendor:
    """The payment vendor wired at start-up for a channel name ("wechat", "alipay")."""
    return ctx.payment_gateways[channel_name]


def gateway_for(ctx: Context, channel: channels.Channel) -> PaymentGateway:
    """The gateway to this channel's merchant at its vendor; 409 when payments are not set up on it."""
    config = MERCHANT_CONFIGS.get(channel.kind)
    if config is None:
        raise not_configured()
    return vendor(ctx, CHANNEL_NAMES[channel.kind]).gateway(config(channel, ctx.clock()))


# ---- operators' set-up ------------------------------------------------------------------------------

async def configure_wechatpay(ctx: Context, app_id: str, *, mch_id: str, serial_no: str, private_key_pem: str,
                              apiv3_key: str, platform_keys: Mapping[str, str], api_base: str) -> channels.Channel:
    """Store a WeChat Pay merchant on a WeChat channel (private key and APIv3 key encrypted)."""
    wechatpay = vendor(ctx, "wechat")
    problems: list[FieldError] = []
    if not (isinstance(mch_id, str) and mch_id.isdigit() and 6 <= len(mch_id) <= 32):
        problems.append(FieldError("mch_id", "invalid", "商户号应为数字", "mch_id must be digits"))
    if not (isinstance(serial_no, str) and 8 <= len(serial_no) <= 64):
        problems.append(FieldError("serial_no", "invalid", "证书序列号有误", "serial_no is not a certificate serial"))
    if not wechatpay.key_readable(private_key_pem, private=True):
        problems.append(FieldError("private_key_pem", "invalid", "商户私钥无法读取", "private_key_pem is not an RSA private key"))
    if not isinstance(apiv3_key, str) or len(apiv3_key.encode()) != 32:
        problems.append(FieldError("apiv3_key", "invalid", "APIv3 密钥应为 32 个字符", "apiv3_key must be 32 characters"))
    if not isinstance(platform_keys, Mapping) or not platform_keys:
        problems.append(FieldError("platform_keys", "required", "需要微信支付平台公钥", "platform_keys is required"))
    else:
        for serial, pem in platform_keys.items():
            if not wechatpay.key_readable(pem, private=False):
                problems.append(FieldError(f"platform_keys.{serial}", "invalid", "平台公钥无法读取",
                                           "not an RSA public key or certificate"))
    if not isinstance(api_base, str) or not api_base.startswith(("https://", "http://")):
        problems.append(FieldError("api_base", "invalid", "API 地址应以 https:// 开头", "api_base must be a URL"))
    if problems:
        raise ValidationFailed(errors=problems)
    channel = await channels.find_channel(ctx, app_id)
    if channel is None or channel.kind != channels.WECHAT_MINIPROGRAM:
        raise NotFound("channel_not_found", "未找到该微信渠道", "No such WeChat channel")
    _forget_channel(ctx, channel)
    return await channels.upsert_channel(
        ctx, kind=channel.kind, app_id=channel.app_id, name=channel.name, api_base_url=channel.api_base_url,
        enabled=channel.enabled, timeout_seconds=channel.timeout_seconds,
        secrets={"wechatpay_private_key": private_key_pem, "wechatpay_apiv3_key": apiv3_key},
        public={"wechatpay_mch_id": mch_id, "wechatpay_serial_no": serial_no, "wechatpay_api_base": api_base.rstrip("/"),
                "wechatpay_platform_keys": json.dumps(dict(platform_keys), sort_keys=True)})


async def configure_alipay(ctx: Context, app_id: str, *, seller_id: str, app_private_key_pem: str | None = None,
                           alipay_public_key_pem: str | None = None) -> channels.Channel:
    """Enable Alipay payments on an Alipay channel: its seller PID (keys are shared with login)."""
    problems: list[FieldError] = []
    if not (isinstance(seller_id, str) and seller_id.startswith("2088") and seller_id.isdigit() and len(seller_id) == 16):
        problems.append(FieldError("seller_id", "invalid", "卖家 PID 应为 2088 开头的 16 位数字",
                                   "seller_id must be a 16-digit PID starting with 2088"))
    if problems:
        raise ValidationFailed(errors=problems)
    channel = await channels.find_channel(ctx, app_id)
    if channel is None or channel.kind != channels.ALIPAY_MINIPROGRAM:
        raise NotFound("channel_not_found", "未找到该支付宝渠道", "No such Alipay channel")
    _forget_channel(ctx, channel)
    public = {"alipay_seller_id": seller_id}
    if alipay_public_key_pem:
        public["alipay_public_key"] = alipay_public_key_pem
    return await channels.upsert_channel(
        ctx, kind=channel.kind, app_id=channel.app_id, name=channel.name, api_base_url=channel.api_base_url,
        enabled=channel.enabled, timeout_seconds=channel.timeout_seconds,
        secrets={"app_private_key": app_private_key_pem} if app_private_key_pem else None, public=public)


def merchant_view(channel: channels.Channel) -> dict[str, Any]:
    """A channel's payment set-up without its secrets."""
    if channel.kind == channels.WECHAT_MINIPROGRAM:
        keys = json.loads(channel.public.get("wechatpay_platform_keys") or "{}")
        return {"app_id": channel.app_id, "channel_id": channel.id, "kind": channel.kind,
                "configured": all(channel.public.get(n) for n in WECHATPAY_PUBLIC)
                and all(channel.secrets.get(n) for n in WECHATPAY_SECRETS),
                "mch_id": channel.public.get("wechatpay_mch_id"), "serial_no": channel.public.get("wechatpay_serial_no"),
                "api_base": channel.public.get("wechatpay_api_base"), "platform_serials": sorted(keys),
                "notify_path": f"/notify/wechatpay/{channel.id}"}
    return {"app_id": channel.app_id, "channel_id": channel.id, "kind": channel.kind, "configured": _alipay_ready(channel),
            "seller_id": channel.public.get("alipay_seller_id"), "gateway": channel.api_base_url,
            "notify_path": f"/notify/alipay/{channel.id}"}
