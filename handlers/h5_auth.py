"""The H5 entrance's login (docs/h5.md): WeChat official-account and Alipay web authorisation, the
web session cookies they end with, and WeChat JS-SDK signatures for pages on configured domains."""

from __future__ import annotations

from typing import Annotated

import msgspec

from handlers.base import CSRF_COOKIE, SESSION_COOKIE, BaseHandler, citizen_required
from handlers.contract import Answer, Query, declare
from handlers.me import CitizenView
from models import citizens, ratelimit, tokens, weblogin

BINDING_COOKIE = "cg_h5_bind"
BINDING_PATH = "/api/v1/h5/"


# ---- the contract ---------------------------------------------------------------------------------
class H5LoginStart(Query):
    app_id: Annotated[str, msgspec.Meta(description="the official account's AppID / the Alipay web app's APPID")] = ""
    scope: Annotated[str, msgspec.Meta(
        description="wechat: snsapi_base or snsapi_userinfo (default; needed for the unionid that links the "
                    "mini-program's citizen); alipay: auth_base or auth_user (default)")] = ""
    next: Annotated[str, msgspec.Meta(description="the page on this site to come back to (default /m/)")] = ""


class WeChatCallbackQuery(Query):
    code: Annotated[str, msgspec.Meta(description="the web authorisation code (absent when the user refused)")] = ""
    state: str = ""


class AlipayCallbackQuery(Query):
    auth_code: Annotated[str, msgspec.Meta(description="the auth code (absent when the user refused)")] = ""
    state: str = ""
    app_id: str = ""
    scope: str = ""
    source: str = ""


class H5Channel(Answer):
    provider: Annotated[str, msgspec.Meta(description="wechat or alipay")]
    app_id: str
    name: str


class H5PayApp(Answer):
    channel: Annotated[str, msgspec.Meta(description="wechat or alipay, as POST /applications/{no}/payments takes it")]
    app_id: str


class H5Config(Answer):
    """What the H5 client needs to start: the web logins offered and the apps fees can be paid through."""

    logins: list[H5Channel]
    pay_apps: list[H5PayApp]
    sandbox: Annotated[bool, msgspec.Meta(
        description="development: the sandbox's test/pay stands in for the wallet (wx.requestPayment, my.tradePay)")]


class H5Session(Answer):
    """Who this browser is: the citizen of its session (bearer or web cookie), null when nobody is logged in."""

    citizen: CitizenView | None


class JsConfigQuery(Query):
    app_id: Annotated[str, msgspec.Meta(description="the official account's AppID")] = ""
    url: Annotated[str, msgspec.Meta(description="the page's full URL (its fragment is dropped)")] = ""


class JsConfig(Answer):
    """wx.config({appId: app_id, timestamp, nonceStr: nonce_str, signature, jsApiList})."""

    app_id: str
    timestamp: int
    nonce_str: str
    signature: Annotated[str, msgspec.Meta(description="sha1(jsapi_ticket=…&noncestr=…&timestamp=…&url=…)")]
    url: Annotated[str, msgspec.Meta(description="the URL signed")]


LOGIN_START_ERRORS = {400: "Unknown or disabled channel, a page domain not configured for it, a bad scope or next",
                      429: "Too many logins started from this address"}
CALLBACK_ERRORS = {400: "The state is unknown, expired or used", 401: "The code is invalid, used or expired",
                   403: "The login was started in another browser",
                   429: "Too many login attempts", 502: "The channel answered with an error",
                   503: "The channel is unavailable"}


# ---- handlers -------------------------------------------------------------------------------------
class H5ConfigHandler(BaseHandler):
    """The H5 client's start-up facts: which web logins and which payment apps exist."""

    @declare(answer=H5Config)
    async def get(self) -> None:
        self.write_json(await weblogin.client_config(self.ctx))


class H5SessionHandler(BaseHandler):
    """Whether this browser is logged in (200 either way, so a page can ask without an error)."""

    @declare(answer=H5Session)
    async def get(self) -> None:
        citizen = None
        if self.principal is not None and self.principal.kind == "citizen":
            found = await citizens.find_citizen(self.ctx, self.principal.subject_id)
            citizen = citizens.public_view(found) if found else None
        self.write_json({"citizen": citizen})


class _StartHandler(BaseHandler):
    provider = ""
    default_scope = ""

    async def start(self) -> None:
        # Each start keeps a state in Redis for ten minutes: a budget per address bounds what anyone can park.
        await ratelimit.enforce(self.ctx.redis, f"h5-login:{self.request.remote_ip}", 120, 60, "login_rate_limited",
                                "登录尝试过于频繁，请稍后再试", "Too many login attempts; please retry later")
        begun = await weblogin.begin(self.ctx, self.provider, self.query.app_id, self.query.scope or self.default_scope,
                                     self.request.protocol, self.request.host, self.query.next or None)
        # Only this browser may finish the login it began (models.weblogin: the binding).
        self.set_cookie(BINDING_COOKIE, begun.binding, path=BINDING_PATH, max_age=weblogin.STATE_TTL_SECONDS,
                        httponly=True, secure=self.request.protocol == "https", samesite="Lax")
        self.redirect(begun.authorize_url)


