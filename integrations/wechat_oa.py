"""WeChat official-account web authorisation (网页授权) and JS-SDK tickets, for the H5 entrance.

The flow (https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html):
the page sends the browser to `connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope
&state#wechat_redirect`; WeChat sends it back to `redirect_uri?code&state`; the server exchanges the
code at `sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code` for `access_token,
expires_in, refresh_token, openid, scope` (and `unionid` when the account is bound to an open-platform
account), and with `snsapi_userinfo` may ask `sns/userinfo?access_token&openid&lang`. A code is good
once, for five minutes (40029 invalid code, 40163 code been used).

JS-SDK: `cgi-bin/ticket/getticket?access_token&type=jsapi` gives a `jsapi_ticket` (7200 s) that every
worker shares from Redis; the page's `wx.config` signature is the domain's (models.weblogin).

Transport, errcodes and the account's access_token (cgi-bin/token, one fetch at a time across
workers) are the mini-program client's (integrations.wechat): the same wire, other endpoints.
"""

from __future__ import annotations

import logging
import urllib.parse

from wechatpy.exceptions import WeChatClientException

from integrations.wechat import WeChatAdapter, WeChatMiniProgram, WeChatTransportError, _describe, _failure
from models.ports import Channel, ChannelCallFailed, ChannelLogin, Failure, VerifiedPhone

log = logging.getLogger("citygate.wechat")

TICKET_CACHE_PREFIX = "cg:wx:jsapi-ticket:"
AUTHORIZE_BASE_URL = "https://open.weixin.qq.com"


def authorize_url(channel: Channel, redirect_uri: str, scope: str, state: str) -> str:
    """Where the browser goes to consent: the official account's web authorisation page."""
    base = (channel.public.get("authorize_base_url") or AUTHORIZE_BASE_URL).rstrip("/")
    query = urllib.parse.urlencode({"appid": channel.app_id, "redirect_uri": redirect_uri,
                                    "response_type": "code", "scope": scope, "state": state})
    return f"{base}/connect/oauth2/authorize?{query}#wechat_redirect"


class WeChatOfficialAccount(WeChatMiniProgram):
    """The server API of one official account (one channel): web authorisation and JS-SDK tickets."""

    async def oauth_login(self, code: str) -> ChannelLogin:
        """sns/oauth2/access_token (and sns/userinfo for snsapi_userinfo): a web code → openid, unionid."""
        try:
            token = await self._send_with_secret(lambda client: client.get("oauth2/access_token", params={
                "appid": self.channel.app_id, "secret": client.secret, "code": code,
                "grant_type": "authorization_code"}, api_base_url=self.base + "sns/"))
            openid, unionid = token.get("openid"), token.get("unionid")
            if openid and not unionid and "snsapi_userinfo" in str(token.get("scope", "")):
                info = await self._send(self._client.get("userinfo", params={
                    "access_token": None, "openid": openid, "lang": "zh_CN"}, api_base_url=self.base + "sns/"),
                    access_token=str(token.get("access_token") or ""))
                unionid = info.get("unionid")
        except (WeChatClientException, WeChatTransportError) as exc:
            log.warning("wechat web authorisation failed for account %s: %s", self.channel.app_id, _describe(exc))
            raise _failure(exc) from None
        if not openid:
            raise ChannelCallFailed(Failure.INCOMPLETE, "oauth2/access_token lacks openid")
        return ChannelLogin(self.channel.app_id, openid=str(openid), unionid=str(unionid) if unionid else None)

    async def jsapi_ticket(self) -> str:
        """The account's jsapi_ticket, cached in Redis for every worker until five minutes before it lapses."""
        redis = self.services.redis
        key = TICKET_CACHE_PREFIX + self.channel.app_id
        cached = await redis.get(key)
        if cached:
            return cached.decode() if isinstance(cached, bytes) else str(cached)
        try:
            answer = await self._send_with_token(self._client.get("ticket/getticket", params={"type": "jsapi"}))
        except (WeChatClientException, WeChatTransportError) as exc:
            log.warning("wechat getticket failed for account %s: %s", self.channel.app_id, _describe(exc))
            raise _failure(exc) from None
        ticket = str(answer.get("ticket") or "")
        if not ticket:
            raise ChannelCallFailed(Failure.INCOMPLETE, "getticket lacks ticket")
        await redis.set(key, ticket, ex=max(60, int(answer.get("expires_in", 7200)) - 300))
        return ticket


class WeChatOfficialAccountAdapter(WeChatAdapter):
    """The domain's IdentityProvider (web codes), ChannelCredentials and JS-SDK tickets for official accounts."""

    def client(self, channel: Channel) -> WeChatOfficialAccount:
        return WeChatOfficialAccount(self.services, channel)

    async def login(self, channel: Channel, code: str) -> ChannelLogin:
        return await self.client(channel).oauth_login(code)

    async def phone_number(self, channel: Channel, code: str) -> VerifiedPhone:
        raise NotImplementedError("official accounts have no phone codes")

    def authorize_url(self, channel: Channel, redirect_uri: str, scope: str, state: str) -> str:
        return authorize_url(channel, redirect_uri, scope, state)

    async def jsapi_ticket(self, channel: Channel) -> str:
        return await self.client(channel).jsapi_ticket()
