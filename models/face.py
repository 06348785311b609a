"""Face verification (刷脸, 人脸核身): a real person, verified by their channel, once, for one purpose.

A citizen starts a verification for a purpose (`service_application` of one service item that
requires it, or `rebind_realname`) through the channel they use (WeChat city-service face
verification or Alipay identity certification, behind the FaceVerifier port); the mini-program runs
the vendor's face check with what the start answered; `confirm` then asks the vendor, server-side,
how it ended (nothing the client says about the result is believed) and marks the verification
verified, once. Whoever needs a real person (an application's submission, a real-name rebinding)
`consume`s one: a single conditional update that takes a verified, unexpired, unconsumed
verification of this citizen, purpose and person, so a verification serves exactly one use.

Stored per verification (`face_verifications`): ids (ours, the vendor's session id, the channel),
the purpose, a keyed hash of the person's name and ID number (`subject_hash`, bound at the start:
the person verified is the person it is used for), the vendor's result code, times, and the name
and number sealed with the field cipher for the server-side query. No image, video or other
biometric data is requested, received or kept.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models import catalogue, channels, idcard, ratelimit
from models.core.context import Context
from models.core.timezone import local
from models.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    NotFound,
    RateLimited,
    Unavailable,
    ValidationFailed,
)
from models.ports import Channel, ChannelCallFailed, ChannelError, FaceSubject, Failure

SERVICE_APPLICATION = "service_application"
REBIND_REALNAME = "rebind_realname"
PURPOSES = (SERVICE_APPLICATION, REBIND_REALNAME)
# A real-name rebinding takes a verification at most this old.
REBIND_WITHIN_MINUTES = 10
CHANNEL_KINDS = {"wechat": channels.WECHAT_MINIPROGRAM, "alipay": channels.ALIPAY_MINIPROGRAM}
STARTS_PER_HOUR = 10
SUBJECT_CONTEXT = "face.subject:"


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.face_verifications.create_index("citizen_id")
    # One record per vendor session: a vendor's verify id can never be bound to a second verification.
    await db.face_verifications.create_index("vendor_key", unique=True)


# ---- what an item requires ------------------------------------------------------------------------
def requirement(item: dict[str, Any]) -> dict[str, Any] | None:
    """The item's `face_verification` ({within_minutes, auto_complete}), None when it needs none."""
    rule = item.get("face_verification")
    return rule if isinstance(rule, dict) and rule else None


# ---- the person ---------------------------------------------------------------------------------------
def subject_hash(ctx: Context, name: str, id_number: str) -> str:
    """The keyed hash binding a verification to one person (name and normalised ID number)."""
    return ctx.cipher.blind_index(f"{name}\n{idcard.normalise(id_number)}", "face_subject")


async def _citizen(ctx: Context, citizen_id: str) -> dict[str, Any]:
    try:
        found = await ctx.db.citizens.find_one({"_id": ObjectId(citizen_id)})
    except (InvalidId, TypeError):
        found = None
    if found is None:
        raise NotFound("citizen_not_found", "未找到该市民", "Citizen not found")
    return found


def bound_person(ctx: Context, citizen: dict[str, Any]) -> tuple[str, str]:
    """(name, ID number) of the citizen's real-name binding; 409 realname_required without one."""
    realname = citizen.get("realname") or {}
    if not realname.get("id_cipher"):
        raise Conflict("realname_required", "请先完成实名认证，再进行刷脸核验",
                       "Bind your real name before face verification")
    return realname["name"], ctx.cipher.decrypt(realname["id_cipher"], "citizen.id_number")


def _new_person(ctx: Context, body: dict[str, Any]) -> tuple[str, str]:
    """The name and ID number a rebinding will bind, checked as a binding checks them."""
    name, parsed = idcard.parse_person(body.get("name"), body.get("id_number"), local(ctx.clock()).date())
    return name, parsed.value


def _account_id(citizen: dict[str, Any], channel: Channel) -> tuple[str | None, str | None]:
    """The citizen's (openid in this WeChat app, Alipay user_id) from their linked identities."""
    openid = user_id = None
    for detail in (citizen.get("identities") or {}).values():
        if not isinstance(detail, dict):
            continue
        if detail.get("kind") == "wechat_openid" and detail.get("app_id") == channel.app_id:
            openid = detail.get("openid")
        if detail.get("kind") == "alipay_user_id":
            user_id = detail.get("user_id")
    return openid, user_id


