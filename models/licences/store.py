"""E-licences (电子证照): the stored document, issuing one, the holder's wallet, revocation, and the
public verification of a QR payload.

The holder is bound by their ID number: sealed with the field cipher (`licence.holder_id`), looked
up through the same blind index a citizen's real name carries (`holder.index`), so a licence imported
before its holder ever logged in appears in their wallet once they bind their real name. Only masked
forms of the holder leave this module, except `holder_name` for the operator handling an application.
"""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from pymongo import DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models import workdays
from models.access import OperatorScope
from models.core import localized
from models.core.context import Context
from models.core.masking import mask, mask_name
from models.core.pagination import page_of
from models.core.timezone import local_iso
from models.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from models.licences import signing
from models.licences.types import get_type, in_scope

VALID, EXPIRED, REVOKED, NOT_YET_VALID, INVALID = "valid", "expired", "revoked", "not_yet_valid", "invalid"
STATE_LABELS = {VALID: ("有效", "Valid"), EXPIRED: ("已过期", "Expired"), REVOKED: ("已注销", "Revoked"),
                NOT_YET_VALID: ("尚未生效", "Not yet valid"), INVALID: ("签名无效", "Invalid signature")}
REASON_MAX = 200


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.licences.create_index("holder.index")
    await db.licences.create_index("type")
    await db.licences.create_index("number_key", unique=True)  # one licence per (type, number)
    await db.licences.create_index("source_key", unique=True)  # one licence per completed application
    await db.licence_keys.create_index("created_at")
    await db.licence_types.create_index("code", unique=True)


def not_found() -> NotFound:
    return NotFound("licence_not_found", "未找到该证照", "Licence not found")


def state(licence: dict[str, Any], today: datetime.date) -> str:
    """valid, expired, revoked or not_yet_valid on `today` (Shanghai date)."""
    if licence.get("status") == REVOKED:
        return REVOKED
    if licence["valid_from"] > today.isoformat():
        return NOT_YET_VALID
    until = licence.get("valid_until")
    return EXPIRED if until and until < today.isoformat() else VALID


def today_of(ctx: Context) -> datetime.date:
    return workdays.local_date(ctx.clock())


def new_licence(ctx: Context, licence_type: dict[str, Any], *, number: str, holder_name: str, holder_id: str,
                valid_from: datetime.date, valid_until: datetime.date | None, source: dict[str, Any],
                source_key: str) -> dict[str, Any]:
    """The unsigned document of a new licence (`signed` adds its signature)."""
    licence_id = "lic_" + secrets.token_hex(10)
    return {
        "_id": licence_id, "type": licence_type["code"], "type_name": licence_type.get("name"),
        "number": number, "number_key": f"{licence_type['code']}:{number}",
        "issuing_department": licence_type.get("department", ""), "region_code": licence_type.get("region_code", ""),
        "holder": {"name_cipher": ctx.cipher.encrypt(holder_name, "licence.holder_name"),
                   "name_masked": mask_name(holder_name),
                   "id_cipher": ctx.cipher.encrypt(holder_id, "licence.holder_id"),
                   "index": ctx.cipher.blind_index(holder_id, "id_number"), "id_masked": mask(holder_id),
                   "ref": ctx.cipher.blind_index(holder_id, f"licence-holder:{licence_id}")},
        "valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat() if valid_until else None,
        "status": VALID, "source": source, "source_key": source_key, "issued_at": ctx.clock(),
    }


def signed_form(licence: dict[str, Any]) -> dict[str, Any]:
    """What the signature covers: identity, type, number, holder (masked, and a per-licence reference
    to the ID number), issuer, validity and origin. Revocation is not in it: it is looked up."""
    return {"id": licence["_id"], "type": licence["type"], "number": licence["number"],
            "holder": licence["holder"]["name_masked"], "holder_ref": licence["holder"]["ref"],
            "issuer": licence["issuing_department"], "valid_from": licence["valid_from"],
            "valid_until": licence["valid_until"], "source": licence["source"].get("application_no") or "import",
            "issued_at": local_iso(licence["issued_at"], "seconds")}


async def signed(ctx: Context, licence: dict[str, Any]) -> dict[str, Any]:
    """`licence` with its signed form and signature."""
    form, signature = await signing.sign(ctx, signed_form(licence))
    return {**licence, "signed_form": form, "signature": signature}


