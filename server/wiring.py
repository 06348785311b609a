"""Wiring adapters to the domain's ports (models.ports) at start-up, as the app context is built.

One adapter per channel kind and port; each reads its vendor's API base URL and keys from the
channel it is called with, so the same adapter serves the real vendor and our sandbox.
"""

from __future__ import annotations

from integrations import alipay_trade, wechatpay
from integrations.alipay import AlipayAdapter
from integrations.alipay_certify import AlipayFaceVerifier
from integrations.messages import AlipayMessageSender, WeChatMessageSender
from integrations.wechat import WeChatAdapter
from integrations.wechat_face import WeChatFaceVerifier
from models.channels import ALIPAY_MINIPROGRAM, WECHAT_MINIPROGRAM
from models.core.context import Context


def wire_adapters(ctx: Context) -> None:
    """Fill the context's ports: identity, channel checks, messages and face verification with the
    WeChat and Alipay adapters, payments with WeChat Pay and Alipay's trade API."""
    wechat, alipay = WeChatAdapter(ctx), AlipayAdapter(ctx)
    ctx.identity_providers.update({WECHAT_MINIPROGRAM: wechat, ALIPAY_MINIPROGRAM: alipay})
    ctx.channel_credentials.update({WECHAT_MINIPROGRAM: wechat, ALIPAY_MINIPROGRAM: alipay})
    ctx.message_senders.update({WECHAT_MINIPROGRAM: WeChatMessageSender(ctx),
                                ALIPAY_MINIPROGRAM: AlipayMessageSender(ctx)})
    ctx.payment_gateways.update({"wechat": wechatpay.WechatPay(ctx.http), "alipay": alipay_trade.AlipayTrade(ctx.http)})
    ctx.face_verifiers.update({WECHAT_MINIPROGRAM: WeChatFaceVerifier(ctx), ALIPAY_MINIPROGRAM: AlipayFaceVerifier(ctx)})
