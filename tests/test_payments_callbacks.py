"""Payment callbacks as the channels really deliver them: replayed, duplicated fifty at once, out of
order, stale, tampered, wrongly signed, for the wrong amount or an unknown order.

A callback that verifies changes the order and the application once, however often it comes; one that
does not verify changes nothing. Every attempt is recorded in payment_notifications.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.payments_support import (
    ALIPAY_CHANNEL_ID,
    FEE_FEN,
    alipay_params,
    attempts,
    order_doc,
    pending_order,
    post_alipay,
    post_wechat,
    sandbox_pay,
    wechat_notification,
    wechat_transaction,
)


async def _assert_paid_once(ctx, order: dict) -> None:  # noqa: ANN001
    stored = await order_doc(ctx, order["order_no"])
    assert stored["status"] == "paid" and stored["refundable_fen"] == FEE_FEN
    application = await ctx.db.applications.find_one({"_id": order["application_no"]})
    assert application["payment"]["status"] == "paid" and application["payment"]["order_no"] == order["order_no"]
    assert application["version"] == 1  # the payment does not disturb the application's own state machine
    assert await ctx.db.outbox.count_documents({"event": "payment.paid", "data.order_no": order["order_no"]}) == 1
    assert [a["outcome"] for a in await attempts(ctx, order["order_no"])].count("applied") == 1


async def _assert_untouched(ctx, order: dict) -> None:  # noqa: ANN001
    stored = await order_doc(ctx, order["order_no"])
    assert stored["status"] == "pending" and "paid_at" not in stored
    application = await ctx.db.applications.find_one({"_id": order["application_no"]})
    assert "payment" not in application
    assert await ctx.db.outbox.count_documents({"event": "payment.paid"}) == 0


# ---- WeChat Pay ------------------------------------------------------------------------------------

async def test_wechat_callback_replayed_ten_times_applies_once(demo_app, fetch) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch)
    await sandbox_pay(fetch, "wechat", order["order_no"])
    sent = await ctx.db.sandbox_wechatpay_notifications.find_one({"ref": order["order_no"]})
    for _ in range(10):  # the very same bytes and headers, as a retry after a lost answer would be
        response = await post_wechat(fetch, sent["headers"], sent["body"].encode())
        assert response.status == 204, response.text
    await _assert_paid_once(ctx, order)
    outcomes = [a["outcome"] for a in await attempts(ctx, order["order_no"])]
    assert outcomes == ["applied"] + ["duplicate"] * 10


async def test_fifty_concurrent_wechat_callbacks_apply_once(demo_app, fetch) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch)
    headers, body = await wechat_notification(ctx, await wechat_transaction(ctx, order["order_no"]))
    responses = await asyncio.gather(*[post_wechat(fetch, headers, body) for _ in range(50)])
    assert [r.status for r in responses] == [204] * 50
    await _assert_paid_once(ctx, order)
    outcomes = [a["outcome"] for a in await attempts(ctx, order["order_no"])]
    assert len(outcomes) == 50 and outcomes.count("applied") == 1 and outcomes.count("duplicate") == 49


async def test_wechat_retries_out_of_order_apply_once(demo_app, fetch) -> None:
    """WeChat Pay signs each retry afresh: a later retry may arrive before an earlier one."""
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch)
    resource = await wechat_transaction(ctx, order["order_no"])
    now = int(time.time())
    first = await wechat_notification(ctx, resource, timestamp=now - 120)
    second = await wechat_notification(ctx, resource, timestamp=now - 60)
    third = await wechat_notification(ctx, resource, timestamp=now)
    for headers, body in (third, first, second):
        assert (await post_wechat(fetch, headers, body)).status == 204
    await _assert_paid_once(ctx, order)


async def test_wechat_payment_callback_after_a_refund_changes_nothing(demo_app, fetch, operator_token) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch)
    await sandbox_pay(fetch, "wechat", order["order_no"])
    sent = await ctx.db.sandbox_wechatpay_notifications.find_one({"ref": order["order_no"]})
    refund = await fetch("POST", f"/admin/v1/payments/{order['order_no']}/refunds",
                         json={"reason": "重复缴费"}, token=operator_token)
    assert refund.status == 201 and refund.json()["status"] == "succeeded", refund.text
    response = await post_wechat(fetch, sent["headers"], sent["body"].encode())  # the old payment callback, late
    assert response.status == 204
    stored = await order_doc(ctx, order["order_no"])
    assert (stored["status"], stored["refunded_fen"], stored["refundable_fen"]) == ("paid", FEE_FEN, 0)
    application = await ctx.db.applications.find_one({"_id": order["application_no"]})
    assert application["payment"]["refunded_fen"] == FEE_FEN
    assert await ctx.db.outbox.count_documents({"event": "payment.paid"}) == 1


async def test_stale_wechat_callback_is_refused_and_recorded(demo_app, fetch, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="citygate.payments")
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch)
    headers, body = await wechat_notification(ctx, await wechat_transaction(ctx, order["order_no"]),
                                              timestamp=int(time.time()) - 6 * 60)
    response = await post_wechat(fetch, headers, body)
    assert response.status == 401
    assert response.json()["code"] == "FAIL" and response.json()["message"]
    await _assert_untouched(ctx, order)
    [attempt] = await ctx.db.payment_notifications.find({"channel": "wechat"}).to_list(None)
    assert (attempt["outcome"], attempt["reason"]) == ("refused", "timestamp_stale")
    assert "timestamp_stale" in caplog.text


async def test_tampered_wechat_callback_is_refused(demo_app, fetch) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch)
    headers, body = await wechat_notification(ctx, await wechat_transaction(ctx, order["order_no"]))
    tampered = body.replace(b'"event_type":"TRANSACTION.SUCCESS"', b'"event_type":"TRANSACTION.SUCCESS" ')
    response = await post_wechat(fetch, headers, tampered)
    assert response.status == 401 and response.json()["code"] == "FAIL"
    await _assert_untouched(ctx, order)
    reasons = [a["reason"] async for a in ctx.db.payment_notifications.find({})]
    assert reasons == ["signature_invalid"]


async def test_wechat_callback_signed_with_a_wrong_key_is_refused(demo_app, fetch) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch)
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    headers, body = await wechat_notification(ctx, await wechat_transaction(ctx, order["order_no"]), signing_key=impostor)
    assert (await post_wechat(fetch, headers, body)).status == 401
    unknown_serial = await wechat_notification(ctx, await wechat_transaction(ctx, order["order_no"]),
                                               serial="PUB_KEY_ID_0000000000000000000000000000")
    assert (await post_wechat(fetch, *unknown_serial)).status == 401
    other_apiv3 = await wechat_notification(ctx, await wechat_transaction(ctx, order["order_no"]),
                                            apiv3_key="ffffffffffffffffffffffffffffffff")
    assert (await post_wechat(fetch, *other_apiv3)).status == 400
    await _assert_untouched(ctx, order)
    reasons = sorted([a["reason"] async for a in ctx.db.payment_notifications.find({})])
    assert reasons == ["decrypt_failed", "serial_unknown", "signature_invalid"]


@pytest.mark.parametrize("change, reason, status", [
    ({"amount.total": 1}, "amount_mismatch", 400),
    ({"amount.currency": "USD"}, "amount_mismatch", 400),
    ({"appid": "wxother0000000001"}, "merchant_mismatch", 400),
    ({"mchid": "1900000999"}, "merchant_mismatch", 400),
    ({"out_trade_no": "PAY20260101000000NOSUCHONE"}, "order_unknown", 404),
])
async def test_wechat_callback_that_does_not_match_the_order_is_refused(demo_app, fetch, caplog, change, reason,
                                                                        status) -> None:
    caplog.set_level(logging.WARNING, logger="citygate.payments")
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch)
    resource = await wechat_transaction(ctx, order["order_no"], **change)
    response = await post_wechat(fetch, *await wechat_notification(ctx, resource))
    assert response.status == status and response.json()["code"] == "FAIL"
    await _assert_untouched(ctx, order)
    [attempt] = await ctx.db.payment_notifications.find({}).to_list(None)
    assert (attempt["outcome"], attempt["reason"]) == ("refused", reason)
    assert reason in caplog.text


async def test_wechat_callback_for_an_unknown_channel_is_refused(demo_app, fetch) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch)
    headers, body = await wechat_notification(ctx, await wechat_transaction(ctx, order["order_no"]))
    assert (await post_wechat(fetch, headers, body, channel_id="no-such-channel")).status == 404
    assert (await post_wechat(fetch, headers, body, channel_id="alipay-demo")).status == 404
    await _assert_untouched(ctx, order)
    assert await ctx.db.payment_notifications.count_documents({"outcome": "refused"}) == 2


async def test_garbage_wechat_callback_is_refused_in_wechats_format(demo_app, fetch) -> None:
    response = await fetch("POST", "/notify/wechatpay/wechat-demo", body=b"not json at all")
    assert response.status == 401 and response.json()["code"] == "FAIL"
    assert await demo_app.ctx.db.payment_notifications.count_documents({"reason": "signature_headers_missing"}) == 1


# ---- Alipay ----------------------------------------------------------------------------------------

async def test_alipay_callback_replayed_and_fifty_at_once_applies_once(demo_app, fetch) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch, "alipay")
    await sandbox_pay(fetch, "alipay", order["order_no"])
    sent = await ctx.db.sandbox_alipay_notifications.find_one({"out_trade_no": order["order_no"]})
    responses = await asyncio.gather(*[post_alipay(fetch, sent["params"]) for _ in range(50)])
    assert {(r.status, r.text) for r in responses} == {(200, "success")}
    await _assert_paid_once(ctx, order)
    outcomes = [a["outcome"] for a in await attempts(ctx, order["order_no"])]
    assert len(outcomes) == 51 and outcomes.count("applied") == 1


async def test_alipay_success_after_trade_closed_by_full_refund_changes_nothing(demo_app, fetch, operator_token) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch, "alipay")
    await sandbox_pay(fetch, "alipay", order["order_no"])
    success = (await ctx.db.sandbox_alipay_notifications.find_one({"out_trade_no": order["order_no"]}))["params"]
    refund = await fetch("POST", f"/admin/v1/payments/{order['order_no']}/refunds", json={"reason": "退费"},
                         token=operator_token)
    assert refund.status == 201 and refund.json()["status"] == "succeeded", refund.text
    closed = await alipay_params(ctx, order["order_no"], trade_status="TRADE_CLOSED")
    for params in (closed, success, closed):  # out of order and repeated
        response = await post_alipay(fetch, params)
        assert (response.status, response.text) == (200, "success")
    stored = await order_doc(ctx, order["order_no"])
    assert (stored["status"], stored["refunded_fen"]) == ("paid", FEE_FEN)
    assert await ctx.db.outbox.count_documents({"event": "payment.paid"}) == 1
    assert await ctx.db.outbox.count_documents({"event": "payment.refunded"}) == 1


async def test_alipay_trade_closed_unpaid_closes_the_order(demo_app, fetch) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch, "alipay")
    response = await post_alipay(fetch, await alipay_params(ctx, order["order_no"], trade_status="TRADE_CLOSED"))
    assert response.text == "success"
    assert (await order_doc(ctx, order["order_no"]))["status"] == "closed"
    late = await post_alipay(fetch, await alipay_params(ctx, order["order_no"]))  # paid after we closed it?
    assert late.text == "success"
    stored = await order_doc(ctx, order["order_no"])
    assert (stored["status"], stored["anomaly"]) == ("closed", "paid_after_close")


# Alipay writes gmt_payment / gmt_refund as Beijing time without an offset: 19:32:05 there is 11:32:05 UTC.
PAID_BEIJING, PAID_UTC = "2026-11-29 19:32:05", datetime.datetime(2026, 11, 29, 11, 32, 5, tzinfo=datetime.UTC)
REFUNDED_BEIJING, REFUNDED_UTC = "2026-11-29 23:40:00", datetime.datetime(2026, 11, 29, 15, 40, tzinfo=datetime.UTC)


async def test_alipay_gmt_payment_is_beijing_time(demo_app, fetch, operator_token) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch, "alipay")
    response = await post_alipay(fetch, await alipay_params(ctx, order["order_no"], gmt_payment=PAID_BEIJING))
    assert (response.status, response.text) == (200, "success")
    stored = await order_doc(ctx, order["order_no"])
    assert stored["paid_at"] == PAID_UTC
    application = await ctx.db.applications.find_one({"_id": order["application_no"]})
    assert application["payment"]["paid_at"] == PAID_UTC
    view = (await fetch("GET", f"/api/v1/payments/{order['order_no']}", token=order["token"])).json()
    assert view["paid_at"] == "2026-11-29T19:32:05+08:00"
    detail = (await fetch("GET", f"/admin/v1/payments/{order['order_no']}", token=operator_token)).json()
    assert detail["paid_at"] == "2026-11-29T19:32:05+08:00"


async def test_alipay_gmt_refund_is_beijing_time(demo_app, fetch, operator_token) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch, "alipay")
    assert (await post_alipay(fetch, await alipay_params(ctx, order["order_no"], gmt_payment=PAID_BEIJING))).status == 200
    refund_no = "RF20261129233000REFUNDTIME"  # a refund asked for, its answer not in yet (as request_refund stores it)
    await ctx.db.payment_refunds.insert_one({
        "_id": refund_no, "order_no": order["order_no"], "application_no": order["application_no"],
        "citizen_id": order["citizen_id"], "channel": "alipay", "channel_id": ALIPAY_CHANNEL_ID, "amount_fen": 500,
        "reason": "多收费用退还", "operator_id": None, "status": "processing", "created_at": ctx.clock(),
        "next_check_at": ctx.clock() + datetime.timedelta(hours=1)})
    response = await post_alipay(fetch, await alipay_params(ctx, order["order_no"], out_biz_no=refund_no,
                                                            refund_fee="5.00", gmt_refund=REFUNDED_BEIJING))
    assert (response.status, response.text) == (200, "success")
    refund = await ctx.db.payment_refunds.find_one({"_id": refund_no})
    assert (refund["status"], refund["succeeded_at"]) == ("succeeded", REFUNDED_UTC)
    detail = (await fetch("GET", f"/admin/v1/payments/{order['order_no']}", token=operator_token)).json()
    assert detail["refunds"][0]["succeeded_at"] == "2026-11-29T23:40:00+08:00"


@pytest.mark.parametrize("gmt_payment", ["2026-11-29T19:32:05", "2026-11-29 19:32:05 CST", "yesterday", "\u4eca\u5929"])
async def test_alipay_gmt_payment_that_is_not_alipays_format_is_not_a_500(demo_app, fetch, caplog, gmt_payment) -> None:
    caplog.set_level(logging.WARNING, logger="citygate.payments")
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch, "alipay")
    before = ctx.clock()
    response = await post_alipay(fetch, await alipay_params(ctx, order["order_no"], gmt_payment=gmt_payment))
    assert (response.status, response.text) == (200, "success")  # signed: the money moved, so it is applied
    stored = await order_doc(ctx, order["order_no"])
    assert stored["status"] == "paid"
    assert before - datetime.timedelta(seconds=5) <= stored["paid_at"] <= ctx.clock()  # when we heard of it
    assert "gmt_payment" in caplog.text


@pytest.mark.parametrize("case, reason", [
    ("tampered", "signature_invalid"), ("wrong_key", "signature_invalid"), ("wrong_amount", "amount_mismatch"),
    ("unknown_order", "order_unknown"), ("other_app", "app_id_mismatch"), ("other_seller", "seller_mismatch"),
    ("unsigned", "signature_missing"),
])
async def test_bad_alipay_callbacks_are_refused_and_recorded(demo_app, fetch, caplog, case, reason) -> None:
    from integrations.alipay import generate_private_key_pem

    caplog.set_level(logging.WARNING, logger="citygate.payments")
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch, "alipay")
    no = order["order_no"]
    params = {
        "tampered": lambda: alipay_params(ctx, no),
        "wrong_key": lambda: alipay_params(ctx, no, signing_key=generate_private_key_pem()),
        "wrong_amount": lambda: alipay_params(ctx, no, total_amount="0.01", receipt_amount="0.01"),
        "unknown_order": lambda: alipay_params(ctx, no, out_trade_no="PAY20260101000000NOSUCHONE"),
        "other_app": lambda: alipay_params(ctx, no, app_id="2021000000000999"),
        "other_seller": lambda: alipay_params(ctx, no, seller_id="2088999999999999"),
        "unsigned": lambda: alipay_params(ctx, no, sign=False),
    }[case]
    sent = await params()
    if case == "tampered":
        sent = {**sent, "total_amount": "0.01"}
    response = await post_alipay(fetch, sent)
    assert response.text == "failure" and response.status >= 400
    await _assert_untouched(ctx, order)
    [attempt] = await ctx.db.payment_notifications.find({}).to_list(None)
    assert (attempt["outcome"], attempt["reason"]) == ("refused", reason)
    assert reason in caplog.text
