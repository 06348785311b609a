"""No token, session key, full phone or ID number in logs, or in responses that should not carry them.

One citizen's whole journey runs with log capture on (our loggers at DEBUG, everything else at
INFO, as in production), every response is kept, and then both are searched for the secrets.
"""

from __future__ import annotations

import logging

from tests.identity_support import ALIPAY_APP, WECHAT_APP, alipay_code, phone_code, wechat_code

PHONE = "13912345678"
OTHER_PHONE = "13698765432"
ID_NUMBER = "11010519491231002X"


async def test_full_identity_journey_leaks_nothing(demo_app, caplog) -> None:
    caplog.set_level(logging.INFO)
    for name in ("citygate", "tornado"):
        caplog.set_level(logging.DEBUG, logger=name)
    ctx = demo_app.ctx
    responses: list[tuple[str, str]] = []  # (what, body text)
    issued: list[str] = []  # our access and refresh tokens

    async def call(method: str, path: str, **kwargs):  # noqa: ANN202
        response = await demo_app.fetch(method, path, **kwargs)
        responses.append((f"{method} {path}", response.text + str(dict(response.headers))))
        return response

    async def login_wechat(openid: str) -> dict:
        response = await call("POST", "/api/v1/auth/wechat/login", json={"code": await wechat_code(demo_app.fetch, openid),
                                                                         "app_id": WECHAT_APP})
        assert response.status == 200
        issued.extend([response.json()["access_token"], response.json()["refresh_token"]])
        return response.json()

    session = await login_wechat("o-private")
    token = session["access_token"]
    assert (await call("POST", "/api/v1/me/phone", json={"code": await phone_code(demo_app.fetch, PHONE)},
                       token=token)).status == 200
    sealed = (await demo_app.fetch("POST", "/sandbox/wechat/test/encrypted-data",
                                   json={"app_id": WECHAT_APP, "openid": "o-private", "phone": OTHER_PHONE})).json()
    assert (await call("POST", "/api/v1/me/phone", json={"encrypted_data": sealed["encrypted_data"], "iv": sealed["iv"]},
                       token=token)).status == 200
    assert (await call("POST", "/api/v1/me/realname", json={"name": "王五", "id_number": "110105194912310021"},
                       token=token)).status == 422
    assert (await call("POST", "/api/v1/me/realname", json={"name": "王五", "id_number": ID_NUMBER},
                       token=token)).status == 200
    assert (await call("GET", "/api/v1/me", token=token)).status == 200

    second = await login_wechat("o-private-2")  # another account holding the same ID number
    refused = await call("POST", "/api/v1/me/realname", json={"name": "王五", "id_number": ID_NUMBER},
                         token=second["access_token"])
    assert refused.status == 409
    alipay_proof = await alipay_code(demo_app.fetch, "2088000000000066")
    assert (await call("POST", "/api/v1/me/link", json={"channel": "alipay", "app_id": ALIPAY_APP,
                                                        "auth_code": alipay_proof}, token=token)).status == 200
    linked = await call("POST", "/api/v1/me/link", token=second["access_token"],
                        json={"channel": "wechat", "app_id": WECHAT_APP, "code": await wechat_code(demo_app.fetch, "o-private")})
    assert linked.status == 200 and linked.json()["status"] == "merged"

    rotated = await call("POST", "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    issued.extend([rotated.json()["access_token"], rotated.json()["refresh_token"]])
    assert (await call("POST", "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})).status == 401
    assert (await call("POST", "/api/v1/auth/logout", token=token)).status == 401  # merged away: already out
    assert (await call("POST", "/api/v1/auth/wechat/login", json={"code": "bogus", "app_id": WECHAT_APP})).status == 401

    session_keys = [doc["session_key"] async for doc in ctx.db.sandbox_wechat_sessions.find({})]
    wechat_tokens = [doc["_id"] async for doc in ctx.db.sandbox_wechat_tokens.find({})]
    app_secret = (await ctx.db.sandbox_apps.find_one({"_id": f"wechat:{WECHAT_APP}"}))["secret"]
    assert len(session_keys) == 2 and wechat_tokens

    log_text = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    never_logged = {"phone": [PHONE, OTHER_PHONE], "id number": [ID_NUMBER, ID_NUMBER.lower(), "110105194912310021"],
                    "session_key": session_keys, "wechat access_token": wechat_tokens, "app secret": [app_secret],
                    "our tokens": issued}
    for what, values in never_logged.items():
        for value in values:
            assert value not in log_text, f"{what} appears in the logs"
    assert any(r.name == "citygate.access" for r in caplog.records)  # the capture did see the requests

    never_returned = {k: v for k, v in never_logged.items() if k != "our tokens"}
    for label, text in responses:
        for what, values in never_returned.items():
            for value in values:
                assert value not in text, f"{what} appears in the response to {label}"
        if "/auth/" not in label:  # only login and refresh hand out tokens
            for value in issued:
                assert value not in text, f"a token appears in the response to {label}"

    stored = str(await ctx.db.citizens.find({}).to_list(None)) + str(await ctx.db.identities.find({}).to_list(None))
    for value in (PHONE, OTHER_PHONE, ID_NUMBER, *session_keys):
        assert value not in stored
