"""Fee orders (缴费订单): paying an application's fee through WeChat Pay or Alipay, exactly once.

An application whose service item charges a fee (`guide.fee.amount_fen`) gets a fee order: a unique
order number, the amount in fen, an expiry (`settings.payment_order_ttl_minutes`) and the channel it
is paid through. States: pending → paid | closed. One order per application holds the application's
"active" key (a sparse unique `active_for`) while pending or paid, so two orders can never both be
payable; closing an order releases it.

Payment callbacks are retried by the channels for a day and may arrive twice, fifty times at once,
out of order or late. They are applied exactly once: the order moves pending → paid in one
conditional update that only one caller wins, and the application side effects (the application's
`payment` fields set with a conditional update, an outbox record with a dedupe key) are idempotent
and re-run by every later callback and by reconciliation, so a crash between the two loses nothing.
Every callback attempt, accepted or refused, is recorded in `payment_notifications`.

Refunds (operator-initiated, full or partial) reserve their amount on the order first
(`refundable_fen` only ever decreases in a guarded update), so refunds never exceed what was paid; a
refund that fails releases its reservation once. Refunds and notification attempts live in their
own collections (nx-27017 stores $push-ed sub-documents as strings).

Merchant configuration lives on the channel document (models.channels): non-secret values in
`public`, private keys and the APIv3 key in `secrets`, encrypted at rest with the field cipher.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models import applications, catalogue, channels, outbox
from models.access import OperatorScope
from models.core.timezone import (
    VendorTimeError,
    local,
    local_iso,
    local_minute,
    parse_alipay_time,
    parse_rfc3339,
    rfc3339,
)
from models.errors import BadRequest, Conflict, DomainError, FieldError, NotFound, Unavailable, ValidationFailed

log = logging.getLogger("citygate.payments")

CHANNEL_KINDS = {"wechat": channels.WECHAT_MINIPROGRAM, "alipay": channels.ALIPAY_MINIPROGRAM}
# Application states in which the fee can be paid.
PAYABLE_STATUSES = ("submitted", "accepted", "supplement_requested", "resubmitted", "approved", "completed")
# A pending order's channel state is checked this long after creation, then this often.
FIRST_CHECK = datetime.timedelta(seconds=30)
RECHECK = datetime.timedelta(minutes=2)
REFUND_RECHECK = datetime.timedelta(minutes=1)
# An order placed this recently without a channel answer yet is still being placed.
PLACING_GRACE = datetime.timedelta(seconds=15)
CHANNEL_CACHE_SECONDS = 10.0
# Reconciliation re-checks a paid order's application side effects after this long (see _mark_paid).
EFFECTS_CHECK = datetime.timedelta(minutes=2)

WECHATPAY_SECRETS = ("wechatpay_private_key", "wechatpay_apiv3_key")
WECHATPAY_PUBLIC = ("wechatpay_mch_id", "wechatpay_serial_no", "wechatpay_api_base", "wechatpay_platform_keys")


class PaymentChannelError(DomainError):
    """The payment channel refused or could not be trusted (misconfiguration, bad signature...)."""

    status = 502
    default_code = "payment_channel_error"
    default_zh = "支付渠道返回异常，请稍后再试"
    default_en = "The payment channel returned an error"


@dataclasses.dataclass(frozen=True)
class NotifyResult:
    """What to answer a channel's callback: `ok` (and the HTTP status), or why it was refused."""

    ok: bool
    status: int
    outcome: str  # applied | duplicate | ignored | anomaly | refused
    message: str = ""


# ---- indexes and small helpers -------------------------------------------------------------------

async def ensure_indexes(db: AsyncDatabase) -> None:
    # Single-field indexes: nx-27017 never answers a query from a compound index (a full scan).
    await db.payment_orders.create_index("active_for", unique=True, sparse=True)
    await db.payment_orders.create_index("application_no")
    await db.payment_orders.create_index("citizen_id")
    await db.payment_orders.create_index("next_check_at")
    await db.payment_orders.create_index("effects_check_at", sparse=True)
    await db.payment_orders.create_index([("created_at", DESCENDING)])
    await db.payment_refunds.create_index("order_no")
    await db.payment_refunds.create_index("next_check_at")
    await db.payment_notifications.create_index("order_no")
    await db.payment_notifications.create_index([("received_at", DESCENDING)])


