"""Channel lifecycle (issue 15): a config is checked by calling the channel before it can be enabled;
secrets rotate with an overlap window during which callbacks and logins on the old one still work;
a channel's exposed services limit what citizens coming through it see and apply for."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

from config.settings import parse_encryption_keys
from integrations import alipay as alipay_client
from integrations.sandbox import alipay as alipay_sandbox
from integrations.sandbox import wechat as wechat_sandbox
from models import channels
from models.crypto import FieldCipher
from tests.identity_support import ALIPAY_APP, WECHAT_APP, alipay_code, alipay_login, wechat_code, wechat_login
from tests.payments_support import (
    alipay_params,
    attempts,
    pending_order,
    post_alipay,
    post_wechat,
    wechat_notification,
    wechat_transaction,
)

NEW_APP = "wxlifecycle000001"


@pytest.fixture
async def manager(make_operator) -> str:
    return await make_operator("channel-manager", ["channel_manager"])


async def _wechat_channel(app, fetch, manager: str, secret: str, **body: Any) -> Any:  # noqa: ANN001
    return await fetch("POST", "/admin/v1/channels", token=manager, json={
        "kind": "wechat_miniprogram", "app_id": NEW_APP, "name": "生命周期测试",
        "api_base_url": app.ctx.settings.base_url + "/sandbox/wechat", "secrets": {"app_secret": secret}, **body})


# ---- checking a config before enabling it ---------------------------------------------------------

async def test_a_wechat_channel_is_enabled_only_with_a_config_the_channel_accepts(demo_app, fetch, manager) -> None:
    ctx = demo_app.ctx
    await wechat_sandbox.register_app(ctx, NEW_APP, "right-app-secret-0001")
    path = f"/admin/v1/channels/{NEW_APP}"

    refused = await _wechat_channel(demo_app, fetch, manager, "wrong-app-secret-001", enabled=True)
    assert refused.status == 422 and refused.json()["code"] == "channel_check_failed", refused.text
    assert refused.json()["check"]["ok"] is False and refused.json()["check"]["error"] == "errcode 40125"
    assert (await fetch("GET", path, token=manager)).status == 404  # nothing stored

    created = await _wechat_channel(demo_app, fetch, manager, "wrong-app-secret-001")
    assert created.status == 201 and created.json()["enabled"] is False  # disabled until checked
    enabling = await fetch("PATCH", path, token=manager, json={"enabled": True})
    assert enabling.status == 422 and enabling.json()["code"] == "channel_check_failed"
    assert (await fetch("GET", path, token=manager)).json()["enabled"] is False
    on_demand = await fetch("POST", path + "/check", token=manager)
    assert on_demand.status == 200 and on_demand.json()["ok"] is False and on_demand.json()["call"] == "cgi-bin/token"

    fixed = await fetch("PATCH", path, token=manager, json={"enabled": True, "secrets": {"app_secret": "right-app-secret-0001"}})
    assert fixed.status == 200, fixed.text
    assert fixed.json()["enabled"] is True and fixed.json()["last_check"]["ok"] is True
    assert (await fetch("POST", path + "/check", token=manager)).json()["ok"] is True
    session = await wechat_login(fetch, "o-lifecycle-1", app_id=NEW_APP)
    assert session["access_token"]

    # An enabled channel keeps only configs that pass: a broken URL is refused, the working one kept.
    broken = await fetch("PATCH", path, token=manager, json={"api_base_url": "http://127.0.0.1:9/nowhere"})
    assert broken.status == 422 and broken.json()["code"] == "channel_check_failed"
    kept = (await fetch("GET", path, token=manager)).json()
    assert kept["enabled"] is True and kept["api_base_url"].endswith("/sandbox/wechat")
    # Renaming needs no check; disabling never does.
    assert (await fetch("PATCH", path, token=manager, json={"name": "改名"})).status == 200
    assert (await fetch("PATCH", path, token=manager, json={"enabled": False, "api_base_url": "http://127.0.0.1:9/x"})).status == 200


async def test_an_alipay_channel_is_checked_with_a_signed_gateway_call(demo_app, fetch, manager) -> None:
    ctx = demo_app.ctx
    registered = alipay_client.generate_private_key_pem()
    await alipay_sandbox.register_app(ctx, "2021000000009999", alipay_client.public_key_pem(registered))
    gateway_key = await alipay_sandbox.gateway_public_key_pem(ctx)

    def body(private_pem: str) -> dict[str, Any]:
        return {"kind": "alipay_miniprogram", "app_id": "2021000000009999", "name": "支付宝测试", "enabled": True,
                "api_base_url": ctx.settings.base_url + "/sandbox/alipay/gateway.do",
                "secrets": {"app_private_key": private_pem}, "public": {"alipay_public_key": gateway_key}}

    unknown_key = await fetch("POST", "/admin/v1/channels", token=manager, json=body(alipay_client.generate_private_key_pem()))
    assert unknown_key.status == 422 and unknown_key.json()["code"] == "channel_check_failed"
    assert "invalid-signature" in unknown_key.json()["check"]["error"]
    created = await fetch("POST", "/admin/v1/channels", token=manager, json=body(registered))
    assert created.status == 201, created.text
    assert created.json()["enabled"] is True and created.json()["last_check"]["call"] == "alipay.system.oauth.token"
    assert registered not in created.text


async def test_channel_routes_need_the_channel_permissions(demo_app, fetch, make_operator, manager) -> None:
    auditor = await make_operator("inspector", ["auditor"])
    path = f"/admin/v1/channels/{WECHAT_APP}"
    assert (await fetch("GET", path, token=auditor)).status == 200
    assert (await fetch("POST", path + "/check", token=auditor)).status == 403
    assert (await fetch("POST", path + "/rotations", token=auditor, json={})).status == 403
    assert (await fetch("POST", path + "/check")).status == 401
    assert (await fetch("POST", "/admin/v1/channels/wxnothere0001/check", token=manager)).status == 404
    bad = await fetch("POST", path + "/rotations", token=manager, json={"secret": "password", "value": 1, "overlap_seconds": -1})
    assert bad.status == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"secret", "value", "overlap_seconds"}
    short = await fetch("POST", path + "/rotations", token=manager, json={"secret": "apiv3_key", "value": "too-short"})
    assert short.status == 422 and short.json()["errors"][0]["field"] == "value"


# ---- rotation with an overlap window: callbacks ---------------------------------------------------

async def test_wechatpay_callbacks_on_the_old_and_the_new_apiv3_key_during_the_window(demo_app, fetch, manager, clock) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch)
    old_key = (await channels.find_channel(ctx, WECHAT_APP)).secret("wechatpay_apiv3_key")
    new_key = secrets.token_hex(16)
    path = f"/admin/v1/channels/{WECHAT_APP}"
    before = (await fetch("GET", path, token=manager)).json()["secrets"]["wechatpay_apiv3_key"]

    rotated = await fetch("POST", path + "/rotations", token=manager,
                          json={"secret": "apiv3_key", "value": new_key, "overlap_seconds": 300})
    assert rotated.status == 201, rotated.text
    assert new_key not in rotated.text and old_key not in rotated.text
    view = rotated.json()["channel"]["secrets"]["wechatpay_apiv3_key"]
    assert view["fingerprint"] == channels.fingerprint(new_key) != before["fingerprint"]
    assert view["previous"]["fingerprint"] == before["fingerprint"] and view["rotated_at"] != before["rotated_at"]

    resource = await wechat_transaction(ctx, order["order_no"])
    on_old = await post_wechat(fetch, *await wechat_notification(ctx, resource, apiv3_key=old_key))
    on_new = await post_wechat(fetch, *await wechat_notification(ctx, resource, apiv3_key=new_key))
    assert (on_old.status, on_new.status) == (204, 204), (on_old.text, on_new.text)
    assert [a["outcome"] for a in await attempts(ctx, order["order_no"])] == ["applied", "duplicate"]

    # The audit names the rotation's fields, never the key.
    for _ in range(50):
        entry = next((d for d in await ctx.db.audit_log.find({}).to_list(None) if "rotations" in d.get("route", "")), None)
        if entry is not None:
            break
        await asyncio.sleep(0.05)
    assert entry is not None and "value" in entry["fields"]
    assert new_key not in repr(entry) and old_key not in repr(entry)

    clock.advance(seconds=301)  # the window has closed: only the new key
    late_old = await post_wechat(fetch, *await wechat_notification(ctx, resource, apiv3_key=old_key))
    assert late_old.status == 400 and late_old.json()["code"] == "FAIL"
    assert (await attempts(ctx, order["order_no"]))[-1]["outcome"] == "duplicate"  # the refused one has no order
    refused = await ctx.db.payment_notifications.find_one({"reason": "decrypt_failed"})
    assert refused is not None
    assert (await post_wechat(fetch, *await wechat_notification(ctx, resource, apiv3_key=new_key))).status == 204
    assert "previous" not in (await fetch("GET", path, token=manager)).json()["secrets"]["wechatpay_apiv3_key"]


async def test_alipay_callbacks_on_alipays_old_and_new_key_during_the_window(demo_app, fetch, manager, clock) -> None:
    ctx = demo_app.ctx
    order = await pending_order(demo_app, fetch, "alipay")
    new_gateway_private = alipay_client.generate_private_key_pem()
    rotated = await fetch("POST", f"/admin/v1/channels/{ALIPAY_APP}/rotations", token=manager, json={
        "secret": "alipay_public_key", "value": alipay_client.public_key_pem(new_gateway_private), "overlap_seconds": 300})
    assert rotated.status == 201, rotated.text
    assert rotated.json()["channel"]["public_previous"]["alipay_public_key"]["valid_until"]

    on_old = await post_alipay(fetch, await alipay_params(ctx, order["order_no"]))
    on_new = await post_alipay(fetch, await alipay_params(ctx, order["order_no"], signing_key=new_gateway_private))
    assert (on_old.status, on_old.text, on_new.status, on_new.text) == (200, "success", 200, "success")
    # The gateway still signs its answers with the old key: logins go on; the check (current config only) says so.
    assert (await alipay_login(fetch, "2088000000000201"))["access_token"]
    check = (await fetch("POST", f"/admin/v1/channels/{ALIPAY_APP}/check", token=manager)).json()
    assert check["ok"] is False and check["error"].startswith("response_unverified")

    clock.advance(seconds=301)
    late_old = await post_alipay(fetch, await alipay_params(ctx, order["order_no"]))
    assert (late_old.status, late_old.text) == (401, "failure")
    code = await alipay_code(fetch, "2088000000000202")
    late_login = await fetch("POST", "/api/v1/auth/alipay/login", json={"auth_code": code, "app_id": ALIPAY_APP})
    assert late_login.status == 502 and late_login.json()["code"] == "channel_response_unverified"
    late_new = await post_alipay(fetch, await alipay_params(ctx, order["order_no"], signing_key=new_gateway_private))
    assert (late_new.status, late_new.text) == (200, "success")


# ---- rotation with an overlap window: logins ------------------------------------------------------

async def test_no_wechat_login_fails_while_the_app_secret_rotates(demo_app, fetch, manager, clock) -> None:
    ctx = demo_app.ctx
    path = f"/admin/v1/channels/{WECHAT_APP}"
    new_secret = "rotated-" + secrets.token_hex(12)
    rotated = await fetch("POST", path + "/rotations", token=manager,
                          json={"secret": "app_secret", "value": new_secret, "overlap_seconds": 300})
    assert rotated.status == 201, rotated.text
    # WeChat does not know the new secret yet: logins go through on the previous one; the check,
    # which judges the current config only, says so.
    assert (await wechat_login(fetch, "o-rotating-1"))["access_token"]
    assert (await fetch("POST", path + "/check", token=manager)).json()["ok"] is False
    await wechat_sandbox.register_app(ctx, WECHAT_APP, new_secret)  # reset on WeChat's console
    assert (await wechat_login(fetch, "o-rotating-2"))["access_token"]
    assert (await fetch("POST", path + "/check", token=manager)).json()["ok"] is True
    clock.advance(seconds=301)
    assert (await wechat_login(fetch, "o-rotating-3"))["access_token"]

    # After the window the previous secret is no longer tried.
    await wechat_sandbox.register_app(ctx, WECHAT_APP, "something-else-entirely")
    code = await wechat_code(fetch, "o-rotating-4")
    late = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": code, "app_id": WECHAT_APP})
    assert late.status == 502 and late.json()["code"] == "channel_error"


async def test_no_alipay_login_fails_while_the_app_private_key_rotates(demo_app, fetch, manager, clock) -> None:
    ctx = demo_app.ctx
    new_private = alipay_client.generate_private_key_pem()
    rotated = await fetch("POST", f"/admin/v1/channels/{ALIPAY_APP}/rotations", token=manager,
                          json={"secret": "private_key", "value": new_private, "overlap_seconds": 300})
    assert rotated.status == 201, rotated.text
    assert rotated.json()["channel"]["public"]["app_public_key"] == alipay_client.public_key_pem(new_private)
    assert (await alipay_login(fetch, "2088000000000301"))["access_token"]  # gateway still on the old key
    await alipay_sandbox.register_app(ctx, ALIPAY_APP, alipay_client.public_key_pem(new_private))
    assert (await alipay_login(fetch, "2088000000000302"))["access_token"]
    clock.advance(seconds=301)
    assert (await alipay_login(fetch, "2088000000000303"))["access_token"]
    # Rotated again with no overlap while the gateway keeps the older key: refused at once.
    again = await fetch("POST", f"/admin/v1/channels/{ALIPAY_APP}/rotations", token=manager,
                        json={"secret": "app_private_key", "value": alipay_client.generate_private_key_pem(),
                              "overlap_seconds": 0})
    assert again.status == 201
    code = await alipay_code(fetch, "2088000000000304")
    refused = await fetch("POST", "/api/v1/auth/alipay/login", json={"auth_code": code, "app_id": ALIPAY_APP})
    assert refused.status == 502, refused.text


# ---- exposure: what citizens coming through a channel see ------------------------------------------

def _codes(response: Any) -> list[str]:
    assert response.status == 200, response.text
    return [item["code"] for item in response.json()["items"]]


async def test_a_channel_exposes_its_services_in_its_order_and_regions(demo_app, fetch, manager) -> None:
    exposed = [{"code": "JJ-0001", "order": 1}, {"code": "GA-0002", "order": 2},
               {"code": "GA-0001", "order": 3, "regions": ["330106"]}, "MZ-0104"]
    changed = await fetch("PATCH", f"/admin/v1/channels/{WECHAT_APP}", token=manager, json={"exposed_services": exposed})
    assert changed.status == 200, changed.text
    assert [e["code"] for e in changed.json()["exposed_services"]] == ["JJ-0001", "GA-0002", "GA-0001", "MZ-0104"]

    session = await wechat_login(fetch, "o-exposed-1")
    token = session["access_token"]
    # Browse: only exposed items, in the channel's order ("MZ-0104" listed fourth has order 3 too: code order).
    assert _codes(await fetch("GET", "/api/v1/services", token=token)) == ["JJ-0001", "GA-0002", "GA-0001", "MZ-0104"]
    # The session keeps its channel when the token is refreshed.
    refreshed = await fetch("POST", "/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert refreshed.status == 200, refreshed.text
    token = refreshed.json()["access_token"]
    assert _codes(await fetch("GET", "/api/v1/services", token=token)) == ["JJ-0001", "GA-0002", "GA-0001", "MZ-0104"]
    listed = (await fetch("GET", "/api/v1/services?page_size=2&page=2", token=token)).json()
    assert [i["code"] for i in listed["items"]] == ["GA-0001", "MZ-0104"] and listed["total"] == 4
    # Regions: GA-0001 only where the channel offers it.
    assert _codes(await fetch("GET", "/api/v1/services?region=330106", token=token)) == ["JJ-0001", "GA-0002", "GA-0001", "MZ-0104"]
    assert "GA-0001" not in _codes(await fetch("GET", "/api/v1/services?region=330102", token=token))
    # Search keeps its ranking, over exposed items only.
    assert set(_codes(await fetch("GET", "/api/v1/services?q=护照", token=token))) == {"GA-0002", "GA-0001"}
    assert _codes(await fetch("GET", "/api/v1/services?q=港澳通行证", token=token)) == []
    # One item: 404 when not exposed, as if it did not exist here.
    assert (await fetch("GET", "/api/v1/services/GA-0002", token=token)).status == 200
    hidden = await fetch("GET", "/api/v1/services/GA-0003", token=token)
    assert hidden.status == 404 and hidden.json()["code"] == "service_not_found"
    assert hidden.headers["Content-Type"].startswith("application/problem+json")
    assert (await fetch("GET", "/api/v1/services/GA-0003/form", token=token)).status == 404
    # Applications: refused for an item the channel does not expose.
    refused = await fetch("POST", "/api/v1/applications", token=token,
                          json={"service_code": "GA-0003", "form": {}, "materials": {}, "draft": True})
    assert refused.status == 403 and refused.json()["code"] == "service_not_exposed"
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    allowed = await fetch("POST", "/api/v1/applications", token=token,
                          json={"service_code": "GA-0002", "form": {}, "materials": {}, "draft": True})
    assert allowed.status == 201, allowed.text

    # Navigation through the channel: no column without an exposed item.
    departments = [d["code"] for d in (await fetch("GET", "/api/v1/departments", token=token)).json()["items"]]
    assert sorted(departments) == ["gongan", "jiaojing", "minzheng"]
    all_departments = (await fetch("GET", "/api/v1/departments")).json()["items"]
    assert len(all_departments) > 3
    themes = {t["code"] for t in (await fetch("GET", "/api/v1/themes", token=token)).json()["items"]}
    assert themes and themes < {t["code"] for t in (await fetch("GET", "/api/v1/themes")).json()["items"]}

    # Without a token the app names its channel in a header; no channel, no limit.
    header = {"X-CityGate-Channel": WECHAT_APP}
    assert _codes(await fetch("GET", "/api/v1/services", headers=header)) == ["JJ-0001", "GA-0002", "GA-0001", "MZ-0104"]
    assert (await fetch("GET", "/api/v1/services/GA-0003", headers=header)).status == 404
    everything = (await fetch("GET", "/api/v1/services")).json()
    assert everything["total"] > 4
    unknown = await fetch("GET", "/api/v1/services", headers={"X-CityGate-Channel": "wxnosuchapp0001"})
    assert unknown.status == 400 and unknown.json()["code"] == "channel_unknown"
    # A citizen who came through the Alipay channel (which exposes everything) is not limited by a header.
    alipay_token = (await alipay_login(fetch, "2088000000000401"))["access_token"]
    assert (await fetch("GET", "/api/v1/services", token=alipay_token, headers=header)).json()["total"] == everything["total"]
    assert (await fetch("GET", "/api/v1/services/GA-0003", token=alipay_token, headers=header)).status == 200

    # Emptying the list exposes everything again, at once.
    assert (await fetch("PATCH", f"/admin/v1/channels/{WECHAT_APP}", token=manager, json={"exposed_services": []})).status == 200
    assert (await fetch("GET", "/api/v1/services", token=token)).json()["total"] == everything["total"]
    assert (await fetch("GET", "/api/v1/services/GA-0003", token=token)).status == 200


async def test_a_wechatpay_merchant_key_rotates_with_its_certificate_serial(demo_app, fetch, manager) -> None:
    path = f"/admin/v1/channels/{WECHAT_APP}/rotations"
    new_key = alipay_client.generate_private_key_pem()  # any RSA private key in PEM
    missing = await fetch("POST", path, token=manager, json={"secret": "private_key", "value": new_key})
    assert missing.status == 422 and missing.json()["errors"][0]["field"] == "serial_no"
    rotated = await fetch("POST", path, token=manager,
                          json={"secret": "private_key", "value": new_key, "serial_no": "5157F09EFDC096DE15EBE81A47057A72"})
    assert rotated.status == 201, rotated.text
    channel = rotated.json()["channel"]
    assert channel["public"]["wechatpay_serial_no"] == "5157F09EFDC096DE15EBE81A47057A72"
    assert channel["secrets"]["wechatpay_private_key"]["fingerprint"] == channels.fingerprint(new_key)
    assert new_key not in rotated.text
    same = await fetch("POST", path, token=manager, json={"secret": "private_key", "value": new_key, "serial_no": "AAAA1111"})
    assert same.status == 422 and same.json()["errors"][0]["code"] == "unchanged"


async def test_a_secret_in_its_overlap_window_is_re_encrypted_with_the_others(demo_app, fetch, manager) -> None:
    ctx = demo_app.ctx
    old_secret = (await channels.find_channel(ctx, WECHAT_APP)).secret("app_secret")
    rotated = await fetch("POST", f"/admin/v1/channels/{WECHAT_APP}/rotations", token=manager,
                          json={"secret": "app_secret", "value": "the-next-app-secret-01"})
    assert rotated.status == 201
    # A new encryption key is listed first (the old ones still decrypt); everything moves under it.
    ctx.cipher = FieldCipher([("k9", b"k" * 32), *parse_encryption_keys(ctx.settings.encryption_keys)])
    assert await channels.rotate_channel_secrets(ctx) >= 3  # the demo channels' secrets and the previous one
    doc = await ctx.db.channels.find_one({"app_id": WECHAT_APP})
    assert doc["previous"]["app_secret"]["value"].startswith("k9.")
    channel = await channels.find_channel(ctx, WECHAT_APP)
    assert channel.previous_values("app_secret", ctx.clock()) == [old_secret]
    assert channel.secret("app_secret") == "the-next-app-secret-01"
