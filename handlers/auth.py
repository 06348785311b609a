"""Citizen sessions: log in through a WeChat or Alipay mini-program, refresh, log out."""

from __future__ import annotations

from typing import Annotated

import msgspec

from handlers.base import BaseHandler, citizen_required
from handlers.contract import Answer, Body, declare
from handlers.me import CitizenView
from models import citizens, tokens


# ---- the contract ---------------------------------------------------------------------------------
class WeChatLogin(Body):
    code: Annotated[str, msgspec.Meta(description="the code from wx.login (valid once, for five minutes)")]
    app_id: Annotated[str, msgspec.Meta(description="the mini-program's AppID")]


class AlipayLogin(Body):
    auth_code: Annotated[str, msgspec.Meta(description="the authCode from my.getAuthCode")]
    app_id: Annotated[str, msgspec.Meta(description="the mini-program's APPID")]


class TokenRefresh(Body):
    # null stays the refresh_token_invalid 401 it always was, not a field error.
    refresh_token: Annotated[str | None, msgspec.Meta(description="the refresh token of the newest pair")]


class Logout(Body):
    refresh_token: Annotated[str | None, msgspec.Meta(
        description="this session's refresh token, so a session the access token does not name ends too")] = None
    everywhere: Annotated[bool, msgspec.Meta(description="end every session of this citizen")] = False


class IssuedTokens(Answer):
    """A token pair: send `Authorization: Bearer <access_token>`; exchange the refresh token before it expires."""

    access_token: str
    token_type: str
    expires_in: Annotated[int, msgspec.Meta(description="seconds")]
    refresh_token: str
    refresh_expires_in: Annotated[int, msgspec.Meta(description="seconds")]


class CitizenSession(IssuedTokens, kw_only=True):
    """A new session: the token pair and the citizen it belongs to."""

    new_citizen: Annotated[bool, msgspec.Meta(description="this login created the citizen")]
    citizen: CitizenView


class LoggedOut(Answer):
    logged_out: bool
    revoked_sessions: int


LOGIN_ERRORS = {401: "The login code is invalid, used or expired", 403: "The channel blocked this user",
                429: "Too many login attempts", 502: "The channel answered with an error or an unverifiable answer",
                503: "The channel is unavailable (see Retry-After)"}


class WeChatLoginHandler(BaseHandler):
    """WeChat mini-program login: {code, app_id} from wx.login → access and refresh tokens."""

    @declare(body=WeChatLogin, answer=CitizenSession, errors=LOGIN_ERRORS,
             example={"code": "0a3Xk2000abcdEFG1234hijk5678lmnop", "app_id": "wx1234567890abcdef"})
    async def post(self) -> None:
        body = self.json_body()
        self.write_json(await citizens.login_wechat(self.ctx, body.get("app_id"), body.get("code"),
                                                    self.request.remote_ip or ""))


class AlipayLoginHandler(BaseHandler):
    """Alipay mini-program login: {auth_code, app_id} from my.getAuthCode → access and refresh tokens."""

    @declare(body=AlipayLogin, answer=CitizenSession, errors=LOGIN_ERRORS,
             example={"auth_code": "4b203fe6c11548bcabd8da5bb087a83b", "app_id": "2021000000000001"})
    async def post(self) -> None:
        body = self.json_body()
        self.write_json(await citizens.login_alipay(self.ctx, body.get("app_id"), body.get("auth_code"),
                                                    self.request.remote_ip or ""))


class RefreshHandler(BaseHandler):
    """Rotate a refresh token: {refresh_token} → a new token pair; reusing an old one revokes the session."""

    @declare(body=TokenRefresh, answer=IssuedTokens,
             errors={401: "The refresh token is invalid, expired, reused (the session is revoked) or its session ended"},
             example={"refresh_token": "rt_9f1c2e..."})
    async def post(self) -> None:
        body = self.json_body()
        pair = await tokens.rotate_refresh_token(self.ctx, body.get("refresh_token"))
        self.write_json(pair.to_json())


class LogoutHandler(BaseHandler):
    """Log out: end this session (or every session with {"everywhere": true}); effective at once."""

    @citizen_required
    @declare(body=Logout, body_required=False, answer=LoggedOut, example={"everywhere": True})
    async def post(self) -> None:
        body = self.json_body()
        refresh = body.get("refresh_token") if isinstance(body.get("refresh_token"), str) else None
        assert self.principal is not None
        revoked = await tokens.logout(self.ctx, self.principal, self.access_token, refresh,
                                      everywhere=body.get("everywhere") is True)
        self.write_json({"logged_out": True, "revoked_sessions": revoked["sessions"]})


routes = [
    (r"/api/v1/auth/wechat/login", WeChatLoginHandler),
    (r"/api/v1/auth/alipay/login", AlipayLoginHandler),
    (r"/api/v1/auth/refresh", RefreshHandler),
    (r"/api/v1/auth/logout", LogoutHandler),
]