def _new_number(prefix: str, now: datetime.datetime) -> str:
    """E.g. "PAY20261123104530K7Q2M9XD4T": time-ordered, unique by its random tail (and the _id index)."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return prefix + local(now).strftime("%Y%m%d%H%M%S") + "".join(secrets.choice(alphabet) for _ in range(10))


def _aware(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def _vendor_time(parse: Callable[[str], datetime.datetime], fields: Mapping[str, Any],
                 name: str) -> datetime.datetime | None:
    """A channel's time field (`parse`: parse_alipay_time or parse_rfc3339) as UTC; None when missing.

    A malformed one is logged and taken as missing (the caller then uses the time we heard of it):
    the message is signed and the money moved, so refusing it would only make the channel retry.
    """
    text = fields.get(name)
    if text is None or text == "":
        return None
    try:
        return parse(text)
    except VendorTimeError as exc:
        log.warning("payment channel sent %s in an unexpected format (%s); using the time it arrived", name, exc)
        return None


def _iso(value: Any) -> Any:
    """Datetimes as ISO 8601 in Asia/Shanghai (views are JSON-ready, so idempotent replays match)."""
    return local_iso(value) if isinstance(value, datetime.datetime) else value


def _localized(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("zh-CN") or value.get("en") or "")
    return str(value or "")


# ---- merchant configuration (on the channel document) ---------------------------------------------

async def channel_by_id(ctx, channel_id: str, *, fresh: bool = False) -> channels.Channel | None:  # noqa: ANN001 - AppContext
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


def _forget_channel(ctx, channel: channels.Channel) -> channels.Channel:  # noqa: ANN001
    ctx.extras.get("payments_channel_cache", {}).pop(channel.id, None)
    return channel


def notify_url(ctx, channel: channels.Channel) -> str:  # noqa: ANN001
    vendor = "wechatpay" if channel.kind == channels.WECHAT_MINIPROGRAM else "alipay"
    return f"{ctx.settings.base_url.rstrip('/')}/notify/{vendor}/{channel.id}"


def wechatpay_config(channel: channels.Channel, now: datetime.datetime | None = None):  # noqa: ANN201 - integrations.wechatpay.MerchantConfig
    """The channel's WeChat Pay merchant config; 409 when payments are not set up for it. Given `now`,
    it also holds a rotated-out APIv3 key still in its overlap window (for notifications)."""
    from integrations.wechatpay import MerchantConfig

    public = channel.public
    if channel.kind != channels.WECHAT_MINIPROGRAM or not all(public.get(n) for n in WECHATPAY_PUBLIC) \
            or not all(channel.secrets.get(n) for n in WECHATPAY_SECRETS):
        raise _not_configured()
    try:
        platform_keys = json.loads(public["wechatpay_platform_keys"])
    except ValueError:
        raise _not_configured() from None
    return MerchantConfig(app_id=channel.app_id, mch_id=public["wechatpay_mch_id"],
                          serial_no=public["wechatpay_serial_no"], private_key_pem=channel.secrets["wechatpay_private_key"],
                          apiv3_key=channel.secrets["wechatpay_apiv3_key"], platform_keys=platform_keys,
                          api_base=public["wechatpay_api_base"],
                          previous_apiv3_keys=tuple(channel.previous_values("wechatpay_apiv3_key", now)) if now else ())


def _alipay_ready(channel: channels.Channel) -> bool:
    return (channel.kind == channels.ALIPAY_MINIPROGRAM and bool(channel.secrets.get("app_private_key"))
            and bool(channel.public.get("alipay_public_key")) and bool(channel.public.get("alipay_seller_id")))


def _not_configured() -> Conflict:
    return Conflict("payment_not_configured", "该渠道尚未开通支付", "Payments are not set up for this channel")


async def configure_wechatpay(ctx, app_id: str, *, mch_id: str, serial_no: str, private_key_pem: str,  # noqa: ANN001
                              apiv3_key: str, platform_keys: Mapping[str, str], api_base: str) -> channels.Channel:
    """Store a WeChat Pay merchant on a WeChat channel (private key and APIv3 key encrypted)."""
    from integrations import wechatpay

    problems: list[FieldError] = []
    if not (isinstance(mch_id, str) and mch_id.isdigit() and 6 <= len(mch_id) <= 32):
        problems.append(FieldError("mch_id", "invalid", "商户号应为数字", "mch_id must be digits"))
    if not (isinstance(serial_no, str) and 8 <= len(serial_no) <= 64):
        problems.append(FieldError("serial_no", "invalid", "证书序列号有误", "serial_no is not a certificate serial"))
    try:
        wechatpay.load_private_key(private_key_pem)
    except (ValueError, TypeError):
        problems.append(FieldError("private_key_pem", "invalid", "商户私钥无法读取", "private_key_pem is not an RSA private key"))
    if not isinstance(apiv3_key, str) or len(apiv3_key.encode()) != 32:
        problems.append(FieldError("apiv3_key", "invalid", "APIv3 密钥应为 32 个字符", "apiv3_key must be 32 characters"))
    if not isinstance(platform_keys, Mapping) or not platform_keys:
        problems.append(FieldError("platform_keys", "required", "需要微信支付平台公钥", "platform_keys is required"))
    else:
        for serial, pem in platform_keys.items():
            try:
                wechatpay.load_public_key(pem)
            except (ValueError, TypeError):
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


async def configure_alipay(ctx, app_id: str, *, seller_id: str, app_private_key_pem: str | None = None,  # noqa: ANN001
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


def _wechat_client(ctx, channel: channels.Channel):  # noqa: ANN001, ANN202
    from integrations.wechatpay import WechatPayClient

    return WechatPayClient(ctx.http, wechatpay_config(channel), timeout=channel.timeout_seconds)


def _alipay_client(ctx, channel: channels.Channel):  # noqa: ANN001, ANN202
    from integrations.alipay_trade import AlipayTradeClient

    if not _alipay_ready(channel):
        raise _not_configured()
    return AlipayTradeClient(channel, ctx.http)


# ---- demo data ----------------------------------------------------------------------------------

async def load_demo(ctx) -> None:  # noqa: ANN001 - AppContext
    """Payments for the demo channels, wired to the sandbox WeChat Pay and Alipay on this server.

    Runs after models.channels' demo loader. As a merchant does on the vendors' consoles, it registers
    the demo merchant's key with the sandbox WeChat Pay (and takes its platform key in exchange), and
    gives the demo Alipay app a seller PID. Keys already on the channel are kept.
    """
    from integrations import wechatpay
    from integrations.sandbox import alipay_trade as alipay_sandbox
    from integrations.sandbox import keys as sandbox_keys
    from integrations.sandbox import wechatpay as wechatpay_sandbox

    base = ctx.settings.base_url.rstrip("/")
    wechat = await channels.find_channel(ctx, channels.DEMO_WECHAT_APP_ID)
    if wechat is not None:
        private_pem = wechat.secrets.get("wechatpay_private_key") or \
            await sandbox_keys.rsa_private_key_pem(ctx, "demo_wechatpay_merchant")
        public_pem = wechatpay.public_key_pem(wechatpay.load_private_key(private_pem))
        apiv3_key = wechat.secrets.get("wechatpay_apiv3_key") or secrets.token_hex(16)
        mch_id = wechat.public.get("wechatpay_mch_id") or "1900000109"
        serial_no = wechat.public.get("wechatpay_serial_no") or hashlib.sha1(public_pem.encode()).hexdigest().upper()
        platform_serial, platform_pem = await wechatpay_sandbox.platform_public_key(ctx)
        await configure_wechatpay(ctx, wechat.app_id, mch_id=mch_id, serial_no=serial_no, private_key_pem=private_pem,
                                  apiv3_key=apiv3_key, platform_keys={platform_serial: platform_pem},
                                  api_base=base + "/sandbox/wechatpay")
        await wechatpay_sandbox.register_merchant(ctx, mch_id=mch_id, serial_no=serial_no, public_key_pem=public_pem,
                                                  apiv3_key=apiv3_key, app_ids=[wechat.app_id])
    alipay = await channels.find_channel(ctx, channels.DEMO_ALIPAY_APP_ID)
    if alipay is not None:
        seller_id = await alipay_sandbox.register_seller(ctx, alipay.app_id, alipay.public.get("alipay_seller_id"))
        await configure_alipay(ctx, alipay.app_id, seller_id=seller_id)


# ---- views --------------------------------------------------------------------------------------

def order_view(order: dict[str, Any], *, operator: bool = False) -> dict[str, Any]:
    shown = {
        "order_no": order["_id"], "application_no": order["application_no"], "service_code": order.get("service_code"),
        "description": order.get("description"), "channel": order["channel"], "app_id": order["app_id"],
        "amount_fen": order["amount_fen"], "currency": "CNY", "status": order["status"],
        "created_at": _iso(order["created_at"]), "expires_at": _iso(order["expires_at"]),
        "paid_at": _iso(order.get("paid_at")), "closed_at": _iso(order.get("closed_at")),
        "refunded_fen": order.get("refunded_fen", 0),
    }
    if operator:
        shown.update(citizen_id=order.get("citizen_id"), channel_id=order.get("channel_id"),
                     channel_trade_no=order.get("channel_trade_no"), paid_via=order.get("paid_via"),
                     close_reason=order.get("close_reason"), refundable_fen=order.get("refundable_fen", 0),
                     anomaly=order.get("anomaly"))
    return shown


def refund_view(refund: dict[str, Any]) -> dict[str, Any]:
    return {"refund_no": refund["_id"], "order_no": refund["order_no"], "amount_fen": refund["amount_fen"],
            "status": refund["status"], "reason": refund.get("reason", ""), "operator_id": refund.get("operator_id"),
            "created_at": _iso(refund["created_at"]), "succeeded_at": _iso(refund.get("succeeded_at")),
            "failed_at": _iso(refund.get("failed_at")), "failure": refund.get("failure")}


# ---- creating orders ----------------------------------------------------------------------------

async def _payer_id(ctx, citizen_id: str, channel: channels.Channel) -> str:  # noqa: ANN001
    """The citizen's id at this channel: the WeChat openid in this app, the Alipay user_id or open_id."""
    from models import citizens

    citizen = await citizens.find_citizen(ctx, citizen_id)
    details = (citizen or {}).get("identities") or {}
    found: dict[str, str] = {}
    for detail in details.values() if isinstance(details, dict) else []:
        kind = detail.get("kind")
        if kind == "wechat_openid" and detail.get("app_id") == channel.app_id and detail.get("openid"):
            found["wechat"] = detail["openid"]
        elif kind == "alipay_user_id" and detail.get("user_id"):
            found["alipay_user"] = detail["user_id"]
        elif kind == "alipay_open_id" and detail.get("app_id") == channel.app_id and detail.get("open_id"):
            found["alipay_open"] = detail["open_id"]
    payer = found.get("wechat") if channel.kind == channels.WECHAT_MINIPROGRAM else \
        found.get("alipay_user") or found.get("alipay_open")
    if not payer:
        raise Conflict("payer_identity_missing", "请先通过该小程序登录后再支付",
                       "Log in through this mini-program before paying")
    return payer


