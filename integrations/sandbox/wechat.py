"""Sandbox WeChat: the mini-program server API with WeChat's request/response shapes and errcodes.

Mounted at /sandbox/wechat, so a channel whose API base URL is `<base>/sandbox/wechat` talks to it
exactly as to https://api.weixin.qq.com. WeChat answers HTTP 200 with an `errcode` for failures;
so does this. Codes are single-use and expire after 5 minutes. Test helpers under /test create
codes (what wx.login / getPhoneNumber would give the mini-program), encrypt user data, make a user
refuse messages, and arm faults (an errcode or a delay for the next calls of one API).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import re
from typing import Any

from pymongo import ReturnDocument

from integrations.sandbox import common, consent
from integrations.sandbox.base import SandboxHandler
from integrations.wechat import encrypt_user_data
from models.core.context import Context
from models.errors import FieldError, ValidationFailed

VENDOR = "wechat"
TOKEN_TTL_SECONDS = 7200
APIS = ("jscode2session", "token", "getuserphonenumber", "subscribe_send", "face_getverifyid", "face_queryverifyinfo",
        "oauth2_access_token", "userinfo", "getticket")
WEB_TOKEN_PREFIX = "cg:sandbox:wx-web-token:"
OAUTH_SCOPES = ("snsapi_base", "snsapi_userinfo")
_PHONE = re.compile(r"^\+?\d{5,20}$")


async def register_app(ctx: Context, app_id: str, secret: str, domains: list[str] | None = None) -> None:
    """Register a mini-program (or an official account, with its web authorisation domains) and its AppSecret."""
    await common.register_app(ctx, VENDOR, app_id, secret=secret, **({"domains": domains} if domains else {}))


def _error(errcode: int, errmsg: str) -> dict[str, Any]:
    return {"errcode": errcode, "errmsg": f"{errmsg}, rid: {common.request_id()}"}


class WeChatApiHandler(SandboxHandler):
    """Base of the sandbox's WeChat endpoints: always HTTP 200, errors as errcode/errmsg."""

    api = ""

    def answer(self, payload: dict[str, Any]) -> None:
        self.set_header("Content-Type", "application/json; encoding=utf-8")
        self.finish(json.dumps(payload, ensure_ascii=False))

    async def credentials_problem(self, app_id: str | None, secret: str | None) -> dict[str, Any] | None:
        if not app_id:
            return _error(41002, "appid missing")
        if not secret:
            return _error(41004, "appsecret missing")
        app = await common.find_app(self.ctx, VENDOR, app_id)
        if app is None:
            return _error(40013, "invalid appid")
        if app.get("secret") != secret:
            return _error(40125, "invalid appsecret")
        return None

    async def token_app(self) -> tuple[str | None, dict[str, Any] | None]:
        """The app owning the `access_token` query argument, or the errcode answer."""
        token = self.get_query_argument("access_token", "")
        if not token:
            return None, _error(41001, "access_token missing")
        record = await self.ctx.db.sandbox_wechat_tokens.find_one({"_id": token})
        if record is None:
            return None, _error(40001, "invalid credential, access_token is invalid or not latest")
        if record["expires_at"] <= self.ctx.clock():
            return None, _error(42001, "access_token expired")
        return record["app_id"], None

    async def fault(self, app_id: str) -> dict[str, Any] | None:
        answer = await common.take_fault(self.ctx, VENDOR, app_id, self.api)
        return _error(answer["errcode"], answer.get("errmsg", "sandbox fault")) if answer else None

    async def token_call(self) -> tuple[str, dict[str, Any]] | None:
        """The calling app and JSON body of an access_token-authorised API call, in WeChat's order of
        checks (token, body, armed fault); None once the errcode answer has been written."""
        app_id, problem = await self.token_app()
        if problem or app_id is None:
            self.answer(problem or _error(40001, "invalid credential"))
            return None
        body = _json_or_none(self.request.body)
        if body is None:
            self.answer(_error(47001, "data format error"))
            return None
        fault = await self.fault(app_id)
        if fault:
            self.answer(fault)
            return None
        return app_id, body

    async def authorization_code(self, code_argument: str, kind: str) -> tuple[str, str, dict[str, Any]] | None:
        """The checks code2Session and the web access_token share, in WeChat's order (credentials,
        grant_type, code, armed fault), then the code used once: (app_id, code, its record), or None
        once the errcode has been answered."""
        app_id = self.get_query_argument("appid", "")
        problem = await self.credentials_problem(app_id, self.get_query_argument("secret", ""))
        if problem:
            self.answer(problem)
            return None
        if self.get_query_argument("grant_type", "") != "authorization_code":
            self.answer(_error(40002, "invalid grant_type"))
            return None
        code = self.get_query_argument(code_argument, "")
        if not code:
            self.answer(_error(41008, "missing code"))
            return None
        fault = await self.fault(app_id)
        if fault:
            self.answer(fault)
            return None
        record, problem = await self.redeem(code, app_id, kind)
        if problem or record is None:
            self.answer(problem or _error(40029, "invalid code"))
            return None
        return app_id, code, record

    async def redeem(self, code: str, app_id: str, kind: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Use a code once: (its record, None) or (None, the errcode answer)."""
        now = self.ctx.clock()
        record = await self.ctx.db.sandbox_wechat_codes.find_one_and_update(
            {"_id": code, "app_id": app_id, "kind": kind, "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"used_at": now}}, return_document=ReturnDocument.AFTER)
        if record is not None:
            return record, None
        seen = await self.ctx.db.sandbox_wechat_codes.find_one({"_id": code, "app_id": app_id, "kind": kind})
        if seen is not None and seen.get("used_at") is not None:
            return None, _error(40163, "code been used")
        return None, _error(40029, "invalid code")


class Code2SessionHandler(WeChatApiHandler):
    """WeChat code2Session (sns/jscode2session): login code → openid, unionid, session_key."""

    api = "jscode2session"

    async def get(self) -> None:
        redeemed = await self.authorization_code("js_code", "login")
        if redeemed is None:
            return
        app_id, _code, record = redeemed
        if record.get("blocked"):
            return self.answer(_error(40226, "high risk user"))
        # WeChat issues a fresh session key on login; the latest one decrypts the user's data.
        session_key = base64.b64encode(os.urandom(16)).decode()
        await self.ctx.db.sandbox_wechat_sessions.update_one(
            {"_id": f"{app_id}:{record['openid']}"},
            {"$set": {"session_key": session_key, "updated_at": self.ctx.clock()}}, upsert=True)
        payload = {"session_key": session_key, "openid": record["openid"]}
        if record.get("unionid"):
            payload["unionid"] = record["unionid"]
        self.answer(payload)


class AccessTokenHandler(WeChatApiHandler):
    """WeChat getAccessToken (cgi-bin/token): the app's interface credential."""

    api = "token"

    async def get(self) -> None:
        app_id = self.get_query_argument("appid", "")
        problem = await self.credentials_problem(app_id, self.get_query_argument("secret", ""))
        if problem:
            return self.answer(problem)
        if self.get_query_argument("grant_type", "") != "client_credential":
            return self.answer(_error(40002, "invalid grant_type"))
        fault = await self.fault(app_id)
        if fault:
            return self.answer(fault)
        token = common.new_code(20) + base64.urlsafe_b64encode(os.urandom(96)).decode().rstrip("=")
        await self.ctx.db.sandbox_wechat_tokens.insert_one({
            "_id": token, "app_id": app_id,
            "expires_at": self.ctx.clock() + datetime.timedelta(seconds=TOKEN_TTL_SECONDS)})
        self.answer({"access_token": token, "expires_in": TOKEN_TTL_SECONDS})


class PhoneNumberHandler(WeChatApiHandler):
    """WeChat phonenumber.getPhoneNumber (wxa/business/getuserphonenumber): phone code → number."""

    api = "getuserphonenumber"

    async def post(self) -> None:
        call = await self.token_call()
        if call is None:
            return
        app_id, body = call
        code = body.get("code")
        if not isinstance(code, str) or not code:
            return self.answer(_error(40029, "invalid code"))
        record, problem = await self.redeem(code, app_id, "phone")
        if problem or record is None:
            return self.answer(problem or _error(40029, "invalid code"))
        country, pure = record["country_code"], record["phone"]
        self.answer({"errcode": 0, "errmsg": "ok", "phone_info": {
            "phoneNumber": pure if country == "86" else f"+{country}{pure}",
            "purePhoneNumber": pure, "countryCode": country,
            "watermark": {"timestamp": int(self.ctx.clock().timestamp()), "appid": app_id}}})


class SubscribeSendHandler(WeChatApiHandler):
    """WeChat subscribeMessage.send (cgi-bin/message/subscribe/send); records what it receives."""

    api = "subscribe_send"

    async def post(self) -> None:
        call = await self.token_call()
        if call is None:
            return
        app_id, body = call
        touser, template_id, data = body.get("touser"), body.get("template_id"), body.get("data")
        if not isinstance(touser, str) or not touser:
            return self.answer(_error(40003, "invalid openid"))
        if not isinstance(template_id, str) or not template_id:
            return self.answer(_error(40037, "invalid template_id"))
        if not isinstance(data, dict) or not all(isinstance(v, dict) and "value" in v for v in data.values()):
            return self.answer(_error(47003, "argument invalid! data.value invalid"))
        if await common.refuses_messages(self.ctx, VENDOR, app_id, touser):
            return self.answer(_error(43101, "user refuse to accept the msg"))
        client_msg_id = body.get("client_msg_id") if isinstance(body.get("client_msg_id"), str) else None
        message = {k: body[k] for k in ("touser", "template_id", "page", "data", "miniprogram_state", "lang")
                   if k in body}
        message_id, _ = await common.record_message(self.ctx, VENDOR, app_id, touser, client_msg_id, message)
        self.answer({"errcode": 0, "errmsg": "ok", "msgid": int(hashlib.sha256(message_id.encode()).hexdigest()[:13], 16)})


# ---- official accounts: web authorisation and JS-SDK ------------------------------------------------
class AuthorizeHandler(WeChatApiHandler):
    """connect/oauth2/authorize: the consent page (snsapi_userinfo) or a silent pass (snsapi_base),
    then back to redirect_uri?code&state. WeChat's own errors here are pages (10003 redirect_uri
    domain not registered, 10005 scope not allowed); this answers them as errcode JSON."""

    async def checked(self, source: dict[str, str]) -> tuple[dict[str, Any], str, str, str] | None:
        app_id, redirect_uri = source.get("appid", ""), source.get("redirect_uri", "")
        scope = source.get("scope", "")
        app = await common.find_app(self.ctx, VENDOR, app_id) if app_id else None
        if app is None:
            self.set_status(400)
            self.answer(_error(10002, "appid invalid"))
            return None
        if not consent.redirect_host_allowed(app, redirect_uri):
            self.set_status(400)
            self.answer(_error(10003, "redirect_uri domain mismatch"))
            return None
        if scope not in OAUTH_SCOPES or source.get("response_type", "code") != "code":
            self.set_status(400)
            self.answer(_error(10005, "scope not allowed"))
            return None
        return app, redirect_uri, scope, source.get("state", "")

    async def get(self) -> None:
        source = {k: self.get_query_argument(k, "") for k in ("appid", "redirect_uri", "response_type", "scope", "state")}
        checked = await self.checked(source)
        if checked is None:
            return
        app, _, scope, _ = checked
        if scope == "snsapi_base":  # silent: WeChat asks nothing for the openid alone
            return await self.consented(source)
        consent.render(self, vendor_name="微信", title="微信授权", app_name=app.get("name") or app["app_id"],
                       asks="获得你的公开信息（昵称、头像、地区及性别）", fields=source)

    async def post(self) -> None:
        source = {k: self.get_body_argument(k, "") for k in ("appid", "redirect_uri", "response_type", "scope", "state")}
        if self.get_body_argument("decision", "") != "allow":
            checked = await self.checked(source)
            if checked is not None:  # a refusal returns without a code, as WeChat does
                self.redirect(consent.with_query(checked[1], {"state": checked[3]}))
            return
        await self.consented(source)

    async def consented(self, source: dict[str, str]) -> None:
        checked = await self.checked(source)
        if checked is None:
            return
        app, redirect_uri, scope, state = checked
        user = await consent.take_next_user(self.ctx, VENDOR, app["app_id"])
        if user is None:
            person = consent.browser_user(self)
            user = {"openid": "o" + hashlib.sha256(f"{app['app_id']}:{person}".encode()).hexdigest()[:27],
                    "unionid": "u" + person[:27]}
        code = common.new_code()
        await self.ctx.db.sandbox_wechat_codes.insert_one({
            "_id": code, "kind": "oauth", "app_id": app["app_id"], "openid": user["openid"],
            "unionid": user.get("unionid"), "scope": scope, "used_at": None,
            "expires_at": self.ctx.clock() + common.CODE_TTL})
        self.redirect(consent.with_query(redirect_uri, {"code": code, "state": state}))


class OAuthAccessTokenHandler(WeChatApiHandler):
    """sns/oauth2/access_token: a web authorisation code → access_token, openid, scope (unionid with snsapi_userinfo)."""

    api = "oauth2_access_token"

    async def get(self) -> None:
        redeemed = await self.authorization_code("code", "oauth")
        if redeemed is None:
            return
        app_id, _code, record = redeemed
        token = common.new_code(20) + base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("=")
        held = {"app_id": app_id, "openid": record["openid"], "unionid": record.get("unionid"), "scope": record["scope"]}
        await self.ctx.redis.set(WEB_TOKEN_PREFIX + token, json.dumps(held), ex=TOKEN_TTL_SECONDS)
        payload = {"access_token": token, "expires_in": TOKEN_TTL_SECONDS, "refresh_token": common.new_code(40),
                   "openid": record["openid"], "scope": record["scope"], "is_snapshotuser": 0}
        if record["scope"] == "snsapi_userinfo" and record.get("unionid"):
            payload["unionid"] = record["unionid"]  # WeChat gives the unionid only with snsapi_userinfo
        self.answer(payload)


class UserInfoHandler(WeChatApiHandler):
    """sns/userinfo: the user's public profile for a snsapi_userinfo web access_token."""

    api = "userinfo"

    async def get(self) -> None:
        raw = await self.ctx.redis.get(WEB_TOKEN_PREFIX + self.get_query_argument("access_token", ""))
        if not raw:
            return self.answer(_error(40001, "invalid credential, access_token is invalid or not latest"))
        held = json.loads(raw)
        if self.get_query_argument("openid", "") != held["openid"]:
            return self.answer(_error(40003, "invalid openid"))
        if held["scope"] != "snsapi_userinfo":
            return self.answer(_error(48001, "api unauthorized"))
        fault = await self.fault(held["app_id"])
        if fault:
            return self.answer(fault)
        info = {"openid": held["openid"], "nickname": "沙箱用户", "sex": 0, "province": "", "city": "", "country": "",
                "headimgurl": "", "privilege": []}
        if held.get("unionid"):
            info["unionid"] = held["unionid"]
        self.answer(info)


class TicketHandler(WeChatApiHandler):
    """cgi-bin/ticket/getticket?type=jsapi: the account's JS-SDK ticket (7200 s)."""

    api = "getticket"

    async def get(self) -> None:
        app_id, problem = await self.token_app()
        if problem or app_id is None:
            return self.answer(problem or _error(40001, "invalid credential"))
        if self.get_query_argument("type", "") not in ("jsapi", "wx_card"):
            return self.answer(_error(40097, "invalid args"))
        fault = await self.fault(app_id)
        if fault:
            return self.answer(fault)
        self.answer({"errcode": 0, "errmsg": "ok", "ticket": common.new_code(86), "expires_in": TOKEN_TTL_SECONDS})


class OAuthUserHelperHandler(SandboxHandler):
    """Sandbox test helper: {app_id, openid, unionid?}: who the official account's next consent is."""

    async def post(self) -> None:
        body = self.json_body()
        app_id = await common.require_registered(self.ctx, VENDOR, body)
        user = {"openid": common.required_identifier(body, "openid"),
                "unionid": common.required_identifier(body, "unionid", optional=True)}
        await consent.set_next_user(self.ctx, VENDOR, app_id, user)
        self.write_json({"app_id": app_id, **user})


def _json_or_none(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


# ---- test helpers ------------------------------------------------------------------------------
class LoginCodeHelperHandler(SandboxHandler):
    """Sandbox test helper: a wx.login code for {app_id, openid, unionid?} (single use, 5 minutes)."""

    async def post(self) -> None:
        body = self.json_body()
        app_id = await common.require_registered(self.ctx, VENDOR, body)
        openid = common.required_identifier(body, "openid")
        unionid = common.required_identifier(body, "unionid", optional=True)
        code = common.new_code()
        await self.ctx.db.sandbox_wechat_codes.insert_one({
            "_id": code, "kind": "login", "app_id": app_id, "openid": openid, "unionid": unionid,
            "blocked": bool(body.get("blocked")), "used_at": None,
            "expires_at": self.ctx.clock() + common.CODE_TTL})
        self.write_json({"code": code, "expires_in": int(common.CODE_TTL.total_seconds())})


def _phone_field(body: dict[str, Any]) -> tuple[str, str]:
    """(country code, national number) from a test helper's `phone` ("13800138000" or "+85261234567")."""
    phone = body.get("phone")
    if not isinstance(phone, str) or not _PHONE.match(phone):
        raise ValidationFailed(errors=[FieldError("phone", "invalid", "手机号格式不正确", "Not a phone number")])
    country = body.get("country_code") or "86"
    if phone.startswith("+"):
        if not phone.startswith("+86"):
            raise ValidationFailed(errors=[FieldError("phone", "invalid", "境外号码请用 country_code 指定区号",
                                                      "Give numbers outside China with country_code")])
        phone = phone[3:]
    return str(country), phone


class PhoneCodeHelperHandler(SandboxHandler):
    """Sandbox test helper: a getPhoneNumber code for {app_id, phone} (single use, 5 minutes)."""

    async def post(self) -> None:
        body = self.json_body()
        app_id = await common.require_registered(self.ctx, VENDOR, body)
        country, phone = _phone_field(body)
        code = common.new_code()
        await self.ctx.db.sandbox_wechat_codes.insert_one({
            "_id": code, "kind": "phone", "app_id": app_id, "phone": phone, "country_code": country,
            "used_at": None, "expires_at": self.ctx.clock() + common.CODE_TTL})
        self.write_json({"code": code, "expires_in": int(common.CODE_TTL.total_seconds())})


class EncryptedDataHelperHandler(SandboxHandler):
    """Sandbox test helper: a phone number as encryptedData + iv under the user's latest session key."""

    async def post(self) -> None:
        body = self.json_body()
        app_id = await common.require_registered(self.ctx, VENDOR, body)
        openid = common.required_identifier(body, "openid")
        country, phone = _phone_field(body)
        session = await self.ctx.db.sandbox_wechat_sessions.find_one({"_id": f"{app_id}:{openid}"})
        if session is None:
            raise ValidationFailed(errors=[FieldError("openid", "no_session", "该用户尚未登录此小程序",
                                                      "This user has not logged in to this app")])
        watermark_app = body.get("watermark_app_id") or app_id  # tests use another app to prove refusal
        encrypted, iv = encrypt_user_data(session["session_key"], {
            "phoneNumber": phone, "purePhoneNumber": phone, "countryCode": country,
            "watermark": {"appid": watermark_app, "timestamp": int(self.ctx.clock().timestamp())}})
        self.write_json({"encrypted_data": encrypted, "iv": iv})


class RefuseMessagesHelperHandler(SandboxHandler):
    """Sandbox test helper: {app_id, openid, refuse} makes subscribe sends to that user answer 43101."""

    async def post(self) -> None:
        body = self.json_body()
        app_id = await common.require_registered(self.ctx, VENDOR, body)
        openid = common.required_identifier(body, "openid")
        await common.set_refusal(self.ctx, VENDOR, app_id, openid, bool(body.get("refuse", True)))
        self.write_json({"app_id": app_id, "openid": openid, "refuse": bool(body.get("refuse", True))})


class FaultHelperHandler(SandboxHandler):
    """Sandbox test helper: the next `times` calls of `api` answer `errcode` and/or wait `delay_ms`."""

    async def post(self) -> None:
        body = self.json_body()
        app_id = await common.require_registered(self.ctx, VENDOR, body)
        api, errcode = body.get("api"), body.get("errcode")
        times, delay_ms = body.get("times", 1), body.get("delay_ms", 0)
        errors = []
        if api not in APIS:
            errors.append(FieldError("api", "invalid", f"api 应为 {', '.join(APIS)} 之一", f"api must be one of {APIS}"))
        if errcode is not None and not isinstance(errcode, int):
            errors.append(FieldError("errcode", "invalid", "errcode 应为整数", "errcode must be an integer"))
        if not isinstance(times, int) or not 1 <= times <= 1000:
            errors.append(FieldError("times", "invalid", "times 应为 1-1000", "times must be 1-1000"))
        if not isinstance(delay_ms, int) or not 0 <= delay_ms <= 60000:
            errors.append(FieldError("delay_ms", "invalid", "delay_ms 应为 0-60000", "delay_ms must be 0-60000"))
        if errors:
            raise ValidationFailed(errors=errors)
        answer = {"errcode": errcode, "errmsg": body.get("errmsg") or "sandbox fault"} if errcode is not None else None
        await common.arm_fault(self.ctx, VENDOR, app_id, api, answer, times, delay_ms)
        self.write_json({"app_id": app_id, "api": api, "errcode": errcode, "times": times, "delay_ms": delay_ms})


class MessagesHelperHandler(SandboxHandler):
    """Sandbox test helper: the subscribe messages WeChat received (?app_id=&touser=)."""

    async def get(self) -> None:
        items = await common.list_messages(self.ctx, VENDOR, self.get_query_argument("app_id", None),
                                           self.get_query_argument("touser", None))
        self.write_json({"items": items, "total": len(items)})


routes = [
    (r"/sandbox/wechat/sns/jscode2session", Code2SessionHandler),
    (r"/sandbox/wechat/cgi-bin/token", AccessTokenHandler),
    (r"/sandbox/wechat/wxa/business/getuserphonenumber", PhoneNumberHandler),
    (r"/sandbox/wechat/cgi-bin/message/subscribe/send", SubscribeSendHandler),
    (r"/sandbox/wechat/connect/oauth2/authorize", AuthorizeHandler),
    (r"/sandbox/wechat/sns/oauth2/access_token", OAuthAccessTokenHandler),
    (r"/sandbox/wechat/sns/userinfo", UserInfoHandler),
    (r"/sandbox/wechat/cgi-bin/ticket/getticket", TicketHandler),
    (r"/sandbox/wechat/test/oauth-user", OAuthUserHelperHandler),
    (r"/sandbox/wechat/test/login-code", LoginCodeHelperHandler),
    (r"/sandbox/wechat/test/phone-code", PhoneCodeHelperHandler),
    (r"/sandbox/wechat/test/encrypted-data", EncryptedDataHelperHandler),
    (r"/sandbox/wechat/test/refuse-messages", RefuseMessagesHelperHandler),
    (r"/sandbox/wechat/test/fault", FaultHelperHandler),
    (r"/sandbox/wechat/test/messages", MessagesHelperHandler),
]
