"""The sandbox WeChat Pay and Alipay speak the vendors' protocols: our clients against them, and the
sandboxes' published keys checked with the `cryptography` primitives directly."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from integrations import alipay_trade, wechatpay
from models import channels, payments
from tests.identity_support import ALIPAY_APP, WECHAT_APP
from tests.payments_support import pending_order, sandbox_pay


async def _wechat_client(ctx, **changes) -> wechatpay.WechatPayClient:  # noqa: ANN001
    config = payments.wechatpay_config(await channels.find_channel(ctx, WECHAT_APP))
    return wechatpay.WechatPayClient(ctx.http, dataclasses.replace(config, **changes))


async def test_sandbox_refuses_a_request_signed_with_another_merchant_key(demo_app) -> None:
    from integrations.alipay import generate_private_key_pem

    client = await _wechat_client(demo_app.ctx, private_key_pem=generate_private_key_pem())
    with pytest.raises(wechatpay.WechatPayError) as refused:
        await client.query("PAY20260101000000NOSUCHONE")
    assert (refused.value.status, refused.value.code) == (401, "SIGN_ERROR")


async def test_answer_signed_by_an_unexpected_key_is_not_trusted(demo_app) -> None:
    from integrations.alipay import generate_private_key_pem, public_key_pem

    client = await _wechat_client(demo_app.ctx, platform_keys={
        next(iter((await _wechat_client(demo_app.ctx)).config.platform_keys)): public_key_pem(generate_private_key_pem())})
    with pytest.raises(wechatpay.WechatPayUnavailable, match="not trusted"):
        await client.query("PAY20260101000000NOSUCHONE")


async def test_unknown_order_and_over_refund_answer_wechat_error_codes(demo_app, fetch) -> None:
    client = await _wechat_client(demo_app.ctx)
    with pytest.raises(wechatpay.WechatPayError) as missing:
        await client.query("PAY20260101000000NOSUCHONE")
    assert (missing.value.status, missing.value.code) == (404, "ORDER_NOT_EXIST")
    order = await pending_order(demo_app, fetch)
    with pytest.raises(wechatpay.WechatPayError) as unpaid:
        await client.refund(out_trade_no=order["order_no"], out_refund_no="RF-TEST-000001", refund_fen=100,
                            total_fen=2000, reason="x", notify_url="")
    assert unpaid.value.code == "INVALID_REQUEST"
    await sandbox_pay(fetch, "wechat", order["order_no"])
    with pytest.raises(wechatpay.WechatPayError) as over:
        await client.refund(out_trade_no=order["order_no"], out_refund_no="RF-TEST-000002", refund_fen=2001,
                            total_fen=2000, reason="x", notify_url="")
    assert over.value.code == "INVALID_REQUEST"
    with pytest.raises(wechatpay.WechatPayError) as paid:
        await client.close(order["order_no"])
    assert paid.value.code == "ORDERPAID"
    queried = await client.query(order["order_no"])
    assert queried["trade_state"] == "SUCCESS" and queried["amount"]["total"] == 2000


async def test_sandbox_notification_verifies_with_the_published_platform_key(demo_app, fetch) -> None:
    ctx = demo_app.ctx
    published = (await fetch("GET", "/sandbox/keys")).json()["wechatpay"]
    order = await pending_order(demo_app, fetch)
    await sandbox_pay(fetch, "wechat", order["order_no"])
    sent = await ctx.db.sandbox_wechatpay_notifications.find_one({"ref": order["order_no"]})
    headers, body = sent["headers"], sent["body"]
    assert headers["Wechatpay-Serial"] == published["platform_serial"]
    key = serialization.load_pem_public_key(published["platform_public_key_pem"].encode())
    key.verify(base64.b64decode(headers["Wechatpay-Signature"]),
               f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n{body}\n".encode(),
               padding.PKCS1v15(), hashes.SHA256())
    resource = json.loads(body)["resource"]
    apiv3_key = (await channels.find_channel(ctx, WECHAT_APP)).secrets["wechatpay_apiv3_key"]
    plain = json.loads(AESGCM(apiv3_key.encode()).decrypt(resource["nonce"].encode(),
                                                           base64.b64decode(resource["ciphertext"]),
                                                           resource["associated_data"].encode()))
    assert plain["out_trade_no"] == order["order_no"] and plain["trade_state"] == "SUCCESS"


async def test_alipay_trade_methods_on_the_sandbox_gateway(demo_app, fetch) -> None:
    import datetime

    ctx = demo_app.ctx
    client = alipay_trade.AlipayTradeClient(await channels.find_channel(ctx, ALIPAY_APP), ctx.http)
    expire = ctx.clock() + datetime.timedelta(minutes=5)
    trade_no = await client.create(out_trade_no="PAYTESTALIPAY0001", amount_fen=1234, subject="测试",
                                   buyer_id="2088000000000101", notify_url="", time_expire=expire)
    again = await client.create(out_trade_no="PAYTESTALIPAY0001", amount_fen=1234, subject="测试",
                                buyer_id="2088000000000101", notify_url="", time_expire=expire)
    assert again == trade_no
    with pytest.raises(alipay_trade.AlipayError) as tampered:
        await client.create(out_trade_no="PAYTESTALIPAY0001", amount_fen=1, subject="测试",
                            buyer_id="2088000000000101", notify_url="", time_expire=expire)
    assert tampered.value.sub_code == "ACQ.CONTEXT_INCONSISTENT"
    assert (await client.query("PAYTESTALIPAY0001"))["trade_status"] == "WAIT_BUYER_PAY"
    with pytest.raises(alipay_trade.AlipayError) as unpaid:
        await client.refund(out_trade_no="PAYTESTALIPAY0001", refund_fen=1, out_request_no="R1", reason="x")
    assert unpaid.value.sub_code == "ACQ.TRADE_STATUS_ERROR"
    await client.close("PAYTESTALIPAY0001")
    assert (await client.query("PAYTESTALIPAY0001"))["trade_status"] == "TRADE_CLOSED"
    with pytest.raises(alipay_trade.AlipayError) as missing:
        await client.query("PAYTESTALIPAY0002")
    assert missing.value.sub_code == "ACQ.TRADE_NOT_EXIST"