async def _fee_fen(ctx, service_code: str) -> int:  # noqa: ANN001
    item = await catalogue.get_item(ctx.db, service_code)
    fee = (item.get("guide") or {}).get("fee") or {}
    amount = fee.get("amount_fen")
    if fee.get("free", True) is not False or not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise Conflict("payment_not_required", "该事项不收费，无需缴费", "This service charges no fee")
    return amount


def _check_channel_name(channel_name: Any, app_id: Any) -> str:
    problems = []
    if not isinstance(channel_name, str) or channel_name not in CHANNEL_KINDS:  # {"$ne": null} is no name
        problems.append(FieldError("channel", "invalid", "channel 应为 wechat 或 alipay", "channel must be wechat or alipay"))
    if not isinstance(app_id, str) or not app_id:
        problems.append(FieldError("app_id", "required", "app_id 为必填项", "app_id is required"))
    if problems:
        raise ValidationFailed(errors=problems)
    return str(channel_name)


async def create_payment(ctx, citizen_id: str, application_no: str, channel_name: Any, app_id: Any) -> dict[str, Any]:  # noqa: ANN001
    """A fee order for the citizen's application, placed on the channel, with the mini-program's pay parameters."""
    from models import applications

    channel_name = _check_channel_name(channel_name, app_id)
    application = await applications.get_owned(ctx.db, application_no, citizen_id)
    if application["status"] not in PAYABLE_STATUSES:
        raise Conflict("application_not_payable", "办件当前状态不能缴费", "The application cannot be paid in its current state",
                       extra={"status": application["status"]})
    if (application.get("payment") or {}).get("status") == "paid":
        raise Conflict("already_paid", "该办件已缴费", "This application is already paid")
    amount_fen = await _fee_fen(ctx, application["service_code"])
    channel = await channels.get_enabled(ctx, app_id, CHANNEL_KINDS[channel_name])
    if channel_name == "wechat":
        wechatpay_config(channel)
    elif not _alipay_ready(channel):
        raise _not_configured()
    payer = await _payer_id(ctx, citizen_id, channel)

    for _ in range(3):
        active = await ctx.db.payment_orders.find_one({"active_for": application_no})
        if active is None:
            break
        reused = await _reuse_or_release(ctx, active, channel)
        if reused is not None:
            return reused
    else:
        raise Conflict("payment_in_progress", "正在创建缴费订单，请稍后重试", "A fee order is being created; retry shortly",
                       headers={"Retry-After": "2"})

    now = ctx.clock()
    order = {
        "_id": _new_number("PAY", now), "application_no": application_no, "citizen_id": citizen_id,
        "service_code": application["service_code"],
        # Whose order it is, for operators' scope: the application's department and region.
        "department": application.get("department", ""), "region_code": application.get("region_code", ""),
        "description": f"{_localized(application.get('service_name')) or application['service_code']} 办件 {application_no}"[:120],
        "channel": channel_name, "channel_id": channel.id, "app_id": channel.app_id, "payer_id": payer,
        "amount_fen": amount_fen, "status": "pending", "active_for": application_no, "placed": False,
        "created_at": now, "updated_at": now,
        "expires_at": now + datetime.timedelta(minutes=ctx.settings.payment_order_ttl_minutes),
        "next_check_at": now + FIRST_CHECK, "refunded_fen": 0, "refundable_fen": 0,
    }
    try:
        await ctx.db.payment_orders.insert_one(order)
    except DuplicateKeyError:
        raise Conflict("payment_in_progress", "正在创建缴费订单，请稍后重试", "A fee order is being created; retry shortly",
                       headers={"Retry-After": "2"}) from None
    return await _place(ctx, order, channel)


async def _reuse_or_release(ctx, active: dict[str, Any], channel: channels.Channel) -> dict[str, Any] | None:  # noqa: ANN001
    """An existing order for the application: answer it again if still payable here, else close it."""
    if active["status"] == "paid":
        raise Conflict("already_paid", "该办件已缴费", "This application is already paid")
    now = ctx.clock()
    usable = (active["status"] == "pending" and active["channel_id"] == channel.id
              and _aware(active["expires_at"]) > now + datetime.timedelta(minutes=1))
    if usable and active.get("placed"):
        return {**order_view(active), "pay_params": _pay_params(ctx, active, channel)}
    if usable and now - _aware(active["created_at"]) < PLACING_GRACE:
        raise Conflict("payment_in_progress", "正在创建缴费订单，请稍后重试", "A fee order is being created; retry shortly",
                       headers={"Retry-After": "2"})
    outcome = await _close(ctx, active, reason="replaced")
    if outcome == "paid":
        raise Conflict("already_paid", "该办件已缴费", "This application is already paid")
    return None


async def _place(ctx, order: dict[str, Any], channel: channels.Channel) -> dict[str, Any]:  # noqa: ANN001
    """Place the order on its channel; store the prepay id / trade number."""
    from integrations import alipay_trade, wechatpay

    try:
        if order["channel"] == "wechat":
            client = _wechat_client(ctx, channel)
            prepay_id = await client.jsapi_prepay(
                out_trade_no=order["_id"], description=order["description"], amount_fen=order["amount_fen"],
                payer_openid=order["payer_id"], notify_url=notify_url(ctx, channel),
                time_expire=rfc3339(order["expires_at"]), attach=order["application_no"])
            placed = {"prepay_id": prepay_id}
        else:
            client = _alipay_client(ctx, channel)
            trade_no = await client.create(
                out_trade_no=order["_id"], amount_fen=order["amount_fen"], subject=order["description"],
                buyer_id=order["payer_id"], notify_url=notify_url(ctx, channel), time_expire=_aware(order["expires_at"]))
            placed = {"channel_trade_no": trade_no}
    except (wechatpay.WechatPayError, alipay_trade.AlipayError) as exc:
        log.warning("payment %s: channel refused the order: %s", order["_id"], exc)
        await _mark_closed(ctx, order["_id"], "channel_refused")
        raise PaymentChannelError("payment_channel_refused", "支付渠道拒绝了该订单", "The payment channel refused the order",
                                  extra={"channel_code": getattr(exc, "code", ""),
                                         "channel_sub_code": getattr(exc, "sub_code", "")}) from None
    except (wechatpay.WechatPayUnavailable, alipay_trade.AlipayUnavailable) as exc:
        # Unknown whether the channel created it: leave it pending (no pay parameters were handed out);
        # a retry or reconciliation closes it on the channel.
        log.warning("payment %s: channel unavailable while placing: %s", order["_id"], exc)
        raise Unavailable("payment_channel_unavailable", "支付渠道暂时无法访问，请稍后重试",
                          "The payment channel is unreachable; please retry shortly") from None
    updated = await ctx.db.payment_orders.find_one_and_update(
        {"_id": order["_id"], "status": "pending"}, {"$set": {**placed, "placed": True, "updated_at": ctx.clock()}},
        return_document=ReturnDocument.AFTER)
    if updated is None:  # paid or closed while we were placing it (a callback raced us)
        updated = await ctx.db.payment_orders.find_one({"_id": order["_id"]})
        return order_view(updated)
    return {**order_view(updated), "pay_params": _pay_params(ctx, updated, channel)}


