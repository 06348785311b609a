"""Operator accounts: managed within the caller's scope (`/admin/v1/operators`), and one's own (`/admin/v1/me`).

Permissions (models.access): operators.read to see accounts and their sessions, operators.manage to
create, change, disable them, end their sessions, reset their second factor or lift a lockout.
Every operator manages their own password, sessions and TOTP (`access.OWN_ACCOUNT`); logging out is
ending one's own session (`DELETE /admin/v1/me/sessions/{session_id}`, the id the login returned).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from handlers.base import BaseHandler, requires
from handlers.contract import Answer, Body, Page, PageQuery, Timestamp, declare
from models import access
from models.operators import accounts, sessions, totp

# ---- the contract ---------------------------------------------------------------------------------
Role = Annotated[str, msgspec.Meta(description="platform_admin, region_admin, department_operator, finance, "
                                               "hall_staff, channel_manager or auditor")]


class OperatorChange(Body):
    """Fields of an account to change; a change of roles, scope, status or password ends its sessions."""

    name: str | None = None
    password: str | None = None
    roles: list[Role] | None = None
    region_code: str | None = None
    department: str | None = None
    active: bool | None = None


class NewOperator(OperatorChange, kw_only=True):
    username: str
    password: str | None = None


class OperatorView(Answer):
    """An account as the API shows it: never a password hash, TOTP secret or recovery code."""

    id: str
    username: str
    name: str
    roles: list[str]
    region_code: str
    department: str
    active: bool
    totp_enabled: bool
    recovery_codes_left: int
    demo: bool
    created_at: Timestamp | None
    updated_at: Timestamp | None
    password_changed_at: Timestamp | None
    last_login_at: Timestamp | None


class MyAccount(OperatorView, kw_only=True):
    session_id: str | None


class OperatorSession(Answer):
    id: str
    started_at: Timestamp
    expires_at: Timestamp
    ip: str
    user_agent: str
    second_factor: str
    current: bool


class OperatorSessions(Answer):
    items: list[OperatorSession]
    total: int


class PasswordChange(Body):
    current_password: str | None = None
    new_password: str | None = None


class TotpCode(Body):
    code: str | None = None
    recovery_code: str | None = None


class TotpEnrolment(Answer):
    """The secret and otpauth URI, shown once: add them to an authenticator app, then confirm."""

    secret: str
    otpauth_uri: str
    confirmed: bool


class TotpConfirmed(Answer):
    enabled: bool
    recovery_codes: list[str]


SCOPE_CONFLICTS = {409: "Username taken, a change of one's own authority, or the demo admin"}


class OperatorsHandler(BaseHandler):
    """List the accounts within your scope, or create one {username, password, name, roles, region_code, department}."""

    @requires(access.OPERATORS_READ)
    @declare(query=PageQuery, answer=Page[OperatorView])
    async def get(self) -> None:
        """Accounts within your region and department, oldest first (never a password hash or TOTP secret)."""
        self.write_json(await accounts.list_operators(self.ctx, self.scope, page=self.query.page,
                                                      page_size=self.query.page_size))

    @requires(access.OPERATORS_MANAGE)
    @declare(body=NewOperator, answer=OperatorView, status=201, errors=SCOPE_CONFLICTS,
             example={"username": "zhang.wei", "password": "a long passphrase 2026", "name": "张伟",
                      "roles": ["department_operator"], "region_code": "110101", "department": "公安局"})
    async def post(self) -> None:
        """Create an account inside your scope with roles you may grant; the password must meet the policy."""
        self.write_json(await accounts.create_operator(self.ctx, self.scope, self.principal.roles, self.json_body()), 201)


class OperatorHandler(BaseHandler):
    """One account: read, change {name, password, roles, region_code, department, active}, or disable (DELETE)."""

    path_params = ("id",)

    @requires(access.OPERATORS_READ)
    @declare(answer=OperatorView)
    async def get(self, operator_id: str) -> None:
        """The account."""
        self.write_json(await accounts.get_operator(self.ctx, self.scope, operator_id))

    @requires(access.OPERATORS_MANAGE)
    @declare(body=OperatorChange, answer=OperatorView, errors=SCOPE_CONFLICTS)
    async def patch(self, operator_id: str) -> None:
        """Change some fields; a change of roles, scope, status or password ends the account's sessions."""
        self.write_json(await accounts.update_operator(self.ctx, self.scope, self.principal.roles, operator_id,
                                                       self.json_body()))

    @requires(access.OPERATORS_MANAGE)
    @declare(answer=OperatorView, errors=SCOPE_CONFLICTS)
    async def delete(self, operator_id: str) -> None:
        """Disable the account (it is kept for the audit log) and end its sessions."""
        self.write_json(await accounts.disable_operator(self.ctx, self.scope, self.principal.roles, operator_id))


class OperatorSessionsHandler(BaseHandler):
    """An account's live sessions: when each began, from which address and client."""

    path_params = ("id",)

    @requires(access.OPERATORS_READ)
    @declare(answer=OperatorSessions)
    async def get(self, operator_id: str) -> None:
        """Live sessions, newest first."""
        self.write_json(await accounts.operator_sessions(self.ctx, self.scope, operator_id))


class OperatorSessionHandler(BaseHandler):
    """End one session of an account."""

    path_params = ("id", "session_id")

    @requires(access.OPERATORS_MANAGE)
    @declare(answer=None, status=204)
    async def delete(self, operator_id: str, session_id: str) -> None:
        """Revoke the session: its token stops working at once."""
        await accounts.revoke_operator_session(self.ctx, self.scope, self.principal.roles, operator_id, session_id)
        self.set_status(204)
        self.finish()


