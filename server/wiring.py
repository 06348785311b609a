"""Wiring adapters to the domain's ports (models.ports) at start-up, as the app context is built.

One adapter per channel kind and port; each reads its vendor's API base URL and keys from the
channel it is called with, so the same adapter serves the real vendor and our sandbox.
"""

from __future__ import annotations

from integrations import alipay_trade, wechatpay
from integrations.alipay import AlipayAdapter, AlipayWebAdapter
from integrations.alipay_certify import AlipayFaceVerifier
from integrations.messages import AlipayMessageSender, WeChatMessageSender
from integrations.wechat import WeChatAdapter
from integrations.wechat_face import WeChatFaceVerifier
from integrations.wechat_oa import WeChatOfficialAccountAdapter
from models.channels import ALIPAY_MINIPROGRAM, ALIPAY_WEB, WECHAT_MINIPROGRAM, WECHAT_OA
from models.core.context import Context


def wire_adapters(ctx: Context) -> None:
    """Fill the context's ports: identity, channel checks, messages and face verification with the
    WeChat and Alipay adapters, payments with WeChat Pay and Alipay's trade API."""
    wechat, alipay = WeChatAdapter(ctx), AlipayAdapter(ctx)
    # The H5 entrances' adapters also give the consent page's address (models.ports.WebAuthoriser)
    # and, for official accounts, JS-SDK tickets (models.ports.JsSdkTickets).
    official_account, alipay_web = WeChatOfficialAccountAdapter(ctx), AlipayWebAdapter(ctx)
    ctx.identity_providers.update({WECHAT_MINIPROGRAM: wechat, ALIPAY_MINIPROGRAM: alipay,
                                   WECHAT_OA: official_account, ALIPAY_WEB: alipay_web})
    ctx.channel_credentials.update({WECHAT_MINIPROGRAM: wechat, ALIPAY_MINIPROGRAM: alipay,
                                    WECHAT_OA: official_account, ALIPAY_WEB: alipay_web})
    ctx.message_senders.update({WECHAT_MINIPROGRAM: WeChatMessageSender(ctx),
                                ALIPAY_MINIPROGRAM: AlipayMessageSender(ctx)})
    ctx.payment_gateways.update({"wechat": wechatpay.WechatPay(ctx.http), "alipay": alipay_trade.AlipayTrade(ctx.http)})
    ctx.face_verifiers.update({WECHAT_MINIPROGRAM: WeChatFaceVerifier(ctx), ALIPAY_MINIPROGRAM: AlipayFaceVerifier(ctx)})