def _pay_params(ctx, order: dict[str, Any], channel: channels.Channel) -> dict[str, Any]:  # noqa: ANN001
    """wx.requestPayment parameters (signed afresh) or the trade number for my.tradePay."""
    if order["channel"] == "wechat":
        return _wechat_client(ctx, channel).payment_params(order["prepay_id"])
    return {"tradeNO": order["channel_trade_no"]}


# ---- state changes (each a conditional update with one winner) -----------------------------------

async def _mark_paid(ctx, order: dict[str, Any], *, trade_no: str, paid_at: datetime.datetime | None,  # noqa: ANN001
                     source: str) -> tuple[dict[str, Any] | None, bool]:
    """pending → paid; (the order now, True when this call made the change).

    The winner applies the application side effects at once. The same update sets `effects_check_at`,
    and reconciliation re-applies the (idempotent) effects of every order still carrying it once that
    time has passed, then clears it: a crash between the two steps loses nothing, and duplicate
    callbacks cost no writes beyond their own record.
    """
    now, order_no = ctx.clock(), order["_id"]
    won = await ctx.db.payment_orders.find_one_and_update(
        {"_id": order_no, "status": "pending", "amount_fen": order["amount_fen"]},
        {"$set": {"status": "paid", "paid_at": paid_at or now, "paid_via": source, "channel_trade_no": trade_no,
                  "updated_at": now, "refundable_fen": order["amount_fen"], "next_check_at": None,
                  "effects_check_at": now + EFFECTS_CHECK}},
        return_document=ReturnDocument.AFTER)
    if won is not None:
        log.info("payment %s paid via %s", order_no, source)
        await _apply_paid_effects(ctx, won)
        return won, True
    return await ctx.db.payment_orders.find_one({"_id": order_no}), False


async def _apply_paid_effects(ctx, order: dict[str, Any]) -> None:  # noqa: ANN001
    """The application side of a payment, idempotent: the application's `payment` set once (conditional
    update), and one outbox record (its dedupe key) telling the citizen."""
    no, now = order["_id"], ctx.clock()
    marked = await ctx.db.applications.update_one(
        {"_id": order["application_no"],
         "$or": [{"payment.status": {"$exists": False}}, {"payment.status": {"$ne": "paid"}}]},
        {"$set": {"payment.status": "paid", "payment.order_no": no, "payment.amount_fen": order["amount_fen"],
                  "payment.channel": order["channel"], "payment.paid_at": order.get("paid_at") or now,
                  "payment.refunded_fen": 0}})
    await applications.forget(ctx, order["application_no"])  # its cached read model predates the payment
    if marked.modified_count == 0:
        application = await ctx.db.applications.find_one({"_id": order["application_no"]}, {"payment": 1})
        paid_by = ((application or {}).get("payment") or {}).get("order_no")
        if paid_by and paid_by != no:
            log.error("payment %s: application %s was already paid by %s; refund needed", no,
                      order["application_no"], paid_by)
            await _flag(ctx, no, "duplicate_payment")
    await outbox.enqueue(ctx, citizen_id=order["citizen_id"], event="payment.paid", dedupe_key=f"payment:{no}:paid",
                         template="payment_paid", data={
                             "application_no": order["application_no"], "order_no": no,
                             "amount": f"{order['amount_fen'] // 100}.{order['amount_fen'] % 100:02d}",
                             "paid_at": local_minute(order.get("paid_at") or now)})


async def _flag(ctx, order_no: str, anomaly: str) -> None:  # noqa: ANN001
    await ctx.db.payment_orders.update_one(
        {"_id": order_no, "$or": [{"anomaly": {"$exists": False}}, {"anomaly": None}]},
        {"$set": {"anomaly": anomaly, "updated_at": ctx.clock()}})


async def _mark_closed(ctx, order_no: str, reason: str) -> bool:  # noqa: ANN001
    """pending → closed (releasing the application for a new order); True when this call closed it."""
    now = ctx.clock()
    closed = await ctx.db.payment_orders.find_one_and_update(
        {"_id": order_no, "status": "pending"},
        {"$set": {"status": "closed", "closed_at": now, "close_reason": reason, "updated_at": now, "next_check_at": None},
         "$unset": {"active_for": ""}})
    if closed is not None:
        log.info("payment %s closed (%s)", order_no, reason)
    return closed is not None


# ---- the channel's view of an order ----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ChannelState:
    state: str  # paid | open | closed | absent
    trade_no: str = ""
    paid_at: datetime.datetime | None = None
    amount_fen: int | None = None


async def _channel_state(ctx, order: dict[str, Any], channel: channels.Channel) -> ChannelState:  # noqa: ANN001
    from integrations import alipay_trade, wechatpay

    if order["channel"] == "wechat":
        client = _wechat_client(ctx, channel)
        try:
            answer = await client.query(order["_id"])
        except wechatpay.WechatPayError as exc:
            if exc.code in ("ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS"):
                return ChannelState("absent")
            raise
        if answer.get("appid") != client.config.app_id or answer.get("mchid") != client.config.mch_id:
            raise PaymentChannelError("payment_channel_mismatch", "支付渠道返回的商户信息不符", "Channel answered for another merchant")
        state = answer.get("trade_state")
        if state in ("SUCCESS", "REFUND"):
            return ChannelState("paid", str(answer.get("transaction_id", "")),
                                _vendor_time(parse_rfc3339, answer, "success_time"),
                                (answer.get("amount") or {}).get("total"))
        if state in ("NOTPAY", "USERPAYING"):
            return ChannelState("open")
        return ChannelState("closed")
    client = _alipay_client(ctx, channel)
    try:
        answer = await client.query(order["_id"])
    except alipay_trade.AlipayError as exc:
        if exc.sub_code == "ACQ.TRADE_NOT_EXIST":
            return ChannelState("absent")
        raise
    state = answer.get("trade_status")
    if state in ("TRADE_SUCCESS", "TRADE_FINISHED") or (state == "TRADE_CLOSED" and answer.get("send_pay_date")):
        try:
            amount = alipay_trade.yuan_to_fen(str(answer.get("total_amount", "")))
        except ValueError:
            amount = None
        return ChannelState("paid", str(answer.get("trade_no", "")), _vendor_time(parse_alipay_time, answer, "send_pay_date"), amount)
    if state == "WAIT_BUYER_PAY":
        return ChannelState("open")
    return ChannelState("closed")


