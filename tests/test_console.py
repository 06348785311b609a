"""Operators' console: channels (CRUD, write-only secrets encrypted at rest); the audit log: test_audit.py."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from models import channels

WECHAT = {"kind": "wechat_miniprogram", "app_id": "wx1234567890abcdef", "name": "市民通（微信）",
          "api_base_url": "https://api.weixin.qq.com", "secrets": {"app_secret": "s3cr3t-app-secret-0001"},
          "templates": {"application_status": "tmpl-123"}, "exposed_services": ["GA-0001", "GA-0002"]}
EXPOSED = [{"code": "GA-0001", "order": 0, "regions": []}, {"code": "GA-0002", "order": 1, "regions": []}]


def _private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
async def channel_admin(make_operator) -> str:
    return await make_operator("channel-admin", ["channel_manager"])


async def test_roles(demo_app, fetch, make_operator, citizen) -> None:
    assert (await fetch("GET", "/admin/v1/channels")).status == 401
    assert (await fetch("GET", "/admin/v1/channels", token=citizen[1])).status == 401
    supervisor = await make_operator("sup", ["auditor"])
    assert (await fetch("GET", "/admin/v1/channels", token=supervisor)).status == 200  # an auditor reads everything
    assert (await fetch("POST", "/admin/v1/channels", json=WECHAT, token=supervisor)).status == 403
    clerk = await make_operator("clerk", ["channel_manager"])
    assert (await fetch("GET", "/admin/v1/audit", token=clerk)).status == 403
    assert (await fetch("GET", "/admin/v1/audit", token=supervisor)).status == 200


async def test_demo_channels_listed_without_secrets(demo_app, fetch, channel_admin) -> None:
    response = await fetch("GET", "/admin/v1/channels", token=channel_admin)
    assert response.status == 200
    listed = response.json()
    assert [c["app_id"] for c in listed["items"]] == sorted(channels.DEMO_APP_IDS)  # the H5 ones too (docs/h5.md)
    demo = await channels.find_channel(demo_app.ctx, channels.DEMO_WECHAT_APP_ID)
    wechat = next(c for c in listed["items"] if c["app_id"] == channels.DEMO_WECHAT_APP_ID)
    assert wechat["secret_set"] is True and wechat["demo"] is True
    assert wechat["secrets"]["app_secret"] == {"set": True, "fingerprint": channels.fingerprint(demo.secret("app_secret")),
                                               "rotated_at": wechat["secrets"]["app_secret"]["rotated_at"]}
    assert wechat["secrets"]["app_secret"]["rotated_at"]  # when it was last set
    # No secret value anywhere in the answer, payment keys included.
    for value in demo.secrets.values():
        assert value not in response.text
    alipay = await channels.find_channel(demo_app.ctx, channels.DEMO_ALIPAY_APP_ID)
    assert alipay.secret("app_private_key") not in response.text
    assert (await fetch("GET", "/admin/v1/channels?kind=alipay_miniprogram", token=channel_admin)).json()["total"] == 1
    assert (await fetch("GET", "/admin/v1/channels?kind=qq", token=channel_admin)).status == 422


async def test_create_read_update_rotate_disable_delete(demo_app, fetch, channel_admin) -> None:
    ctx = demo_app.ctx
    created = await fetch("POST", "/admin/v1/channels", json=WECHAT, token=channel_admin)
    assert created.status == 201, created.text
    body = created.json()
    # Disabled until asked for (enabling checks the config by calling the channel: test_channels_lifecycle.py).
    assert (body["kind"], body["app_id"], body["enabled"], body["secret_set"]) == (WECHAT["kind"], WECHAT["app_id"], False, True)
    assert body["exposed_services"] == EXPOSED and body["templates"] == WECHAT["templates"]
    assert "s3cr3t-app-secret-0001" not in created.text
    # Encrypted at rest, bound to the channel; the domain reads it back.
    stored = await ctx.db.channels.find_one({"app_id": WECHAT["app_id"]})
    assert "s3cr3t" not in json.dumps(stored, default=str)
    assert (await channels.find_channel(ctx, WECHAT["app_id"])).secret("app_secret") == "s3cr3t-app-secret-0001"

    again = await fetch("POST", "/admin/v1/channels", json=WECHAT, token=channel_admin)
    assert again.status == 409 and again.json()["code"] == "channel_exists"
    read = await fetch("GET", f"/admin/v1/channels/{WECHAT['app_id']}", token=channel_admin)
    assert read.status == 200 and read.json()["secrets"] == body["secrets"]

    old_print = body["secrets"]["app_secret"]["fingerprint"]
    rotated = await fetch("PATCH", f"/admin/v1/channels/{WECHAT['app_id']}", token=channel_admin,
                          json={"secrets": {"app_secret": "rotated-secret-0002"}, "enabled": False, "name": "市民通"})
    assert rotated.status == 200, rotated.text
    assert rotated.json()["secrets"]["app_secret"]["fingerprint"] != old_print
    assert (rotated.json()["enabled"], rotated.json()["name"]) == (False, "市民通")
    assert rotated.json()["exposed_services"] == EXPOSED  # untouched fields kept
    assert (await channels.find_channel(ctx, WECHAT["app_id"])).secret("app_secret") == "rotated-secret-0002"
    # Disabled: logins through it are refused.
    login = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": "x", "app_id": WECHAT["app_id"]})
    assert login.status == 400 and login.json()["code"] == "channel_unknown"

    deleted = await fetch("DELETE", f"/admin/v1/channels/{WECHAT['app_id']}", token=channel_admin)
    assert deleted.status == 204
    assert (await fetch("GET", f"/admin/v1/channels/{WECHAT['app_id']}", token=channel_admin)).status == 404
    assert (await fetch("DELETE", f"/admin/v1/channels/{WECHAT['app_id']}", token=channel_admin)).status == 404


async def test_alipay_channel_derives_its_public_key(demo_app, fetch, channel_admin) -> None:
    pem = _private_pem()
    created = await fetch("POST", "/admin/v1/channels", token=channel_admin, json={
        "kind": "alipay_miniprogram", "app_id": "2021000000009999", "name": "市民通（支付宝）",
        "api_base_url": "https://openapi.alipay.com/gateway.do", "secrets": {"app_private_key": pem},
        "public": {"alipay_public_key": "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"}})
    assert created.status == 201, created.text
    assert created.json()["public"]["app_public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert "PRIVATE KEY" not in created.text
    bad = await fetch("POST", "/admin/v1/channels", token=channel_admin, json={
        "kind": "alipay_miniprogram", "app_id": "2021000000009998", "name": "x",
        "api_base_url": "https://openapi.alipay.com/gateway.do", "secrets": {"app_private_key": "not a key"}})
    assert bad.status == 422 and bad.json()["errors"][0]["field"] == "secrets.app_private_key"


@pytest.mark.parametrize("changes, field", [
    ({"kind": "qq_miniprogram"}, "kind"),
    ({"app_id": "a b"}, "app_id"),
    ({"api_base_url": "ftp://x"}, "api_base_url"),
    ({"secrets": {}}, "secrets"),
    ({"secrets": {"app_secret": "x", "wechatpay_apiv3_key": "y"}}, "secrets.wechatpay_apiv3_key"),
    ({"exposed_services": ["not a code"]}, "exposed_services[0].code"),
    ({"exposed_services": "GA-0001"}, "exposed_services"),
    ({"enabled": "yes"}, "enabled"),
])
async def test_create_is_validated(demo_app, fetch, channel_admin, changes, field) -> None:
    response = await fetch("POST", "/admin/v1/channels", json={**WECHAT, **changes}, token=channel_admin)
    assert response.status == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_update_refuses_identity_changes(demo_app, fetch, channel_admin) -> None:
    path = f"/admin/v1/channels/{channels.DEMO_WECHAT_APP_ID}"
    response = await fetch("PATCH", path, json={"app_id": "wxother"}, token=channel_admin)
    assert response.status == 422 and response.json()["errors"][0]["code"] == "immutable"
    assert (await fetch("PATCH", "/admin/v1/channels/wxnothere", json={"name": "x"}, token=channel_admin)).status == 404


async def test_delete_refused_for_demo_and_channels_in_use(demo_app, fetch, channel_admin, operator_token) -> None:
    demo = await fetch("DELETE", f"/admin/v1/channels/{channels.DEMO_WECHAT_APP_ID}", token=channel_admin)
    assert demo.status == 409 and demo.json()["code"] == "channel_demo"
    assert (await fetch("POST", "/admin/v1/channels", json=WECHAT, token=channel_admin)).status == 201
    await demo_app.ctx.db.identities.insert_one({"_id": f"wx:{WECHAT['app_id']}:o-citizen", "citizen_id": "c",
                                                 "kind": "wechat_openid", "created_at": demo_app.ctx.clock()})
    in_use = await fetch("DELETE", f"/admin/v1/channels/{WECHAT['app_id']}", token=channel_admin,
                         headers={"Accept-Language": "en"})
    assert in_use.status == 409 and in_use.json()["code"] == "channel_in_use"
    assert in_use.json()["usage"] == {"identities": 1, "payment_orders": 0}
    assert "disable" in in_use.json()["detail"]
    # The merchant route of the payments feature is still its own.
    merchant = await fetch("GET", f"/admin/v1/channels/{channels.DEMO_WECHAT_APP_ID}/merchant", token=operator_token)
    assert merchant.status == 200 and "mch_id" in merchant.json()
