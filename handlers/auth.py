"""Citizen sessions: log in through a WeChat or Alipay mini-program, refresh, log out."""

from __future__ import annotations

from handlers.base import BaseHandler, citizen_required
from models import citizens, tokens


class WeChatLoginHandler(BaseHandler):
    """WeChat mini-program login: {code, app_id} from wx.login → access and refresh tokens."""

    async def post(self) -> None:
        body = self.json_body()
        self.write_json(await citizens.login_wechat(self.ctx, body.get("app_id"), body.get("code"),
                                                    self.request.remote_ip or ""))


class AlipayLoginHandler(BaseHandler):
    """Alipay mini-program login: {auth_code, app_id} from my.getAuthCode → access and refresh tokens."""

    async def post(self) -> None:
        body = self.json_body()
        self.write_json(await citizens.login_alipay(self.ctx, body.get("app_id"), body.get("auth_code"),
                                                    self.request.remote_ip or ""))


class RefreshHandler(BaseHandler):
    """Rotate a refresh token: {refresh_token} → a new token pair; reusing an old one revokes the session."""

    async def post(self) -> None:
        body = self.json_body()
        pair = await tokens.rotate_refresh_token(self.ctx, body.get("refresh_token"))
        self.write_json(pair.to_json())


class LogoutHandler(BaseHandler):
    """Log out: end this session (or every session with {"everywhere": true}); effective at once."""

    @citizen_required
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
