"""A citizen pays an application's fee through each sandbox, end to end over real HTTP."""

from __future__ import annotations

from tests.payments_support import (
    FEE_FEN,
    alipay_payer,
    attempts,
    create_order,
    fee_application,
    sandbox_pay,
    wechat_payer,
)


async def test_wechat_pay_end_to_end(demo_app, fetch) -> None:
    citizen_id, token = await wechat_payer(fetch)
    no = await fee_application(demo_app.ctx, citizen_id)
    created = await create_order(fetch, token, no, "wechat")
    assert created.status == 201, created.text
    order = created.json()
    assert order["amount_fen"] == FEE_FEN and order["status"] == "pending" and order["channel"] == "wechat"
    params = order["pay_params"]
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["package"].startswith("prepay_id=wx") and params["signType"] == "RSA"

    paid = await sandbox_pay(fetch, "wechat", order["order_no"])
    assert paid["notify_status"] == 204, paid
    view = (await fetch("GET", f"/api/v1/payments/{order['order_no']}", token=token)).json()
    assert view["status"] == "paid" and view["paid_at"]
    application = await demo_app.ctx.db.applications.find_one({"_id": no})
    assert application["payment"]["status"] == "paid" and application["payment"]["order_no"] == order["order_no"]
    assert [a["outcome"] for a in await attempts(demo_app.ctx, order["order_no"])] == ["applied"]
    assert await demo_app.ctx.db.outbox.count_documents({"_id": f"payment:{order['order_no']}:paid"}) == 1


async def test_alipay_pay_end_to_end(demo_app, fetch) -> None:
    citizen_id, token = await alipay_payer(fetch)
    no = await fee_application(demo_app.ctx, citizen_id)
    created = await create_order(fetch, token, no, "alipay")
    assert created.status == 201, created.text
    order = created.json()
    assert order["pay_params"]["tradeNO"]
    paid = await sandbox_pay(fetch, "alipay", order["order_no"])
    assert paid["notify_status"] == 200 and paid["notify_answer"] == "success", paid
    view = (await fetch("GET", f"/api/v1/payments/{order['order_no']}", token=token)).json()
    assert view["status"] == "paid"
    application = await demo_app.ctx.db.applications.find_one({"_id": no})
    assert application["payment"]["status"] == "paid"


async def test_citizen_sees_the_payment_on_the_application_at_once(demo_app, fetch) -> None:
    citizen_id, token = await wechat_payer(fetch)
    no = await fee_application(demo_app.ctx, citizen_id)
    before = await fetch("GET", f"/api/v1/applications/{no}", token=token)  # fills the read-model cache
    assert before.status == 200, before.text
    assert (before.json().get("payment") or {}).get("status") != "paid"
    order = (await create_order(fetch, token, no, "wechat")).json()
    await sandbox_pay(fetch, "wechat", order["order_no"])
    after = (await fetch("GET", f"/api/v1/applications/{no}", token=token)).json()
    assert after["payment"]["status"] == "paid" and after["payment"]["order_no"] == order["order_no"]
