"""Operator login (logging out is ending one's session: handlers/admin_operators.py)."""

from __future__ import annotations

from handlers.base import BaseHandler
from models import operators, ratelimit
from models.errors import FieldError, ValidationFailed


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


routes = [(r"/admin/v1/auth/login", OperatorLoginHandler)]