# ---- vendor failures ----------------------------------------------------------------------------------
def _vendor_problem(channel: Channel, exc: ChannelCallFailed) -> DomainError:
    name = ("微信", "WeChat") if channel.kind == channels.WECHAT_MINIPROGRAM else ("支付宝", "Alipay")
    if exc.failure in (Failure.UNREACHABLE, Failure.BUSY):
        return Unavailable("channel_unavailable", f"{name[0]}人脸核身服务暂时不可用，请稍后再试",
                           f"{name[1]} face verification is unavailable; please retry shortly")
    if exc.failure is Failure.RATE_LIMITED:
        return RateLimited("channel_rate_limited", "渠道调用过于频繁，请稍后再试",
                           "The channel is rate limiting us; please retry shortly")
    if exc.failure is Failure.UNVERIFIED:
        return ChannelError("channel_response_unverified", f"{name[0]}返回的数据未通过验签",
                            f"{name[1]}'s response failed signature verification")
    return ChannelError("face_verification_channel_error", f"{name[0]}人脸核身接口返回错误",
                        f"{name[1]} face verification returned an error")


# ---- start --------------------------------------------------------------------------------------------
def _text(body: dict[str, Any], name: str, allowed: tuple[str, ...] | None = None) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or (allowed is not None and value not in allowed):
        hint_zh = f"，应为 {'、'.join(allowed)} 之一" if allowed else ""
        hint_en = f" (one of {', '.join(allowed)})" if allowed else ""
        raise ValidationFailed(errors=[FieldError(name, "required" if value in (None, "") else "invalid",
                                                  f"「{name}」为必填项{hint_zh}", f"{name} is required{hint_en}")])
    return value.strip()


