"""Writes keyed by an order number touch that order only (issue 13, F1 and F2).

Both once landed on other citizens' orders: a conditional update with `_id` beside an `$or` was
matched without its `_id` by the embedded datastore.
"""

from __future__ import annotations

from tests.payments_support import alipay_params, order_doc, pending_order, post_alipay, sandbox_pay


async def test_polling_ones_own_pending_order_never_touches_another_citizens(demo_app, fetch, clock) -> None:
    ctx = demo_app.ctx
    other = await pending_order(demo_app, fetch, "wechat", openid="o-other-0001")
    assert (await fetch("GET", f"/api/v1/payments/{other['order_no']}", token=other["token"])).status == 200
    other_before = await order_doc(ctx, other["order_no"])
    assert other_before.get("last_query_at") is not None  # its own poll was recorded

    mine = await pending_order(demo_app, fetch, "wechat", openid="o-mine-0001")
    for _ in range(4):
        clock.advance(seconds=2)
        response = await fetch("GET", f"/api/v1/payments/{mine['order_no']}", token=mine["token"])
        assert response.status == 200 and response.json()["order_no"] == mine["order_no"], response.text
        assert response.json()["application_no"] == mine["application_no"]
    assert await order_doc(ctx, other["order_no"]) == other_before


async def test_payment_after_close_flags_that_order_and_no_other(demo_app, fetch) -> None:
    ctx = demo_app.ctx
    paid = await pending_order(demo_app, fetch, "alipay", user_id="2088000000000301")
    await sandbox_pay(fetch, "alipay", paid["order_no"])
    assert (await order_doc(ctx, paid["order_no"]))["status"] == "paid"

    closed = await pending_order(demo_app, fetch, "alipay", user_id="2088000000000302")
    response = await post_alipay(fetch, await alipay_params(ctx, closed["order_no"], trade_status="TRADE_CLOSED"))
    assert response.text == "success"
    late = await post_alipay(fetch, await alipay_params(ctx, closed["order_no"]))
    assert late.text == "success"
    assert (await order_doc(ctx, closed["order_no"])).get("anomaly") == "paid_after_close"
    assert (await order_doc(ctx, paid["order_no"])).get("anomaly") is None