def issue_number(licence_type: dict[str, Any], today: datetime.date) -> str:
    """A licence number: the type's initials, the date and a random part (unique with the type)."""
    initials = "".join(part[0] for part in licence_type["code"].split("_")).upper()
    return f"{initials}{today:%Y%m%d}{secrets.randbelow(10**8):08d}"


async def for_application(ctx: Context, type_code: str, application: dict[str, Any],
                          realname: dict[str, Any] | None) -> dict[str, Any] | None:
    """The signed licence a completed application issues to its applicant; None when the applicant has
    no verified real name to bind it to (the result is then delivered as before, without a licence)."""
    if not realname or not realname.get("id_cipher") or not realname.get("name"):
        return None
    licence_type = await get_type(ctx.db, type_code)
    holder_id = ctx.cipher.decrypt(realname["id_cipher"], "citizen.id_number")
    today = today_of(ctx)
    days = licence_type.get("validity_days")
    until = today + datetime.timedelta(days=int(days) - 1) if days else None
    licence = new_licence(ctx, licence_type, number=issue_number(licence_type, today), holder_name=realname["name"],
                          holder_id=holder_id, valid_from=today, valid_until=until,
                          source={"kind": "application", "application_no": application["_id"],
                                  "service_code": application.get("service_code")},
                          source_key=f"application:{application['_id']}")
    return await signed(ctx, licence)


# ---- views ----------------------------------------------------------------------------------------
def _label(value: str, locale: str) -> str:
    zh, en = STATE_LABELS[value]
    return en if locale == "en" else zh


def holder_view(licence: dict[str, Any], today: datetime.date, locale: str) -> dict[str, Any]:
    """A licence in its holder's wallet, with the payload of its verification QR code."""
    current = state(licence, today)
    return {"licence_id": licence["_id"], "type": licence["type"],
            "type_name": localized.text(licence.get("type_name"), locale), "number": licence["number"],
            "holder_name": licence["holder"]["name_masked"], "holder_id_number": licence["holder"]["id_masked"],
            "issuing_department": licence["issuing_department"], "valid_from": licence["valid_from"],
            "valid_until": licence["valid_until"], "state": current, "state_label": _label(current, locale),
            "revoked_reason": (licence.get("revocation") or {}).get("reason"),
            "source_application_no": licence["source"].get("application_no"),
            "issued_at": local_iso(licence["issued_at"]),
            "qr_payload": signing.payload(licence["signed_form"], licence["signature"])}


def admin_view(licence: dict[str, Any], today: datetime.date, locale: str) -> dict[str, Any]:
    """A licence in an operator's list: holder masked, no QR payload."""
    shown = holder_view(licence, today, locale)
    shown.pop("qr_payload")
    return shown


# ---- the holder's wallet --------------------------------------------------------------------------
async def wallet(ctx: Context, holder_index: str | None, page: int, page_size: int, locale: str) -> dict[str, Any]:
    """The licences of the holder with this ID-number index, newest first (none without a real name)."""
    today = today_of(ctx)
    query = {"holder.index": holder_index or "-"}
    return await page_of(ctx.db.licences, query, [("issued_at", DESCENDING), ("_id", DESCENDING)], page, page_size,
                         lambda licence: holder_view(licence, today, locale))


async def held(ctx: Context, holder_index: str | None, licence_id: Any) -> dict[str, Any]:
    """One licence of this holder; 404 for another's or an unknown id."""
    licence = await ctx.db.licences.find_one({"_id": licence_id}) if isinstance(licence_id, str) else None
    if licence is None or not holder_index or licence["holder"]["index"] != holder_index:
        raise not_found()
    return licence


async def get(ctx: Context, licence_id: Any) -> dict[str, Any]:
    licence = await ctx.db.licences.find_one({"_id": licence_id}) if isinstance(licence_id, str) else None
    if licence is None:
        raise not_found()
    return licence


def holder_name(ctx: Context, licence: dict[str, Any]) -> str:
    """The holder's full name (for the operator handling an application the licence was given to)."""
    return ctx.cipher.decrypt(licence["holder"]["name_cipher"], "licence.holder_name")


