"""Logging in through the WeChat and Alipay sandboxes over real HTTP: one citizen, every failure mapped."""

from __future__ import annotations

import asyncio
import socket

import pytest

from integrations import alipay as alipay_api
from integrations.sandbox import alipay as alipay_sandbox
from integrations.sandbox import keys as sandbox_keys
from integrations.sandbox import wechat as wechat_sandbox
from models import channels
from tests.identity_support import (
    ALIPAY_APP,
    WECHAT_APP,
    alipay_code,
    alipay_login,
    wechat_code,
    wechat_fault,
    wechat_login,
    with_demo_channels,
)

SECOND_WECHAT_APP = "wxdemo0000000002"


@pytest.fixture
async def channels_app(app):  # noqa: ANN001, ANN201
    return await with_demo_channels(app)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def add_wechat_app(ctx, app_id: str, base_url: str | None = None, timeout: float = 5.0) -> None:  # noqa: ANN001
    await channels.upsert_channel(ctx, kind=channels.WECHAT_MINIPROGRAM, app_id=app_id, name=app_id,
                                  api_base_url=base_url or ctx.settings.base_url + "/sandbox/wechat",
                                  secrets={"app_secret": "secret-of-" + app_id}, timeout_seconds=timeout)
    await wechat_sandbox.register_app(ctx, app_id, "secret-of-" + app_id)


# ---- WeChat ------------------------------------------------------------------------------------------
async def test_wechat_login_creates_a_citizen_and_a_session(demo_app, fetch) -> None:
    session = await wechat_login(fetch, "o-alice")
    assert session["token_type"] == "Bearer" and session["expires_in"] == 900
    assert session["access_token"].startswith("at_") and session["refresh_token"].startswith("rt_")
    assert session["new_citizen"] is True
    assert "session_key" not in str(session)
    me = await fetch("GET", "/api/v1/me", token=session["access_token"])
    assert me.status == 200
    assert me.json()["id"] == session["citizen"]["id"]
    assert me.json()["identities"] == [{"kind": "wechat_openid", "app_id": WECHAT_APP,
                                        "linked_at": me.json()["identities"][0]["linked_at"]}]
    assert me.json()["last_channel"] == {"kind": "wechat", "app_id": WECHAT_APP}
    again = await wechat_login(fetch, "o-alice")
    assert again["citizen"]["id"] == session["citizen"]["id"] and again["new_citizen"] is False


async def test_session_key_is_kept_encrypted(channels_app, fetch) -> None:
    session = await wechat_login(fetch, "o-keys")
    stored = await channels_app.ctx.db.sandbox_wechat_sessions.find_one({"_id": f"{WECHAT_APP}:o-keys"})
    citizen = await channels_app.ctx.db.citizens.find_one({})
    assert stored["session_key"] not in str(citizen)
    detail = citizen["identities"][f"wx:{WECHAT_APP}:o-keys"]
    assert channels_app.ctx.cipher.decrypt(detail["session_key"], f"wechat.session_key:{WECHAT_APP}:o-keys") == \
        stored["session_key"]
    assert stored["session_key"] not in str(session)


async def test_second_app_with_the_same_unionid_reaches_the_same_citizen(channels_app, fetch) -> None:
    await add_wechat_app(channels_app.ctx, SECOND_WECHAT_APP)
    first = await wechat_login(fetch, "o-app1-bob", unionid="u-bob")
    second = await wechat_login(fetch, "o-app2-bob", unionid="u-bob", app_id=SECOND_WECHAT_APP)
    assert second["citizen"]["id"] == first["citizen"]["id"]
    assert second["new_citizen"] is False
    kinds = {(i["kind"], i["app_id"]) for i in second["citizen"]["identities"]}
    assert kinds == {("wechat_openid", WECHAT_APP), ("wechat_openid", SECOND_WECHAT_APP), ("wechat_unionid", None)}
    assert await channels_app.ctx.db.citizens.count_documents({}) == 1
    other = await wechat_login(fetch, "o-app2-carol", unionid="u-carol", app_id=SECOND_WECHAT_APP)
    assert other["citizen"]["id"] != first["citizen"]["id"]