async def _apply_channel_paid(ctx, order: dict[str, Any], found: ChannelState, source: str) -> str:  # noqa: ANN001
    if found.amount_fen != order["amount_fen"]:
        log.error("payment %s: channel reports %s fen paid, order is %s fen; not applied", order["_id"],
                  found.amount_fen, order["amount_fen"])
        await _flag(ctx, order["_id"], "amount_mismatch")
        return "anomaly"
    await _mark_paid(ctx, order, trade_no=found.trade_no, paid_at=found.paid_at, source=source)
    return "paid"


async def _close(ctx, order: dict[str, Any], reason: str) -> str:  # noqa: ANN001
    """Close an order on its channel, then here; "paid" when the channel says it was paid meanwhile."""
    from integrations import alipay_trade, wechatpay

    channel = await channel_by_id(ctx, order["channel_id"])
    if channel is None:
        await _mark_closed(ctx, order["_id"], reason)
        return "closed"
    try:
        found = await _channel_state(ctx, order, channel)
        if found.state == "open":
            if order["channel"] == "wechat":
                try:
                    await _wechat_client(ctx, channel).close(order["_id"])
                except wechatpay.WechatPayError as exc:
                    log.info("payment %s: close answered %s", order["_id"], exc.code)
            else:
                try:
                    await _alipay_client(ctx, channel).close(order["_id"])
                except alipay_trade.AlipayError as exc:
                    log.info("payment %s: close answered %s", order["_id"], exc.sub_code)
            found = await _channel_state(ctx, order, channel)
    except (wechatpay.WechatPayUnavailable, alipay_trade.AlipayUnavailable, wechatpay.WechatPayError,
            alipay_trade.AlipayError) as exc:
        log.warning("payment %s: cannot close on the channel now: %s", order["_id"], exc)
        raise Unavailable("payment_channel_unavailable", "支付渠道暂时无法访问，请稍后重试",
                          "The payment channel is unreachable; please retry shortly") from None
    if found.state == "paid":
        return await _apply_channel_paid(ctx, order, found, "close_check")
    if found.state == "open":
        raise Unavailable("payment_channel_unavailable", "支付渠道未能关闭订单，请稍后重试",
                          "The payment channel did not close the order; please retry shortly")
    await _mark_closed(ctx, order["_id"], reason)
    return "closed"


async def refresh(ctx, order: dict[str, Any], source: str) -> dict[str, Any]:  # noqa: ANN001
    """Bring a pending order up to date with its channel: paid, closed when expired, or still pending."""
    if order["status"] != "pending":
        return order
    channel = await channel_by_id(ctx, order["channel_id"])
    if channel is None:
        return order
    expired = _aware(order["expires_at"]) <= ctx.clock()
    found = await _channel_state(ctx, order, channel)
    if found.state == "paid":
        await _apply_channel_paid(ctx, order, found, source)
    elif found.state == "closed":
        await _mark_closed(ctx, order["_id"], "channel_closed")
    elif expired:
        await _close(ctx, order, "expired")
    return await ctx.db.payment_orders.find_one({"_id": order["_id"]}) or order


async def get_for_citizen(ctx, citizen_id: str, order_no: str) -> dict[str, Any]:  # noqa: ANN001
    """The citizen's order; a pending one is first checked with the channel (at most once a second)."""
    from integrations import alipay_trade, wechatpay

    order = await ctx.db.payment_orders.find_one({"_id": order_no})
    if order is None or order["citizen_id"] != citizen_id:
        raise NotFound("payment_not_found", "未找到该缴费订单", "Fee order not found")
    if order["status"] == "pending":
        now = ctx.clock()
        claimed = await ctx.db.payment_orders.find_one_and_update(
            {"_id": order_no, "status": "pending",
             "$or": [{"last_query_at": {"$exists": False}}, {"last_query_at": {"$lte": now - datetime.timedelta(seconds=1)}}]},
            {"$set": {"last_query_at": now}}, return_document=ReturnDocument.AFTER)
        if claimed is not None:
            try:
                order = await refresh(ctx, claimed, "query")
            except (wechatpay.WechatPayUnavailable, alipay_trade.AlipayUnavailable, wechatpay.WechatPayError,
                    alipay_trade.AlipayError, Unavailable, PaymentChannelError) as exc:
                log.warning("payment %s: channel query failed: %s", order_no, exc)
    return order_view(order)


# ---- callbacks ------------------------------------------------------------------------------------

async def _record_attempt(ctx, attempt: dict[str, Any], result: NotifyResult, **fields: Any) -> NotifyResult:  # noqa: ANN001
    attempt.update(outcome=result.outcome, http_status=result.status, message=result.message, **fields)
    await ctx.db.payment_notifications.insert_one(attempt)
    if result.outcome == "refused":
        log.warning("payment notification refused: channel=%s reason=%s order=%s", attempt.get("channel_id"),
                    attempt.get("reason"), attempt.get("order_no"))
    return result


def _refused(status: int, reason: str, message: str) -> tuple[NotifyResult, dict[str, Any]]:
    return NotifyResult(False, status, "refused", message), {"reason": reason}


