"""Operator refunds: partial and full, never more than was paid, with the channels' own callbacks."""

from __future__ import annotations

import asyncio

import pytest

from tests.payments_support import FEE_FEN, attempts, order_doc, pending_order, sandbox_pay


async def _paid(app, fetch, channel: str) -> dict:  # noqa: ANN001
    order = await pending_order(app, fetch, channel)
    await sandbox_pay(fetch, channel, order["order_no"])
    return order


async def _refund(fetch, token: str, order_no: str, amount_fen: int | None = None, key: str | None = None):  # noqa: ANN001, ANN202
    body = {"reason": "多收费用退还"}
    if amount_fen is not None:
        body["amount_fen"] = amount_fen
    return await fetch("POST", f"/admin/v1/payments/{order_no}/refunds", json=body, token=token,
                       headers={"Idempotency-Key": key} if key else None)


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
async def test_partial_then_full_refund_then_nothing_left(demo_app, fetch, operator_token, channel) -> None:
    ctx = demo_app.ctx
    order = await _paid(demo_app, fetch, channel)
    first = await _refund(fetch, operator_token, order["order_no"], 500)
    assert first.status == 201 and first.json()["status"] == "succeeded" and first.json()["amount_fen"] == 500, first.text
    rest = await _refund(fetch, operator_token, order["order_no"])  # no amount: all that is left
    assert rest.status == 201 and rest.json()["amount_fen"] == FEE_FEN - 500
    over = await _refund(fetch, operator_token, order["order_no"], 1)
    assert over.status == 409 and over.json()["code"] == "refund_exceeds_paid" and over.json()["refundable_fen"] == 0
    stored = await order_doc(ctx, order["order_no"])
    assert (stored["status"], stored["refunded_fen"], stored["refundable_fen"]) == ("paid", FEE_FEN, 0)
    application = await ctx.db.applications.find_one({"_id": order["application_no"]})
    assert application["payment"]["refunded_fen"] == FEE_FEN
    assert await ctx.db.outbox.count_documents({"event": "payment.refunded"}) == 2
    view = (await fetch("GET", f"/api/v1/payments/{order['order_no']}", token=order["token"])).json()
    assert view["refunded_fen"] == FEE_FEN
    if channel == "wechat":
        sandbox = await ctx.db.sandbox_wechatpay_orders.find_one({"out_trade_no": order["order_no"]})
        refund_callbacks = [a for a in await attempts(ctx, order["order_no"]) if a.get("refund_no")]
        # the channel's REFUND.SUCCESS callback came before its answer to the refund call: applied once each
        assert sorted(a["outcome"] for a in refund_callbacks) == ["applied", "applied"]
    else:
        sandbox = await ctx.db.sandbox_alipay_trades.find_one({"out_trade_no": order["order_no"]})
    assert sandbox["refunded"] == FEE_FEN


async def test_refund_above_what_was_paid_is_refused_whole(demo_app, fetch, operator_token) -> None:
    order = await _paid(demo_app, fetch, "wechat")
    response = await _refund(fetch, operator_token, order["order_no"], FEE_FEN + 1)
    assert response.status == 409 and response.json()["refundable_fen"] == FEE_FEN
    stored = await order_doc(demo_app.ctx, order["order_no"])
    assert (stored["refunded_fen"], stored["refundable_fen"]) == (0, FEE_FEN)
    assert await demo_app.ctx.db.payment_refunds.count_documents({}) == 0


async def test_concurrent_refunds_never_exceed_what_was_paid(demo_app, fetch, operator_token) -> None:
    order = await _paid(demo_app, fetch, "alipay")
    responses = await asyncio.gather(*[_refund(fetch, operator_token, order["order_no"], 500) for _ in range(6)])
    statuses = sorted(r.status for r in responses)
    assert statuses == [201, 201, 201, 201, 409, 409]
    stored = await order_doc(demo_app.ctx, order["order_no"])
    assert (stored["refunded_fen"], stored["refundable_fen"]) == (FEE_FEN, 0)


async def test_refund_idempotency_key_refunds_once(demo_app, fetch, operator_token) -> None:
    order = await _paid(demo_app, fetch, "wechat")
    first = await _refund(fetch, operator_token, order["order_no"], 300, key="refund-1")
    second = await _refund(fetch, operator_token, order["order_no"], 300, key="refund-1")
    assert first.json() == second.json()
    assert (await order_doc(demo_app.ctx, order["order_no"]))["refunded_fen"] == 300


async def test_unpaid_or_unknown_orders_cannot_be_refunded(demo_app, fetch, operator_token) -> None:
    order = await pending_order(demo_app, fetch)
    response = await _refund(fetch, operator_token, order["order_no"], 100)
    assert response.status == 409 and response.json()["code"] == "order_not_paid"
    assert (await _refund(fetch, operator_token, "PAY20260101000000NOSUCHONE", 100)).status == 404
    for bad in (0, -5, "100", 1.5):
        invalid = await fetch("POST", f"/admin/v1/payments/{order['order_no']}/refunds",
                              json={"amount_fen": bad, "reason": "x"}, token=operator_token)
        assert invalid.status == 422, bad
    no_reason = await fetch("POST", f"/admin/v1/payments/{order['order_no']}/refunds", json={"amount_fen": 1},
                            token=operator_token)
    assert no_reason.status == 422


async def test_refund_refused_by_the_channel_releases_the_amount(demo_app, fetch, operator_token) -> None:
    order = await _paid(demo_app, fetch, "alipay")
    fault = await fetch("POST", "/sandbox/alipay/test/fault", json={
        "app_id": "2021000000000001", "method": "alipay.trade.refund", "code": "40004",
        "sub_code": "ACQ.SELLER_BALANCE_NOT_ENOUGH", "msg": "Business Failed"})
    assert fault.status == 200, fault.text
    refused = await _refund(fetch, operator_token, order["order_no"], 800)
    assert refused.status == 502 and refused.json()["code"] == "refund_refused"
    assert refused.json()["channel_code"] == "ACQ.SELLER_BALANCE_NOT_ENOUGH"
    [refund] = await demo_app.ctx.db.payment_refunds.find({}).to_list(None)
    assert refund["status"] == "failed"
    stored = await order_doc(demo_app.ctx, order["order_no"])
    assert (stored["refunded_fen"], stored["refundable_fen"]) == (0, FEE_FEN)
    retried = await _refund(fetch, operator_token, order["order_no"], 800)
    assert retried.status == 201 and retried.json()["status"] == "succeeded"


async def test_refunds_need_a_finance_operator(demo_app, fetch, make_operator) -> None:
    order = await _paid(demo_app, fetch, "wechat")
    assert (await _refund(fetch, order["token"], order["order_no"], 100)).status == 401
    clerk = await make_operator("clerk", ["intake"])
    assert (await _refund(fetch, clerk, order["order_no"], 100)).status == 403
    cashier = await make_operator("cashier", ["finance"])
    assert (await _refund(fetch, cashier, order["order_no"], 100)).status == 201
