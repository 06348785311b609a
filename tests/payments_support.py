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