async def test_concurrent_first_logins_create_one_citizen(channels_app, fetch) -> None:
    await add_wechat_app(channels_app.ctx, SECOND_WECHAT_APP)
    codes = [(await wechat_code(fetch, "o-race", "u-race"), WECHAT_APP) for _ in range(3)]
    codes += [(await wechat_code(fetch, "o-race-2", "u-race", app_id=SECOND_WECHAT_APP), SECOND_WECHAT_APP)
              for _ in range(3)]
    responses = await asyncio.gather(*(fetch("POST", "/api/v1/auth/wechat/login", json={"code": c, "app_id": a})
                                       for c, a in codes))
    assert [r.status for r in responses] == [200] * 6
    assert len({r.json()["citizen"]["id"] for r in responses}) == 1
    assert await channels_app.ctx.db.citizens.count_documents({}) == 1


async def test_reused_or_unknown_code_is_401(channels_app, fetch) -> None:
    code = await wechat_code(fetch, "o-reuse")
    first = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": code, "app_id": WECHAT_APP})
    assert first.status == 200
    reused = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": code, "app_id": WECHAT_APP},
                         headers={"Accept-Language": "en"})
    assert reused.status == 401
    assert reused.json()["code"] == "wechat_code_invalid"
    assert "already used" in reused.json()["detail"]
    made_up = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": "0" * 32, "app_id": WECHAT_APP})
    assert (made_up.status, made_up.json()["code"]) == (401, "wechat_code_invalid")


async def test_code_from_another_app_is_refused(channels_app, fetch) -> None:
    await add_wechat_app(channels_app.ctx, SECOND_WECHAT_APP)
    code = await wechat_code(fetch, "o-cross", app_id=SECOND_WECHAT_APP)
    response = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": code, "app_id": WECHAT_APP})
    assert (response.status, response.json()["code"]) == (401, "wechat_code_invalid")


async def test_sandbox_codes_expire_after_five_minutes(channels_app, fetch) -> None:
    code = await wechat_code(fetch, "o-late")
    await channels_app.ctx.db.sandbox_wechat_codes.update_one(
        {"_id": code}, {"$set": {"expires_at": channels_app.ctx.clock()}})
    response = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": code, "app_id": WECHAT_APP})
    assert (response.status, response.json()["code"]) == (401, "wechat_code_invalid")


@pytest.mark.parametrize("errcode, status, code", [
    (45011, 429, "channel_rate_limited"),
    (40226, 403, "wechat_user_blocked"),
    (-1, 503, "channel_unavailable"),
    (40013, 502, "channel_error"),
])
async def test_wechat_errors_map_to_problems(channels_app, fetch, errcode: int, status: int, code: str) -> None:
    await wechat_fault(fetch, "jscode2session", errcode)
    login_code = await wechat_code(fetch, "o-faulty")
    response = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": login_code, "app_id": WECHAT_APP})
    assert (response.status, response.json()["code"]) == (status, code)
    if status in (429, 503):
        assert int(response.headers["Retry-After"]) > 0
    # the fault was one-off and the code was not consumed: the same code now works
    retry = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": login_code, "app_id": WECHAT_APP})
    assert retry.status == 200


async def test_blocked_user_is_403(channels_app, fetch) -> None:
    code = await wechat_code(fetch, "o-risky", blocked=True)
    response = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": code, "app_id": WECHAT_APP})
    assert (response.status, response.json()["code"]) == (403, "wechat_user_blocked")


async def test_sandbox_down_is_503_with_retry_after(channels_app, fetch) -> None:
    await add_wechat_app(channels_app.ctx, "wxdown0000000001", base_url=f"http://127.0.0.1:{closed_port()}/sandbox/wechat")
    response = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": "x" * 32, "app_id": "wxdown0000000001"})
    assert (response.status, response.json()["code"]) == (503, "channel_unavailable")
    assert int(response.headers["Retry-After"]) >= 1


