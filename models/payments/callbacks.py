"""Payment callbacks (支付通知): verified by the vendor's gateway, applied exactly once, every attempt recorded.

Callbacks are retried by the vendors for a day and may arrive twice, fifty times at once, out of
order or late. They are applied exactly once: the order moves pending → paid in one conditional
update that only one caller wins, and the application side effects are idempotent and re-run by
every later callback and by reconciliation. Every attempt, accepted or refused, is recorded in
`payment_notifications` (its own collection: nx-27017 stores $push-ed sub-documents as strings).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from bson import ObjectId

from models.core.context import Context
from models.errors import Conflict
from models.payments.merchants import CHANNEL_KINDS, channel_by_id, gateway_for, vendor
from models.payments.refunds import refund_succeeded, settle
from models.payments.settlement import flag, mark_closed, mark_paid
from models.ports import InboundNotification, PaymentNotification, PaymentNotificationRejected, RefundState

log = logging.getLogger("citygate.payments")


@dataclasses.dataclass(frozen=True)
class NotifyResult:
    """What to answer a channel's callback: `ok` (and the HTTP status), or why it was refused."""

    ok: bool
    status: int
    outcome: str  # applied | duplicate | ignored | anomaly | refused
    message: str = ""


async def _record_attempt(ctx: Context, attempt: dict[str, Any], result: NotifyResult, **fields: Any) -> NotifyResult:
    attempt.update(outcome=result.outcome, http_status=result.status, message=result.message, **fields)
    await ctx.db.payment_notifications.insert_one(attempt)
    if result.outcome == "refused":
        log.warning("payment notification refused: channel=%s reason=%s order=%s", attempt.get("channel_id"),
                    attempt.get("reason"), attempt.get("order_no"))
    return result


async def _refuse(ctx: Context, attempt: dict[str, Any], status: int, reason: str, message: str) -> NotifyResult:
    return await _record_attempt(ctx, attempt, NotifyResult(False, status, "refused", message), reason=reason)


def _settled(notice: PaymentNotification, won: bool) -> NotifyResult:
    return NotifyResult(True, notice.ack_status, "applied" if won else "duplicate")


async def handle_wechatpay_notification(ctx: Context, channel_id: str, headers: Mapping[str, str], body: bytes) -> NotifyResult:
    """Verify, decrypt and apply one WeChat Pay notification (payment or refund); record the attempt."""
    return await handle_notification(ctx, "wechat", channel_id, InboundNotification(headers=headers, body=body))


async def handle_alipay_notification(ctx: Context, channel_id: str, params: Mapping[str, str]) -> NotifyResult:
    """Verify and apply one Alipay asynchronous notification; record the attempt."""
    return await handle_notification(ctx, "alipay", channel_id, InboundNotification(form=params))


async def handle_notification(ctx: Context, channel_name: str, channel_id: str,
                              message: InboundNotification) -> NotifyResult:
    """Verify one notification with the channel's gateway and apply it; record the attempt."""
    attempt: dict[str, Any] = {"_id": ObjectId(), "channel": channel_name, "channel_id": channel_id,
                               "received_at": ctx.clock(), **vendor(ctx, channel_name).notification_record(message)}
    for fresh in (False, True):
        channel = await channel_by_id(ctx, channel_id, fresh=fresh)
        if channel is None or channel.kind != CHANNEL_KINDS[channel_name]:
            return await _refuse(ctx, attempt, 404, "channel_unknown", "unknown channel")
        try:
            notice = gateway_for(ctx, channel).verify_notification(message, ctx.clock())
            break
        except Conflict:
            return await _refuse(ctx, attempt, 404, "channel_not_configured", "payments are not set up for this channel")
        except PaymentNotificationRejected as exc:
            if not fresh and exc.config_may_be_stale:
                continue  # the merchant config may have changed in another worker: check with a fresh one
            return await _refuse(ctx, attempt, exc.status, exc.reason, exc.message)
    attempt.update(notification_id=notice.id, event_type=notice.event_type)
    if notice.kind == "refund":
        return await _refund_notice(ctx, attempt, notice)
    if notice.kind != "trade":
        return await _record_attempt(ctx, attempt, NotifyResult(True, notice.ack_status, "ignored", "event not handled"),
                                     order_no=notice.order_no)
    return await _trade_notice(ctx, attempt, notice)


