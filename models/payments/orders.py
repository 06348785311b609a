"""Fee orders (缴费订单): creating one for an application, placing it with its vendor, and the citizen's read.

One order per application holds the application's "active" key (a sparse unique `active_for`) while
pending or paid, so two orders can never both be payable; closing an order releases it.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models import applications, catalogue, channels, citizens
from models.core.context import Context
from models.core.localized import text
from models.core.timezone import as_utc, local
from models.errors import Conflict, FieldError, NotFound, Unavailable, ValidationFailed
from models.payments.merchants import CHANNEL_KINDS, PaymentChannelError, gateway_for, notify_url
from models.payments.settlement import channel_unavailable, close, mark_closed, refresh
from models.payments.views import order_view
from models.ports import OrderToPlace, PaymentGateway, PaymentRefused, PaymentUnavailable, PlacedOrder

log = logging.getLogger("citygate.payments")

# Application states in which the fee can be paid.
PAYABLE_STATUSES = ("submitted", "accepted", "supplement_requested", "resubmitted", "approved", "completed")
# A pending order's channel state is checked this long after creation (then every RECHECK, see reconcile).
FIRST_CHECK = datetime.timedelta(seconds=30)
# An order placed this recently without a channel answer yet is still being placed.
PLACING_GRACE = datetime.timedelta(seconds=15)


def new_number(prefix: str, now: datetime.datetime) -> str:
    """E.g. "PAY20261123104530K7Q2M9XD4T": time-ordered, unique by its random tail (and the _id index)."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return prefix + local(now).strftime("%Y%m%d%H%M%S") + "".join(secrets.choice(alphabet) for _ in range(10))


def _in_progress() -> Conflict:
    return Conflict("payment_in_progress", "正在创建缴费订单，请稍后重试", "A fee order is being created; retry shortly",
                    headers={"Retry-After": "2"})


def _already_paid() -> Conflict:
    return Conflict("already_paid", "该办件已缴费", "This application is already paid")


async def _payer_id(ctx: Context, citizen_id: str, channel: channels.Channel) -> str:
    """The citizen's id at this channel: the WeChat openid in this app, the Alipay user_id or open_id."""
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


async def _fee_fen(ctx: Context, service_code: str) -> int:
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


async def create_payment(ctx: Context, citizen_id: str, application_no: str, channel_name: Any, app_id: Any) -> dict[str, Any]:
    """A fee order for the citizen's application, placed on the channel, with the mini-program's pay parameters."""
    channel_name = _check_channel_name(channel_name, app_id)
    application = await applications.get_owned(ctx.db, application_no, citizen_id)
    if application["status"] not in PAYABLE_STATUSES:
        raise Conflict("application_not_payable", "办件当前状态不能缴费", "The application cannot be paid in its current state",
                       extra={"status": application["status"]})
    if (application.get("payment") or {}).get("status") == "paid":
        raise _already_paid()
    amount_fen = await _fee_fen(ctx, application["service_code"])
    channel = await channels.get_enabled(ctx, app_id, CHANNEL_KINDS[channel_name])
    gateway = gateway_for(ctx, channel)  # 409 before anything is stored when payments are not set up
    payer = await _payer_id(ctx, citizen_id, channel)

    for _ in range(3):
        active = await ctx.db.payment_orders.find_one({"active_for": application_no})
        if active is None:
            break
        reused = await _reuse_or_release(ctx, active, channel, gateway)
        if reused is not None:
            return reused
    else:
        raise _in_progress()

    now = ctx.clock()
    order = {
        "_id": new_number("PAY", now), "application_no": application_no, "citizen_id": citizen_id,
        "service_code": application["service_code"],
        # Whose order it is, for operators' scope: the application's department and region.
        "department": application.get("department", ""), "region_code": application.get("region_code", ""),
        "description": f"{text(application.get('service_name')) or application['service_code']} 办件 {application_no}"[:120],
        "channel": channel_name, "channel_id": channel.id, "app_id": channel.app_id, "payer_id": payer,
        "amount_fen": amount_fen, "status": "pending", "active_for": application_no, "placed": False,
        "created_at": now, "updated_at": now,
        "expires_at": now + datetime.timedelta(minutes=ctx.settings.payment_order_ttl_minutes),
        "next_check_at": now + FIRST_CHECK, "refunded_fen": 0, "refundable_fen": 0,
    }
    try:
        await ctx.db.payment_orders.insert_one(order)
    except DuplicateKeyError:
        raise _in_progress() from None
    return await _place(ctx, order, channel, gateway)