async def test_channel_timeout_is_503(channels_app, fetch) -> None:
    await add_wechat_app(channels_app.ctx, "wxslow0000000001", timeout=0.3)
    await wechat_fault(fetch, "jscode2session", delay_ms=1500, app_id="wxslow0000000001")
    code = await wechat_code(fetch, "o-slow", app_id="wxslow0000000001")
    response = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": code, "app_id": "wxslow0000000001"})
    assert (response.status, response.json()["code"]) == (503, "channel_unavailable")
    assert "Retry-After" in response.headers
    assert await channels_app.ctx.db.citizens.count_documents({}) == 0  # nothing half-made
    # WeChat answers in time again: the next login goes through, nothing to restart.
    code = await wechat_code(fetch, "o-slow", app_id="wxslow0000000001")
    again = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": code, "app_id": "wxslow0000000001"})
    assert again.status == 200 and again.json()["new_citizen"] is True


async def test_unknown_or_disabled_channel_is_400(channels_app, fetch) -> None:
    unknown = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": "abc", "app_id": "wxnotregistered01"})
    assert (unknown.status, unknown.json()["code"]) == (400, "channel_unknown")
    wrong_kind = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": "abc", "app_id": ALIPAY_APP})
    assert (wrong_kind.status, wrong_kind.json()["code"]) == (400, "channel_unknown")
    code = await wechat_code(fetch, "o-disabled")
    await channels.set_enabled(channels_app.ctx, WECHAT_APP, False)
    disabled = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": code, "app_id": WECHAT_APP})
    assert (disabled.status, disabled.json()["code"]) == (400, "channel_unknown")


async def test_missing_code_is_a_field_error(channels_app, fetch) -> None:
    response = await fetch("POST", "/api/v1/auth/wechat/login", json={"app_id": WECHAT_APP})
    assert response.status == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("code", "required")]


# ---- rate limits -------------------------------------------------------------------------------------
@pytest.mark.settings(login_rate_limit_per_minute=2, trust_proxy_headers=True)
async def test_logins_are_rate_limited_per_identity(channels_app, fetch) -> None:
    for number in range(2):
        await wechat_login(fetch, "o-eager", headers={"X-Real-IP": f"10.0.0.{number + 1}"})
    code = await wechat_code(fetch, "o-eager")
    third = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": code, "app_id": WECHAT_APP},
                        headers={"X-Real-IP": "10.0.0.9"})
    assert (third.status, third.json()["code"]) == (429, "login_rate_limited")
    assert 1 <= int(third.headers["Retry-After"]) <= 60
    await wechat_login(fetch, "o-someone-else", headers={"X-Real-IP": "10.0.0.9"})


@pytest.mark.settings(login_rate_limit_per_minute=1, trust_proxy_headers=True)
async def test_logins_are_rate_limited_per_ip(channels_app, fetch) -> None:
    for _ in range(10):  # the per-IP budget is ten identities' worth
        response = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": "bogus", "app_id": WECHAT_APP},
                               headers={"X-Real-IP": "10.1.1.1"})
        assert response.status == 401
    blocked = await fetch("POST", "/api/v1/auth/alipay/login", json={"auth_code": "bogus", "app_id": ALIPAY_APP},
                          headers={"X-Real-IP": "10.1.1.1"})
    assert (blocked.status, blocked.json()["code"]) == (429, "login_rate_limited")
    assert "Retry-After" in blocked.headers
    elsewhere = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": "bogus", "app_id": WECHAT_APP},
                            headers={"X-Real-IP": "10.1.1.2"})
    assert elsewhere.status == 401


# ---- Alipay ------------------------------------------------------------------------------------------
async def test_alipay_login_with_user_id_and_open_id(channels_app, fetch) -> None:
    session = await alipay_login(fetch, "2088000000000001")
    kinds = {i["kind"] for i in session["citizen"]["identities"]}
    assert kinds == {"alipay_user_id", "alipay_open_id"}
    assert session["citizen"]["last_channel"] == {"kind": "alipay", "app_id": ALIPAY_APP}
    me = await fetch("GET", "/api/v1/me", token=session["access_token"])
    assert me.json()["id"] == session["citizen"]["id"]


@pytest.mark.parametrize("id_mode, kind", [("user_id", "alipay_user_id"), ("open_id", "alipay_open_id")])
async def test_alipay_login_accepts_either_id_form(channels_app, fetch, id_mode: str, kind: str) -> None:
    session = await alipay_login(fetch, "2088000000000002", id_mode=id_mode)
    assert [i["kind"] for i in session["citizen"]["identities"]] == [kind]
    again = await alipay_login(fetch, "2088000000000002", id_mode="both")
    assert again["citizen"]["id"] == session["citizen"]["id"]
    assert {i["kind"] for i in again["citizen"]["identities"]} == {"alipay_user_id", "alipay_open_id"}


