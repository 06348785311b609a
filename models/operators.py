"""Operators (工作人员): console users. A minimal admin account until the console issue lands."""

from __future__ import annotations

import hashlib
import hmac
import os

from pymongo.asynchronous.database import AsyncDatabase

from models import access, tokens
from models.errors import Unauthorized
from models.tokens import Principal


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    candidate = hash_password(password, bytes.fromhex(salt_hex)).split("$")[2]
    return hmac.compare_digest(candidate, digest_hex)


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.operators.create_index("username", unique=True)


async def upsert_operator(db: AsyncDatabase, username: str, password: str, roles: list[str],
                          department: str = "", name: str = "", region_code: str = "") -> None:
    await db.operators.update_one(
        {"username": username},
        {"$set": {"password_hash": hash_password(password), "roles": roles, "department": department,
                  "region_code": region_code, "name": name or username, "active": True}},
        upsert=True,
    )


async def load_demo(ctx) -> None:  # noqa: ANN001 - AppContext
    """The sandbox admin, with the password from CITYGATE_ADMIN_PASSWORD."""
    await upsert_operator(ctx.db, "admin", ctx.settings.admin_password, [access.PLATFORM_ADMIN], name="系统管理员")


async def login(ctx, username: str, password: str) -> dict:  # noqa: ANN001
    """Check an operator's password and issue an access token."""
    operator = await ctx.db.operators.find_one({"username": username, "active": True})
    # Hash even for unknown names so response time does not reveal which usernames exist.
    stored = operator["password_hash"] if operator else hash_password("x")
    if not verify_password(password, stored) or operator is None:
        raise Unauthorized("operator_login_failed", "用户名或密码错误", "Wrong username or password")
    principal = Principal("operator", str(operator["_id"]), tuple(operator.get("roles", ())),
                          department=operator.get("department", ""), region_code=operator.get("region_code", ""))
    ttl = ctx.settings.access_token_ttl_seconds * 8  # a working day at the desk
    token = await tokens.issue_access_token(ctx.redis, principal, ttl)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl,
            "operator": {"username": username, "roles": list(principal.roles), "department": principal.department,
                         "region_code": principal.region_code}}
