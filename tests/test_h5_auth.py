"""The H5 entrance's logins over real HTTP: WeChat official-account and Alipay web authorisation
through the sandbox's consent pages, the web session cookies, CSRF, and JS-SDK signatures."""

from __future__ import annotations

import hashlib
import http.cookies
import json as jsonlib
import urllib.parse
from typing import Any

from tornado.httpclient import HTTPRequest

from models.channels import DEMO_ALIPAY_WEB_APP_ID, DEMO_WECHAT_OA_APP_ID
from tests.identity_support import alipay_login, wechat_login

OA = DEMO_WECHAT_OA_APP_ID
ALIPAY_WEB = DEMO_ALIPAY_WEB_APP_ID


class Browser:
    """A browser without JavaScript: keeps cookies (per name, any path), never follows redirects."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.cookies: dict[str, str] = {}
        self.set_cookie_lines: list[str] = []

    async def go(self, method: str, url: str, *, body: Any = None, headers: dict[str, str] | None = None,
                 form: dict[str, str] | None = None, json: Any = None) -> Any:
        if not url.startswith("http"):
            url = self.app.base_url + url
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urllib.parse.urlencode(form)
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        if json is not None:
            body = jsonlib.dumps(json)
            all_headers["Content-Type"] = "application/json"
        if body is None and method in ("POST", "PATCH", "PUT"):
            body = b""
        response = await self.app.http.fetch(HTTPRequest(url, method=method, headers=all_headers, body=body,
                                                         follow_redirects=False), raise_error=False)
        for line in response.headers.get_list("Set-Cookie"):
            self.set_cookie_lines.append(line)
            cookie = http.cookies.SimpleCookie(line)
            for name, morsel in cookie.items():
                if not morsel.value or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def cookie_line(self, name: str) -> str:
        return next(line for line in reversed(self.set_cookie_lines) if line.startswith(name + "="))


def location(response: Any) -> str:
    assert response.code in (301, 302), (response.code, response.body)
    return response.headers["Location"]


def problem(response: Any) -> str:
    return jsonlib.loads(response.body)["code"]


async def consent(browser: Browser, authorize_url: str) -> str:
    """At the sandbox's consent page, press 同意: the callback URL it sends the browser to."""
    page = await browser.go("GET", authorize_url.split("#")[0])
    assert page.code == 200 and "同意" in page.body.decode(), page.body[:300]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize_url.split("#")[0]).query))
    answer = await browser.go("POST", authorize_url.split("?")[0], form={**query, "decision": "allow"})
    return location(answer)


async def web_login(browser: Browser, provider: str, app_id: str, next_path: str = "/m/") -> str:
    """Begin, consent, come back: the page the login returned to."""
    start = await browser.go("GET", f"/api/v1/h5/{provider}/authorize?app_id={app_id}&next={urllib.parse.quote(next_path)}")
    callback = await consent(browser, location(start))
    done = await browser.go("GET", callback)
    return location(done)


