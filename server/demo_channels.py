"""The demo WeChat and Alipay channels, wired to the sandbox on this server's own port.

Demo data exists only where the sandbox does, so loading the demo channels also registers their
apps with the sandbox (as a developer registers an app on the vendor's console): the WeChat app
secret, and the Alipay app's public key in exchange for the gateway's public key. Run at every
start (server.registry DEMO_MODULES); the secrets and keys already stored are kept.
"""

from __future__ import annotations

import secrets

from integrations import alipay as alipay_client
from integrations.sandbox import alipay as alipay_sandbox
from integrations.sandbox import keys as sandbox_keys
from integrations.sandbox import wechat as wechat_sandbox
from models import channels
from server.context import AppContext


async def load_demo(ctx: AppContext) -> None:
    """Create or refresh the demo channels and register their apps with the sandbox."""
    base = ctx.settings.base_url
    wechat = await channels.find_channel(ctx, channels.DEMO_WECHAT_APP_ID)
    app_secret = wechat.secrets.get("app_secret") if wechat else None
    app_secret = app_secret or secrets.token_hex(16)
    await channels.upsert_channel(
        ctx, kind=channels.WECHAT_MINIPROGRAM, app_id=channels.DEMO_WECHAT_APP_ID, name="城市通办（微信小程序演示）",
        api_base_url=base + "/sandbox/wechat", secrets={"app_secret": app_secret}, channel_id="wechat-demo")
    await wechat_sandbox.register_app(ctx, channels.DEMO_WECHAT_APP_ID, app_secret)

    alipay = await channels.find_channel(ctx, channels.DEMO_ALIPAY_APP_ID)
    private_pem = alipay.secrets.get("app_private_key") if alipay else None
    if not private_pem:
        private_pem = sandbox_keys.process_private_key_pem("demo_alipay_app")
    app_public_pem = alipay_client.public_key_pem(private_pem)
    gateway_public_pem = await alipay_sandbox.gateway_public_key_pem(ctx)
    await channels.upsert_channel(
        ctx, kind=channels.ALIPAY_MINIPROGRAM, app_id=channels.DEMO_ALIPAY_APP_ID, name="城市通办（支付宝小程序演示）",
        api_base_url=base + "/sandbox/alipay/gateway.do", secrets={"app_private_key": private_pem},
        public={"app_public_key": app_public_pem, "alipay_public_key": gateway_public_pem}, channel_id="alipay-demo")
    await alipay_sandbox.register_app(ctx, channels.DEMO_ALIPAY_APP_ID, app_public_pem)

    # The H5 entrances (docs/h5.md): an official account and an Alipay web app whose pages may be
    # served from this machine's own names.
    domains = sorted({"127.0.0.1", "localhost", ctx.settings.host.lower()} - {"0.0.0.0", "::", ""})
    account = await channels.find_channel(ctx, channels.DEMO_WECHAT_OA_APP_ID)
    account_secret = (account.secrets.get("app_secret") if account else None) or secrets.token_hex(16)
    await channels.upsert_channel(
        ctx, kind=channels.WECHAT_OA, app_id=channels.DEMO_WECHAT_OA_APP_ID, name="城市通办（微信公众号演示）",
        api_base_url=base + "/sandbox/wechat", secrets={"app_secret": account_secret},
        public={"redirect_domains": ",".join(domains), "authorize_base_url": base + "/sandbox/wechat"},
        channel_id="wechat-oa-demo")
    await wechat_sandbox.register_app(ctx, channels.DEMO_WECHAT_OA_APP_ID, account_secret, domains=domains)

    web = await channels.find_channel(ctx, channels.DEMO_ALIPAY_WEB_APP_ID)
    web_pem = (web.secrets.get("app_private_key") if web else None) or \
        sandbox_keys.process_private_key_pem("demo_alipay_web_app")
    web_public_pem = alipay_client.public_key_pem(web_pem)
    await channels.upsert_channel(
        ctx, kind=channels.ALIPAY_WEB, app_id=channels.DEMO_ALIPAY_WEB_APP_ID, name="城市通办（支付宝生活号演示）",
        api_base_url=base + "/sandbox/alipay/gateway.do", secrets={"app_private_key": web_pem},
        public={"app_public_key": web_public_pem, "alipay_public_key": gateway_public_pem,
                "redirect_domains": ",".join(domains), "authorize_base_url": base + "/sandbox/alipay"},
        channel_id="alipay-web-demo")
    await alipay_sandbox.register_app(ctx, channels.DEMO_ALIPAY_WEB_APP_ID, web_public_pem, domains=domains)
