"""Fee orders: who may create them, for what, once per application, and what they look like."""

from __future__ import annotations

import asyncio

from tests.identity_support import WECHAT_APP
from tests.payments_support import (
    FEE_FEN,
    create_order,
    fee_application,
    order_doc,
    pending_order,
    sandbox_pay,
    wechat_payer,
)


async def test_free_item_needs_no_payment(demo_app, fetch) -> None:
    citizen_id, token = await wechat_payer(fetch)
    no = await fee_application(demo_app.ctx, citizen_id, code="PAY-FREE-01", amount_fen=None)
    response = await create_order(fetch, token, no)
    assert response.status == 409 and response.json()["code"] == "payment_not_required"


async def test_only_the_applicant_may_pay_and_see_the_order(demo_app, fetch) -> None:
    order = await pending_order(demo_app, fetch)
    _, other_token = await wechat_payer(fetch, "o-someone-else")
    assert (await create_order(fetch, other_token, order["application_no"])).status == 404
    seen = await fetch("GET", f"/api/v1/payments/{order['order_no']}", token=other_token)
    assert seen.status == 404 and seen.json()["code"] == "payment_not_found"
    assert (await fetch("GET", f"/api/v1/payments/{order['order_no']}")).status == 401
    anonymous = await fetch("POST", f"/api/v1/applications/{order['application_no']}/payments",
                            json={"channel": "wechat", "app_id": WECHAT_APP})
    assert anonymous.status == 401


async def test_drafts_and_withdrawn_applications_cannot_be_paid(demo_app, fetch) -> None:
    citizen_id, token = await wechat_payer(fetch)
    for status in ("draft", "withdrawn", "rejected"):
        no = await fee_application(demo_app.ctx, citizen_id, status=status)
        response = await create_order(fetch, token, no)
        assert response.status == 409 and response.json()["code"] == "application_not_payable", status


async def test_input_is_validated_with_field_errors(demo_app, fetch) -> None:
    citizen_id, token = await wechat_payer(fetch)
    no = await fee_application(demo_app.ctx, citizen_id)
    response = await fetch("POST", f"/api/v1/applications/{no}/payments", json={"channel": "unionpay"}, token=token,
                           headers={"Accept-Language": "en"})
    assert response.status == 422
    assert {e["field"] for e in response.json()["errors"]} == {"channel", "app_id"}
    mismatch = await fetch("POST", f"/api/v1/applications/{no}/payments",
                           json={"channel": "alipay", "app_id": WECHAT_APP}, token=token)
    assert mismatch.status == 400 and mismatch.json()["code"] == "channel_unknown"


async def test_payer_must_have_logged_in_through_that_channel(demo_app, fetch, make_citizen) -> None:
    citizen_id, token = await make_citizen(name="没有渠道身份")
    no = await fee_application(demo_app.ctx, citizen_id)
    response = await create_order(fetch, token, no)
    assert response.status == 409 and response.json()["code"] == "payer_identity_missing"


async def test_order_amount_number_and_expiry(demo_app, fetch) -> None:
    order = await pending_order(demo_app, fetch)
    stored = await order_doc(demo_app.ctx, order["order_no"])
    assert stored["amount_fen"] == FEE_FEN and stored["status"] == "pending"
    ttl = demo_app.ctx.settings.payment_order_ttl_minutes * 60
    assert abs((stored["expires_at"] - stored["created_at"]).total_seconds() - ttl) < 1
    sandbox = await demo_app.ctx.db.sandbox_wechatpay_orders.find_one({"out_trade_no": order["order_no"]})
    assert sandbox["total"] == FEE_FEN and sandbox["payer_openid"] == "o-payer-0001"
    assert sandbox["notify_url"].endswith("/notify/wechatpay/wechat-demo")
    assert abs((sandbox["time_expire"] - stored["expires_at"]).total_seconds()) < 1


async def test_asking_again_reuses_the_pending_order_with_fresh_parameters(demo_app, fetch) -> None:
    order = await pending_order(demo_app, fetch)
    again = await create_order(fetch, order["token"], order["application_no"])
    assert again.status == 201 and again.json()["order_no"] == order["order_no"]
    assert await demo_app.ctx.db.payment_orders.count_documents({"application_no": order["application_no"]}) == 1


async def test_switching_channel_closes_the_first_order_on_its_channel(demo_app, fetch) -> None:
    from tests.identity_support import alipay_login

    order = await pending_order(demo_app, fetch)
    # the same citizen also logs in through Alipay (linked through the same account is identity's job;
    # here the Alipay identity is attached directly)
    session = await alipay_login(fetch, "2088000000000777")
    alipay_citizen = await demo_app.ctx.db.citizens.find_one({"_id": __import__("bson").ObjectId(session["citizen"]["id"])})
    await demo_app.ctx.db.citizens.update_one(
        {"_id": __import__("bson").ObjectId(order["citizen_id"])},
        {"$set": {f"identities.{k}": v for k, v in alipay_citizen["identities"].items()}})
    switched = await create_order(fetch, order["token"], order["application_no"], "alipay")
    assert switched.status == 201, switched.text
    assert switched.json()["order_no"] != order["order_no"]
    first = await order_doc(demo_app.ctx, order["order_no"])
    assert (first["status"], first["close_reason"]) == ("closed", "replaced")
    sandbox = await demo_app.ctx.db.sandbox_wechatpay_orders.find_one({"out_trade_no": order["order_no"]})
    assert sandbox["trade_state"] == "CLOSED"
    late = await fetch("POST", "/sandbox/wechatpay/test/pay", json={"out_trade_no": order["order_no"]})
    assert late.status == 400 and late.json()["code"] == "ORDER_CLOSED"