async def start(ctx: Context, citizen_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Open a verification with the citizen's channel; the view carries what the face call needs."""
    purpose = _text(body, "purpose", PURPOSES)
    kind = CHANNEL_KINDS[_text(body, "channel", tuple(CHANNEL_KINDS))]
    citizen = await _citizen(ctx, citizen_id)
    service_code, within = "", REBIND_WITHIN_MINUTES
    if purpose == SERVICE_APPLICATION:
        service_code = _text(body, "service_code")
        rule = requirement(await catalogue.get_published_item(ctx.db, service_code))
        if rule is None:
            raise Conflict("face_verification_not_required", "该事项无需刷脸核验",
                           "This service item does not require face verification", extra={"service_code": service_code})
        within = rule["within_minutes"]
        name, id_number = bound_person(ctx, citizen)
    else:
        name, id_number = _new_person(ctx, body)
    channel = await channels.get_enabled(ctx, body.get("app_id"), kind)
    openid, user_id = _account_id(citizen, channel)
    if kind == channels.WECHAT_MINIPROGRAM and not openid:
        raise Conflict("wechat_login_required", "请先通过该微信小程序登录", "Log in through this WeChat app first")
    await ratelimit.enforce(ctx.redis, f"face:{citizen_id}", STARTS_PER_HOUR, 3600, "face_verification_rate_limited",
                            "刷脸核验次数过多，请稍后再试", "Too many face verifications; please retry later")
    verification_id = "fv" + secrets.token_hex(15)  # also the vendor's out_seq_no / outer_order_no (32)
    subject = FaceSubject(name, id_number, openid=openid, user_id=user_id)
    try:
        session = await ctx.face_verifiers[channel.kind].start(channel, subject, verification_id)
    except ChannelCallFailed as exc:
        raise _vendor_problem(channel, exc) from None
    now = ctx.clock()
    record = {
        "_id": verification_id, "citizen_id": citizen_id, "purpose": purpose, "service_code": service_code,
        "within_minutes": within, "channel_kind": channel.kind, "app_id": channel.app_id,
        "vendor_id": session.vendor_id, "vendor_key": f"{channel.kind}:{channel.app_id}:{session.vendor_id}",
        "subject_hash": subject_hash(ctx, name, id_number),
        "subject_cipher": ctx.cipher.encrypt(json.dumps({"name": name, "id_number": id_number, "openid": openid,
                                                         "user_id": user_id}, ensure_ascii=False),
                                             SUBJECT_CONTEXT + verification_id),
        "status": "pending", "result_code": None, "created_at": now,
        "session_expires_at": now + datetime.timedelta(seconds=session.expires_in),
        "verified_at": None, "consumed_at": None, "consumed_for": None,
    }
    try:
        await ctx.db.face_verifications.insert_one(record)
    except DuplicateKeyError:
        raise Conflict("face_verification_replayed", "该核身会话已被使用，请重新发起刷脸",
                       "This verification session was already used; start a new one") from None
    return view(record, client_params=dict(session.client_params))


def view(record: dict[str, Any], client_params: dict[str, str] | None = None) -> dict[str, Any]:
    """A verification as its citizen sees it (never the person's name or number)."""
    kind = "wechat" if record["channel_kind"] == channels.WECHAT_MINIPROGRAM else "alipay"
    shown: dict[str, Any] = {
        "id": record["_id"], "purpose": record["purpose"], "service_code": record.get("service_code") or None,
        "channel": kind, "app_id": record["app_id"], "status": record["status"],
        "result_code": record.get("result_code"), "within_minutes": record.get("within_minutes"),
        "created_at": record["created_at"], "verified_at": record.get("verified_at"),
        "valid_until": record["verified_at"] + datetime.timedelta(minutes=record["within_minutes"])
        if record.get("verified_at") and record.get("within_minutes") else None,
        "consumed_at": record.get("consumed_at"),
    }
    if client_params is not None:
        # What the mini-program passes on: wx.requestFacialVerify({verifyId}) or my.startAPVerify({certifyId, url}).
        shown["client"] = {"call": "wx.requestFacialVerify" if kind == "wechat" else "my.startAPVerify",
                           "params": client_params}
    return shown


# ---- confirm ------------------------------------------------------------------------------------------
async def _owned(ctx: Context, citizen_id: str, verification_id: Any) -> dict[str, Any]:
    record = await ctx.db.face_verifications.find_one({"_id": verification_id}) \
        if isinstance(verification_id, str) and verification_id else None
    if record is None or record["citizen_id"] != citizen_id:
        raise NotFound("face_verification_not_found", "未找到该刷脸核验记录", "Face verification not found")
    return record


def _failed(code: Any) -> Conflict:
    return Conflict("face_verification_failed", "刷脸核验未通过，请重新发起", "The face verification did not pass; start a new one",
                    extra={"result_code": code})


async def confirm(ctx: Context, citizen_id: str, verification_id: str) -> dict[str, Any]:
    """Ask the vendor how the face check ended and mark the verification verified (once) or failed."""
    record = await _owned(ctx, citizen_id, verification_id)
    if record["status"] in ("verified", "consumed"):
        return view(record)
    if record["status"] == "failed":
        raise _failed(record.get("result_code"))
    person = json.loads(ctx.cipher.decrypt(record["subject_cipher"], SUBJECT_CONTEXT + record["_id"]))
    if record["purpose"] == SERVICE_APPLICATION:
        # The person verified must still be the one bound to the account now.
        name, id_number = bound_person(ctx, await _citizen(ctx, citizen_id))
        if subject_hash(ctx, name, id_number) != record["subject_hash"]:
            raise Conflict("face_verification_subject_mismatch", "实名信息已变更，请重新发起刷脸核验",
                           "Your real name changed since this verification started; start a new one")
    channel = await channels.get_enabled(ctx, record["app_id"], record["channel_kind"])
    subject = FaceSubject(person["name"], person["id_number"], openid=person.get("openid"), user_id=person.get("user_id"))
    try:
        result = await ctx.face_verifiers[channel.kind].query(channel, subject, record["_id"], record["vendor_id"])
    except ChannelCallFailed as exc:
        raise _vendor_problem(channel, exc) from None
    if result.pending:
        raise Conflict("face_verification_pending", "尚未完成刷脸，请在小程序中完成人脸识别后再确认",
                       "The face check has not been done yet; finish it in the mini-program, then confirm")
    now = ctx.clock()
    if not result.passed:
        await ctx.db.face_verifications.update_one(
            {"_id": record["_id"], "status": "pending"},
            {"$set": {"status": "failed", "result_code": result.code, "finished_at": now}})
        raise _failed(result.code)
    done = await ctx.db.face_verifications.find_one_and_update(
        {"_id": record["_id"], "citizen_id": citizen_id, "status": "pending"},
        {"$set": {"status": "verified", "result_code": result.code, "verified_at": now}},
        return_document=ReturnDocument.AFTER)
    return view(done or await _owned(ctx, citizen_id, verification_id))


async def get(ctx: Context, citizen_id: str, verification_id: str) -> dict[str, Any]:
    """One of the citizen's verifications."""
    return view(await _owned(ctx, citizen_id, verification_id))


# ---- consume ------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Use:
    """What a verification is taken for: its purpose, the item (or ""), the person, how fresh."""

    purpose: str
    service_code: str
    subject_hash: str
    within_minutes: int


async def consume(ctx: Context, citizen_id: str, verification_id: Any, use: Use, used_for: str) -> dict[str, Any]:
    """Take one verified, unexpired, unconsumed verification of this citizen for `use`, atomically.

    Refused, each with its own code: none given (422 face_verification_required), unknown (404),
    another citizen's (403 face_verification_foreign), already used (409 face_verification_used),
    not (yet) passed, for another purpose or person, or older than `use.within_minutes`.
    """
    if not isinstance(verification_id, str) or not verification_id:
        raise ValidationFailed("face_verification_required", "请先完成刷脸核验", "A face verification is required",
                               errors=[FieldError("face_verification_id", "required", "请先完成刷脸核验",
                                                  "Complete a face verification first")])
    now = ctx.clock()
    taken = await ctx.db.face_verifications.find_one_and_update(
        {"_id": verification_id, "citizen_id": citizen_id, "purpose": use.purpose, "service_code": use.service_code,
         "subject_hash": use.subject_hash, "status": "verified",
         "verified_at": {"$gte": now - datetime.timedelta(minutes=use.within_minutes)}},
        {"$set": {"status": "consumed", "consumed_at": now, "consumed_for": used_for}},
        return_document=ReturnDocument.AFTER)
    if taken is not None:
        return taken
    raise _refusal(await ctx.db.face_verifications.find_one({"_id": verification_id}), citizen_id, use, now)


def _refusal(record: dict[str, Any] | None, citizen_id: str, use: Use, now: datetime.datetime) -> DomainError:
    if record is None:
        return NotFound("face_verification_not_found", "未找到该刷脸核验记录", "Face verification not found")
    if record["citizen_id"] != citizen_id:
        return Forbidden("face_verification_foreign", "该刷脸核验属于其他用户，不能使用",
                         "This face verification belongs to someone else")
    if record["status"] == "consumed":
        return Conflict("face_verification_used", "该刷脸核验已使用过，请重新刷脸",
                        "This face verification was already used; verify again")
    if record["status"] == "failed":
        return _failed(record.get("result_code"))
    if record["status"] != "verified":
        return Conflict("face_verification_pending", "刷脸核验尚未确认通过", "The face verification is not confirmed yet")
    if record["purpose"] != use.purpose or record.get("service_code", "") != use.service_code:
        return Conflict("face_verification_purpose_mismatch", "该刷脸核验不是为此业务发起的",
                        "This face verification was made for another purpose")
    if record["subject_hash"] != use.subject_hash:
        return Conflict("face_verification_subject_mismatch", "刷脸核验的身份与本次办理的身份不一致",
                        "The person verified is not the person of this request")
    return Conflict("face_verification_expired", f"刷脸核验已超过 {use.within_minutes} 分钟有效期，请重新刷脸",
                    f"The face verification is older than {use.within_minutes} minutes; verify again",
                    extra={"verified_at": local(record["verified_at"]).isoformat() if record.get("verified_at") else None})


async def for_submission(ctx: Context, citizen_id: str, item: dict[str, Any],
                         body: dict[str, Any]) -> Callable[[str], Awaitable[Callable[[], Awaitable[None]]]] | None:
    """For an item requiring a real person: the step that consumes the verification in `body` for
    application `no` (`release = await take(no)`); None for other items.

    The consumption is one atomic update of its own, made just before the submission's transaction
    (the embedded datastore does not isolate concurrent transactions, so a refusal inside one could
    undo another's writes); when the submission then fails, `await release()` gives it back.
    """
    rule = requirement(item)
    if rule is None:
        return None
    name, id_number = bound_person(ctx, await _citizen(ctx, citizen_id))
    use = Use(SERVICE_APPLICATION, item["code"], subject_hash(ctx, name, id_number), rule["within_minutes"])
    verification_id = body.get("face_verification_id")
    if not isinstance(verification_id, str) or not verification_id:
        await consume(ctx, citizen_id, None, use, "")  # raises face_verification_required

    async def take(application_no: str) -> Callable[[], Awaitable[None]]:
        used_for = f"application:{application_no}"
        await consume(ctx, citizen_id, verification_id, use, used_for)

        async def release() -> None:
            await ctx.db.face_verifications.update_one(
                {"_id": verification_id, "status": "consumed", "consumed_for": used_for},
                {"$set": {"status": "verified", "consumed_at": None, "consumed_for": None}})
        return release

    return take


async def for_rebinding(ctx: Context, citizen_id: str, verification_id: Any, name: str, id_number: str) -> None:
    """Consume a verification of the person being bound (purpose rebind_realname, 10 minutes)."""
    use = Use(REBIND_REALNAME, "", subject_hash(ctx, name, id_number), REBIND_WITHIN_MINUTES)
    await consume(ctx, citizen_id, verification_id, use, "realname")
