"""H5 logins and web sessions (docs/h5.md): WeChat official-account and Alipay web authorisation.

A login is an OAuth 2 round trip through the vendor's consent page:

1. `begin`: the page's host must be one of the channel's `redirect_domains` (the vendor's 网页授权域名),
   and the page to come back to a path on it. A random `state` goes to the vendor; Redis keeps,
   under its digest and for ten minutes, the channel, the page and the digest of a second random
   value, the *browser binding*, which only this browser holds (in an HttpOnly cookie).
2. `complete`: the vendor sends the browser back with `code` and `state`. The state is taken from
   Redis atomically (GETDEL: good once), must come from the same browser (binding), and the code is
   exchanged through the channel (models.citizens.login_web): the same citizen the mini-programs know.
3. The browser gets a web session: an opaque access token (models.tokens, so every revocation and
   logout-everywhere reaches it) in an HttpOnly, SameSite=Lax cookie, and a CSRF token derived from
   it (HMAC under the token secret) that the page reads from a second cookie and sends back as
   `X-CSRF-Token` on every write: another site can make the browser send the cookie, not read it.

JS-SDK: `js_config` signs a page URL on a configured domain with the account's jsapi_ticket
(sha1 of `jsapi_ticket=…&noncestr=…&timestamp=…&url=…`, WeChat's JS-SDK appendix 1).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import secrets
import urllib.parse
from typing import Any

from models import channels, citizens, tokens
from models.channels import identity as channel_identity
from models.core.context import Context
from models.errors import BadRequest, Forbidden
from models.tokens import Principal

STATE_PREFIX = "cg:h5:state:"
STATE_TTL_SECONDS = 600
# The provider named in the route -> the channel kind, and the scopes its consent page knows.
KINDS = {"wechat": channels.WECHAT_OA, "alipay": channels.ALIPAY_WEB}
SCOPES = {"wechat": ("snsapi_base", "snsapi_userinfo"), "alipay": ("auth_base", "auth_user")}
DEFAULT_NEXT = "/m/"
MAX_NEXT_LENGTH = 500


@dataclasses.dataclass(frozen=True)
class Begun:
    """Where to send the browser, and the binding it must keep (cookie) until it comes back."""

    authorize_url: str
    binding: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class WebSession:
    """A finished H5 login: the session token (cookie), its CSRF token, and the page to go back to."""

    token: str = dataclasses.field(repr=False)
    csrf_token: str = dataclasses.field(repr=False)
    next_path: str
    citizen_id: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def redirect_domains(channel: channels.Channel) -> set[str]:
    """The host names an H5 channel's pages may be served from (its `redirect_domains`, comma-separated)."""
    return {d.strip().lower() for d in str(channel.public.get("redirect_domains", "")).split(",") if d.strip()}


def _hostname(host: str) -> str:
    """A Host header's name without its port ("[::1]:8080" -> "::1")."""
    parsed = urllib.parse.urlsplit("//" + host)
    try:
        return (parsed.hostname or "").lower()
    except ValueError:
        return ""


def _domain_refused() -> BadRequest:
    return BadRequest("redirect_domain_not_allowed", "该页面的域名未配置为此渠道的授权回调域名",
                      "This page's domain is not a redirect domain configured for the channel")


def safe_next(next_path: Any) -> str:
    """The page to come back to: a path on this site (never another site: no scheme, no `//host`)."""
    if not isinstance(next_path, str) or not next_path:
        return DEFAULT_NEXT
    if (len(next_path) > MAX_NEXT_LENGTH or not next_path.startswith("/") or next_path.startswith("//")
            or "\\" in next_path or any(ord(ch) < 0x20 for ch in next_path)):
        raise BadRequest("next_invalid", "返回页面应为本站的路径", "next must be a path on this site")
    return next_path


async def begin(ctx: Context, provider: str, app_id: str, scope: str, scheme: str, host: str,
                next_path: Any) -> Begun:
    """Start an H5 login on `provider` ("wechat" | "alipay") for the page served at scheme://host."""
    channel = await channels.get_enabled(ctx, app_id, KINDS[provider])
    if _hostname(host) not in redirect_domains(channel):
        raise _domain_refused()
    if scope not in SCOPES[provider]:
        raise BadRequest("scope_invalid", "不支持的授权范围", "Unsupported scope")
    back = safe_next(next_path)
    state, binding = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    redirect_uri = f"{scheme}://{host}/api/v1/h5/{provider}/callback"
    record = {"provider": provider, "app_id": channel.app_id, "binding": _digest(binding), "next": back}
    await ctx.redis.set(STATE_PREFIX + _digest(state), json.dumps(record), ex=STATE_TTL_SECONDS)
    return Begun(channel_identity.authorize_url(ctx, channel, redirect_uri, scope, state), binding)


