"""Reconciliation: callbacks that never came, orders that expired, work a crash left half done."""

from __future__ import annotations

import asyncio
import datetime

import pytest

from models import payments
from tests.payments_support import (
    FEE_FEN,
    attempts,
    create_order,
    order_doc,
    pending_order,
    post_alipay,
    post_wechat,
    sandbox_pay,
)


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
async def test_missed_callback_is_recovered_by_reconciliation(demo_app, fetch, clock, channel) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch, channel)
    await sandbox_pay(fetch, channel, order["order_no"], deliver=False)  # paid, but the callback is lost
    assert await payments.reconcile_due(ctx) == 0  # not due yet: callbacks usually come within seconds
    clock.advance(minutes=1)
    assert await payments.reconcile_due(ctx) >= 1
    stored = await order_doc(ctx, order["order_no"])
    assert (stored["status"], stored["paid_via"]) == ("paid", "reconciliation")
    assert stored["channel_trade_no"]
    application = await ctx.db.applications.find_one({"_id": order["application_no"]})
    assert application["payment"]["status"] == "paid"
    # the callback, when it finally arrives, is a duplicate
    if channel == "wechat":
        await sandbox_pay(fetch, channel, order["order_no"])
    else:
        sent = await ctx.db.sandbox_alipay_notifications.find({"out_trade_no": order["order_no"]}).to_list(None)
        assert sent == []
        await sandbox_pay(fetch, channel, order["order_no"])
    assert [a["outcome"] for a in await attempts(ctx, order["order_no"])] == ["duplicate"]
    assert await ctx.db.outbox.count_documents({"event": "payment.paid"}) == 1


async def test_alipay_query_times_are_beijing_time(demo_app, fetch, clock, operator_token) -> None:
    """send_pay_date (trade.query) and gmt_refund_pay (refund.query) are Beijing time without an offset."""
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch, "alipay")
    await sandbox_pay(fetch, "alipay", order["order_no"], deliver=False)
    trade = await ctx.db.sandbox_alipay_trades.find_one({"out_trade_no": order["order_no"]})
    clock.advance(minutes=1)
    await payments.reconcile_due(ctx)
    stored = await order_doc(ctx, order["order_no"])
    assert (stored["status"], stored["paid_at"]) == ("paid", trade["gmt_payment"].replace(microsecond=0))
    refund = await fetch("POST", f"/admin/v1/payments/{order['order_no']}/refunds", json={"reason": "退费"},
                         token=operator_token)
    assert refund.status == 201, refund.text
    refund_no = refund.json()["refund_no"]
    sandbox_refund = await ctx.db.sandbox_alipay_refunds.find_one({"out_request_no": refund_no})
    # as if its notification had been lost: reconciliation asks alipay.trade.fastpay.refund.query
    await ctx.db.payment_refunds.update_one({"_id": refund_no}, {"$set": {
        "status": "processing", "succeeded_at": None, "next_check_at": ctx.clock() - datetime.timedelta(seconds=1)}})
    await payments.reconcile_due(ctx)
    settled = await ctx.db.payment_refunds.find_one({"_id": refund_no})
    assert (settled["status"], settled["succeeded_at"]) == ("succeeded", sandbox_refund["created_at"].replace(microsecond=0))


@pytest.mark.settings(payment_order_ttl_minutes=1)
@pytest.mark.parametrize("channel", ["wechat", "alipay"])
async def test_expired_orders_are_closed_on_the_channel_too(demo_app, fetch, clock, channel) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch, channel)
    clock.advance(minutes=2)
    await payments.reconcile_due(ctx)
    stored = await order_doc(ctx, order["order_no"])
    assert (stored["status"], stored["close_reason"]) == ("closed", "expired")
    if channel == "wechat":
        sandbox = await ctx.db.sandbox_wechatpay_orders.find_one({"out_trade_no": order["order_no"]})
        assert sandbox["trade_state"] == "CLOSED"
    else:
        sandbox = await ctx.db.sandbox_alipay_trades.find_one({"out_trade_no": order["order_no"]})
        assert sandbox["trade_status"] == "TRADE_CLOSED"
    vendor = "wechatpay" if channel == "wechat" else "alipay"
    late = await fetch("POST", f"/sandbox/{vendor}/test/pay", json={"out_trade_no": order["order_no"]})
    assert late.status == 400
    fresh = await create_order(fetch, order["token"], order["application_no"], channel)  # the citizen may pay anew
    assert fresh.status == 201 and fresh.json()["order_no"] != order["order_no"]


@pytest.mark.settings(payment_order_ttl_minutes=1)
async def test_order_paid_just_before_expiry_is_paid_not_closed(demo_app, fetch, clock) -> None:
    order = await pending_order(demo_app, fetch)
    await sandbox_pay(fetch, "wechat", order["order_no"], deliver=False)
    clock.advance(minutes=2)
    await payments.reconcile_due(demo_app.ctx)
    assert (await order_doc(demo_app.ctx, order["order_no"]))["status"] == "paid"


