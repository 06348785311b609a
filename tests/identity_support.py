"""Shared steps of the identity tests: getting codes from the sandbox and logging in with them."""

from __future__ import annotations

from typing import Any

from models.channels import DEMO_ALIPAY_APP_ID, DEMO_WECHAT_APP_ID
from server import demo_channels

WECHAT_APP = DEMO_WECHAT_APP_ID
ALIPAY_APP = DEMO_ALIPAY_APP_ID


async def wechat_code(fetch, openid: str, unionid: str | None = None, app_id: str = WECHAT_APP,  # noqa: ANN001
                      **extra: Any) -> str:
    body = {"app_id": app_id, "openid": openid, **extra}
    if unionid:
        body["unionid"] = unionid
    response = await fetch("POST", "/sandbox/wechat/test/login-code", json=body)
    assert response.status == 200, response.text
    return response.json()["code"]


async def wechat_login(fetch, openid: str, unionid: str | None = None, app_id: str = WECHAT_APP,  # noqa: ANN001
                       headers: dict[str, str] | None = None) -> dict[str, Any]:
    code = await wechat_code(fetch, openid, unionid, app_id)
    response = await fetch("POST", "/api/v1/auth/wechat/login", json={"code": code, "app_id": app_id},
                           headers=headers)
    assert response.status == 200, response.text
    return response.json()


async def alipay_code(fetch, user_id: str, app_id: str = ALIPAY_APP, id_mode: str = "both") -> str:  # noqa: ANN001
    response = await fetch("POST", "/sandbox/alipay/test/auth-code",
                           json={"app_id": app_id, "user_id": user_id, "id_mode": id_mode})
    assert response.status == 200, response.text
    return response.json()["auth_code"]


async def alipay_login(fetch, user_id: str, app_id: str = ALIPAY_APP, id_mode: str = "both") -> dict[str, Any]:  # noqa: ANN001
    code = await alipay_code(fetch, user_id, app_id, id_mode)
    response = await fetch("POST", "/api/v1/auth/alipay/login", json={"auth_code": code, "app_id": app_id})
    assert response.status == 200, response.text
    return response.json()


async def phone_code(fetch, phone: str, app_id: str = WECHAT_APP) -> str:  # noqa: ANN001
    response = await fetch("POST", "/sandbox/wechat/test/phone-code", json={"app_id": app_id, "phone": phone})
    assert response.status == 200, response.text
    return response.json()["code"]


async def wechat_fault(fetch, api: str, errcode: int | None = None, app_id: str = WECHAT_APP,  # noqa: ANN001
                       times: int = 1, delay_ms: int = 0) -> None:
    response = await fetch("POST", "/sandbox/wechat/test/fault", json={
        "app_id": app_id, "api": api, "errcode": errcode, "times": times, "delay_ms": delay_ms})
    assert response.status == 200, response.text



async def with_demo_channels(app):  # noqa: ANN001, ANN201 - RunningApp
    """Load only the demo channels: what identity tests need, without the catalogue of `demo_app`.

    Each identity test module wraps this in its `channels_app` fixture; a few tests use the full
    `demo_app` to prove the real demo data wires the channels the same way.
    """
    await demo_channels.load_demo(app.ctx)
    return app