class OperatorTotpHandler(BaseHandler):
    """Remove an account's TOTP second factor (a lost phone without recovery codes)."""

    path_params = ("id",)

    @requires(access.OPERATORS_MANAGE)
    @declare(answer=OperatorView)
    async def delete(self, operator_id: str) -> None:
        """Remove TOTP and recovery codes; the account's sessions end."""
        self.write_json(await accounts.reset_second_factor(self.ctx, self.scope, self.principal.roles, operator_id))


class OperatorLockHandler(BaseHandler):
    """Lift an account's login lockout before it ends."""

    path_params = ("id",)

    @requires(access.OPERATORS_MANAGE)
    @declare(answer=None, status=204)
    async def delete(self, operator_id: str) -> None:
        """Unlock."""
        await accounts.unlock(self.ctx, self.scope, self.principal.roles, operator_id)
        self.set_status(204)
        self.finish()


class MeHandler(BaseHandler):
    """Your own account."""

    @requires(access.OWN_ACCOUNT)
    @declare(answer=MyAccount)
    async def get(self) -> None:
        """Your account, with the session you are calling from."""
        doc = await accounts.own_account(self.ctx, self.principal.subject_id)
        self.write_json({**accounts.view(doc), "session_id": self.principal.family_id})


class MyPasswordHandler(BaseHandler):
    """Change your password {current_password, new_password}; your other sessions end."""

    @requires(access.OWN_ACCOUNT)
    @declare(body=PasswordChange, answer=None, status=204)
    async def post(self) -> None:
        """Change the password (the policy applies)."""
        body = self.json_body()
        await accounts.change_own_password(self.ctx, self.principal.subject_id, self.principal.family_id,
                                           body.get("current_password"), body.get("new_password"))
        self.set_status(204)
        self.finish()


class MySessionsHandler(BaseHandler):
    """Your live sessions (`current` marks the one you are calling from)."""

    @requires(access.OWN_ACCOUNT)
    @declare(answer=OperatorSessions)
    async def get(self) -> None:
        """Live sessions, newest first."""
        items = await sessions.live(self.ctx, self.principal.subject_id, self.principal.family_id)
        self.write_json({"items": items, "total": len(items)})


class MySessionHandler(BaseHandler):
    """End one of your sessions; ending the one you call from (the login's `session_id`) is logging out."""

    path_params = ("session_id",)

    @requires(access.OWN_ACCOUNT)
    @declare(answer=None, status=204)
    async def delete(self, session_id: str) -> None:
        """Revoke the session."""
        await sessions.revoke(self.ctx, self.principal.subject_id, session_id, "revoked_by_owner")
        self.set_status(204)
        self.finish()


class MyTotpHandler(BaseHandler):
    """Your TOTP second factor: start enrolment (POST: the secret and otpauth URI, shown once) or turn it off (DELETE {code})."""

    @requires(access.OWN_ACCOUNT)
    @declare(answer=TotpEnrolment, status=201, errors={409: "TOTP is already on"})
    async def post(self) -> None:
        """Start enrolment: add the secret to an authenticator app, then confirm with a code."""
        doc = await accounts.own_account(self.ctx, self.principal.subject_id)
        self.write_json(await totp.enrol(self.ctx, doc), 201)

    @requires(access.OWN_ACCOUNT)
    @declare(body=TotpCode, answer=None, status=204, errors={409: "TOTP is not on"})
    async def delete(self) -> None:
        """Turn TOTP off, proven by a current code {code} or a recovery code {recovery_code}."""
        body = self.json_body()
        doc = await accounts.own_account(self.ctx, self.principal.subject_id)
        await totp.disable(self.ctx, doc, body.get("code"), body.get("recovery_code"))
        self.set_status(204)
        self.finish()


class MyTotpConfirmHandler(BaseHandler):
    """Confirm TOTP enrolment with a code {code}: TOTP is on, and ten recovery codes are shown once."""

    @requires(access.OWN_ACCOUNT)
    @declare(body=TotpCode, answer=TotpConfirmed, errors={409: "TOTP is already on, or no enrolment was started"})
    async def post(self) -> None:
        """Confirm; the answer holds the recovery codes (store them: they are not shown again)."""
        doc = await accounts.own_account(self.ctx, self.principal.subject_id)
        self.write_json(await totp.confirm(self.ctx, doc, self.json_body().get("code")))


routes = [
    (r"/admin/v1/operators", OperatorsHandler),
    (r"/admin/v1/operators/([^/]+)", OperatorHandler),
    (r"/admin/v1/operators/([^/]+)/sessions", OperatorSessionsHandler),
    (r"/admin/v1/operators/([^/]+)/sessions/([^/]+)", OperatorSessionHandler),
    (r"/admin/v1/operators/([^/]+)/totp", OperatorTotpHandler),
    (r"/admin/v1/operators/([^/]+)/lock", OperatorLockHandler),
    (r"/admin/v1/me", MeHandler),
    (r"/admin/v1/me/password", MyPasswordHandler),
    (r"/admin/v1/me/sessions", MySessionsHandler),
    (r"/admin/v1/me/sessions/([^/]+)", MySessionHandler),
    (r"/admin/v1/me/totp", MyTotpHandler),
    (r"/admin/v1/me/totp/confirm", MyTotpConfirmHandler),
]