async def test_wechat_web_login_is_the_mini_program_citizen_with_cookies_and_csrf(demo_app, fetch) -> None:
    mini = await wechat_login(fetch, "mp-h5-0001", unionid="union-h5-0001")
    await fetch("POST", "/sandbox/wechat/test/oauth-user", json={"app_id": OA, "openid": "oa-h5-0001",
                                                                 "unionid": "union-h5-0001"})
    browser = Browser(demo_app)
    start = await browser.go("GET", f"/api/v1/h5/wechat/authorize?app_id={OA}&next=" + urllib.parse.quote("/m/#/service/JJ-0001"))
    authorize = location(start)
    assert "/connect/oauth2/authorize?" in authorize and authorize.endswith("#wechat_redirect")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize.split("#")[0]).query))
    assert query["appid"] == OA and query["scope"] == "snsapi_userinfo" and query["response_type"] == "code"
    assert query["redirect_uri"] == demo_app.base_url + "/api/v1/h5/wechat/callback"
    binding = browser.cookie_line("cg_h5_bind")
    assert "HttpOnly" in binding and "SameSite=Lax" in binding and "Path=/api/v1/h5/" in binding

    callback = await consent(browser, authorize)
    back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
    assert back["state"] == query["state"] and back["code"]
    done = await browser.go("GET", callback)
    assert location(done) == "/m/#/service/JJ-0001"  # back to the page that began the login
    session, csrf = browser.cookie_line("cg_session"), browser.cookie_line("cg_csrf")
    assert "HttpOnly" in session and "SameSite=Lax" in session and "Secure" not in session  # plain http here
    assert "HttpOnly" not in csrf and "SameSite=Lax" in csrf

    me = await browser.go("GET", "/api/v1/me")
    assert me.code == 200, me.body
    assert jsonlib.loads(me.body)["id"] == mini["citizen"]["id"]  # one citizen through the unionid
    kinds = {(i["kind"], i["app_id"]) for i in jsonlib.loads(me.body)["identities"]}
    assert ("wechat_openid", OA) in kinds and ("wechat_unionid", None) in kinds

    # A write through the cookie needs the CSRF token in the header; the bearer API is unchanged.
    refused = await browser.go("PATCH", "/api/v1/me", json={"nickname": "小王"})
    assert refused.code == 403 and problem(refused) == "csrf_token_invalid"
    wrong = await browser.go("PATCH", "/api/v1/me", json={"nickname": "小王"}, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.code == 403
    changed = await browser.go("PATCH", "/api/v1/me", json={"nickname": "小王"},
                               headers={"X-CSRF-Token": browser.cookies["cg_csrf"]})
    assert changed.code == 200, changed.body
    bearer = await fetch("GET", "/api/v1/me", token=mini["access_token"])
    assert bearer.json()["profile"]["nickname"] == "小王"

    # The state was good once: the same callback again is refused.
    replayed = await browser.go("GET", callback)
    assert replayed.code == 400 and problem(replayed) == "login_state_invalid"

    # Logging out ends the session at once and clears the cookies.
    token = browser.cookies["cg_session"]
    out = await browser.go("POST", "/api/v1/h5/logout", headers={"X-CSRF-Token": browser.cookies["cg_csrf"]})
    assert out.code == 204
    assert "cg_session" not in browser.cookies
    browser.cookies["cg_session"] = token
    assert (await browser.go("GET", "/api/v1/me")).code == 401


async def test_alipay_web_login_is_the_alipay_mini_program_citizen(demo_app, fetch) -> None:
    mini = await alipay_login(fetch, "2088000000000077")
    await fetch("POST", "/sandbox/alipay/test/oauth-user", json={"app_id": ALIPAY_WEB, "user_id": "2088000000000077"})
    browser = Browser(demo_app)
    start = await browser.go("GET", f"/api/v1/h5/alipay/authorize?app_id={ALIPAY_WEB}")
    authorize = location(start)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query))
    assert "/oauth2/publicAppAuthorize.htm?" in authorize
    assert query["app_id"] == ALIPAY_WEB and query["scope"] == "auth_user"
    callback = await consent(browser, authorize)
    back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
    assert back["auth_code"] and back["source"] == "alipay_wallet" and back["app_id"] == ALIPAY_WEB
    assert location(await browser.go("GET", callback)) == "/m/"
    me = await browser.go("GET", "/api/v1/me")
    assert jsonlib.loads(me.body)["id"] == mini["citizen"]["id"]


async def test_logins_refuse_foreign_domains_foreign_browsers_and_bad_codes(demo_app, fetch) -> None:
    browser = Browser(demo_app)
    # A page served from a domain the channel does not list cannot start a login.
    foreign = await browser.go("GET", f"/api/v1/h5/wechat/authorize?app_id={OA}", headers={"Host": "evil.example"})
    assert foreign.code == 400 and problem(foreign) == "redirect_domain_not_allowed"
    # Nor send the browser to another site afterwards.
    for bad in ("//evil.example/x", "https://evil.example/", "/m/\\evil"):
        refused = await browser.go("GET", f"/api/v1/h5/wechat/authorize?app_id={OA}&next={urllib.parse.quote(bad)}")
        assert refused.code == 400 and problem(refused) == "next_invalid", bad
    unknown = await browser.go("GET", "/api/v1/h5/wechat/authorize?app_id=wx-nobody")
    assert unknown.code == 400 and problem(unknown) == "channel_unknown"
    mini_program = await browser.go("GET", "/api/v1/h5/wechat/authorize?app_id=wxdemo0000000001")
    assert mini_program.code == 400  # a mini-program is no official account
    scope = await browser.go("GET", f"/api/v1/h5/wechat/authorize?app_id={OA}&scope=snsapi_login")
    assert scope.code == 400 and problem(scope) == "scope_invalid"

    # The sandbox, as WeChat, refuses a redirect_uri outside the account's domains.
    sandbox = await browser.go("GET", f"/sandbox/wechat/connect/oauth2/authorize?appid={OA}&redirect_uri="
                               + urllib.parse.quote("https://evil.example/cb") + "&response_type=code&scope=snsapi_base")
    assert sandbox.code == 400 and jsonlib.loads(sandbox.body)["errcode"] == 10003

    # A login finished in another browser (no binding cookie) is refused, and its state is spent.
    start = await browser.go("GET", f"/api/v1/h5/wechat/authorize?app_id={OA}")
    callback = await consent(browser, location(start))
    other = Browser(demo_app)
    stolen = await other.go("GET", callback)
    assert stolen.code == 403 and problem(stolen) == "login_state_foreign"
    assert (await browser.go("GET", callback)).code == 400

    # A code WeChat never issued: 401 wechat_code_invalid (errcode 40029).
    start = await browser.go("GET", f"/api/v1/h5/wechat/authorize?app_id={OA}")
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location(start).split("#")[0]).query))["state"]
    bad = await browser.go("GET", f"/api/v1/h5/wechat/callback?code=not-a-code&state={state}")
    assert bad.code == 401 and problem(bad) == "wechat_code_invalid"
    assert "cg_session" not in browser.cookies
    english = await browser.go("GET", "/api/v1/h5/wechat/callback?code=x&state=never-issued",
                               headers={"Accept-Language": "en"})
    assert english.code == 400 and "expired" in jsonlib.loads(english.body)["detail"]

    # The Alipay web app refuses an auth code it did not issue, too.
    start = await browser.go("GET", f"/api/v1/h5/alipay/authorize?app_id={ALIPAY_WEB}")
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location(start)).query))["state"]
    bad = await browser.go("GET", f"/api/v1/h5/alipay/callback?auth_code=nope&state={state}")
    assert bad.code == 401 and problem(bad) == "alipay_code_invalid"