class WeChatStartHandler(_StartHandler):
    """Start a WeChat official-account web login: 302 to WeChat's consent page (connect/oauth2/authorize)."""

    provider, default_scope = "wechat", "snsapi_userinfo"

    @declare(query=H5LoginStart, answer=None, status=302, errors=LOGIN_START_ERRORS)
    async def get(self) -> None:
        """302 to connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state#wechat_redirect."""
        await self.start()


class AlipayStartHandler(_StartHandler):
    """Start an Alipay web login: 302 to Alipay's consent page (oauth2/publicAppAuthorize.htm)."""

    provider, default_scope = "alipay", "auth_user"

    @declare(query=H5LoginStart, answer=None, status=302, errors=LOGIN_START_ERRORS)
    async def get(self) -> None:
        """302 to oauth2/publicAppAuthorize.htm?app_id&scope&redirect_uri&state."""
        await self.start()


class _CallbackHandler(BaseHandler):
    provider = ""

    async def finish_login(self, code: str) -> None:
        binding = self.get_cookie(BINDING_COOKIE)
        self.clear_cookie(BINDING_COOKIE, path=BINDING_PATH)
        session = await weblogin.complete(self.ctx, self.provider, self.query.state, code, binding,
                                          self.request.remote_ip or "")
        if not session.token:
            self.redirect(session.next_path)
            return
        secure = self.request.protocol == "https"
        ttl = self.ctx.settings.web_session_ttl_seconds
        self.set_cookie(SESSION_COOKIE, session.token, path="/", max_age=ttl, httponly=True, secure=secure,
                        samesite="Lax")
        # Readable by the page (not HttpOnly): it sends this back as X-CSRF-Token on writes.
        self.set_cookie(CSRF_COOKIE, session.csrf_token, path="/", max_age=ttl, secure=secure, samesite="Lax")
        self.redirect(session.next_path)


class WeChatCallbackHandler(_CallbackHandler):
    """WeChat sends the browser back here with ?code&state: a web session, then 302 to the page that began."""

    provider = "wechat"

    @declare(query=WeChatCallbackQuery, answer=None, status=302, errors=CALLBACK_ERRORS)
    async def get(self) -> None:
        """Exchange the code (sns/oauth2/access_token), set the session cookies, 302 to `next`."""
        await self.finish_login(self.query.code)


class AlipayCallbackHandler(_CallbackHandler):
    """Alipay sends the browser back here with ?auth_code&state: a web session, then 302 to the page that began."""

    provider = "alipay"

    @declare(query=AlipayCallbackQuery, answer=None, status=302, errors=CALLBACK_ERRORS)
    async def get(self) -> None:
        """Exchange the auth code (alipay.system.oauth.token), set the session cookies, 302 to `next`."""
        await self.finish_login(self.query.auth_code)


class H5LogoutHandler(BaseHandler):
    """End this browser's web session (its token, at once) and clear its cookies."""

    @citizen_required
    @declare(answer=None, status=204, errors={403: "X-CSRF-Token missing or wrong"})
    async def post(self) -> None:
        await tokens.revoke_access_token(self.ctx, self.access_token)
        self.clear_cookie(SESSION_COOKIE, path="/")
        self.clear_cookie(CSRF_COOKIE, path="/")
        self.set_status(204)
        self.finish()


class JsConfigHandler(BaseHandler):
    """WeChat JS-SDK: the wx.config signature for a page on one of the official account's domains."""

    @declare(query=JsConfigQuery, answer=JsConfig,
             errors={400: "Unknown account, or a URL not on its JS-SDK domains", 502: "WeChat gave no ticket",
                     503: "WeChat is unavailable"})
    async def get(self) -> None:
        self.write_json(await weblogin.js_config(self.ctx, self.query.app_id, self.query.url))


routes = [
    (r"/api/v1/h5/config", H5ConfigHandler),
    (r"/api/v1/h5/session", H5SessionHandler),
    (r"/api/v1/h5/wechat/authorize", WeChatStartHandler),
    (r"/api/v1/h5/wechat/callback", WeChatCallbackHandler),
    (r"/api/v1/h5/alipay/authorize", AlipayStartHandler),
    (r"/api/v1/h5/alipay/callback", AlipayCallbackHandler),
    (r"/api/v1/h5/logout", H5LogoutHandler),
    (r"/api/v1/h5/wechat/jsconfig", JsConfigHandler),
]