# ---- operators ------------------------------------------------------------------------------------
async def list_for_operators(ctx: Context, scope: OperatorScope, type_code: str | None, page: int, page_size: int,
                             locale: str) -> dict[str, Any]:
    """Licences of the types the operator's department issues (all for a platform operator)."""
    query: dict[str, Any] = scope.filter(None, department_field="issuing_department")
    if type_code:
        query["type"] = type_code
    today = today_of(ctx)
    return await page_of(ctx.db.licences, query, [("issued_at", DESCENDING), ("_id", DESCENDING)], page, page_size,
                         lambda licence: admin_view(licence, today, locale))


async def revoke(ctx: Context, scope: OperatorScope, licence_id: str, reason: Any, locale: str) -> dict[str, Any]:
    """注销: the licence stops verifying as valid and cannot be used as a material; the reason is shown
    to its holder. 403 for another department's licence; 409 when it was revoked already."""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > REASON_MAX:
        raise ValidationFailed(errors=[FieldError("reason", "required", f"请填写注销原因（不超过 {REASON_MAX} 字）",
                                                  f"Give the reason (at most {REASON_MAX} characters)")])
    licence = await get(ctx, licence_id)
    if not in_scope(scope, {"department": licence["issuing_department"], "region_code": licence.get("region_code")}):
        raise Forbidden("out_of_scope", "该证照不属于您所在部门", "This licence belongs to another department")
    now = ctx.clock()
    updated = await ctx.db.licences.find_one_and_update(
        {"_id": licence["_id"], "status": VALID},
        {"$set": {"status": REVOKED, "revocation": {"reason": reason.strip(), "at": now, "operator_id": scope.operator_id}}},
        return_document=ReturnDocument.AFTER)
    if updated is None:
        raise Conflict("licence_already_revoked", "该证照已注销", "The licence was revoked already")
    return admin_view(updated, today_of(ctx), locale)


async def insert(ctx: Context, licence: dict[str, Any], session: Any = None) -> None:
    """Store a signed licence; 409 when its number or its source is taken."""
    try:
        await ctx.db.licences.insert_one(licence, session=session)
    except DuplicateKeyError:
        raise Conflict("licence_exists", "该证照已存在", "The licence exists already") from None


# ---- public verification ----------------------------------------------------------------------------
async def verify_payload(ctx: Context, text: str, locale: str) -> dict[str, Any]:
    """What anyone scanning a licence's QR code may learn: whether it is valid, and the masked holder,
    type and dates. A payload that does not verify (tampered, forged, unknown key) says nothing more."""
    parsed = signing.read_payload(text)
    invalid = {"state": INVALID, "state_label": _label(INVALID, locale)}
    if parsed is None or not await signing.verify(ctx, *parsed):
        return invalid
    form = parsed[0]
    licence = await ctx.db.licences.find_one({"_id": form.get("id")}) if isinstance(form.get("id"), str) else None
    if licence is None or licence.get("signed_form") != form:
        return invalid
    current = state(licence, today_of(ctx))
    return {"state": current, "state_label": _label(current, locale), "type": licence["type"],
            "type_name": localized.text(licence.get("type_name"), locale),
            "holder_name": licence["holder"]["name_masked"], "issuing_department": licence["issuing_department"],
            "valid_from": licence["valid_from"], "valid_until": licence["valid_until"]}


# ---- encryption key rotation ----------------------------------------------------------------------------
async def rotate_licence_secrets(ctx: Context) -> int:
    """Re-encrypt holders' names and ID numbers and the signing keys under the current field-cipher key
    (as models.citizens.rotate_citizen_secrets does for citizens); how many values changed. Conditional
    on the old value, so a concurrent change is never overwritten."""
    rotated = 0
    async for licence in ctx.db.licences.find({}, {"holder": 1}):
        for path, context in (("name_cipher", "licence.holder_name"), ("id_cipher", "licence.holder_id")):
            value = licence["holder"][path]
            if ctx.cipher.needs_rotation(value):
                result = await ctx.db.licences.update_one({"_id": licence["_id"], f"holder.{path}": value},
                                                          {"$set": {f"holder.{path}": ctx.cipher.rotate(value, context)}})
                rotated += result.modified_count
    async for key in ctx.db.licence_keys.find({}, {"private_cipher": 1}):
        value, context = key["private_cipher"], f"licence.signing_key:{key['_id']}"
        if ctx.cipher.needs_rotation(value):
            result = await ctx.db.licence_keys.update_one({"_id": key["_id"], "private_cipher": value},
                                                          {"$set": {"private_cipher": ctx.cipher.rotate(value, context)}})
            rotated += result.modified_count
    return rotated
