"""Operator accounts (工作人员账号): create, read, change, disable; login with lockout and TOTP.

Who may manage whom: an operator manager (operators.manage) sees and changes only operators within
their scope (region and everything under it, and their department when they have one), creates
operators only inside it, and grants only roles they could hold themselves: a role whose
permissions they all have, and never a platform role (`access.PLATFORM_ROLES`) unless they are a
platform administrator. An operator holding a role the manager could not grant is not theirs to
change. Nobody changes their own roles, scope or status here (nor locks the platform out by it), and
the demo `admin` stays for the sandbox.

Every change to what an account may do (disabled, roles, region, department, a password reset) ends
all its sessions at once: tokens carry the roles and scope they were issued with.
"""

from __future__ import annotations

import re
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models import access, tokens
from models.core.context import Context
from models.core.pagination import page_of
from models.errors import Conflict, FieldError, Forbidden, NotFound, Unauthorized, ValidationFailed
from models.operators import lockout, passwords, sessions, totp
from models.tokens import Principal

DEMO_USERNAME = "admin"
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,31}", re.ASCII)
DEPARTMENT = re.compile(r"[A-Za-z0-9_-]{1,32}", re.ASCII)
REGION_CODE = re.compile(r"[0-9]{6}", re.ASCII)
SESSION_HOURS = 8  # a working day at the desk: access tokens of `access_token_ttl_seconds * 8`

# A change to any of these ends the account's sessions (its tokens carry the old values).
_AUTHORITY_FIELDS = ("roles", "region_code", "department", "active")


# ---- persistence -------------------------------------------------------------------------------

async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.operators.create_index("username", unique=True)
    await sessions.ensure_indexes(db)


async def upsert_operator(db: AsyncDatabase, username: str, password: str, roles: list[str],
                          department: str = "", name: str = "", region_code: str = "", *, demo: bool = False) -> None:
    """Create or reset an account as given (demo data, tests, scripts: no policy, no scope checks)."""
    await db.operators.update_one(
        {"username": username},
        {"$set": {"password_hash": await passwords.hash_password(password), "roles": roles, "department": department,
                  "region_code": region_code, "name": name or username, "active": True, "demo": demo},
         "$inc": {"version": 1}},
        upsert=True,
    )


async def load_demo(ctx: Context) -> None:
    """The sandbox admin, with the password from CITYGATE_ADMIN_PASSWORD."""
    await upsert_operator(ctx.db, DEMO_USERNAME, ctx.settings.admin_password, [access.PLATFORM_ADMIN], name="系统管理员",
                          demo=True)


def view(doc: dict[str, Any]) -> dict[str, Any]:
    """An account as the API shows it: never a password hash, a TOTP secret or recovery code digests."""
    return {
        "id": str(doc["_id"]), "username": doc["username"], "name": doc.get("name") or doc["username"],
        "roles": list(doc.get("roles", ())), "region_code": doc.get("region_code", ""),
        "department": doc.get("department", ""), "active": bool(doc.get("active", False)),
        "totp_enabled": bool(doc.get("totp_secret")), "recovery_codes_left": totp.recovery_codes_left(doc),
        "demo": bool(doc.get("demo")),
        "created_at": doc.get("created_at"), "updated_at": doc.get("updated_at"),
        "password_changed_at": doc.get("password_changed_at"), "last_login_at": doc.get("last_login_at"),
    }


def _not_found() -> NotFound:
    return NotFound("operator_not_found", "未找到该工作人员账号", "No such operator")


async def _load(ctx: Context, operator_id: str) -> dict[str, Any]:
    if not isinstance(operator_id, str) or not ObjectId.is_valid(operator_id):
        raise _not_found()
    doc = await ctx.db.operators.find_one({"_id": ObjectId(operator_id)})
    if doc is None:
        raise _not_found()
    return doc


async def own_account(ctx: Context, operator_id: str) -> dict[str, Any]:
    """The caller's own account document (401 when it is gone or disabled: the token outlived it)."""
    try:
        doc = await _load(ctx, operator_id)
    except NotFound:
        doc = None
    if doc is None or not doc.get("active"):
        raise Unauthorized("operator_unauthorized", "请先以工作人员身份登录", "Operator login required")
    return doc


# ---- who may manage whom -----------------------------------------------------------------------

def grantable_roles(caller_roles: tuple[str, ...] | list[str]) -> frozenset[str]:
    """The roles an operator holding `caller_roles` may give: each within their own permissions, and
    platform roles only by a platform administrator."""
    held: set[str] = set()
    for role in caller_roles:
        held |= access.ROLES.get(role, frozenset())
    platform = access.PLATFORM_ADMIN in caller_roles
    return frozenset(role for role, granted in access.ROLES.items()
                     if granted <= held and (platform or role not in access.PLATFORM_ROLES))


