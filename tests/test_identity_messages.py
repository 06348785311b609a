"""The notification sender: the citizen's last channel, WeChat subscribe messages and Alipay messages."""

from __future__ import annotations

import socket

import pytest

from integrations.wechat import TOKEN_CACHE_PREFIX
from models import channels, citizens, outbox
from models import notifications as messages
from tests.identity_support import ALIPAY_APP, WECHAT_APP, alipay_login, wechat_fault, wechat_login, with_demo_channels

MESSAGE = {"id": "application:A2024-0001:3", "event": "application.approved", "template": "application_status",
           "data": {"thing1": "居住证办理", "phrase2": "已通过"}}


@pytest.fixture
async def channels_app(app):  # noqa: ANN001, ANN201
    return await with_demo_channels(app)


async def citizen_doc(ctx, session: dict) -> dict:  # noqa: ANN001
    return await citizens.get_citizen(ctx, session["citizen"]["id"])


async def received(ctx, vendor: str) -> list[dict]:  # noqa: ANN001
    return await ctx.db.sandbox_messages.find({"vendor": vendor}).to_list(None)


async def test_wechat_message_is_sent_once_even_if_resent(channels_app, fetch) -> None:
    ctx = channels_app.ctx
    citizen = await citizen_doc(ctx, await wechat_login(fetch, "o-notify"))
    assert (await messages.send_message(ctx, citizen, MESSAGE)).outcome == "sent"
    assert (await messages.send_message(ctx, citizen, MESSAGE)).outcome == "sent"  # e.g. after a lost answer
    stored = await received(ctx, "wechat")
    assert len(stored) == 1 and stored[0]["duplicates"] == 1
    assert stored[0]["recipient"] == "o-notify" and stored[0]["client_msg_id"] == MESSAGE["id"]
    assert stored[0]["message"]["data"] == {"thing1": {"value": "居住证办理"}, "phrase2": {"value": "已通过"}}
    listed = (await fetch("GET", f"/sandbox/wechat/test/messages?touser=o-notify&app_id={WECHAT_APP}")).json()
    assert listed["total"] == 1
    # one access_token served both sends, cached (encrypted) in Redis
    assert await ctx.db.sandbox_wechat_tokens.count_documents({}) == 1
    cached = await ctx.redis.get(TOKEN_CACHE_PREFIX + WECHAT_APP)
    token = (await ctx.db.sandbox_wechat_tokens.find_one({}))["_id"]
    assert cached and token not in cached


async def test_a_revoked_access_token_is_fetched_again(channels_app, fetch) -> None:
    ctx = channels_app.ctx
    citizen = await citizen_doc(ctx, await wechat_login(fetch, "o-token"))
    assert (await messages.send_message(ctx, citizen, MESSAGE)).outcome == "sent"
    await ctx.db.sandbox_wechat_tokens.delete_many({})  # WeChat forgot it (another system fetched a new one)
    second = {**MESSAGE, "id": "application:A2024-0001:4"}
    assert (await messages.send_message(ctx, citizen, second)).outcome == "sent"
    assert len(await received(ctx, "wechat")) == 2


async def test_refused_messages_are_skipped(channels_app, fetch) -> None:
    ctx = channels_app.ctx
    citizen = await citizen_doc(ctx, await wechat_login(fetch, "o-quiet"))
    await fetch("POST", "/sandbox/wechat/test/refuse-messages", json={"app_id": WECHAT_APP, "openid": "o-quiet"})
    result = await messages.send_message(ctx, citizen, MESSAGE)
    assert (result.outcome, result.reason) == ("skipped", "wechat_43101")
    assert await received(ctx, "wechat") == []


@pytest.mark.parametrize("errcode, outcome", [(-1, "retry"), (45009, "retry"), (40037, "failed")])
async def test_wechat_failures_are_classified(channels_app, fetch, errcode: int, outcome: str) -> None:
    ctx = channels_app.ctx
    citizen = await citizen_doc(ctx, await wechat_login(fetch, "o-flaky"))
    await wechat_fault(fetch, "subscribe_send", errcode)
    assert (await messages.send_message(ctx, citizen, MESSAGE)).outcome == outcome


async def test_channel_down_means_retry(channels_app, fetch) -> None:
    ctx = channels_app.ctx
    citizen = await citizen_doc(ctx, await wechat_login(fetch, "o-offline"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    demo = await channels.find_channel(ctx, WECHAT_APP)
    await channels.upsert_channel(ctx, kind=demo.kind, app_id=WECHAT_APP, name=demo.name,
                                  api_base_url=f"http://127.0.0.1:{port}/sandbox/wechat")
    result = await messages.send_message(ctx, citizen, MESSAGE)
    assert result.outcome == "retry" and result.reason.startswith("transport")


async def test_alipay_messages(channels_app, fetch) -> None:
    ctx = channels_app.ctx
    citizen = await citizen_doc(ctx, await alipay_login(fetch, "2088000000000050"))
    assert (await messages.send_message(ctx, citizen, MESSAGE)).outcome == "sent"
    assert (await messages.send_message(ctx, citizen, MESSAGE)).outcome == "sent"
    stored = await received(ctx, "alipay")
    assert len(stored) == 1 and stored[0]["recipient"] == "2088000000000050" and stored[0]["duplicates"] == 1
    await fetch("POST", "/sandbox/alipay/test/refuse-messages", json={"app_id": ALIPAY_APP, "user_id": "2088000000000050"})
    refused = await messages.send_message(ctx, citizen, {**MESSAGE, "id": "m-2"})
    assert refused.outcome == "skipped"
    await fetch("POST", "/sandbox/alipay/test/fault", json={
        "app_id": ALIPAY_APP, "method": "alipay.open.app.mini.templatemessage.send", "code": "20000",
        "sub_code": "isp.unknow-error"})
    assert (await messages.send_message(ctx, citizen, {**MESSAGE, "id": "m-3"})).outcome == "retry"


async def test_no_channel_or_disabled_channel_is_skipped(channels_app, fetch, make_citizen) -> None:
    ctx = channels_app.ctx
    citizen_id, _ = await make_citizen(name="无渠道")
    assert (await messages.send_message(ctx, await citizens.get_citizen(ctx, citizen_id), MESSAGE)).outcome == "skipped"
    citizen = await citizen_doc(ctx, await wechat_login(fetch, "o-disabled-channel"))
    await channels.set_enabled(ctx, WECHAT_APP, False)
    assert (await messages.send_message(ctx, citizen, MESSAGE)).outcome == "skipped"


async def test_outbox_delivers_through_the_sender(channels_app, fetch, make_citizen) -> None:
    """What other features rely on: enqueue for a citizen, the worker sends via their last channel."""
    ctx = channels_app.ctx
    session = await wechat_login(fetch, "o-outbox")
    fixture_id, _ = await make_citizen(name="旧用户", channel={"kind": "wechat", "app_id": WECHAT_APP,
                                                               "openid": "o-made-up"})
    for citizen_id, key in ((session["citizen"]["id"], "outbox-1"), (fixture_id, "outbox-2")):
        assert await outbox.enqueue(ctx, citizen_id=citizen_id, event="application.approved", dedupe_key=key,
                                    template="application_status", data={"thing1": "居住证"})
    assert await outbox.deliver_due(ctx) == 2
    records = {r["_id"]: r["status"] async for r in ctx.db.outbox.find({})}
    assert records == {"outbox-1": "sent", "outbox-2": "sent"}
    assert {m["recipient"] for m in await received(ctx, "wechat")} == {"o-outbox", "o-made-up"}
