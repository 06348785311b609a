"""Channels: secrets encrypted at rest, key rotation without downtime, published sandbox keys."""

from __future__ import annotations

import base64
import datetime

import pytest
from alipay import AliPay

from config.settings import DEFAULT_ENCRYPTION_KEY
from integrations import alipay as alipay_api
from models import channels, citizens
from models.core.timezone import alipay_time
from models.crypto import FieldCipher
from server import demo_channels
from tests.identity_support import (
    ALIPAY_APP,
    WECHAT_APP,
    alipay_code,
    alipay_login,
    phone_code,
    wechat_login,
    with_demo_channels,
)

NEW_KEY = base64.b64encode(b"rotated-key-for-tests-32-bytes!!").decode()


@pytest.fixture
async def channels_app(app):  # noqa: ANN001, ANN201
    return await with_demo_channels(app)


async def test_demo_data_wires_both_channels_to_the_sandbox(demo_app, fetch) -> None:
    wechat = await channels.find_channel(demo_app.ctx, WECHAT_APP)
    alipay = await channels.find_channel(demo_app.ctx, ALIPAY_APP)
    assert wechat.api_base_url == demo_app.ctx.settings.base_url + "/sandbox/wechat"
    assert alipay.api_base_url == demo_app.ctx.settings.base_url + "/sandbox/alipay/gateway.do"
    assert wechat.enabled and alipay.enabled
    assert (await wechat_login(fetch, "o-demo"))["new_citizen"] is True
    assert (await alipay_login(fetch, "2088000000000099"))["new_citizen"] is True


async def test_channel_secrets_are_encrypted_at_rest(channels_app) -> None:
    ctx = channels_app.ctx
    for app_id, name in ((WECHAT_APP, "app_secret"), (ALIPAY_APP, "app_private_key")):
        doc = await ctx.db.channels.find_one({"app_id": app_id})
        sealed = doc["secrets"][name]
        plain = (await channels.find_channel(ctx, app_id)).secret(name)
        assert sealed.startswith(ctx.cipher.current_kid + ".")
        assert plain not in str(doc) and len(plain) > 16
    # a ciphertext moved to another channel's document does not decrypt there (bound to its place)
    wechat_doc = await ctx.db.channels.find_one({"app_id": WECHAT_APP})
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        ctx.cipher.decrypt(wechat_doc["secrets"]["app_secret"], "channel:alipay-demo:app_secret")


async def test_loading_demo_data_twice_keeps_the_keys(channels_app) -> None:
    ctx = channels_app.ctx
    before = await channels.find_channel(ctx, ALIPAY_APP)
    await demo_channels.load_demo(ctx)
    after = await channels.find_channel(ctx, ALIPAY_APP)
    assert before.secret("app_private_key") == after.secret("app_private_key")
    assert before.public == after.public


async def test_key_rotation_re_encrypts_without_downtime(channels_app, fetch) -> None:
    ctx = channels_app.ctx
    session = await wechat_login(fetch, "o-rotation")
    await fetch("POST", "/api/v1/me/phone", json={"code": await phone_code(fetch, "13812341234")},
                token=session["access_token"])
    old_kid = ctx.cipher.current_kid
    old_cipher = ctx.cipher
    # Deploy step 1: the new key is listed first; the old one still decrypts.
    ctx.cipher = FieldCipher([("k2", base64.b64decode(NEW_KEY)), (old_kid, base64.b64decode(DEFAULT_ENCRYPTION_KEY))])
    assert (await channels.find_channel(ctx, WECHAT_APP)).secret("app_secret")  # old values still read
    # Deploy step 2: re-encrypt everything under the new key.
    assert await channels.rotate_channel_secrets(ctx) == len(channels.DEMO_APP_IDS)  # one secret each
    assert await citizens.rotate_citizen_secrets(ctx) == 2  # the phone and the WeChat session key
    async for doc in ctx.db.channels.find({}):
        assert all(value.startswith("k2.") for value in doc["secrets"].values())
    citizen = await ctx.db.citizens.find_one({})
    assert citizen["phone"]["cipher"].startswith("k2.")
    assert all(d["session_key"].startswith("k2.") for d in citizen["identities"].values() if "session_key" in d)
    # blind indexes do not change with the encryption key, so lookups keep working
    assert citizen["phone"]["index"] == old_cipher.blind_index("13812341234", "phone")
    assert await channels.rotate_channel_secrets(ctx) == 0  # idempotent
    # The values now need the new key: a process still on the old key list alone cannot read them.
    wechat_doc = await ctx.db.channels.find_one({"app_id": WECHAT_APP})
    with pytest.raises(ValueError):
        old_cipher.decrypt(wechat_doc["secrets"]["app_secret"], "channel:wechat-demo:app_secret")
    assert (await wechat_login(fetch, "o-rotation"))["citizen"]["id"] == session["citizen"]["id"]
    assert (await alipay_login(fetch, "2088000000000077"))["new_citizen"] is True
    me = await fetch("GET", "/api/v1/me", token=session["access_token"])
    assert me.json()["phone"] == "138****1234"


async def test_sandbox_keys_are_published(channels_app, fetch) -> None:
    published = (await fetch("GET", "/sandbox/keys")).json()
    gateway = published["keys"]["alipay_gateway"]["public_key_pem"]
    assert gateway.startswith("-----BEGIN PUBLIC KEY-----")
    assert published["alipay"]["gateway_public_key_pem"] == gateway
    demo = {c["app_id"]: c for c in published["channels"]}
    assert demo[ALIPAY_APP]["public"]["alipay_public_key"] == gateway
    assert demo[ALIPAY_APP]["public"]["app_public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    text = str(published)
    assert "PRIVATE KEY" not in text and "secrets" not in text


async def test_sandbox_gateway_answers_verify_with_the_python_alipay_sdk(channels_app, fetch) -> None:
    """Interop: the SDK signs a request our sandbox accepts, and verifies the sandbox's signed answer."""
    ctx = channels_app.ctx
    channel = await channels.find_channel(ctx, ALIPAY_APP)
    sdk = AliPay(appid=ALIPAY_APP, app_notify_url=None, app_private_key_string=channel.secret("app_private_key"),
                 alipay_public_key_string=channel.public["alipay_public_key"], sign_type="RSA2")
    code = await alipay_code(fetch, "2088000000000088")
    request = sdk.build_body("alipay.system.oauth.token", grant_type="authorization_code", code=code)
    # the SDK stamps the machine's local time; Alipay (and the sandbox) expect Beijing time
    request["timestamp"] = alipay_time(datetime.datetime.now(datetime.UTC))
    body = sdk.sign_data(request)
    response = await fetch("POST", "/sandbox/alipay/gateway.do", body=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    node = sdk._verify_and_return_sync_response(response.text, "alipay_system_oauth_token_response")
    assert node["user_id"] == "2088000000000088" and node["open_id"]
    assert alipay_api.signed_node_text(response.text, "alipay_system_oauth_token_response") is not None