def _require_manageable(scope: access.OperatorScope, caller_roles: tuple[str, ...], doc: dict[str, Any]) -> None:
    scope.require(doc.get("department", ""), doc.get("region_code", ""))
    beyond = sorted(set(doc.get("roles", ())) - grantable_roles(caller_roles))
    if beyond:
        raise Forbidden("operator_not_manageable", "该账号拥有您无权授予的角色，不能由您修改",
                        "This operator holds roles you may not grant, so you may not change them",
                        extra={"roles": beyond})


def _require_grantable(caller_roles: tuple[str, ...], roles: list[str]) -> None:
    beyond = sorted(set(roles) - grantable_roles(caller_roles))
    if beyond:
        raise Forbidden("role_not_grantable", "无权授予这些角色：" + "、".join(beyond),
                        "You may not grant these roles: " + ", ".join(beyond), extra={"roles": beyond})


# ---- input -------------------------------------------------------------------------------------

def _error(field: str, code: str, zh: str, en: str) -> FieldError:
    return FieldError(field, code, zh, en)


_FIELDS = ("username", "password", "name", "roles", "region_code", "department", "active")


def parse_operator(body: dict[str, Any], *, creating: bool, username: str = "") -> dict[str, Any]:
    """Validated account fields from a manager's body; ValidationFailed names each bad field."""
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    for name in body:
        if name not in _FIELDS:
            errors.append(_error(name, "unknown_field", f"不支持的字段 {name}", f"Unknown field {name}"))
    if creating:
        username = body.get("username")
        if not isinstance(username, str) or not USERNAME.fullmatch(username):
            errors.append(_error("username", "invalid", "用户名应为 3 到 32 位小写字母、数字、点、下划线或连字符，以字母或数字开头",
                                 "username must be 3 to 32 lower-case letters, digits, '.', '_' or '-', "
                                 "starting with a letter or digit"))
            username = ""
        out["username"] = username
    elif "username" in body:
        errors.append(_error("username", "immutable", "用户名创建后不能修改", "username cannot change"))
    if creating or "password" in body:
        errors += passwords.policy_errors(body.get("password"), username or "")
        out["password"] = body.get("password")
    if creating or "name" in body:
        name = body.get("name", username if creating else None)
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 64:
            errors.append(_error("name", "invalid", "姓名应为 1 到 64 个字符", "name must have 1 to 64 characters"))
        else:
            out["name"] = name.strip()
    if creating or "roles" in body:
        roles = body.get("roles")
        if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
            errors.append(_error("roles", "invalid", "roles 应为非空的角色名称列表", "roles must be a non-empty list of role names"))
        elif access.unknown_roles(roles):
            unknown = access.unknown_roles(roles)
            errors.append(_error("roles", "unknown_role", "未知角色：" + "、".join(unknown),
                                 "Unknown roles: " + ", ".join(unknown) + " (known: " + ", ".join(access.ROLES) + ")"))
        else:
            out["roles"] = sorted(set(roles), key=list(access.ROLES).index)
    if creating or "region_code" in body:
        region = body.get("region_code", "")
        if not isinstance(region, str) or (region and not REGION_CODE.fullmatch(region)):
            errors.append(_error("region_code", "invalid", "region_code 应为 6 位行政区划代码（留空表示全部地区）",
                                 "region_code must be a 6-digit region code (empty: every region)"))
        else:
            out["region_code"] = region
    if creating or "department" in body:
        department = body.get("department", "")
        if not isinstance(department, str) or (department and not DEPARTMENT.fullmatch(department)):
            errors.append(_error("department", "invalid", "department 应为部门编码（留空表示全部部门）",
                                 "department must be a department code (empty: every department)"))
        else:
            out["department"] = department
    if "active" in body:
        if not isinstance(body["active"], bool):
            errors.append(_error("active", "invalid", "active 应为 true 或 false", "active must be true or false"))
        elif creating and not body["active"]:
            out["active"] = False
        elif not creating:
            out["active"] = body["active"]
    if errors:
        raise ValidationFailed(errors=errors)
    return out


# ---- managing accounts -------------------------------------------------------------------------