async def test_a_refusal_comes_back_logged_out(demo_app) -> None:
    browser = Browser(demo_app)
    start = await browser.go("GET", f"/api/v1/h5/wechat/authorize?app_id={OA}&next=" + urllib.parse.quote("/m/#/mine"))
    authorize = location(start).split("#")[0]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query))
    refused = await browser.go("POST", authorize.split("?")[0], form={**query, "decision": "deny"})
    callback = location(refused)
    assert "code=" not in callback  # WeChat returns the state alone
    assert location(await browser.go("GET", callback)) == "/m/#/mine"
    assert "cg_session" not in browser.cookies
    assert (await browser.go("GET", "/api/v1/h5/session")).body == b'{"citizen": null}'


async def test_snsapi_base_is_silent_and_gives_no_unionid(demo_app, fetch) -> None:
    await fetch("POST", "/sandbox/wechat/test/oauth-user", json={"app_id": OA, "openid": "oa-base-1",
                                                                 "unionid": "union-base-1"})
    browser = Browser(demo_app)
    start = await browser.go("GET", f"/api/v1/h5/wechat/authorize?app_id={OA}&scope=snsapi_base")
    silent = await browser.go("GET", location(start).split("#")[0])
    callback = location(silent)  # no consent page for the openid alone
    assert location(await browser.go("GET", callback)) == "/m/"
    me = jsonlib.loads((await browser.go("GET", "/api/v1/me")).body)
    assert {i["kind"] for i in me["identities"]} == {"wechat_openid"}


async def test_a_cookie_does_not_outrank_a_bearer_token_and_needs_csrf_on_uploads(demo_app, fetch) -> None:
    await fetch("POST", "/sandbox/wechat/test/oauth-user", json={"app_id": OA, "openid": "oa-2", "unionid": "u-2"})
    browser = Browser(demo_app)
    await web_login(browser, "wechat", OA)
    other = await wechat_login(fetch, "mp-other-2", unionid="u-other-2")
    seen = await browser.go("GET", "/api/v1/me", headers={"Authorization": f"Bearer {other['access_token']}"})
    assert jsonlib.loads(seen.body)["id"] == other["citizen"]["id"]
    upload = await browser.go("POST", "/api/v1/files?service_code=JJ-0001&material=id_card", body=b"x",
                              headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert upload.code == 403 and problem(upload) == "csrf_token_invalid"
    # A cookie on a non-API page changes nothing there.
    assert (await browser.go("GET", "/healthz")).code == 200


async def test_jsapi_signature_for_configured_domains_with_a_cached_ticket(demo_app, fetch) -> None:
    page = demo_app.base_url + "/m/?from=menu#/service/JJ-0001"
    first = await fetch("GET", f"/api/v1/h5/wechat/jsconfig?app_id={OA}&url={urllib.parse.quote(page)}")
    assert first.status == 200, first.text
    config = first.json()
    ticket = (await demo_app.ctx.redis.get(f"cg:wx:jsapi-ticket:{OA}"))
    ticket = ticket.decode() if isinstance(ticket, bytes) else ticket
    signed = demo_app.base_url + "/m/?from=menu"
    assert config["url"] == signed and config["app_id"] == OA
    expected = hashlib.sha1(f"jsapi_ticket={ticket}&noncestr={config['nonce_str']}&timestamp={config['timestamp']}"
                            f"&url={signed}".encode()).hexdigest()
    assert config["signature"] == expected
    again = (await fetch("GET", f"/api/v1/h5/wechat/jsconfig?app_id={OA}&url={urllib.parse.quote(page)}")).json()
    cached = await demo_app.ctx.redis.get(f"cg:wx:jsapi-ticket:{OA}")
    assert (cached.decode() if isinstance(cached, bytes) else cached) == ticket  # one ticket for both
    assert again["signature"] != config["signature"] or again["nonce_str"] == config["nonce_str"]
    for url in ("https://evil.example/m/", "javascript:alert(1)", ""):
        refused = await fetch("GET", f"/api/v1/h5/wechat/jsconfig?app_id={OA}&url={urllib.parse.quote(url)}")
        assert refused.status == 400 and refused.json()["code"] == "jsapi_domain_not_allowed", url


def test_the_jsapi_signature_matches_wechats_published_example() -> None:
    from models.weblogin import jsapi_signature
    # WeChat JS-SDK documentation, appendix 1 (签名算法).
    assert jsapi_signature("sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg",
                           "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value") \
        == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
