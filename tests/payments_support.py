"""Shared steps of the payment tests: a logged-in payer, a fee-charging application, sandbox helpers."""

from __future__ import annotations

import itertools
from typing import Any

from tests.identity_support import ALIPAY_APP, WECHAT_APP, alipay_login, wechat_login

FEE_SERVICE = "PAY-TEST-01"
FEE_FEN = 2000
_numbers = itertools.count(1)


async def fee_service(ctx, code: str = FEE_SERVICE, amount_fen: int | None = FEE_FEN) -> str:  # noqa: ANN001
    """A published service item charging `amount_fen` (None: free), inserted directly."""
    fee = {"free": True} if amount_fen is None else {
        "free": False, "amount_fen": amount_fen, "basis": {"zh-CN": "测试收费依据"}}
    await ctx.db.services.update_one({"code": code}, {"$set": {
        "code": code, "name": {"zh-CN": "测试收费事项", "en": "Fee test item"}, "department": "gongan",
        "region_code": "330100", "status": "published", "handling_depth": "whole_process_online",
        "guide": {"fee": fee, "promised_time_limit_days": 5}}}, upsert=True)
    return code


async def fee_application(ctx, citizen_id: str, *, code: str = FEE_SERVICE, amount_fen: int | None = FEE_FEN,  # noqa: ANN001
                          status: str = "submitted") -> str:
    """A submitted application for a fee-charging item, inserted directly (as models.applications stores it)."""
    await fee_service(ctx, code, amount_fen)
    no = f"330100PAY{next(_numbers):06d}"
    now = ctx.clock()
    await ctx.db.applications.insert_one({
        "_id": no, "query_code": "TESTQC", "citizen_id": citizen_id, "service_code": code,
        "service_name": {"zh-CN": "测试收费事项"}, "department": "gongan", "region_code": "330100",
        "status": status, "version": 1, "form": {}, "materials": {}, "created_at": now, "updated_at": now,
        "submitted_at": now})
    return no


async def wechat_payer(fetch, openid: str = "o-payer-0001") -> tuple[str, str]:  # noqa: ANN001
    """(citizen_id, token) of a citizen logged in through the demo WeChat mini-program."""
    session = await wechat_login(fetch, openid)
    return session["citizen"]["id"], session["access_token"]


async def alipay_payer(fetch, user_id: str = "2088000000000101") -> tuple[str, str]:  # noqa: ANN001
    session = await alipay_login(fetch, user_id)
    return session["citizen"]["id"], session["access_token"]


async def create_order(fetch, token: str, no: str, channel: str = "wechat", key: str | None = None) -> Any:  # noqa: ANN001
    app_id = WECHAT_APP if channel == "wechat" else ALIPAY_APP
    headers = {"Idempotency-Key": key} if key else None
    return await fetch("POST", f"/api/v1/applications/{no}/payments", json={"channel": channel, "app_id": app_id},
                       token=token, headers=headers)


async def sandbox_pay(fetch, channel: str, order_no: str, deliver: bool = True) -> dict[str, Any]:  # noqa: ANN001
    vendor = "wechatpay" if channel == "wechat" else "alipay"
    response = await fetch("POST", f"/sandbox/{vendor}/test/pay", json={"out_trade_no": order_no, "deliver": deliver})
    assert response.status == 200, response.text
    return response.json()


async def attempts(ctx, order_no: str) -> list[dict[str, Any]]:  # noqa: ANN001
    return await ctx.db.payment_notifications.find({"order_no": order_no}).sort("received_at", 1).to_list(None)


# ---- building callbacks as the channels send them ----------------------------------------------------

WECHAT_CHANNEL_ID = "wechat-demo"
ALIPAY_CHANNEL_ID = "alipay-demo"


async def pending_order(app, fetch, channel: str = "wechat", openid: str = "o-payer-0001",  # noqa: ANN001
                        user_id: str = "2088000000000101") -> dict[str, Any]:
    """A pending fee order on `channel`, with its application and payer: {order_no, application_no, token, citizen_id}."""
    citizen_id, token = await (wechat_payer(fetch, openid) if channel == "wechat" else alipay_payer(fetch, user_id))
    no = await fee_application(app.ctx, citizen_id)
    created = await create_order(fetch, token, no, channel)
    assert created.status == 201, created.text
    return {"order_no": created.json()["order_no"], "application_no": no, "token": token, "citizen_id": citizen_id}


async def wechat_transaction(ctx, order_no: str, **changes: Any) -> dict[str, Any]:  # noqa: ANN001
    """The decrypted resource of a TRANSACTION.SUCCESS notification for an order (sandbox paid or not)."""
    from integrations.sandbox import wechatpay as sandbox

    order = await ctx.db.sandbox_wechatpay_orders.find_one({"out_trade_no": order_no})
    order = {**order, "trade_state": "SUCCESS", "transaction_id": order.get("transaction_id") or "4200000000000000000001",
             "success_time": order.get("success_time") or ctx.clock()}
    resource = sandbox.transaction_resource(order)
    for dotted, value in changes.items():
        target = resource
        *path, last = dotted.split(".")
        for part in path:
            target = target[part]
        target[last] = value
    return resource


async def wechat_notification(ctx, resource: dict[str, Any], *, event_type: str = "TRANSACTION.SUCCESS",  # noqa: ANN001
                              original_type: str = "transaction", **overrides: Any) -> tuple[dict[str, str], bytes]:
    """(headers, body) signed by the sandbox platform key and encrypted with the demo merchant's APIv3 key."""
    from integrations.sandbox import wechatpay as sandbox
    from models import channels

    channel = await channels.find_channel(ctx, WECHAT_APP)
    apiv3_key = overrides.pop("apiv3_key", None) or channel.secrets["wechatpay_apiv3_key"]
    return await sandbox.build_notification(ctx, apiv3_key=apiv3_key, event_type=event_type, original_type=original_type,
                                            resource=resource, summary="支付成功", **overrides)


async def post_wechat(fetch, headers: dict[str, str], body: bytes, channel_id: str = WECHAT_CHANNEL_ID) -> Any:  # noqa: ANN001
    return await fetch("POST", f"/notify/wechatpay/{channel_id}", body=body, headers=headers)


async def alipay_params(ctx, order_no: str, *, sign: bool = True, trade_status: str = "TRADE_SUCCESS",  # noqa: ANN001
                        signing_key: str | None = None, **changes: str) -> dict[str, str]:
    """Notification parameters for an order as the sandbox gateway signs them; `changes` applied before signing."""
    from integrations.alipay_trade import sign_notification
    from integrations.sandbox import alipay as alipay_sandbox
    from integrations.sandbox import alipay_trade as sandbox

    trade = await ctx.db.sandbox_alipay_trades.find_one({"out_trade_no": order_no})
    trade = {**trade, "gmt_payment": trade.get("gmt_payment") or ctx.clock()}
    params = {**sandbox.notification_params(trade, trade_status=trade_status, now=ctx.clock()), **changes}
    if not sign:
        return params
    return sign_notification(params, signing_key or await alipay_sandbox.gateway_private_key_pem(ctx))


async def post_alipay(fetch, params: dict[str, str], channel_id: str = ALIPAY_CHANNEL_ID) -> Any:  # noqa: ANN001
    from urllib.parse import urlencode

    return await fetch("POST", f"/notify/alipay/{channel_id}", body=urlencode(params),
                       headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


async def order_doc(ctx, order_no: str) -> dict[str, Any]:  # noqa: ANN001
    return await ctx.db.payment_orders.find_one({"_id": order_no})