async def test_paid_application_cannot_be_paid_again(demo_app, fetch) -> None:
    order = await pending_order(demo_app, fetch)
    await sandbox_pay(fetch, "wechat", order["order_no"])
    again = await create_order(fetch, order["token"], order["application_no"])
    assert again.status == 409 and again.json()["code"] == "already_paid"


async def test_idempotency_key_replays_the_first_answer(demo_app, fetch) -> None:
    citizen_id, token = await wechat_payer(fetch)
    no = await fee_application(demo_app.ctx, citizen_id)
    first = await create_order(fetch, token, no, key="pay-key-1")
    second = await create_order(fetch, token, no, key="pay-key-1")
    assert first.status == second.status == 201
    assert first.json() == second.json()
    reused = await fetch("POST", f"/api/v1/applications/{no}/payments", token=token, headers={"Idempotency-Key": "pay-key-1"},
                         json={"channel": "alipay", "app_id": "2021000000000001"})
    assert reused.status == 409 and reused.json()["code"] == "idempotency_key_reused"


async def test_concurrent_creates_leave_one_order(demo_app, fetch) -> None:
    citizen_id, token = await wechat_payer(fetch)
    no = await fee_application(demo_app.ctx, citizen_id)
    responses = await asyncio.gather(*[create_order(fetch, token, no) for _ in range(10)])
    created = {r.json()["order_no"] for r in responses if r.status == 201}
    assert len(created) == 1
    assert all(r.status == 201 or r.json()["code"] == "payment_in_progress" for r in responses)
    assert await demo_app.ctx.db.payment_orders.count_documents({"application_no": no}) == 1


async def test_pending_order_query_asks_the_channel(demo_app, fetch, clock) -> None:
    order = await pending_order(demo_app, fetch)
    view = (await fetch("GET", f"/api/v1/payments/{order['order_no']}", token=order["token"])).json()
    assert view["status"] == "pending" and view["amount_fen"] == FEE_FEN and "pay_params" not in view
    await sandbox_pay(fetch, "wechat", order["order_no"], deliver=False)  # the callback never comes
    # queries to the channel are spaced a little: poll again a few seconds later
    clock.advance(seconds=5)
    paid = (await fetch("GET", f"/api/v1/payments/{order['order_no']}", token=order["token"])).json()
    assert paid["status"] == "paid"
    stored = await order_doc(demo_app.ctx, order["order_no"])
    assert stored["paid_via"] == "query"
    application = await demo_app.ctx.db.applications.find_one({"_id": order["application_no"]})
    assert application["payment"]["status"] == "paid"


async def test_merchant_config_is_encrypted_at_rest_and_never_shown(demo_app, fetch, operator_token) -> None:
    doc = await demo_app.ctx.db.channels.find_one({"_id": "wechat-demo"})
    stored = repr(doc)
    assert "PRIVATE KEY" not in stored and doc["secrets"]["wechatpay_private_key"].count(".") == 2
    channel_secret = doc["secrets"]["wechatpay_apiv3_key"]
    assert len(channel_secret) > 40  # a ciphertext, not the 32-character key
    shown = await fetch("GET", f"/admin/v1/channels/{WECHAT_APP}/merchant", token=operator_token)
    assert shown.status == 200 and shown.json()["configured"] is True
    assert "PRIVATE" not in shown.text and "apiv3" not in shown.text.lower()
    keys = await fetch("GET", "/sandbox/keys")
    assert "PRIVATE KEY" not in keys.text and "wechatpay" in keys.json()


async def test_merchant_config_is_validated(demo_app, fetch, operator_token) -> None:
    response = await fetch("PUT", f"/admin/v1/channels/{WECHAT_APP}/merchant", token=operator_token,
                           json={"mch_id": "abc", "serial_no": "1", "private_key_pem": "nope", "apiv3_key": "short",
                                 "platform_keys": {}, "api_base": "ftp://x"})
    assert response.status == 422
    assert {e["field"] for e in response.json()["errors"]} == {
        "mch_id", "serial_no", "private_key_pem", "apiv3_key", "platform_keys", "api_base"}
    citizen = await wechat_payer(fetch)
    assert (await fetch("GET", f"/admin/v1/channels/{WECHAT_APP}/merchant", token=citizen[1])).status == 401


async def test_operators_list_orders_with_their_callbacks(demo_app, fetch, operator_token, make_operator) -> None:
    order = await pending_order(demo_app, fetch)
    await sandbox_pay(fetch, "wechat", order["order_no"])
    listed = await fetch("GET", "/admin/v1/payments?status=paid", token=operator_token)
    assert listed.status == 200
    body = listed.json()
    assert body["total"] == 1 and body["items"][0]["order_no"] == order["order_no"]
    detail = (await fetch("GET", f"/admin/v1/payments/{order['order_no']}", token=operator_token)).json()
    assert [n["outcome"] for n in detail["notifications"]] == ["applied"] and detail["refunds"] == []
    assert detail["channel_trade_no"].startswith("4200")
    clerk = await make_operator("clerk", ["intake"])
    assert (await fetch("GET", "/admin/v1/payments", token=clerk)).status == 403
    bad = await fetch("GET", "/admin/v1/payments?status=lost", token=operator_token)
    assert bad.status == 400
