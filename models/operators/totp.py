"""Optional second factor: TOTP (RFC 6238, any authenticator app) with one-time recovery codes.

Enrolment is two steps, so an account never requires a code its owner cannot produce: `enrol`
stores a pending secret and shows it once (with its otpauth:// URI for a QR code); `confirm` with a
code from the app turns it on and shows ten recovery codes once. From then on a login needs a
current code or one unused recovery code. Secrets are encrypted at rest (models.crypto), recovery
codes stored only as SHA-256 digests (they are random, so a fast hash is enough). A code is
accepted once: the time step it belongs to is remembered and an older or equal one refused.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import pyotp
from bson import ObjectId

from models.core.context import Context
from models.errors import Conflict, FieldError, ValidationFailed

ISSUER = "CityGate"
STEP_SECONDS = 30
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def _context(operator_id: str) -> str:
    return f"operator-totp:{operator_id}"


def _digest(code: str) -> str:
    return "h" + hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()


def new_recovery_codes() -> list[str]:
    def one() -> str:
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        return f"{raw[:5]}-{raw[5:]}"
    return [one() for _ in range(RECOVERY_CODES)]


def _bad_code(field: str = "code") -> ValidationFailed:
    return ValidationFailed("totp_invalid", "动态验证码错误或已使用", "The code is wrong or was already used",
                            errors=[FieldError(field, "totp_invalid", "动态验证码错误或已使用", "The code is wrong or was already used")])


def matching_step(secret: str, code: object, now: float) -> int | None:
    """The time step (this one, or one either side for clock drift) whose code is `code`, else None."""
    if not isinstance(code, str) or not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    step = int(now // STEP_SECONDS)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.at(candidate * STEP_SECONDS), code):
            return candidate
    return None


async def enrol(ctx: Context, operator: dict[str, Any]) -> dict[str, Any]:
    """A new pending secret for `operator`: shown here once, active after `confirm`."""
    if operator.get("totp_secret"):
        raise Conflict("totp_enabled", "已启用动态验证码；如需更换请先停用", "TOTP is already on; disable it first to change it")
    secret = pyotp.random_base32()
    operator_id = str(operator["_id"])
    await ctx.db.operators.update_one(
        {"_id": operator["_id"]}, {"$set": {"totp_pending": ctx.cipher.encrypt(secret, _context(operator_id))}})
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=operator["username"], issuer_name=ISSUER)
    return {"secret": secret, "otpauth_uri": uri, "confirmed": False}


async def confirm(ctx: Context, operator: dict[str, Any], code: object) -> dict[str, Any]:
    """Turn TOTP on with a code from the pending secret; the recovery codes are shown here once."""
    if operator.get("totp_secret"):
        raise Conflict("totp_enabled", "已启用动态验证码", "TOTP is already on")
    pending = operator.get("totp_pending")
    if not pending:
        raise Conflict("totp_not_enrolled", "请先开始绑定动态验证码", "Start the TOTP enrolment first")
    secret = ctx.cipher.decrypt(pending, _context(str(operator["_id"])))
    step = matching_step(secret, code, ctx.clock().timestamp())
    if step is None:
        raise _bad_code()
    codes = new_recovery_codes()
    await ctx.db.operators.update_one({"_id": operator["_id"]}, {
        "$set": {"totp_secret": pending, "totp_pending": None, "totp_last_step": step, "totp_enabled_at": ctx.clock(),
                 "recovery_codes": {_digest(c): "unused" for c in codes}}})
    return {"enabled": True, "recovery_codes": codes}


async def disable(ctx: Context, operator: dict[str, Any], code: object, recovery_code: object = None) -> None:
    """Turn TOTP off, proven by a current code (or a recovery code)."""
    if not operator.get("totp_secret"):
        raise Conflict("totp_not_enabled", "未启用动态验证码", "TOTP is not on")
    if not await second_factor(ctx, operator, code, recovery_code):
        raise _bad_code()
    await clear(ctx, operator["_id"])


async def clear(ctx: Context, operator_id: ObjectId) -> None:
    """Remove TOTP and the recovery codes (the owner's choice, or a manager's reset)."""
    await ctx.db.operators.update_one({"_id": operator_id}, {
        "$set": {"totp_secret": None, "totp_pending": None, "totp_last_step": None, "recovery_codes": {}}})


async def second_factor(ctx: Context, operator: dict[str, Any], code: object, recovery_code: object) -> str | None:
    """"totp" or "recovery_code" when the offered proof is good (and now used up), else None."""
    if isinstance(code, str) and code:
        secret = ctx.cipher.decrypt(operator["totp_secret"], _context(str(operator["_id"])))
        step = matching_step(secret, code, ctx.clock().timestamp())
        if step is None:
            return None
        # One winner per step: a code seen once (or a code of an earlier step) is refused.
        used = await ctx.db.operators.find_one_and_update(
            {"_id": operator["_id"], "totp_last_step": {"$lt": step}}, {"$set": {"totp_last_step": step}})
        return "totp" if used is not None else None
    if isinstance(recovery_code, str) and 0 < len(recovery_code) <= 64:
        key = "recovery_codes." + _digest(recovery_code)
        used = await ctx.db.operators.find_one_and_update({"_id": operator["_id"], key: "unused"}, {"$set": {key: "used"}})
        return "recovery_code" if used is not None else None
    return None


def recovery_codes_left(operator: dict[str, Any]) -> int:
    return sum(1 for state in (operator.get("recovery_codes") or {}).values() if state == "unused")