async def _trade_notice(ctx: Context, attempt: dict[str, Any], notice: PaymentNotification) -> NotifyResult:
    """News of an order: paid, closed, or (Alipay) a refund of it."""
    order_no = notice.order_no
    attempt["order_no"] = order_no
    if notice.merchant_mismatch:
        return await _refuse(ctx, attempt, 400, "merchant_mismatch", f"{notice.merchant_mismatch} does not match this channel")
    order = await ctx.db.payment_orders.find_one({"_id": order_no})
    if order is None or order["channel_id"] != attempt["channel_id"]:
        return await _refuse(ctx, attempt, 404, "order_unknown", "no such order")
    if notice.amount_fen != order["amount_fen"]:
        return await _refuse(ctx, attempt, 400, "amount_mismatch", f"{notice.amount_field} does not match the order")
    if notice.refund_no:
        refund = await ctx.db.payment_refunds.find_one({"_id": notice.refund_no, "order_no": order_no})
        if refund is None:
            return await _record_attempt(ctx, attempt, NotifyResult(True, notice.ack_status, "ignored", "refund not made here"),
                                         refund_no=notice.refund_no)
        won = await refund_succeeded(ctx, refund, "", notice.at)
        return await _record_attempt(ctx, attempt, _settled(notice, won), refund_no=refund["_id"])
    if notice.status == "paid":
        return await _record_attempt(ctx, attempt, await _apply_payment(ctx, order, notice))
    if notice.status == "closed" and order["status"] == "pending":
        closed = await mark_closed(ctx, order_no, "channel_closed")
        return await _record_attempt(ctx, attempt, _settled(notice, closed))
    return await _record_attempt(ctx, attempt, NotifyResult(True, notice.ack_status, "ignored", "status not handled"))


async def _apply_payment(ctx: Context, order: dict[str, Any], notice: PaymentNotification) -> NotifyResult:
    if order["status"] == "paid":
        return NotifyResult(True, notice.ack_status, "duplicate", "already applied")
    if order["status"] == "closed":
        log.error("payment %s: paid on the channel after it was closed here (trade %s); refund needed",
                  order["_id"], notice.trade_no)
        await flag(ctx, order["_id"], "paid_after_close")
        return NotifyResult(True, notice.ack_status, "anomaly", "order was closed; flagged for refund")
    _, won = await mark_paid(ctx, order, trade_no=notice.trade_no, paid_at=notice.at, source="notification")
    return _settled(notice, won)


async def _refund_notice(ctx: Context, attempt: dict[str, Any], notice: PaymentNotification) -> NotifyResult:
    """A refund's own result (WeChat Pay's REFUND.*)."""
    attempt.update(order_no=notice.order_no, refund_no=notice.refund_no)
    if notice.merchant_mismatch:
        return await _refuse(ctx, attempt, 400, "merchant_mismatch", f"{notice.merchant_mismatch} does not match this channel")
    refund = await ctx.db.payment_refunds.find_one({"_id": notice.refund_no})
    if refund is None or refund["order_no"] != notice.order_no or refund["channel_id"] != attempt["channel_id"]:
        return await _refuse(ctx, attempt, 404, "refund_unknown", "no such refund")
    if notice.amount_fen != refund["amount_fen"]:
        return await _refuse(ctx, attempt, 400, "amount_mismatch", "refund amount does not match")
    won = None
    if notice.status:
        won = await settle(ctx, refund, RefundState(notice.status, notice.channel_refund_id, notice.at))
    if won is None:
        return await _record_attempt(ctx, attempt, NotifyResult(True, notice.ack_status, "ignored", "refund status not final"))
    return await _record_attempt(ctx, attempt, _settled(notice, won))
