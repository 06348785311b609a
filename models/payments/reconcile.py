"""Reconciliation (对账): the periodic job that settles what callbacks left open.

It asks the vendor about pending orders whose callback never came (closing expired ones there too),
settles refunds still processing, and finishes application side effects a crash left undone.
"""

from __future__ import annotations

import datetime
import logging

from pymongo import ASCENDING, ReturnDocument

from models.core.context import Context
from models.errors import Conflict, Unavailable
from models.payments.merchants import PaymentChannelError, channel_by_id
from models.payments.refunds import REFUND_RECHECK, check_refund
from models.payments.settlement import apply_paid_effects, refresh
from models.ports import PaymentRefused, PaymentUnavailable

log = logging.getLogger("citygate.payments")

# A pending order's channel state is checked again this often.
RECHECK = datetime.timedelta(minutes=2)
# What leaves an order or a refund for the next round.
CHANNEL_FAILURES = (PaymentUnavailable, PaymentRefused, Unavailable, PaymentChannelError, Conflict)


async def reconcile_due(ctx: Context, limit: int = 100) -> int:
    """Periodic job: query pending orders whose callback never came (closing expired ones on the channel
    too), settle refunds still processing, and finish side effects a crash left undone. Safe to run in
    every worker at once: each order is claimed with a conditional update first."""
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
        except CHANNEL_FAILURES as exc:
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
            await check_refund(ctx, refund, channel)
        except CHANNEL_FAILURES as exc:
            log.warning("reconciliation: refund %s not settled yet: %s", refund["_id"], exc)
    async for order in ctx.db.payment_orders.find({"effects_check_at": {"$lte": now}}).limit(limit):
        handled += 1
        if order["status"] == "paid":
            await apply_paid_effects(ctx, order)
        await ctx.db.payment_orders.update_one({"_id": order["_id"], "effects_check_at": order["effects_check_at"]},
                                               {"$unset": {"effects_check_at": ""}})
    return handled
