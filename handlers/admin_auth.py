"""Operator login (logging out is ending one's session: handlers/admin_operators.py)."""

from __future__ import annotations

from handlers.admin_operators import OperatorView
from handlers.base import BaseHandler
from handlers.contract import Answer, Body, declare
from models import operators, ratelimit
from models.errors import FieldError, ValidationFailed


# ---- the contract ---------------------------------------------------------------------------------
class OperatorCredentials(Body):
    """Username and password (both required, at most 256 characters), and the second factor when enrolled.

    `username` and `password` are optional here only so that a login missing both names both at once.
    """

    username: str | None = None
    password: str | None = None
    totp: str | None = None
    recovery_code: str | None = None


class LoggedInOperator(OperatorView, kw_only=True):
    """The account that logged in (never its password hash or TOTP secret), and the factor it proved."""

    second_factor: str


class OperatorSessionToken(Answer):
    """A bearer token for a new console session (ends after `expires_in` seconds)."""

    access_token: str
    token_type: str
    expires_in: int
    session_id: str
    operator: LoggedInOperator


class OperatorLoginHandler(BaseHandler):
    """Operator login {username, password, totp?, recovery_code?} → bearer token of a new session."""

    @declare(body=OperatorCredentials, answer=OperatorSessionToken,
             errors={401: "Wrong username or password, or the second factor is missing (`totp_required`) or wrong",
                     429: "Too many login attempts, or the account is locked for a while (see Retry-After)"},
             example={"username": "zhang.wei", "password": "correct horse battery staple", "totp": "123456"})
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
