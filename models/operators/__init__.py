"""Operators (工作人员): the console's user accounts.

`accounts` (create, change, disable, who may manage whom, login), `passwords` (argon2id, the policy),
`lockout` (back-off after failed logins), `totp` (second factor and recovery codes), `sessions`
(each login, listed and revocable).
"""

from models.operators.accounts import (
    DEMO_USERNAME,
    ensure_indexes,
    load_demo,
    login,
    upsert_operator,
)

__all__ = ["DEMO_USERNAME", "ensure_indexes", "load_demo", "login", "upsert_operator"]