def _state_refused() -> BadRequest:
    return BadRequest("login_state_invalid", "登录请求已失效或已使用，请重新登录",
                      "This login request expired or was already used; please log in again")


async def complete(ctx: Context, provider: str, state: Any, code: Any, binding: str | None,
                   client_ip: str) -> WebSession:
    """Finish an H5 login: the state once, from the browser that began it; the code through the channel.

    Without a code (the user refused) the answer has no token: the browser goes back, logged out."""
    if not isinstance(state, str) or not state or len(state) > 128:
        raise _state_refused()
    raw = await ctx.redis.getdel(STATE_PREFIX + _digest(state))
    if not raw:
        raise _state_refused()
    record = json.loads(raw)
    if record.get("provider") != provider:
        raise _state_refused()
    if not binding or not hmac.compare_digest(_digest(binding), record.get("binding", "")):
        raise Forbidden("login_state_foreign", "该登录请求不是从本浏览器发起的，请重新登录",
                        "This login was not started in this browser; please log in again")
    if not isinstance(code, str) or not code:  # the user said no (拒绝): back to the page, still logged out
        return WebSession("", "", record["next"], "")
    citizen = await citizens.login_web(ctx, KINDS[provider], record["app_id"], code, client_ip)
    citizen_id = str(citizen["_id"])
    token = await tokens.issue_access_token(ctx.redis, Principal("citizen", citizen_id, channel=record["app_id"]),
                                            ctx.settings.web_session_ttl_seconds)
    return WebSession(token, csrf_token(ctx, token), record["next"], citizen_id)


def csrf_token(ctx: Context, session_token: str) -> str:
    """The CSRF token of a web session: only who can read this site's cookies knows it."""
    mac = hmac.new(ctx.settings.token_secret.encode(), b"csrf:" + tokens.token_digest(session_token).encode(),
                   hashlib.sha256)
    return mac.hexdigest()


def csrf_matches(ctx: Context, session_token: str, presented: str) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(ctx, session_token), presented)


async def js_config(ctx: Context, app_id: str, url: str) -> dict[str, Any]:
    """wx.config's signature for the page at `url` (on one of the account's domains)."""
    channel = await channels.get_enabled(ctx, app_id, channels.WECHAT_OA)
    page = url.split("#", 1)[0]  # WeChat signs the URL without its fragment
    parsed = urllib.parse.urlsplit(page)
    try:
        hostname = (parsed.hostname or "").lower()
    except ValueError:
        hostname = ""
    if parsed.scheme not in ("http", "https") or hostname not in redirect_domains(channel):
        raise BadRequest("jsapi_domain_not_allowed", "该页面的域名未配置为此公众号的 JS 接口安全域名",
                         "This page's domain is not a JS-SDK domain configured for the official account")
    ticket = await channel_identity.jsapi_ticket(ctx, channel)
    timestamp = int(ctx.clock().timestamp())
    nonce = secrets.token_hex(8)
    return {"app_id": channel.app_id, "timestamp": timestamp, "nonce_str": nonce, "url": page,
            "signature": jsapi_signature(ticket, nonce, timestamp, page)}


def jsapi_signature(ticket: str, nonce: str, timestamp: int, url: str) -> str:
    """WeChat JS-SDK signature: sha1 over the four fields sorted by name, joined as a query string."""
    text = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - WeChat's algorithm, not our choice


async def client_config(ctx: Context) -> dict[str, Any]:
    """The enabled H5 logins, and the mini-program apps a fee can be paid through (an H5 session pays
    through the app where the citizen has a payer id: models.payments)."""
    logins, pay_apps = [], []
    for provider, kind in KINDS.items():
        async for doc in ctx.db.channels.find({"kind": kind}, {"app_id": 1, "name": 1, "enabled": 1}).limit(20):
            if doc.get("enabled", True):
                logins.append({"provider": provider, "app_id": doc["app_id"], "name": doc.get("name", "")})
    for name, kind in (("wechat", channels.WECHAT_MINIPROGRAM), ("alipay", channels.ALIPAY_MINIPROGRAM)):
        async for doc in ctx.db.channels.find({"kind": kind}, {"app_id": 1, "enabled": 1}).limit(20):
            if doc.get("enabled", True):
                pay_apps.append({"channel": name, "app_id": doc["app_id"]})
    return {"logins": logins, "pay_apps": pay_apps, "sandbox": ctx.settings.sandbox_enabled}