async def handle_wechatpay_notification(ctx, channel_id: str, headers: Mapping[str, str], body: bytes) -> NotifyResult:  # noqa: ANN001
    """Verify, decrypt and apply one WeChat Pay notification (payment or refund); record the attempt."""
    from integrations import wechatpay

    attempt: dict[str, Any] = {
        "_id": ObjectId(), "channel": "wechat", "channel_id": channel_id, "received_at": ctx.clock(),
        "body_sha256": hashlib.sha256(body).hexdigest(), "body_bytes": len(body),
        "headers": {name: wechatpay.header(headers, name)[:128] for name in
                    ("Wechatpay-Serial", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Request-ID")},
    }
    for fresh in (False, True):
        channel = await channel_by_id(ctx, channel_id, fresh=fresh)
        if channel is None or channel.kind != channels.WECHAT_MINIPROGRAM:
            result, extra = _refused(404, "channel_unknown", "unknown channel")
            return await _record_attempt(ctx, attempt, result, **extra)
        try:
            config = wechatpay_config(channel, ctx.clock())
            notification = wechatpay.verify_notification(config, headers, body, now=ctx.clock().timestamp())
            break
        except Conflict:
            result, extra = _refused(404, "channel_not_configured", "payments are not set up for this channel")
            return await _record_attempt(ctx, attempt, result, **extra)
        except wechatpay.NotificationRejected as exc:
            if not fresh and exc.reason in ("serial_unknown", "signature_invalid", "decrypt_failed"):
                continue  # the merchant config may have changed in another worker: check with a fresh one
            result, extra = _refused(exc.status, exc.reason, exc.message)
            return await _record_attempt(ctx, attempt, result, **extra)
    attempt.update(notification_id=notification.id, event_type=notification.event_type)
    resource = notification.resource
    if notification.event_type.startswith("REFUND."):
        return await _wechat_refund_notification(ctx, attempt, config, resource)
    if notification.event_type != "TRANSACTION.SUCCESS" or resource.get("trade_state") != "SUCCESS":
        return await _record_attempt(ctx, attempt, NotifyResult(True, 204, "ignored", "event not handled"),
                                     order_no=resource.get("out_trade_no"))
    order_no = str(resource.get("out_trade_no", ""))
    attempt["order_no"] = order_no
    if resource.get("appid") != config.app_id or resource.get("mchid") != config.mch_id:
        result, extra = _refused(400, "merchant_mismatch", "appid or mchid does not match this channel")
        return await _record_attempt(ctx, attempt, result, **extra)
    order = await ctx.db.payment_orders.find_one({"_id": order_no})
    if order is None or order["channel_id"] != channel.id:
        result, extra = _refused(404, "order_unknown", "no such order")
        return await _record_attempt(ctx, attempt, result, **extra)
    amount = resource.get("amount") or {}
    if amount.get("total") != order["amount_fen"] or amount.get("currency", "CNY") != "CNY":
        result, extra = _refused(400, "amount_mismatch", "amount does not match the order")
        return await _record_attempt(ctx, attempt, result, **extra)
    result = await _apply_payment(ctx, order, trade_no=str(resource.get("transaction_id", "")),
                                  paid_at=_vendor_time(parse_rfc3339, resource, "success_time"), ok_status=204)
    return await _record_attempt(ctx, attempt, result)


async def _apply_payment(ctx, order: dict[str, Any], *, trade_no: str, paid_at: datetime.datetime | None,  # noqa: ANN001
                         ok_status: int) -> NotifyResult:
    if order["status"] == "paid":
        return NotifyResult(True, ok_status, "duplicate", "already applied")
    if order["status"] == "closed":
        log.error("payment %s: paid on the channel after it was closed here (trade %s); refund needed",
                  order["_id"], trade_no)
        await _flag(ctx, order["_id"], "paid_after_close")
        return NotifyResult(True, ok_status, "anomaly", "order was closed; flagged for refund")
    _, won = await _mark_paid(ctx, order, trade_no=trade_no, paid_at=paid_at, source="notification")
    return NotifyResult(True, ok_status, "applied" if won else "duplicate")


async def _wechat_refund_notification(ctx, attempt: dict[str, Any], config: Any,  # noqa: ANN001
                                      resource: dict[str, Any]) -> NotifyResult:
    refund_no = str(resource.get("out_refund_no", ""))
    attempt.update(order_no=resource.get("out_trade_no"), refund_no=refund_no)
    if resource.get("mchid") != config.mch_id:
        result, extra = _refused(400, "merchant_mismatch", "mchid does not match this channel")
        return await _record_attempt(ctx, attempt, result, **extra)
    refund = await ctx.db.payment_refunds.find_one({"_id": refund_no})
    if refund is None or refund["order_no"] != resource.get("out_trade_no") or refund["channel_id"] != attempt["channel_id"]:
        result, extra = _refused(404, "refund_unknown", "no such refund")
        return await _record_attempt(ctx, attempt, result, **extra)
    if (resource.get("amount") or {}).get("refund") != refund["amount_fen"]:
        result, extra = _refused(400, "amount_mismatch", "refund amount does not match")
        return await _record_attempt(ctx, attempt, result, **extra)
    status = resource.get("refund_status")
    if status == "SUCCESS":
        won = await _refund_succeeded(ctx, refund, str(resource.get("refund_id", "")),
                                      _vendor_time(parse_rfc3339, resource, "success_time"))
    elif status == "CLOSED":
        won = await _refund_failed(ctx, refund, "channel_closed")
    elif status == "ABNORMAL":
        won = await _refund_abnormal(ctx, refund)
    else:
        return await _record_attempt(ctx, attempt, NotifyResult(True, 204, "ignored", "refund status not final"))
    return await _record_attempt(ctx, attempt, NotifyResult(True, 204, "applied" if won else "duplicate"))


def _verify_alipay_notification(ctx, channel: channels.Channel, params: Mapping[str, str]) -> None:  # noqa: ANN001
    """Alipay's signature with its current public key, else with a rotated-out one still in its
    overlap window (models.channels.rotate_secret); raises the current key's NotificationRejected."""
    from integrations import alipay_trade

    try:
        alipay_trade.verify_notification(channel.public["alipay_public_key"], channel.app_id,
                                         channel.public["alipay_seller_id"], params)
    except alipay_trade.NotificationRejected as exc:
        if exc.reason != "signature_invalid":
            raise
        for key in channel.previous_values("alipay_public_key", ctx.clock()):
            try:
                alipay_trade.verify_notification(key, channel.app_id, channel.public["alipay_seller_id"], params)
                return
            except alipay_trade.NotificationRejected:
                pass
        raise


async def handle_alipay_notification(ctx, channel_id: str, params: Mapping[str, str]) -> NotifyResult:  # noqa: ANN001
    """Verify and apply one Alipay asynchronous notification; record the attempt."""
    from integrations import alipay_trade

    attempt: dict[str, Any] = {
        "_id": ObjectId(), "channel": "alipay", "channel_id": channel_id, "received_at": ctx.clock(),
        "notification_id": str(params.get("notify_id", ""))[:64], "event_type": str(params.get("trade_status", ""))[:32],
        "body_sha256": hashlib.sha256(json.dumps(dict(params), sort_keys=True).encode()).hexdigest(),
    }
    for fresh in (False, True):
        channel = await channel_by_id(ctx, channel_id, fresh=fresh)
        if channel is None or channel.kind != channels.ALIPAY_MINIPROGRAM or not _alipay_ready(channel):
            result, extra = _refused(404, "channel_unknown", "unknown channel")
            return await _record_attempt(ctx, attempt, result, **extra)
        try:
            _verify_alipay_notification(ctx, channel, params)
            break
        except alipay_trade.NotificationRejected as exc:
            if not fresh and exc.reason in ("signature_invalid", "seller_mismatch"):
                continue  # the channel's keys may have changed in another worker: check with a fresh copy
            result, extra = _refused(exc.status, exc.reason, exc.message)
            return await _record_attempt(ctx, attempt, result, **extra)
    order_no = str(params.get("out_trade_no", ""))
    attempt["order_no"] = order_no
    order = await ctx.db.payment_orders.find_one({"_id": order_no})
    if order is None or order["channel_id"] != channel.id:
        result, extra = _refused(404, "order_unknown", "no such order")
        return await _record_attempt(ctx, attempt, result, **extra)
    try:
        total_fen = alipay_trade.yuan_to_fen(str(params.get("total_amount", "")))
    except ValueError:
        total_fen = None
    if total_fen != order["amount_fen"]:
        result, extra = _refused(400, "amount_mismatch", "total_amount does not match the order")
        return await _record_attempt(ctx, attempt, result, **extra)
    status = params.get("trade_status")
    if params.get("out_biz_no") and params.get("refund_fee"):
        refund = await ctx.db.payment_refunds.find_one({"_id": params["out_biz_no"], "order_no": order_no})
        if refund is None:
            return await _record_attempt(ctx, attempt, NotifyResult(True, 200, "ignored", "refund not made here"),
                                         refund_no=params["out_biz_no"])
        won = await _refund_succeeded(ctx, refund, "", _vendor_time(parse_alipay_time, params, "gmt_refund"))
        return await _record_attempt(ctx, attempt, NotifyResult(True, 200, "applied" if won else "duplicate"),
                                     refund_no=refund["_id"])
    if status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
        result = await _apply_payment(ctx, order, trade_no=str(params.get("trade_no", "")),
                                      paid_at=_vendor_time(parse_alipay_time, params, "gmt_payment"), ok_status=200)
        return await _record_attempt(ctx, attempt, result)
    if status == "TRADE_CLOSED" and order["status"] == "pending":
        closed = await _mark_closed(ctx, order_no, "channel_closed")
        return await _record_attempt(ctx, attempt, NotifyResult(True, 200, "applied" if closed else "duplicate"))
    return await _record_attempt(ctx, attempt, NotifyResult(True, 200, "ignored", "status not handled"))


# ---- refunds --------------------------------------------------------------------------------------

async def _require_in_scope(ctx, scope: OperatorScope, order: dict[str, Any]) -> None:  # noqa: ANN001
    """403 unless the order's application lies within the operator's scope."""
    if "department" not in order:  # an order placed before orders carried their scope
        application = await ctx.db.applications.find_one({"_id": order["application_no"]}) or {}
        order = {"department": application.get("department"), "region_code": application.get("region_code")}
    scope.require(order.get("department"), order.get("region_code"))


async def request_refund(ctx, scope: OperatorScope, order_no: str, amount_fen: Any, reason: Any,  # noqa: ANN001
                         operator_id: str) -> tuple[int, dict[str, Any]]:
    """Refund part (`amount_fen`) or all (None: what is left) of a paid order; never more than was paid."""
    from integrations import alipay_trade, wechatpay

    if amount_fen is not None and (not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0):
        raise ValidationFailed(errors=[FieldError("amount_fen", "invalid", "退款金额应为正整数（分）",
                                                  "amount_fen must be a positive whole number of fen")])
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 80:
        raise ValidationFailed(errors=[FieldError("reason", "required", "请填写退款原因（80 字以内）",
                                                  "reason is required (at most 80 characters)")])
    order = await ctx.db.payment_orders.find_one({"_id": order_no})
    if order is None:
        raise NotFound("payment_not_found", "未找到该缴费订单", "Fee order not found")
    await _require_in_scope(ctx, scope, order)
    if order["status"] != "paid":
        raise Conflict("order_not_paid", "订单未支付，不能退款", "Only a paid order can be refunded",
                       extra={"status": order["status"]})
    amount = amount_fen if amount_fen is not None else order.get("refundable_fen", 0)
    if amount <= 0:
        raise Conflict("refund_exceeds_paid", "订单已全部退款", "Nothing is left to refund", extra={"refundable_fen": 0})
    now = ctx.clock()
    reserved = await ctx.db.payment_orders.find_one_and_update(
        {"_id": order_no, "status": "paid", "refundable_fen": {"$gte": amount}},
        {"$inc": {"refundable_fen": -amount}, "$set": {"updated_at": now}}, return_document=ReturnDocument.AFTER)
    if reserved is None:
        current = await ctx.db.payment_orders.find_one({"_id": order_no}, {"refundable_fen": 1})
        raise Conflict("refund_exceeds_paid", "退款金额超过可退金额", "The refund exceeds what is left to refund",
                       extra={"refundable_fen": (current or {}).get("refundable_fen", 0)})
    refund = {"_id": _new_number("RF", now), "order_no": order_no, "application_no": order["application_no"],
              "citizen_id": order["citizen_id"], "channel": order["channel"], "channel_id": order["channel_id"],
              "amount_fen": amount, "reason": reason.strip(), "operator_id": operator_id, "status": "processing",
              "created_at": now, "next_check_at": now + REFUND_RECHECK}
    await ctx.db.payment_refunds.insert_one(refund)
    channel = await channel_by_id(ctx, order["channel_id"])
    try:
        if channel is None:
            raise _not_configured()
        if order["channel"] == "wechat":
            answer = await _wechat_client(ctx, channel).refund(
                out_trade_no=order_no, out_refund_no=refund["_id"], refund_fen=amount, total_fen=order["amount_fen"],
                reason=refund["reason"], notify_url=notify_url(ctx, channel))
            await _apply_wechat_refund_answer(ctx, refund, answer)
        else:
            answer = await _alipay_client(ctx, channel).refund(out_trade_no=order_no, refund_fen=amount,
                                                                out_request_no=refund["_id"], reason=refund["reason"])
            if answer.get("fund_change") == "Y":
                await _refund_succeeded(ctx, refund, "", None)
            else:
                await _check_refund(ctx, refund, channel)
    except (wechatpay.WechatPayError, alipay_trade.AlipayError, Conflict) as exc:
        code = getattr(exc, "sub_code", "") or getattr(exc, "code", "")
        await _refund_failed(ctx, refund, str(code))
        raise PaymentChannelError("refund_refused", "支付渠道拒绝了退款", "The payment channel refused the refund",
                                  extra={"refund_no": refund["_id"], "channel_code": str(code)}) from None
    except (wechatpay.WechatPayUnavailable, alipay_trade.AlipayUnavailable) as exc:
        log.warning("refund %s: channel unavailable, will check later: %s", refund["_id"], exc)
    stored = await ctx.db.payment_refunds.find_one({"_id": refund["_id"]})
    return 201, refund_view(stored)


async def _apply_wechat_refund_answer(ctx, refund: dict[str, Any], answer: Mapping[str, Any]) -> None:  # noqa: ANN001
    status = answer.get("status")
    if status == "SUCCESS":
        await _refund_succeeded(ctx, refund, str(answer.get("refund_id", "")),
                                _vendor_time(parse_rfc3339, answer, "success_time"))
    elif status == "CLOSED":
        await _refund_failed(ctx, refund, "channel_closed")
    elif status == "ABNORMAL":
        await _refund_abnormal(ctx, refund)
    elif answer.get("refund_id"):
        await ctx.db.payment_refunds.update_one({"_id": refund["_id"]}, {"$set": {"channel_refund_id": answer["refund_id"]}})


async def _refund_succeeded(ctx, refund: dict[str, Any], channel_refund_id: str,  # noqa: ANN001
                            at: datetime.datetime | None) -> bool:
    """processing → succeeded, once: the order's refunded total and the application follow."""
    now = ctx.clock()
    won = await ctx.db.payment_refunds.find_one_and_update(
        {"_id": refund["_id"], "status": {"$in": ["processing", "abnormal"]}},
        {"$set": {"status": "succeeded", "succeeded_at": at or now, "channel_refund_id": channel_refund_id,
                  "next_check_at": None}}, return_document=ReturnDocument.AFTER)
    if won is None:
        return False
    order = await ctx.db.payment_orders.find_one_and_update(
        {"_id": refund["order_no"]}, {"$inc": {"refunded_fen": refund["amount_fen"]}, "$set": {"updated_at": now}},
        return_document=ReturnDocument.AFTER)
    if order is not None:
        await ctx.db.applications.update_one({"_id": order["application_no"], "payment.order_no": order["_id"]},
                                             {"$set": {"payment.refunded_fen": order["refunded_fen"]}})
        await applications.forget(ctx, order["application_no"])
        await outbox.enqueue(ctx, citizen_id=order["citizen_id"], event="payment.refunded",
                             dedupe_key=f"refund:{refund['_id']}:succeeded", template="payment_refunded", data={
                                 "application_no": order["application_no"], "order_no": order["_id"],
                                 "amount": f"{refund['amount_fen'] // 100}.{refund['amount_fen'] % 100:02d}"})
    log.info("refund %s of payment %s succeeded (%s fen)", refund["_id"], refund["order_no"], refund["amount_fen"])
    return True


async def _refund_failed(ctx, refund: dict[str, Any], failure: str) -> bool:  # noqa: ANN001
    """processing → failed, once: the reserved amount becomes refundable again."""
    won = await ctx.db.payment_refunds.find_one_and_update(
        {"_id": refund["_id"], "status": {"$in": ["processing", "abnormal"]}},
        {"$set": {"status": "failed", "failed_at": ctx.clock(), "failure": failure, "next_check_at": None}})
    if won is None:
        return False
    await ctx.db.payment_orders.update_one({"_id": refund["order_no"]}, {"$inc": {"refundable_fen": refund["amount_fen"]}})
    log.warning("refund %s of payment %s failed: %s", refund["_id"], refund["order_no"], failure)
    return True


async def _refund_abnormal(ctx, refund: dict[str, Any]) -> bool:  # noqa: ANN001
    """The channel could not return the money (e.g. closed card): keep the reservation, an operator acts."""
    won = await ctx.db.payment_refunds.find_one_and_update(
        {"_id": refund["_id"], "status": "processing"},
        {"$set": {"status": "abnormal", "failure": "abnormal", "next_check_at": None}})
    if won is not None:
        log.error("refund %s of payment %s is abnormal: needs an operator", refund["_id"], refund["order_no"])
    return won is not None


async def _check_refund(ctx, refund: dict[str, Any], channel: channels.Channel) -> None:  # noqa: ANN001
    """Ask the channel how a processing refund ended."""
    from integrations import wechatpay

    if refund["channel"] == "wechat":
        try:
            answer = await _wechat_client(ctx, channel).query_refund(refund["_id"])
        except wechatpay.WechatPayError as exc:
            if exc.code in ("RESOURCE_NOT_EXISTS", "ORDER_NOT_EXIST"):
                await _refund_failed(ctx, refund, "not_found_on_channel")
                return
            raise
        await _apply_wechat_refund_answer(ctx, refund, answer)
        return
    answer = await _alipay_client(ctx, channel).query_refund(refund["order_no"], refund["_id"])
    if answer.get("refund_status") == "REFUND_SUCCESS":
        await _refund_succeeded(ctx, refund, "", _vendor_time(parse_alipay_time, answer, "gmt_refund_pay"))
    elif not answer.get("refund_amount") and ctx.clock() - _aware(refund["created_at"]) > datetime.timedelta(minutes=10):
        await _refund_failed(ctx, refund, "not_found_on_channel")


# ---- reconciliation --------------------------------------------------------------------------------

async def reconcile_due(ctx, limit: int = 100) -> int:  # noqa: ANN001 - AppContext
    """Periodic job: query pending orders whose callback never came (closing expired ones on the channel
    too), settle refunds still processing, and finish side effects a crash left undone. Safe to run in
    every worker at once: each order is claimed with a conditional update first."""
    from integrations import alipay_trade, wechatpay

    channel_failures = (wechatpay.WechatPayUnavailable, alipay_trade.AlipayUnavailable, wechatpay.WechatPayError,
                        alipay_trade.AlipayError, Unavailable, PaymentChannelError, Conflict)
    handled = 0
    now = ctx.clock()
    while handled < limit:
        order = await ctx.db.payment_orders.find_one_and_update(
            {"status": "pending", "next_check_at": {"$lte": now}},
            {"$set": {"next_check_at": now + RECHECK}}, sort=[("next_check_at", ASCENDING)],
            return_document=ReturnDocument.AFTER)
        if order is None:
            break
        handled += 1
        try:
            await refresh(ctx, order, "reconciliation")
        except channel_failures as exc:
            log.warning("reconciliation: payment %s not settled yet: %s", order["_id"], exc)
    while handled < limit:
        refund = await ctx.db.payment_refunds.find_one_and_update(
            {"status": "processing", "next_check_at": {"$lte": now}},
            {"$set": {"next_check_at": now + REFUND_RECHECK}}, sort=[("next_check_at", ASCENDING)],
            return_document=ReturnDocument.AFTER)
        if refund is None:
            break
        handled += 1
        channel = await channel_by_id(ctx, refund["channel_id"])
        if channel is None:
            continue
        try:
            await _check_refund(ctx, refund, channel)
        except channel_failures as exc:
            log.warning("reconciliation: refund %s not settled yet: %s", refund["_id"], exc)
    async for order in ctx.db.payment_orders.find({"effects_check_at": {"$lte": now}}).limit(limit):
        handled += 1
        if order["status"] == "paid":
            await _apply_paid_effects(ctx, order)
        await ctx.db.payment_orders.update_one({"_id": order["_id"], "effects_check_at": order["effects_check_at"]},
                                               {"$unset": {"effects_check_at": ""}})
    return handled


# ---- operators' reads ----------------------------------------------------------------------------

async def list_orders(ctx, scope: OperatorScope, *, status: str | None, application_no: str | None,  # noqa: ANN001
                      channel: str | None, page: int, page_size: int) -> dict[str, Any]:
    query: dict[str, Any] = scope.filter()
    if status:
        if status not in ("pending", "paid", "closed"):
            raise BadRequest("invalid_status", "status 应为 pending、paid 或 closed", "status must be pending, paid or closed")
        query["status"] = status
    if application_no:
        query["application_no"] = application_no
    if channel:
        if channel not in CHANNEL_KINDS:
            raise BadRequest("invalid_channel", "channel 应为 wechat 或 alipay", "channel must be wechat or alipay")
        query["channel"] = channel
    total = await ctx.db.payment_orders.count_documents(query)
    cursor = ctx.db.payment_orders.find(query).sort([("created_at", DESCENDING)]).skip((page - 1) * page_size).limit(page_size)
    return {"items": [order_view(o, operator=True) async for o in cursor], "total": total, "page": page,
            "page_size": page_size}


async def operator_detail(ctx, scope: OperatorScope, order_no: str) -> dict[str, Any]:  # noqa: ANN001
    """One order with its refunds and every callback attempt (for reconciliation by hand)."""
    order = await ctx.db.payment_orders.find_one({"_id": order_no})
    if order is None:
        raise NotFound("payment_not_found", "未找到该缴费订单", "Fee order not found")
    await _require_in_scope(ctx, scope, order)
    refunds = await ctx.db.payment_refunds.find({"order_no": order_no}).sort([("created_at", ASCENDING)]).to_list(None)
    attempts = await ctx.db.payment_notifications.find({"order_no": order_no}).sort([("received_at", ASCENDING)]).to_list(None)
    return {**order_view(order, operator=True), "refunds": [refund_view(r) for r in refunds],
            "notifications": [{"id": str(a["_id"]), "received_at": _iso(a["received_at"]), "event_type": a.get("event_type"),
                               "outcome": a["outcome"], "reason": a.get("reason"), "http_status": a.get("http_status")}
                              for a in attempts]}
