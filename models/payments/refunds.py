"""Refunds (退款): operator-initiated, full or partial, never more than was paid.

A refund reserves its amount on the order first (`refundable_fen` only ever decreases in a guarded
update), so refunds never exceed what was paid; a refund that fails releases its reservation once.
Refunds live in their own collection (nx-27017 stores $push-ed sub-documents as strings).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from pymongo import ReturnDocument

from models import applications, channels, outbox
from models.access import OperatorScope
from models.core.context import Context
from models.core.timezone import as_utc
from models.errors import Conflict, FieldError, NotFound, ValidationFailed
from models.payments.merchants import PaymentChannelError, channel_by_id, gateway_for, not_configured, notify_url
from models.payments.orders import new_number
from models.payments.views import refund_view, require_in_scope
from models.ports import PaymentRefused, PaymentUnavailable, RefundState, RefundToMake

log = logging.getLogger("citygate.payments")

# A processing refund is asked after again this often (see reconcile).
REFUND_RECHECK = datetime.timedelta(minutes=1)
# A refund the vendor still shows nothing of after this long was never made there.
UNSEEN_REFUND_GRACE = datetime.timedelta(minutes=10)


async def request_refund(ctx: Context, scope: OperatorScope, order_no: str, amount_fen: Any, reason: Any,
                         operator_id: str) -> tuple[int, dict[str, Any]]:
    """Refund part (`amount_fen`) or all (None: what is left) of a paid order; never more than was paid."""
    if amount_fen is not None and (not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0):
        raise ValidationFailed(errors=[FieldError("amount_fen", "invalid", "退款金额应为正整数（分）",
                                                  "amount_fen must be a positive whole number of fen")])
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 80:
        raise ValidationFailed(errors=[FieldError("reason", "required", "请填写退款原因（80 字以内）",
                                                  "reason is required (at most 80 characters)")])
    order = await ctx.db.payment_orders.find_one({"_id": order_no})
    if order is None:
        raise NotFound("payment_not_found", "未找到该缴费订单", "Fee order not found")
    await require_in_scope(ctx, scope, order)
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
    refund = {"_id": new_number("RF", now), "order_no": order_no, "application_no": order["application_no"],
              "citizen_id": order["citizen_id"], "channel": order["channel"], "channel_id": order["channel_id"],
              "amount_fen": amount, "reason": reason.strip(), "operator_id": operator_id, "status": "processing",
              "created_at": now, "next_check_at": now + REFUND_RECHECK}
    await ctx.db.payment_refunds.insert_one(refund)
    channel = await channel_by_id(ctx, order["channel_id"])
    try:
        if channel is None:
            raise not_configured()
        answer = await gateway_for(ctx, channel).refund(RefundToMake(
            order_no=order_no, refund_no=refund["_id"], amount_fen=amount, order_amount_fen=order["amount_fen"],
            reason=refund["reason"], notify_url=notify_url(ctx, channel)))
        await _apply_answer(ctx, refund, answer)
    except (PaymentRefused, Conflict) as exc:
        code = getattr(exc, "sub_code", "") or exc.code
        await refund_failed(ctx, refund, str(code))
        raise PaymentChannelError("refund_refused", "支付渠道拒绝了退款", "The payment channel refused the refund",
                                  extra={"refund_no": refund["_id"], "channel_code": str(code)}) from None
    except PaymentUnavailable as exc:
        log.warning("refund %s: channel unavailable, will check later: %s", refund["_id"], exc)
    stored = await ctx.db.payment_refunds.find_one({"_id": refund["_id"]})
    return 201, refund_view(stored)


async def settle(ctx: Context, refund: dict[str, Any], found: RefundState) -> bool | None:
    """Apply the vendor's word on a refund: True when this call settled it, False when another did,
    None when the vendor's word is not final."""
    if found.state == "succeeded":
        return await refund_succeeded(ctx, refund, found.channel_refund_id, found.succeeded_at)
    if found.state == "failed":
        return await refund_failed(ctx, refund, "channel_closed")
    if found.state == "abnormal":
        return await refund_abnormal(ctx, refund)
    if found.state == "absent" or (
            found.state == "unseen" and ctx.clock() - as_utc(refund["created_at"]) > UNSEEN_REFUND_GRACE):
        return await refund_failed(ctx, refund, "not_found_on_channel")
    return None


async def _apply_answer(ctx: Context, refund: dict[str, Any], answer: RefundState) -> None:
    """A refund call's or query's answer: settled, or the vendor's refund id kept while it processes."""
    if await settle(ctx, refund, answer) is None and answer.channel_refund_id:
        await ctx.db.payment_refunds.update_one({"_id": refund["_id"]},
                                                {"$set": {"channel_refund_id": answer.channel_refund_id}})


async def refund_succeeded(ctx: Context, refund: dict[str, Any], channel_refund_id: str,
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


async def refund_failed(ctx: Context, refund: dict[str, Any], failure: str) -> bool:
    """processing → failed, once: the reserved amount becomes refundable again."""
    won = await ctx.db.payment_refunds.find_one_and_update(
        {"_id": refund["_id"], "status": {"$in": ["processing", "abnormal"]}},
        {"$set": {"status": "failed", "failed_at": ctx.clock(), "failure": failure, "next_check_at": None}})
    if won is None:
        return False
    await ctx.db.payment_orders.update_one({"_id": refund["order_no"]}, {"$inc": {"refundable_fen": refund["amount_fen"]}})
    log.warning("refund %s of payment %s failed: %s", refund["_id"], refund["order_no"], failure)
    return True


async def refund_abnormal(ctx: Context, refund: dict[str, Any]) -> bool:
    """The channel could not return the money (e.g. closed card): keep the reservation, an operator acts."""
    won = await ctx.db.payment_refunds.find_one_and_update(
        {"_id": refund["_id"], "status": "processing"},
        {"$set": {"status": "abnormal", "failure": "abnormal", "next_check_at": None}})
    if won is not None:
        log.error("refund %s of payment %s is abnormal: needs an operator", refund["_id"], refund["order_no"])
    return won is not None


async def check_refund(ctx: Context, refund: dict[str, Any], channel: channels.Channel) -> None:
    """Ask the channel how a processing refund ended."""
    await _apply_answer(ctx, refund, await gateway_for(ctx, channel).query_refund(refund["order_no"], refund["_id"]))