async def test_alipay_reused_code_and_unknown_channel(channels_app, fetch) -> None:
    code = await alipay_code(fetch, "2088000000000003")
    assert (await fetch("POST", "/api/v1/auth/alipay/login", json={"auth_code": code, "app_id": ALIPAY_APP})).status == 200
    reused = await fetch("POST", "/api/v1/auth/alipay/login", json={"auth_code": code, "app_id": ALIPAY_APP})
    assert (reused.status, reused.json()["code"]) == (401, "alipay_code_invalid")
    unknown = await fetch("POST", "/api/v1/auth/alipay/login", json={"auth_code": code, "app_id": "2021999999999999"})
    assert (unknown.status, unknown.json()["code"]) == (400, "channel_unknown")


async def test_alipay_gateway_failures(channels_app, fetch) -> None:
    response = await fetch("POST", "/sandbox/alipay/test/fault", json={
        "app_id": ALIPAY_APP, "method": "alipay.system.oauth.token", "code": "20000", "sub_code": "isp.unknow-error"})
    assert response.status == 200
    code = await alipay_code(fetch, "2088000000000004")
    busy = await fetch("POST", "/api/v1/auth/alipay/login", json={"auth_code": code, "app_id": ALIPAY_APP})
    assert (busy.status, busy.json()["code"]) == (503, "channel_unavailable")
    assert "Retry-After" in busy.headers
    ctx = channels_app.ctx
    demo = await channels.find_channel(ctx, ALIPAY_APP)
    await channels.upsert_channel(ctx, kind=channels.ALIPAY_MINIPROGRAM, app_id="2021000000000009", name="down",
                                  api_base_url=f"http://127.0.0.1:{closed_port()}/gateway.do",
                                  secrets={"app_private_key": demo.secret("app_private_key")}, public=demo.public)
    down = await fetch("POST", "/api/v1/auth/alipay/login", json={"auth_code": code, "app_id": "2021000000000009"})
    assert (down.status, down.json()["code"]) == (503, "channel_unavailable")


async def test_alipay_response_with_a_wrong_signature_is_refused(channels_app, fetch) -> None:
    """A channel configured with another 'Alipay public key' cannot trust the gateway's answers."""
    ctx = channels_app.ctx
    demo = await channels.find_channel(ctx, ALIPAY_APP)
    impostor_key = alipay_api.public_key_pem(sandbox_keys.process_private_key_pem("impostor"))
    await channels.upsert_channel(ctx, kind=channels.ALIPAY_MINIPROGRAM, app_id=ALIPAY_APP, name=demo.name,
                                  api_base_url=demo.api_base_url, public={"alipay_public_key": impostor_key})
    code = await alipay_code(fetch, "2088000000000005")
    response = await fetch("POST", "/api/v1/auth/alipay/login", json={"auth_code": code, "app_id": ALIPAY_APP})
    assert (response.status, response.json()["code"]) == (502, "channel_response_unverified")
    assert await ctx.db.citizens.count_documents({}) == 0


async def test_alipay_gateway_refuses_a_request_signed_with_the_wrong_key(channels_app, fetch) -> None:
    ctx = channels_app.ctx
    await alipay_sandbox.register_app(ctx, "2021000000000007",
                                      alipay_api.public_key_pem(sandbox_keys.process_private_key_pem("registered")))
    demo = await channels.find_channel(ctx, ALIPAY_APP)
    channel = await channels.upsert_channel(
        ctx, kind=channels.ALIPAY_MINIPROGRAM, app_id="2021000000000007", name="mismatch",
        api_base_url=demo.api_base_url, secrets={"app_private_key": sandbox_keys.process_private_key_pem("other")},
        public=demo.public)
    with pytest.raises(alipay_api.AlipayError) as caught:
        await alipay_api.AlipayClient(channel, ctx.http).call("alipay.system.oauth.token",
                                                              grant_type="authorization_code", code="x")
    assert (caught.value.code, caught.value.sub_code) == ("40002", "isv.invalid-signature")