async def test_channel_outage_leaves_the_order_for_the_next_run(demo_app, fetch, clock) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch, "alipay")
    await sandbox_pay(fetch, "alipay", order["order_no"], deliver=False)
    fault = await fetch("POST", "/sandbox/alipay/test/fault", json={
        "app_id": "2021000000000001", "method": "alipay.trade.query", "code": "20000", "sub_code": "isp.unknow-error"})
    assert fault.status == 200
    clock.advance(minutes=1)
    await payments.reconcile_due(ctx)
    assert (await order_doc(ctx, order["order_no"]))["status"] == "pending"
    clock.advance(minutes=3)
    await payments.reconcile_due(ctx)
    assert (await order_doc(ctx, order["order_no"]))["status"] == "paid"


async def test_concurrent_reconcilers_apply_once(demo_app, fetch, clock) -> None:
    ctx = demo_app.ctx
    orders = [await pending_order(demo_app, fetch, "wechat", openid=f"o-recon-{i}") for i in range(3)]
    for order in orders:
        await sandbox_pay(fetch, "wechat", order["order_no"], deliver=False)
    clock.advance(minutes=1)
    await asyncio.gather(*[payments.reconcile_due(ctx) for _ in range(5)])
    for order in orders:
        assert (await order_doc(ctx, order["order_no"]))["status"] == "paid"
    assert await ctx.db.outbox.count_documents({"event": "payment.paid"}) == 3


async def test_side_effects_a_crash_left_undone_are_finished(demo_app, fetch, clock) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch)
    # a worker won pending → paid and died before touching the application
    await ctx.db.payment_orders.update_one({"_id": order["order_no"]}, {"$set": {
        "status": "paid", "paid_at": ctx.clock(), "channel_trade_no": "4200000000000000000099",
        "refundable_fen": FEE_FEN, "next_check_at": None,
        "effects_check_at": ctx.clock() + payments.EFFECTS_CHECK}})
    # a duplicate callback meanwhile does not redo the work (it costs no writes but its record) ...
    await sandbox_pay(fetch, "wechat", order["order_no"])
    assert "payment" not in await ctx.db.applications.find_one({"_id": order["application_no"]})
    # ... reconciliation does, once its check time has come
    await payments.reconcile_due(ctx)
    assert "payment" not in await ctx.db.applications.find_one({"_id": order["application_no"]})
    clock.advance(minutes=3)
    await payments.reconcile_due(ctx)
    await payments.reconcile_due(ctx)
    application = await ctx.db.applications.find_one({"_id": order["application_no"]})
    assert application["payment"]["status"] == "paid"
    assert await ctx.db.outbox.count_documents({"event": "payment.paid"}) == 1
    assert "effects_check_at" not in await order_doc(ctx, order["order_no"])


async def test_refund_whose_answer_was_lost_is_settled(demo_app, fetch, clock, operator_token) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch, "alipay")
    await sandbox_pay(fetch, "alipay", order["order_no"])
    await fetch("POST", "/sandbox/alipay/test/fault", json={
        "app_id": "2021000000000001", "method": "alipay.trade.refund", "code": "20000", "sub_code": "isp.unknow-error"})
    response = await fetch("POST", f"/admin/v1/payments/{order['order_no']}/refunds",
                           json={"amount_fen": 700, "reason": "退费"}, token=operator_token)
    assert response.status == 201 and response.json()["status"] == "processing"
    # the channel never made this refund: after a while it is failed and the amount released
    clock.advance(minutes=11)
    await payments.reconcile_due(ctx)
    [refund] = await ctx.db.payment_refunds.find({}).to_list(None)
    assert refund["status"] == "failed"
    assert (await order_doc(ctx, order["order_no"]))["refundable_fen"] == FEE_FEN


async def test_late_callbacks_for_a_reconciled_order_are_duplicates(demo_app, fetch) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch)
    await sandbox_pay(fetch, "wechat", order["order_no"])
    sent = await ctx.db.sandbox_wechatpay_notifications.find_one({"ref": order["order_no"]})
    await payments.reconcile_due(ctx)
    assert (await post_wechat(fetch, sent["headers"], sent["body"].encode())).status == 204
    alipay_order = await pending_order(demo_app, fetch, "alipay")
    await sandbox_pay(fetch, "alipay", alipay_order["order_no"])
    sent = await ctx.db.sandbox_alipay_notifications.find_one({"out_trade_no": alipay_order["order_no"]})
    assert (await post_alipay(fetch, sent["params"])).text == "success"
    assert await ctx.db.outbox.count_documents({"event": "payment.paid"}) == 2
