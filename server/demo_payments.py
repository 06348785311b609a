"""Demo payments: the demo channels' merchants, wired to the sandbox WeChat Pay and Alipay on this server.

Runs after models.channels' demo loader (server/registry.py DEMO_MODULES). As a merchant does on the
vendors' consoles, it registers the demo merchant's key with the sandbox WeChat Pay (and takes its
platform key in exchange), and gives the demo Alipay app a seller PID. Keys already on the channel are kept.
"""

from __future__ import annotations

import hashlib
import secrets

from integrations import wechatpay
from integrations.sandbox import alipay_trade as alipay_sandbox
from integrations.sandbox import keys as sandbox_keys
from integrations.sandbox import wechatpay as wechatpay_sandbox
from models import channels, payments
from server.context import AppContext


async def load_demo(ctx: AppContext) -> None:
    """Payments for the demo channels, on this server's sandbox WeChat Pay and Alipay."""
    base = ctx.settings.base_url.rstrip("/")
    wechat = await channels.find_channel(ctx, channels.DEMO_WECHAT_APP_ID)
    if wechat is not None:
        private_pem = wechat.secrets.get("wechatpay_private_key") or \
            await sandbox_keys.rsa_private_key_pem(ctx, "demo_wechatpay_merchant")
        public_pem = wechatpay.public_key_pem(wechatpay.load_private_key(private_pem))
        apiv3_key = wechat.secrets.get("wechatpay_apiv3_key") or secrets.token_hex(16)
        mch_id = wechat.public.get("wechatpay_mch_id") or "1900000109"
        serial_no = wechat.public.get("wechatpay_serial_no") or hashlib.sha1(public_pem.encode()).hexdigest().upper()
        platform_serial, platform_pem = await wechatpay_sandbox.platform_public_key(ctx)
        await payments.configure_wechatpay(ctx, wechat.app_id, mch_id=mch_id, serial_no=serial_no,
                                           private_key_pem=private_pem, apiv3_key=apiv3_key,
                                           platform_keys={platform_serial: platform_pem},
                                           api_base=base + "/sandbox/wechatpay")
        await wechatpay_sandbox.register_merchant(ctx, mch_id=mch_id, serial_no=serial_no, public_key_pem=public_pem,
                                                  apiv3_key=apiv3_key, app_ids=[wechat.app_id])
    alipay = await channels.find_channel(ctx, channels.DEMO_ALIPAY_APP_ID)
    if alipay is not None:
        seller_id = await alipay_sandbox.register_seller(ctx, alipay.app_id, alipay.public.get("alipay_seller_id"))
        await payments.configure_alipay(ctx, alipay.app_id, seller_id=seller_id)