async def _reuse_or_release(ctx: Context, active: dict[str, Any], channel: channels.Channel,
                            gateway: PaymentGateway) -> dict[str, Any] | None:
    """An existing order for the application: answer it again if still payable here, else close it."""
    if active["status"] == "paid":
        raise _already_paid()
    now = ctx.clock()
    usable = (active["status"] == "pending" and active["channel_id"] == channel.id
              and as_utc(active["expires_at"]) > now + datetime.timedelta(minutes=1))
    if usable and active.get("placed"):
        return {**order_view(active), "pay_params": gateway.client_params(_placed(active))}
    if usable and now - as_utc(active["created_at"]) < PLACING_GRACE:
        raise _in_progress()
    outcome = await close(ctx, active, reason="replaced")
    if outcome == "paid":
        raise _already_paid()
    return None


def _placed(order: dict[str, Any]) -> PlacedOrder:
    """The vendor's handle kept on a placed order."""
    return PlacedOrder(prepay_id=order.get("prepay_id", ""), trade_no=order.get("channel_trade_no", ""))


async def _place(ctx: Context, order: dict[str, Any], channel: channels.Channel,
                 gateway: PaymentGateway) -> dict[str, Any]:
    """Place the order on its channel; store the prepay id / trade number."""
    try:
        placed = await gateway.place(OrderToPlace(
            order_no=order["_id"], description=order["description"], amount_fen=order["amount_fen"],
            payer_id=order["payer_id"], notify_url=notify_url(ctx, channel), expires_at=as_utc(order["expires_at"]),
            reference=order["application_no"]))
    except PaymentRefused as exc:
        log.warning("payment %s: channel refused the order: %s", order["_id"], exc)
        await mark_closed(ctx, order["_id"], "channel_refused")
        raise PaymentChannelError("payment_channel_refused", "支付渠道拒绝了该订单", "The payment channel refused the order",
                                  extra={"channel_code": exc.code, "channel_sub_code": exc.sub_code}) from None
    except PaymentUnavailable as exc:
        # Unknown whether the channel created it: leave it pending (no pay parameters were handed out);
        # a retry or reconciliation closes it on the channel.
        log.warning("payment %s: channel unavailable while placing: %s", order["_id"], exc)
        raise channel_unavailable() from None
    handle = {"prepay_id": placed.prepay_id, "channel_trade_no": placed.trade_no}
    updated = await ctx.db.payment_orders.find_one_and_update(
        {"_id": order["_id"], "status": "pending"},
        {"$set": {**{k: v for k, v in handle.items() if v}, "placed": True, "updated_at": ctx.clock()}},
        return_document=ReturnDocument.AFTER)
    if updated is None:  # paid or closed while we were placing it (a callback raced us)
        updated = await ctx.db.payment_orders.find_one({"_id": order["_id"]})
        return order_view(updated)
    return {**order_view(updated), "pay_params": gateway.client_params(_placed(updated))}


async def get_for_citizen(ctx: Context, citizen_id: str, order_no: str) -> dict[str, Any]:
    """The citizen's order; a pending one is first checked with the channel (at most once a second)."""
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
            except (PaymentUnavailable, PaymentRefused, Unavailable, PaymentChannelError) as exc:
                log.warning("payment %s: channel query failed: %s", order_no, exc)
    return order_view(order)
