"""Operator login and logout."""

from __future__ import annotations

from handlers.base import BaseHandler, own_account
from models import operators, ratelimit, tokens
from models.errors import FieldError, ValidationFailed
from models.operators import sessions


class OperatorLoginHandler(BaseHandler):
    """Operator login {username, password, totp?, recovery_code?} → bearer token of a new session."""

    async def post(self) -> None:
        body = self.json_body()
        username, password = body.get("username"), body.get("password")
        missing = [FieldError(name, "required", f"{name} 为必填项", f"{name} is required")
                   for name, value in (("username", username), ("password", password))
                   if not isinstance(value, str) or not value or len(value) > 256]
        if missing:
            raise ValidationFailed(errors=missing)
        await ratelimit.enforce(self.ctx.redis, f"op-login:{self.request.remote_ip}", 10, 60,
                                "login_rate_limited", "登录尝试过于频繁，请稍后再试", "Too many login attempts")
        self.write_json(await operators.login(
            self.ctx, username, password, totp_code=body.get("totp"), recovery_code=body.get("recovery_code"),
            ip=self.request.remote_ip or "", user_agent=self.header("User-Agent")))


class OperatorLogoutHandler(BaseHandler):
    """End the session you are calling from."""

    @own_account
    async def post(self) -> None:
        """Log out: this session's token stops working."""
        if self.principal.family_id:
            await sessions.revoke(self.ctx, self.principal.subject_id, self.principal.family_id, "logout")
        else:  # a token issued without a session (scripts, tests)
            await tokens.revoke_access_token(self.ctx, self.access_token)
        self.set_status(204)
        self.finish()


routes = [(r"/admin/v1/auth/login", OperatorLoginHandler), (r"/admin/v1/auth/logout", OperatorLogoutHandler)]