async def list_operators(ctx: Context, scope: access.OperatorScope, *, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """The accounts within the caller's scope, oldest first."""
    return await page_of(ctx.db.operators, scope.filter(), [("_id", 1)], page, page_size, view)


async def get_operator(ctx: Context, scope: access.OperatorScope, operator_id: str) -> dict[str, Any]:
    doc = await _load(ctx, operator_id)
    scope.require(doc.get("department", ""), doc.get("region_code", ""))
    return view(doc)


async def create_operator(ctx: Context, scope: access.OperatorScope, caller_roles: tuple[str, ...],
                          body: dict[str, Any]) -> dict[str, Any]:
    """A new account inside the caller's scope with roles they may grant; 409 operator_exists."""
    fields = parse_operator(body, creating=True)
    scope.require(fields["department"], fields["region_code"])
    _require_grantable(caller_roles, fields["roles"])
    now = ctx.clock()
    doc = {
        "_id": ObjectId(), "username": fields["username"], "name": fields["name"],
        "password_hash": await passwords.hash_password(fields["password"]), "roles": fields["roles"],
        "region_code": fields["region_code"], "department": fields["department"],
        "active": fields.get("active", True), "version": 1, "created_at": now, "updated_at": now,
        "created_by": scope.operator_id, "password_changed_at": now,
    }
    try:
        await ctx.db.operators.insert_one(doc)
    except DuplicateKeyError:
        raise Conflict("operator_exists", "该用户名已被使用", "This username is taken") from None
    return view(doc)


async def update_operator(ctx: Context, scope: access.OperatorScope, caller_roles: tuple[str, ...],
                          operator_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Change some of an account's fields; changing what it may do (or its password) logs it out everywhere."""
    doc = await _load(ctx, operator_id)
    _require_manageable(scope, caller_roles, doc)
    fields = parse_operator(body, creating=False, username=doc["username"])
    changed = {name for name in _AUTHORITY_FIELDS if name in fields and fields[name] != doc.get(name)}
    if str(doc["_id"]) == scope.operator_id and (changed or "password" in fields):
        raise Conflict("operator_self_change", "不能修改自己的角色、范围或状态；修改密码请使用 /admin/v1/me/password",
                       "You may not change your own roles, scope or status; change your password at /admin/v1/me/password")
    if doc.get("demo") and changed:
        raise Conflict("operator_demo", "演示管理员账号保留给沙箱使用，不能停用或修改权限",
                       "The demo admin stays for the sandbox; its roles, scope and status cannot change")
    scope.require(fields.get("department", doc.get("department", "")), fields.get("region_code", doc.get("region_code", "")))
    if "roles" in fields:
        _require_grantable(caller_roles, fields["roles"])
    now = ctx.clock()
    update: dict[str, Any] = {name: fields[name] for name in ("name", *_AUTHORITY_FIELDS) if name in fields}
    update["updated_at"] = now
    if "password" in fields:
        update["password_hash"] = await passwords.hash_password(fields["password"])
        update["password_changed_at"] = now
    after = await ctx.db.operators.find_one_and_update(
        {"_id": doc["_id"], "version": doc.get("version", 0)}, {"$set": update, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER)
    if after is None:
        raise Conflict("operator_changed", "该账号刚被他人修改，请刷新后重试", "Someone else just changed this account; reload and retry")
    if changed or "password" in fields:
        reason = "disabled" if fields.get("active") is False else "password_reset" if not changed else "authority_changed"
        await sessions.revoke_all(ctx, str(doc["_id"]), reason)
    return view(after)


async def disable_operator(ctx: Context, scope: access.OperatorScope, caller_roles: tuple[str, ...],
                           operator_id: str) -> dict[str, Any]:
    """Disable an account (accounts are never deleted: the audit log names them) and log it out."""
    return await update_operator(ctx, scope, caller_roles, operator_id, {"active": False})


async def reset_second_factor(ctx: Context, scope: access.OperatorScope, caller_roles: tuple[str, ...],
                              operator_id: str) -> dict[str, Any]:
    """Remove an operator's TOTP (a lost phone and no recovery codes left) and end their sessions."""
    doc = await _load(ctx, operator_id)
    _require_manageable(scope, caller_roles, doc)
    await totp.clear(ctx, doc["_id"])
    await sessions.revoke_all(ctx, str(doc["_id"]), "totp_reset")
    return view(await _load(ctx, operator_id))


async def unlock(ctx: Context, scope: access.OperatorScope, caller_roles: tuple[str, ...], operator_id: str) -> None:
    """Lift a lockout before it ends."""
    doc = await _load(ctx, operator_id)
    _require_manageable(scope, caller_roles, doc)
    await lockout.release(ctx, doc["username"])


async def operator_sessions(ctx: Context, scope: access.OperatorScope, operator_id: str) -> dict[str, Any]:
    doc = await _load(ctx, operator_id)
    scope.require(doc.get("department", ""), doc.get("region_code", ""))
    items = await sessions.live(ctx, str(doc["_id"]))
    return {"items": items, "total": len(items)}


async def revoke_operator_session(ctx: Context, scope: access.OperatorScope, caller_roles: tuple[str, ...],
                                  operator_id: str, session_id: str) -> None:
    doc = await _load(ctx, operator_id)
    _require_manageable(scope, caller_roles, doc)
    await sessions.revoke(ctx, str(doc["_id"]), session_id, "revoked_by_manager")


# ---- one's own account -------------------------------------------------------------------------

async def change_own_password(ctx: Context, operator_id: str, current_session: str, current: object, new: object) -> None:
    """Change one's password (proven by the current one); every other session ends."""
    doc = await own_account(ctx, operator_id)
    if not isinstance(current, str) or not current or len(current) > passwords.MAX_LENGTH:
        raise ValidationFailed(errors=[_error("current_password", "required", "请输入当前密码", "Enter the current password")])
    ok, _ = await passwords.verify(current, doc["password_hash"])
    if not ok:
        await lockout.failed(ctx, doc["username"])
        raise ValidationFailed(errors=[_error("current_password", "wrong_password", "当前密码错误", "The current password is wrong")])
    errors = passwords.policy_errors(new, doc["username"], "new_password")
    if not errors and new == current:
        errors.append(_error("new_password", "password_unchanged", "新密码不能与当前密码相同", "The new password must differ from the current one"))
    if errors:
        raise ValidationFailed(errors=errors)
    now = ctx.clock()
    await ctx.db.operators.update_one({"_id": doc["_id"]}, {"$set": {
        "password_hash": await passwords.hash_password(new), "password_changed_at": now, "updated_at": now}})
    for session in await sessions.live(ctx, operator_id):
        if session["id"] != current_session:
            await sessions.revoke(ctx, operator_id, session["id"], "password_changed")


# ---- login -------------------------------------------------------------------------------------

def _login_failed() -> Unauthorized:
    return Unauthorized("operator_login_failed", "用户名或密码错误", "Wrong username or password")


async def login(ctx: Context, username: str, password: str, *, totp_code: object = None,
                recovery_code: object = None, ip: str = "", user_agent: str = "") -> dict[str, Any]:
    """Check an operator's password (and second factor) and start a session with its access token."""
    await lockout.check(ctx, username)
    operator = await ctx.db.operators.find_one({"username": username, "active": True})
    ok, needs_rehash = await passwords.verify(password, operator["password_hash"] if operator else None)
    if not ok or operator is None:
        await lockout.failed(ctx, username)
        raise _login_failed()
    factor = "none"
    if operator.get("totp_secret"):
        if not totp_code and not recovery_code:
            # The password was right: say what is missing, without counting a failure.
            raise Unauthorized("totp_required", "请输入动态验证码（或一个恢复码）", "Enter the code from your authenticator app (or a recovery code)",
                               extra={"totp_required": True})
        factor = await totp.second_factor(ctx, operator, totp_code, recovery_code)
        if factor is None:
            await lockout.failed(ctx, username)
            raise Unauthorized("totp_invalid", "动态验证码错误或已使用", "The code is wrong or was already used")
    await lockout.succeeded(ctx, username)
    now = ctx.clock()
    if needs_rehash:  # older parameters or scrypt: replace the hash while the password is at hand
        await ctx.db.operators.update_one({"_id": operator["_id"], "password_hash": operator["password_hash"]},
                                          {"$set": {"password_hash": await passwords.hash_password(password)}})
    await ctx.db.operators.update_one({"_id": operator["_id"]}, {"$set": {"last_login_at": now}})

    operator_id = str(operator["_id"])
    session_id = sessions.new_session_id()
    ttl = ctx.settings.access_token_ttl_seconds * SESSION_HOURS
    await sessions.record(ctx, session_id, operator_id, ip=ip, user_agent=user_agent, ttl_seconds=ttl, second_factor=factor)
    principal = Principal("operator", operator_id, tuple(operator.get("roles", ())), family_id=session_id,
                          department=operator.get("department", ""), region_code=operator.get("region_code", ""))
    token = await tokens.issue_access_token(ctx.redis, principal, ttl)
    # Disabled, changed or logged out everywhere while we were checking: that revocation could not
    # see this token yet, so look again now that it exists.
    current = await ctx.db.operators.find_one({"_id": operator["_id"]}, {"active": 1, "version": 1})
    if (current is None or not current.get("active") or current.get("version") != operator.get("version")
            or not await sessions.is_live(ctx, session_id)):
        await tokens.revoke_family(ctx, session_id, "changed_during_login")
        raise _login_failed()
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "session_id": session_id,
            "operator": {**view({**operator, "last_login_at": now}), "second_factor": factor}}
