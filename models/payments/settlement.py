"""Settling an order: its state changes (each a conditional update with one winner) and bringing it
in line with what its vendor knows (paid, closed, or closed there first when we close it)."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from pymongo import ReturnDocument

from models import applications, outbox
from models.core.context import Context
from models.core.timezone import as_utc, local_minute
from models.errors import Unavailable
from models.payments.merchants import PaymentChannelError, channel_by_id, gateway_for
from models.ports import (
    PaymentAnswerMismatch,
    PaymentGateway,
    PaymentRefused,
    PaymentUnavailable,
    TradeState,
)

log = logging.getLogger("citygate.payments")

# Reconciliation re-checks a paid order's application side effects after this long (see mark_paid).
EFFECTS_CHECK = datetime.timedelta(minutes=2)


def channel_unavailable(zh: str = "支付渠道暂时无法访问，请稍后重试",
                        en: str = "The payment channel is unreachable; please retry shortly") -> Unavailable:
    return Unavailable("payment_channel_unavailable", zh, en)


# ---- state changes (each a conditional update with one winner) -----------------------------------

async def mark_paid(ctx: Context, order: dict[str, Any], *, trade_no: str, paid_at: datetime.datetime | None,
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
        await apply_paid_effects(ctx, won)
        return won, True
    return await ctx.db.payment_orders.find_one({"_id": order_no}), False


async def apply_paid_effects(ctx: Context, order: dict[str, Any]) -> None:
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
            await flag(ctx, no, "duplicate_payment")
    await outbox.enqueue(ctx, citizen_id=order["citizen_id"], event="payment.paid", dedupe_key=f"payment:{no}:paid",
                         template="payment_paid", data={
                             "application_no": order["application_no"], "order_no": no,
                             "amount": f"{order['amount_fen'] // 100}.{order['amount_fen'] % 100:02d}",
                             "paid_at": local_minute(order.get("paid_at") or now)})


async def flag(ctx: Context, order_no: str, anomaly: str) -> None:
    await ctx.db.payment_orders.update_one(
        {"_id": order_no, "$or": [{"anomaly": {"$exists": False}}, {"anomaly": None}]},
        {"$set": {"anomaly": anomaly, "updated_at": ctx.clock()}})


async def mark_closed(ctx: Context, order_no: str, reason: str) -> bool:
    """pending → closed (releasing the application for a new order); True when this call closed it."""
    now = ctx.clock()
    closed = await ctx.db.payment_orders.find_one_and_update(
        {"_id": order_no, "status": "pending"},
        {"$set": {"status": "closed", "closed_at": now, "close_reason": reason, "updated_at": now, "next_check_at": None},
         "$unset": {"active_for": ""}})
    if closed is not None:
        log.info("payment %s closed (%s)", order_no, reason)
    return closed is not None


# ---- the vendor's view of an order ------------------------------------------------------------------

async def trade_state(gateway: PaymentGateway, order_no: str) -> TradeState:
    try:
        return await gateway.query(order_no)
    except PaymentAnswerMismatch:
        raise PaymentChannelError("payment_channel_mismatch", "支付渠道返回的商户信息不符",
                                  "Channel answered for another merchant") from None


async def _apply_channel_paid(ctx: Context, order: dict[str, Any], found: TradeState, source: str) -> str:
    if found.amount_fen != order["amount_fen"]:
        log.error("payment %s: channel reports %s fen paid, order is %s fen; not applied", order["_id"],
                  found.amount_fen, order["amount_fen"])
        await flag(ctx, order["_id"], "amount_mismatch")
        return "anomaly"
    await mark_paid(ctx, order, trade_no=found.trade_no, paid_at=found.paid_at, source=source)
    return "paid"


async def close(ctx: Context, order: dict[str, Any], reason: str) -> str:
    """Close an order on its channel, then here; "paid" when the channel says it was paid meanwhile."""
    channel = await channel_by_id(ctx, order["channel_id"])
    if channel is None:
        await mark_closed(ctx, order["_id"], reason)
        return "closed"
    gateway = gateway_for(ctx, channel)
    try:
        found = await trade_state(gateway, order["_id"])
        if found.state == "open":
            try:
                await gateway.close(order["_id"])
            except PaymentRefused as exc:
                log.info("payment %s: close answered %s", order["_id"], exc.sub_code or exc.code)
            found = await trade_state(gateway, order["_id"])
    except (PaymentUnavailable, PaymentRefused) as exc:
        log.warning("payment %s: cannot close on the channel now: %s", order["_id"], exc)
        raise channel_unavailable() from None
    if found.state == "paid":
        return await _apply_channel_paid(ctx, order, found, "close_check")
    if found.state == "open":
        raise channel_unavailable("支付渠道未能关闭订单，请稍后重试",
                                  "The payment channel did not close the order; please retry shortly")
    await mark_closed(ctx, order["_id"], reason)
    return "closed"


async def refresh(ctx: Context, order: dict[str, Any], source: str) -> dict[str, Any]:
    """Bring a pending order up to date with its channel: paid, closed when expired, or still pending."""
    if order["status"] != "pending":
        return order
    channel = await channel_by_id(ctx, order["channel_id"])
    if channel is None:
        return order
    expired = as_utc(order["expires_at"]) <= ctx.clock()
    found = await trade_state(gateway_for(ctx, channel), order["_id"])
    if found.state == "paid":
        await _apply_channel_paid(ctx, order, found, source)
    elif found.state == "closed":
        await mark_closed(ctx, order["_id"], "channel_closed")
    elif expired:
        await close(ctx, order, "expired")
    return await ctx.db.payment_orders.find_one({"_id": order["_id"]}) or order
