"""Citizens (市民): one person across every channel, with their verified phone and real name.

A citizen is reached through *identities*: a WeChat openid in one app, a WeChat unionid (the same
person in every app of one WeChat open-platform account), an Alipay user_id (the same in every
Alipay app) or open_id (per app), a verified phone, a real-name ID number. Each identity is a key
("wx:<app>:<openid>", "wxu:<unionid>", "ali:<user_id>", "alio:<app>:<open_id>", "phone:<blind
index>", "idno:<blind index>") whose owner is recorded in the `identities` collection under a unique
`_id` (owner stored as the citizen id *string*: nx-27017 cannot query ObjectIds outside `_id`).
That collection, not the citizen document, is the source of truth for "who is this":
nx-27017 does not enforce unique indexes on array elements, and a unique `_id` per identity is what
makes two concurrent first logins end with one citizen. The citizen document mirrors its keys in
`identity_keys` and keeps per-identity details in `identities.<key>`.

Phone and ID number are stored encrypted (field cipher) with a keyed blind index for lookups; only
masked forms ever leave this module. Two citizens are merged only with proof from both sides.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import re
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models import channels, face, idcard, ratelimit, tokens
from models.channels import identity as channel_identity
from models.core.context import Context
from models.core.masking import mask_phone
from models.core.timezone import local
from models.errors import Conflict, FieldError, NotFound, ValidationFailed
from models.tokens import Principal

log = logging.getLogger("citygate.citizens")

_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_FOREIGN_NUMBER = re.compile(r"^\d{4,15}$")
_URL = re.compile(r"^https?://[^\s]{1,500}$")
PROFILE_FIELDS = ("nickname", "avatar_url", "language")
LANGUAGES = ("zh-CN", "en")


# ---- identity keys ------------------------------------------------------------------------------
def wechat_openid_key(app_id: str, openid: str) -> str:
    return f"wx:{app_id}:{openid}"


def wechat_unionid_key(unionid: str) -> str:
    return f"wxu:{unionid}"


def alipay_user_key(user_id: str) -> str:
    return f"ali:{user_id}"


def alipay_open_id_key(app_id: str, open_id: str) -> str:
    return f"alio:{app_id}:{open_id}"


def _field(key: str) -> str:
    """An identity key as a field name (keys are ids from the channels; keep dots and $ out anyway)."""
    return key.replace(".", "%2E").replace("$", "%24")


@dataclasses.dataclass(frozen=True)
class ChannelIdentity:
    """What one channel vouches for after a login: identity keys and their details.

    `keys` run from the most specific (this app's openid) to the broadest (a unionid across apps):
    lookups try them in that order, claims go the other way (see `_attach`).
    """

    kind: str  # "wechat" | "alipay"
    app_id: str
    keys: tuple[tuple[str, dict[str, Any]], ...]
    last_channel: dict[str, Any] | None  # None: keep the one messages go through (H5 logins send none)

    @property
    def rate_limit_key(self) -> str:
        return self.keys[0][0]


def public_view(citizen: dict[str, Any]) -> dict[str, Any]:
    """The citizen as their own apps see them: linked channels, profile, masked PII."""
    details = citizen.get("identities") or {}
    linked = [{"kind": d.get("kind"), "app_id": d.get("app_id"), "linked_at": d.get("linked_at")}
              for d in (details.values() if isinstance(details, dict) else [])]
    phone = citizen.get("phone") or None
    realname = citizen.get("realname") or None
    last = citizen.get("last_channel") or None
    return {
        "id": str(citizen["_id"]),
        "profile": {k: v for k, v in (citizen.get("profile") or {}).items() if v is not None},
        "identities": sorted(linked, key=lambda d: (str(d["kind"]), str(d["app_id"]))),
        "phone": phone["masked"] if phone else None,
        "phone_verified_at": phone.get("verified_at") if phone else None,
        "realname": {"name": realname["name"], "id_number": realname["id_masked"],
                     "verified_at": realname.get("verified_at")} if realname else None,
        "last_channel": {"kind": last.get("kind"), "app_id": last.get("app_id")} if last else None,
        "created_at": citizen.get("created_at"),
    }


# ---- persistence ------------------------------------------------------------------------------
async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.identities.create_index("citizen_id")
    await db.citizens.create_index("status")
    await db.citizen_links.create_index("merged")
    # Sessions belong to citizens; the token families live next to them (models.tokens).
    await tokens.ensure_indexes(db)


def _object_id(citizen_id: Any) -> ObjectId:
    if isinstance(citizen_id, ObjectId):
        return citizen_id
    try:
        return ObjectId(str(citizen_id))
    except (InvalidId, TypeError):
        raise NotFound("citizen_not_found", "未找到该市民", "Citizen not found") from None


async def find_citizen(ctx: Context, citizen_id: Any, *, follow_merge: bool = True) -> dict[str, Any] | None:
    """The citizen document (None for an id that is not one), following a merge to the surviving
    citizen unless not `follow_merge` (the merged-away record itself)."""
    try:
        oid = _object_id(citizen_id)
    except NotFound:
        return None
    if not follow_merge:
        return await ctx.db.citizens.find_one({"_id": oid})
    for _ in range(3):
        citizen = await ctx.db.citizens.find_one({"_id": oid})
        if citizen is None or not citizen.get("merged_into"):
            return citizen
        oid = _object_id(citizen["merged_into"])
    return citizen


async def get_citizen(ctx: Context, citizen_id: Any) -> dict[str, Any]:
    citizen = await find_citizen(ctx, citizen_id)
    if citizen is None:
        raise NotFound("citizen_not_found", "未找到该市民", "Citizen not found")
    return citizen


def _skeleton(citizen_id: ObjectId, now: datetime.datetime) -> dict[str, Any]:
    return {"_id": citizen_id, "profile": {}, "identities": {}, "identity_keys": [], "phone": None,
            "realname": None, "status": "active", "created_at": now}


async def _claim(db: AsyncDatabase, key: str, citizen_id: str, kind: str, now: datetime.datetime) -> str:
    """Record `citizen_id` as the owner of `key` unless someone owns it; return the owner's id."""
    try:
        await db.identities.insert_one({"_id": key, "citizen_id": citizen_id, "kind": kind, "created_at": now})
        return citizen_id
    except DuplicateKeyError:
        owner = await db.identities.find_one({"_id": key}, {"citizen_id": 1})
        return owner["citizen_id"] if owner else citizen_id


async def _owners(db: AsyncDatabase, keys: list[str]) -> dict[str, str]:
    found = await db.identities.find({"_id": {"$in": keys}}, {"citizen_id": 1}).to_list(None)
    return {doc["_id"]: doc["citizen_id"] for doc in found}


async def _attach(ctx: Context, identity: ChannelIdentity, only_to: str | None = None) -> tuple[dict[str, Any], bool]:
    """The citizen this channel identity belongs to, creating one on first login; (citizen, created).

    Concurrency: two first logins race on inserting the same identity `_id`; the loser adopts the
    winner's citizen. Broad keys (unionid, Alipay user_id) are claimed before per-app ones, so two
    apps logging the same person in at once converge on one citizen too.
    """
    db, now = ctx.db, ctx.clock()
    keys = [key for key, _ in identity.keys]
    owners = await _owners(db, keys)
    citizen_id = only_to or next((owners[k] for k in keys if k in owners), None)
    tentative = citizen_id is None
    citizen_id = citizen_id or str(ObjectId())
    newly_claimed: set[str] = set()
    adopted: set[str] = set()
    for key, detail in reversed(identity.keys):
        if key in owners:
            continue
        owner = await _claim(db, key, citizen_id, detail["kind"], now)
        if owner == citizen_id:
            newly_claimed.add(key)
        elif tentative and not newly_claimed:
            citizen_id, tentative = owner, False  # lost the race for a first login: join the winner
            adopted.add(key)
        else:
            # The key belongs to someone else (e.g. an openid that logged in before its app had a
            # unionid): never take it silently; /me/link merges with proof from both sides.
            log.warning("identity kind %s already owned by another citizen; not re-linked", detail["kind"])
    oid = _object_id(citizen_id)
    created = False
    if newly_claimed or adopted:  # a first login, or a new identity: make sure the document exists
        result = await db.citizens.update_one({"_id": oid}, {"$setOnInsert": _skeleton(oid, now)}, upsert=True)
        created = result.upserted_id is not None
    mine = [k for k in keys if k in newly_claimed or k in adopted or owners.get(k) == citizen_id]
    updates: dict[str, Any] = {"updated_at": now, "last_login_at": now}
    if identity.last_channel is not None:
        updates["last_channel"] = identity.last_channel
    for key, detail in identity.keys:
        if key not in mine:
            continue
        for name, value in detail.items():
            updates[f"identities.{_field(key)}.{name}"] = value
        updates[f"identities.{_field(key)}.last_login_at"] = now
        if key in newly_claimed:
            updates[f"identities.{_field(key)}.linked_at"] = now
    change: dict[str, Any] = {"$set": updates}
    if mine:
        change["$addToSet"] = {"identity_keys": {"$each": mine}}
    # One round trip for a returning citizen: the update hands back the document.
    citizen = await db.citizens.find_one_and_update({"_id": oid}, change, return_document=ReturnDocument.AFTER)
    if citizen is None:  # identities recorded but no document (a crash between the two): recreate it
        await db.citizens.update_one({"_id": oid}, {"$setOnInsert": _skeleton(oid, now)}, upsert=True)
        created = True
        citizen = await db.citizens.find_one_and_update({"_id": oid}, change, return_document=ReturnDocument.AFTER)
    if citizen is None or citizen.get("merged_into"):  # merged away meanwhile: the survivor answers
        return await get_citizen(ctx, citizen_id), created
    return citizen, created


# ---- login ----------------------------------------------------------------------------------------
def _required_text(body_value: Any, field: str, max_length: int = 256) -> str:
    if not isinstance(body_value, str) or not body_value.strip() or len(body_value) > max_length:
        raise ValidationFailed(errors=[FieldError(field, "required", f"{field} 为必填项", f"{field} is required")])
    return body_value.strip()


async def _limit_ip(ctx: Context, client_ip: str) -> None:
    # Mobile carriers put many people behind one address, so the per-IP budget is ten identities'.
    limit = ctx.settings.login_rate_limit_per_minute * 10
    await ratelimit.enforce(ctx.redis, f"login:ip:{client_ip}", limit, 60, "login_rate_limited",
                            "登录尝试过于频繁，请稍后再试", "Too many login attempts; please retry later")


async def _limit_identity(ctx: Context, identity: ChannelIdentity) -> None:
    await ratelimit.enforce(ctx.redis, f"login:id:{identity.rate_limit_key}", ctx.settings.login_rate_limit_per_minute,
                            60, "login_rate_limited", "该账号登录过于频繁，请稍后再试",
                            "Too many logins for this account; please retry later")


async def _wechat_identity(ctx: Context, app_id: Any, code: Any) -> ChannelIdentity:
    code = _required_text(code, "code")
    channel = await channels.get_enabled(ctx, app_id, channels.WECHAT_MINIPROGRAM)
    session = await channel_identity.login(ctx, channel, code)
    sealed_key = ctx.cipher.encrypt(session.session_key, f"wechat.session_key:{channel.app_id}:{session.openid}")
    keys: list[tuple[str, dict[str, Any]]] = [(wechat_openid_key(channel.app_id, session.openid), {
        "kind": "wechat_openid", "app_id": channel.app_id, "openid": session.openid, "session_key": sealed_key})]
    if session.unionid:
        keys.append((wechat_unionid_key(session.unionid), {"kind": "wechat_unionid", "app_id": None,
                                                           "unionid": session.unionid}))
    return ChannelIdentity("wechat", channel.app_id, tuple(keys),
                           {"kind": "wechat", "app_id": channel.app_id, "openid": session.openid})


async def _alipay_identity(ctx: Context, app_id: Any, auth_code: Any) -> ChannelIdentity:
    auth_code = _required_text(auth_code, "auth_code")
    channel = await channels.get_enabled(ctx, app_id, channels.ALIPAY_MINIPROGRAM)
    found = await channel_identity.login(ctx, channel, auth_code)
    keys: list[tuple[str, dict[str, Any]]] = []
    if found.open_id:
        keys.append((alipay_open_id_key(channel.app_id, found.open_id),
                     {"kind": "alipay_open_id", "app_id": channel.app_id, "open_id": found.open_id}))
    if found.user_id:
        keys.append((alipay_user_key(found.user_id), {"kind": "alipay_user_id", "app_id": None,
                                                      "user_id": found.user_id}))
    last = {"kind": "alipay", "app_id": channel.app_id, "user_id": found.user_id, "open_id": found.open_id}
    return ChannelIdentity("alipay", channel.app_id, tuple(keys), last)


async def _session_payload(ctx: Context, citizen: dict[str, Any], created: bool, channel: str = "") -> dict[str, Any]:
    # The session remembers the channel it was opened through: what that channel exposes limits it.
    pair = await tokens.start_session(ctx, Principal("citizen", str(citizen["_id"]), channel=channel))
    return {**pair.to_json(), "new_citizen": created, "citizen": public_view(citizen)}


async def login_wechat(ctx: Context, app_id: Any, code: Any, client_ip: str) -> dict[str, Any]:
    """WeChat mini-program login: wx.login code → code2Session → citizen → session."""
    _required_text(code, "code")
    await _limit_ip(ctx, client_ip)
    identity = await _wechat_identity(ctx, app_id, code)
    await _limit_identity(ctx, identity)
    citizen, created = await _attach(ctx, identity)
    return await _session_payload(ctx, citizen, created, identity.app_id)


async def login_alipay(ctx: Context, app_id: Any, auth_code: Any, client_ip: str) -> dict[str, Any]:
    """Alipay mini-program login: my.getAuthCode → alipay.system.oauth.token → citizen → session."""
    _required_text(auth_code, "auth_code")
    await _limit_ip(ctx, client_ip)
    identity = await _alipay_identity(ctx, app_id, auth_code)
    await _limit_identity(ctx, identity)
    citizen, created = await _attach(ctx, identity)
    return await _session_payload(ctx, citizen, created, identity.app_id)


async def login_web(ctx: Context, kind: str, app_id: str, code: Any, client_ip: str) -> dict[str, Any]:
    """H5 login (an official account's or Alipay web app's OAuth code): the same citizen the
    mini-programs know, through the unionid or the Alipay user_id; returns the citizen."""
    code = _required_text(code, "code")
    await _limit_ip(ctx, client_ip)
    channel = await channels.get_enabled(ctx, app_id, kind)
    found = await channel_identity.login(ctx, channel, code)
    keys: list[tuple[str, dict[str, Any]]] = []
    if found.openid:
        keys.append((wechat_openid_key(channel.app_id, found.openid),
                     {"kind": "wechat_openid", "app_id": channel.app_id, "openid": found.openid}))
    if found.unionid:
        keys.append((wechat_unionid_key(found.unionid), {"kind": "wechat_unionid", "app_id": None,
                                                         "unionid": found.unionid}))
    if found.open_id:
        keys.append((alipay_open_id_key(channel.app_id, found.open_id),
                     {"kind": "alipay_open_id", "app_id": channel.app_id, "open_id": found.open_id}))
    if found.user_id:
        keys.append((alipay_user_key(found.user_id), {"kind": "alipay_user_id", "app_id": None,
                                                      "user_id": found.user_id}))
    # Messages keep going through the mini-program last used: H5 pages have no subscribe messages here.
    identity = ChannelIdentity("wechat" if found.openid else "alipay", channel.app_id, tuple(keys), None)
    await _limit_identity(ctx, identity)
    citizen, _ = await _attach(ctx, identity)
    return citizen


# ---- profile --------------------------------------------------------------------------------------
async def update_profile(ctx: Context, citizen_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change nickname, avatar_url or language (null clears one); returns the public view."""
    errors = [FieldError(name, "unknown_field", f"不能修改 {name}", f"{name} cannot be changed here")
              for name in changes if name not in PROFILE_FIELDS]
    nickname, avatar, language = changes.get("nickname"), changes.get("avatar_url"), changes.get("language")
    if nickname is not None and (not isinstance(nickname, str) or not 1 <= len(nickname.strip()) <= 32):
        errors.append(FieldError("nickname", "invalid", "昵称应为 1-32 个字符", "nickname must be 1-32 characters"))
    if avatar is not None and (not isinstance(avatar, str) or not _URL.match(avatar)):
        errors.append(FieldError("avatar_url", "invalid", "头像地址应为 http(s) 链接", "avatar_url must be an http(s) URL"))
    if language is not None and language not in LANGUAGES:
        errors.append(FieldError("language", "invalid", "语言应为 zh-CN 或 en", "language must be zh-CN or en"))
    if errors:
        raise ValidationFailed(errors=errors)
    citizen = await get_citizen(ctx, citizen_id)
    if changes:
        updates = {f"profile.{name}": (value.strip() if isinstance(value, str) else value)
                   for name, value in changes.items()}
        await ctx.db.citizens.update_one({"_id": citizen["_id"]}, {"$set": {**updates, "updated_at": ctx.clock()}})
        citizen = await get_citizen(ctx, citizen["_id"])
    return public_view(citizen)


# ---- phone ------------------------------------------------------------------------------------------
def _wechat_app_for(citizen: dict[str, Any], app_id: Any) -> str:
    if isinstance(app_id, str) and app_id:
        return app_id
    last = citizen.get("last_channel") or {}
    if last.get("kind") == "wechat" and last.get("app_id"):
        return str(last["app_id"])
    raise ValidationFailed(errors=[FieldError("app_id", "required", "请指定微信小程序 app_id",
                                              "app_id of the WeChat mini-program is required")])


async def bind_phone_with_code(ctx: Context, citizen_id: str, code: Any, app_id: Any = None) -> dict[str, Any]:
    """Bind the phone WeChat's getPhoneNumber vouches for (the `code` form)."""
    code = _required_text(code, "code")
    citizen = await get_citizen(ctx, citizen_id)
    channel = await channels.get_enabled(ctx, _wechat_app_for(citizen, app_id), channels.WECHAT_MINIPROGRAM)
    phone = await channel_identity.phone_number(ctx, channel, code)
    return await _bind_phone(ctx, citizen, phone.pure_number, phone.country_code, "wechat_phone_code")


async def bind_phone_with_encrypted_data(ctx: Context, citizen_id: str, encrypted_data: Any, iv: Any,
                                         app_id: Any = None) -> dict[str, Any]:
    """Bind the phone from the older encryptedData + iv form, decrypted with the stored session key."""
    encrypted_data = _required_text(encrypted_data, "encrypted_data", 8192)
    iv = _required_text(iv, "iv", 64)
    citizen = await get_citizen(ctx, citizen_id)
    app = _wechat_app_for(citizen, app_id)
    logins = [d for d in (citizen.get("identities") or {}).values()
              if d.get("kind") == "wechat_openid" and d.get("app_id") == app and d.get("session_key")]
    if not logins:
        raise Conflict("wechat_session_missing", "请先通过该微信小程序登录", "Log in through this WeChat app first")
    latest = max(logins, key=lambda d: d.get("last_login_at") or datetime.datetime.min.replace(tzinfo=datetime.UTC))
    session_key = ctx.cipher.decrypt(latest["session_key"], f"wechat.session_key:{app}:{latest['openid']}")
    phone = channel_identity.phone_from_encrypted_data(ctx, app, session_key, encrypted_data, iv)
    return await _bind_phone(ctx, citizen, phone.pure_number, phone.country_code, "wechat_encrypted_data")


def _normalise_phone(pure: str, country_code: str) -> str:
    if country_code == "86" and _CN_MOBILE.match(pure):
        return pure
    if country_code != "86" and country_code.isdigit() and _FOREIGN_NUMBER.match(pure):
        return f"+{country_code}{pure}"
    raise ValidationFailed(errors=[FieldError("phone", "invalid_phone", "手机号格式不正确", "Not a valid mobile number")])


async def _bind_phone(ctx: Context, citizen: dict[str, Any], pure: str, country_code: str, source: str) -> dict[str, Any]:
    phone = _normalise_phone(pure, country_code)
    index = ctx.cipher.blind_index(phone, "phone")
    key = f"phone:{index}"
    owner = await _claim(ctx.db, key, str(citizen["_id"]), "phone", ctx.clock())
    if owner != str(citizen["_id"]):
        raise Conflict("phone_linked_to_other_citizen", "该手机号已绑定另一个账号；如均为本人，请先完成账号关联",
                       "This phone belongs to another account; if both are yours, link them first",
                       extra={"link_with": "/api/v1/me/link"})
    previous = (citizen.get("phone") or {}).get("index")
    now = ctx.clock()
    await ctx.db.citizens.update_one({"_id": citizen["_id"]}, {"$set": {
        "phone": {"cipher": ctx.cipher.encrypt(phone, "citizen.phone"), "index": index, "masked": mask_phone(phone),
                  "country_code": country_code, "source": source, "verified_at": now},
        "updated_at": now}})
    if previous and previous != index:  # a changed number frees the old one for its new owner
        await ctx.db.identities.delete_one({"_id": f"phone:{previous}", "citizen_id": str(citizen["_id"])})
    return public_view(await get_citizen(ctx, citizen["_id"]))


# ---- real name ----------------------------------------------------------------------------------------
async def bind_realname(ctx: Context, citizen_id: str, name: Any, id_number: Any,
                        face_verification_id: Any = None) -> dict[str, Any]:
    """实名: validate name and ID number (GB 11643), store the number encrypted with a blind index.

    The check here is the number's own consistency; verification against the public-security
    identity service is a separate integration this does not pretend to perform. Every attempt
    counts against the citizen's hourly budget: each answer says whether a number is valid and
    whether someone else holds it, so unlimited attempts would let a client probe for both.

    With `face_verification_id` (a verified 刷脸 of this very person for purpose rebind_realname,
    models.face, consumed here) the binding may replace another: this account's other ID number,
    or the same number held by another account (a new phone, a new account): the person proved
    they are who the number names, so the number moves here and the old account loses its binding.
    """
    await ratelimit.enforce(ctx.redis, f"realname:{citizen_id}", ctx.settings.realname_attempts_per_hour, 3600,
                            "realname_rate_limited", "实名认证尝试次数过多，请稍后再试",
                            "Too many real-name attempts; please retry later")
    clean_name, parsed = idcard.parse_person(name, id_number, local(ctx.clock()).date())
    citizen = await get_citizen(ctx, citizen_id)
    me = str(citizen["_id"])
    index = ctx.cipher.blind_index(parsed.value, "id_number")
    current = citizen.get("realname") or {}
    face_verified = face_verification_id is not None
    if face_verified:
        await face.for_rebinding(ctx, me, face_verification_id, clean_name, parsed.value)
    elif current and current.get("index") != index:
        raise Conflict("realname_already_bound", "该账号已完成实名认证，不能更换身份证号；本人可刷脸核验后重新绑定",
                       "This account is already bound to another ID number; verify your face to rebind it",
                       extra={"rebind_with": "/api/v1/me/face-verifications"})
    owner = await _claim(ctx.db, f"idno:{index}", me, "id_number", ctx.clock())
    now = ctx.clock()
    if owner != me and not face_verified:
        raise Conflict("id_number_linked_to_other_citizen", "该身份证号已绑定另一个账号；如均为本人，请先完成账号关联",
                       "This ID number belongs to another account; if both are yours, link them first",
                       extra={"link_with": "/api/v1/me/link", "rebind_with": "/api/v1/me/face-verifications"})
    if owner != me:
        await _move_id_number(ctx, index, owner, me, now)
    if current and current.get("index") and current.get("index") != index:
        await ctx.db.identities.delete_one({"_id": f"idno:{current['index']}", "citizen_id": me})
    await ctx.db.citizens.update_one({"_id": citizen["_id"]}, {"$set": {
        "realname": {"name": clean_name, "id_cipher": ctx.cipher.encrypt(parsed.value, "citizen.id_number"),
                     "index": index, "id_masked": idcard.mask_id_number(parsed.value),
                     "birth_date": parsed.birth_date.isoformat(), "gender": parsed.gender,
                     "verification": "face_verified" if face_verified else "format_checked", "verified_at": now},
        "updated_at": now}})
    return public_view(await get_citizen(ctx, citizen["_id"]))


async def _move_id_number(ctx: Context, index: str, owner: str, me: str, now: datetime.datetime) -> None:
    """Hand the ID number `index` from `owner` to `me` (after a face verification proved the person)."""
    moved = await ctx.db.identities.update_one({"_id": f"idno:{index}", "citizen_id": owner},
                                               {"$set": {"citizen_id": me, "moved_from": owner, "moved_at": now}})
    if moved.matched_count != 1:
        raise Conflict("realname_changed", "实名信息已变化，请重试", "The real-name binding changed meanwhile; retry")
    await ctx.db.citizens.update_one({"_id": _object_id(owner), "realname.index": index},
                                     {"$set": {"realname": None, "updated_at": now}})
    log.info("ID number moved from citizen %s to %s after face verification", owner, me)


# ---- linking two citizens ------------------------------------------------------------------------------
async def link_with_proof(ctx: Context, citizen_id: str, proof: Any, client_ip: str) -> dict[str, Any]:
    """Join another account to the caller's, proven by a fresh login of it (`proof`).

    The caller's token proves one side, the fresh channel login the other. A login nobody owns yet
    is simply attached; one that belongs to another citizen merges that citizen into the caller's.
    """
    if not isinstance(proof, dict) or proof.get("channel") not in ("wechat", "alipay"):
        raise ValidationFailed(errors=[FieldError("channel", "required", "请提供另一账号的登录凭证（channel 为 wechat 或 alipay）",
                                                  "A fresh login of the other account is required (channel wechat or alipay)")])
    keeper = await get_citizen(ctx, citizen_id)
    await _limit_ip(ctx, client_ip)
    if proof["channel"] == "wechat":
        identity = await _wechat_identity(ctx, proof.get("app_id"), proof.get("code"))
    else:
        identity = await _alipay_identity(ctx, proof.get("app_id"), proof.get("auth_code"))
    await _limit_identity(ctx, identity)
    owners = await _owners(ctx.db, [key for key, _ in identity.keys])
    keeper_id = str(keeper["_id"])
    others = {owner for owner in owners.values() if owner != keeper_id}
    if not owners:
        citizen, _ = await _attach(ctx, identity, only_to=keeper_id)
        return {"status": "linked", "citizen": public_view(citizen)}
    if not others:
        return {"status": "already_linked", "citizen": public_view(keeper)}
    for other in sorted(others):
        await _merge(ctx, keeper_id, other, f"proof:{identity.kind}")
    citizen, _ = await _attach(ctx, identity, only_to=keeper_id)
    return {"status": "merged", "citizen": public_view(citizen)}


async def _merge(ctx: Context, keeper_id: str, other_id: str, reason: str) -> None:
    keeper = await ctx.db.citizens.find_one({"_id": _object_id(keeper_id), "status": "active"})
    other = await ctx.db.citizens.find_one({"_id": _object_id(other_id), "status": "active"})
    if keeper is None or other is None:
        raise Conflict("link_conflict", "账号状态已变化，请重试", "One of the accounts changed meanwhile; please retry")
    keeper_id_index = (keeper.get("realname") or {}).get("index")
    other_id_index = (other.get("realname") or {}).get("index")
    if keeper_id_index and other_id_index and keeper_id_index != other_id_index:
        raise Conflict("realname_conflict", "两个账号实名认证的身份证号不同，不能关联",
                       "The two accounts are bound to different ID numbers and cannot be linked")
    now = ctx.clock()
    # 1. Close the other account first: from here on its logins resolve to the keeper.
    closed = await ctx.db.citizens.update_one({"_id": other["_id"], "status": "active"}, {"$set": {
        "status": "merged", "merged_into": keeper_id, "merged_at": now, "updated_at": now}})
    if closed.modified_count != 1:
        raise Conflict("link_conflict", "账号状态已变化，请重试", "One of the accounts changed meanwhile; please retry")
    # 2. Move identities; the keeper's own phone wins over the other's.
    if keeper.get("phone") and other.get("phone") and keeper["phone"]["index"] != other["phone"]["index"]:
        await ctx.db.identities.delete_one({"_id": f"phone:{other['phone']['index']}", "citizen_id": other_id})
    await ctx.db.identities.update_many({"citizen_id": other_id}, {"$set": {"citizen_id": keeper_id,
                                                                             "moved_from": other_id}})
    # 3. Copy the details onto the keeper.
    updates: dict[str, Any] = {f"identities.{name}": detail for name, detail in (other.get("identities") or {}).items()}
    if other.get("phone") and not keeper.get("phone"):
        updates["phone"] = other["phone"]
    if other.get("realname") and not keeper.get("realname"):
        updates["realname"] = other["realname"]
    updates["updated_at"] = now
    change: dict[str, Any] = {"$set": updates}
    if other.get("identity_keys"):
        change["$addToSet"] = {"identity_keys": {"$each": list(other["identity_keys"])}}
    await ctx.db.citizens.update_one({"_id": keeper["_id"]}, change)
    # 4. Record it (other features follow `citizen_links` to re-home their records) and log the other out.
    await ctx.db.citizen_links.insert_one({"kept": keeper_id, "merged": other_id, "reason": reason, "at": now})
    await tokens.revoke_all_sessions(ctx, "citizen", other_id, "merged")
    log.info("citizen %s merged into %s (%s)", other_id, keeper_id, reason)


# ---- operators ------------------------------------------------------------------------------------------
async def revoke_sessions(ctx: Context, citizen_id: str, operator_id: str) -> dict[str, Any]:
    """An operator logs a citizen out everywhere (lost phone, suspected takeover)."""
    citizen = await get_citizen(ctx, citizen_id)
    revoked = await tokens.revoke_all_sessions(ctx, "citizen", str(citizen["_id"]), "operator_revocation")
    log.info("operator %s revoked sessions of citizen %s: %s", operator_id, citizen["_id"], revoked)
    return {"citizen_id": str(citizen["_id"]), "revoked_sessions": revoked["sessions"],
            "revoked_access_tokens": revoked["access_tokens"]}


# ---- key rotation -------------------------------------------------------------------------------------------
async def rotate_citizen_secrets(ctx: Context) -> int:
    """Re-encrypt phones, ID numbers and session keys under the current key; return how many changed."""
    rotated = 0
    async for citizen in ctx.db.citizens.find({}, {"phone": 1, "realname": 1, "identities": 1}):
        sealed: list[tuple[str, str, str]] = []
        if (citizen.get("phone") or {}).get("cipher"):
            sealed.append(("phone.cipher", citizen["phone"]["cipher"], "citizen.phone"))
        if (citizen.get("realname") or {}).get("id_cipher"):
            sealed.append(("realname.id_cipher", citizen["realname"]["id_cipher"], "citizen.id_number"))
        for name, detail in (citizen.get("identities") or {}).items():
            if isinstance(detail, dict) and detail.get("session_key"):
                sealed.append((f"identities.{name}.session_key", detail["session_key"],
                               f"wechat.session_key:{detail.get('app_id')}:{detail.get('openid')}"))
        for path, value, context in sealed:
            if ctx.cipher.needs_rotation(value):
                result = await ctx.db.citizens.update_one(
                    {"_id": citizen["_id"], path: value}, {"$set": {path: ctx.cipher.rotate(value, context)}})
                rotated += result.modified_count
    return rotated
