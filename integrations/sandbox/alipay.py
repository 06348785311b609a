"""Sandbox Alipay: the open platform gateway (gateway.do) with real RSA2 signatures both ways.

Requests are verified with the calling app's registered public key; responses are signed with the
sandbox gateway's own key (generated once, kept in MongoDB, published at /sandbox/keys), over the
raw text of the response node, exactly as Alipay does. Methods are pluggable: other sandbox
modules (payments) add theirs with `@gateway_method("alipay.trade.create")`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import ReturnDocument

from integrations import alipay as alipay_protocol
from integrations.sandbox import common, consent, keys
from integrations.sandbox.base import SandboxHandler
from models.core.context import Context
from models.core.timezone import VendorTimeError, alipay_time, parse_alipay_time
from models.errors import FieldError, ValidationFailed

VENDOR = "alipay"
GATEWAY_KEY_NAME = "alipay_gateway"

MethodHandler = Callable[[Any, str, dict[str, str], dict[str, Any]], Awaitable[dict[str, Any]]]
GATEWAY_METHODS: dict[str, MethodHandler] = {}


class GatewayError(Exception):
    """A failure answer: `code` 40004 in the method's node, protocol errors in error_response."""

    def __init__(self, code: str, msg: str, sub_code: str = "", sub_msg: str = "", protocol: bool = False) -> None:
        super().__init__(sub_code or code)
        self.node = {"code": code, "msg": msg, **({"sub_code": sub_code, "sub_msg": sub_msg} if sub_code else {})}
        self.protocol = protocol


def invalid_arguments(sub_code: str, sub_msg: str) -> GatewayError:
    return GatewayError("40002", "Invalid Arguments", sub_code, sub_msg, protocol=True)


def business_failed(sub_code: str, sub_msg: str) -> GatewayError:
    return GatewayError("40004", "Business Failed", sub_code, sub_msg)


def gateway_method(name: str) -> Callable[[MethodHandler], MethodHandler]:
    """Register `handler(ctx, app_id, params, biz_content)` → response node for method `name`."""
    def register(handler: MethodHandler) -> MethodHandler:
        GATEWAY_METHODS[name] = handler
        return handler
    return register


async def gateway_private_key_pem(ctx: Context) -> str:
    return await keys.rsa_private_key_pem(ctx, GATEWAY_KEY_NAME)


async def gateway_public_key_pem(ctx: Context) -> str:
    """The key apps verify the sandbox gateway's responses (and notifications) with."""
    return keys.public_pem_of(await gateway_private_key_pem(ctx))


async def register_app(ctx: Context, app_id: str, app_public_key_pem: str, domains: list[str] | None = None) -> None:
    """Register an app's public key (and a web app's authorisation callback domains) with the sandbox."""
    await common.register_app(ctx, VENDOR, app_id, app_public_key=app_public_key_pem,
                              **({"domains": domains} if domains else {}))


def open_id_for(app_id: str, user_id: str) -> str:
    """A stable per-app open_id for a user, shaped like Alipay's (letters and digits, ~48 chars)."""
    digest = hashlib.sha256(f"sandbox-open-id:{app_id}:{user_id}".encode()).digest()
    return "0" + base64.b32encode(digest).decode().rstrip("=").lower()[:47]


async def signed_answer(ctx: Context, node_name: str, node: dict[str, Any]) -> str:
    """`{"<node>": {...}, "sign": "..."}` with the signature over the node's exact text."""
    text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
    signature = alipay_protocol.sign_text(text, await gateway_private_key_pem(ctx))
    return "{" + json.dumps(node_name) + ":" + text + ',"sign":' + json.dumps(signature) + "}"


class GatewayHandler(SandboxHandler):
    """Alipay open platform gateway (gateway.do): RSA2-verified requests, RSA2-signed responses."""

    async def get(self) -> None:
        await self.post()

    async def post(self) -> None:
        params = {name: values[-1].decode("utf-8", "replace") for name, values in self.request.arguments.items()}
        method = params.get("method", "")
        node_name = method.replace(".", "_") + "_response" if method in GATEWAY_METHODS else "error_response"
        try:
            app_id = await self.verify_request(params)
            biz = _biz_content(params)
            fault = await common.take_fault(self.ctx, VENDOR, app_id, method)
            if fault:
                raise GatewayError(fault["code"], fault.get("msg", "Business Failed"), fault.get("sub_code", ""),
                                   fault.get("sub_msg", ""), protocol=fault.get("code") in ("40001", "40002"))
            node = await GATEWAY_METHODS[method](self.ctx, app_id, params, biz)
        except GatewayError as exc:
            node = exc.node
            if exc.protocol:
                node_name = "error_response"
        self.set_header("Content-Type", "text/html;charset=utf-8")  # what Alipay's gateway sends
        self.finish(await signed_answer(self.ctx, node_name, node))

    async def verify_request(self, params: dict[str, str]) -> str:
        app_id = params.get("app_id", "")
        if not app_id:
            raise GatewayError("40001", "Missing Required Arguments", "isv.missing-app-id", "缺少AppID参数", True)
        app = await common.find_app(self.ctx, VENDOR, app_id)
        if app is None:
            raise invalid_arguments("isv.invalid-app-id", "无效的AppID参数")
        if not params.get("method"):
            raise GatewayError("40001", "Missing Required Arguments", "isv.missing-method", "缺少方法名参数", True)
        if params["method"] not in GATEWAY_METHODS:
            raise invalid_arguments("isv.invalid-method", "不存在的方法名")
        if not params.get("sign"):
            raise GatewayError("40001", "Missing Required Arguments", "isv.missing-signature", "缺少签名参数", True)
        if params.get("sign_type") != "RSA2":
            raise invalid_arguments("isv.invalid-signature-type", "无效的签名类型")
        try:
            sent = parse_alipay_time(params.get("timestamp", ""))
        except VendorTimeError:
            raise invalid_arguments("isv.invalid-timestamp", "非法的时间戳参数") from None
        if abs((self.ctx.clock() - sent).total_seconds()) > 15 * 60:
            raise invalid_arguments("isv.invalid-timestamp", "非法的时间戳参数")
        if not alipay_protocol.verify_params(params, params["sign"], app["app_public_key"]):
            raise invalid_arguments("isv.invalid-signature", "验签出错")
        return app_id


def _biz_content(params: dict[str, str]) -> dict[str, Any]:
    raw = params.get("biz_content")
    if not raw:
        return {}
    try:
        biz = json.loads(raw)
    except ValueError:
        raise invalid_arguments("isv.invalid-biz-content", "业务参数格式错误") from None
    if not isinstance(biz, dict):
        raise invalid_arguments("isv.invalid-biz-content", "业务参数格式错误")
    return biz


@gateway_method("alipay.system.oauth.token")
async def oauth_token(ctx: Context, app_id: str, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    """Exchange a single-use auth code for the user's ids (user_id and/or open_id) and a token."""
    if params.get("grant_type") != "authorization_code":
        raise invalid_arguments("isv.grant-type-invalid", "grant_type参数不正确")
    code = params.get("code", "")
    now = ctx.clock()
    record = await ctx.db.sandbox_alipay_codes.find_one_and_update(
        {"_id": code, "app_id": app_id, "used_at": None, "expires_at": {"$gt": now}},
        {"$set": {"used_at": now}}, return_document=ReturnDocument.AFTER) if code else None
    if record is None:
        raise invalid_arguments("isv.code-invalid", "授权码code无效")
    node: dict[str, Any] = {}
    if record["id_mode"] in ("user_id", "both"):
        node["user_id"] = record["user_id"]
    if record["id_mode"] in ("open_id", "both"):
        node["open_id"] = open_id_for(app_id, record["user_id"])
    node.update({
        "access_token": "authusrB" + os.urandom(16).hex(), "expires_in": 1296000,
        "refresh_token": "authusrB" + os.urandom(16).hex(), "re_expires_in": 2592000,
        "auth_start": alipay_time(now),
    })
    return node


@gateway_method("alipay.open.app.mini.templatemessage.send")
async def send_template_message(ctx: Context, app_id: str, params: dict[str, str],
                                biz: dict[str, Any]) -> dict[str, Any]:
    """Mini-program message to a user (to_user_id or to_open_id); recorded for tests."""
    recipient = biz.get("to_user_id") or biz.get("to_open_id")
    if not isinstance(recipient, str) or not recipient:
        raise business_failed("INVALID_PARAMETER", "接收者 to_user_id / to_open_id 不能为空")
    if not isinstance(biz.get("user_template_id"), str) or not biz["user_template_id"]:
        raise business_failed("USER_TEMPLATE_ILLEGAL", "模板 user_template_id 不合法")
    if await common.refuses_messages(ctx, VENDOR, app_id, recipient):
        raise business_failed("USER_NOT_SUBSCRIBED", "用户未订阅该消息")
    client_msg_id = biz.get("out_biz_no") if isinstance(biz.get("out_biz_no"), str) else None
    message = {k: biz[k] for k in ("to_user_id", "to_open_id", "user_template_id", "page", "data") if k in biz}
    await common.record_message(ctx, VENDOR, app_id, recipient, client_msg_id, message)
    return {"code": "10000", "msg": "Success"}


# ---- web authorisation (H5) ----------------------------------------------------------------------
OAUTH_SCOPES = ("auth_base", "auth_user")


class PublicAppAuthorizeHandler(SandboxHandler):
    """oauth2/publicAppAuthorize.htm: the consent page (auth_user) or a silent pass (auth_base), then
    back to redirect_uri?app_id&source=alipay_wallet&scope&auth_code&state."""

    async def checked(self, source: dict[str, str]) -> dict[str, Any] | None:
        app = await common.find_app(self.ctx, VENDOR, source["app_id"]) if source["app_id"] else None
        problem = None
        if app is None:
            problem = ("invalid-app-id", "无效的 app_id")
        elif not consent.redirect_host_allowed(app, source["redirect_uri"]):
            problem = ("invalid-redirect-uri", "redirect_uri 与应用配置的授权回调地址不一致")
        elif not source["scope"] or any(s not in OAUTH_SCOPES for s in source["scope"].split(",")):
            problem = ("invalid-scope", "无效的 scope")
        if problem:
            self.set_status(400)
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(json.dumps({"error": problem[0], "error_description": problem[1]}, ensure_ascii=False))
            return None
        return app

    def source(self, read: Any) -> dict[str, str]:
        return {k: read(k, "") for k in ("app_id", "scope", "redirect_uri", "state")}

    async def get(self) -> None:
        source = self.source(self.get_query_argument)
        app = await self.checked(source)
        if app is None:
            return
        if "auth_user" not in source["scope"].split(","):  # auth_base is silent
            return await self.consented(app, source)
        consent.render(self, vendor_name="支付宝", title="支付宝授权", app_name=app.get("name") or app["app_id"],
                       asks="获取你的支付宝账户信息（头像、昵称等）", fields=source)

    async def post(self) -> None:
        source = self.source(self.get_body_argument)
        app = await self.checked(source)
        if app is None:
            return
        if self.get_body_argument("decision", "") != "allow":
            self.redirect(consent.with_query(source["redirect_uri"], {"app_id": app["app_id"], "state": source["state"]}))
            return
        await self.consented(app, source)

    async def consented(self, app: dict[str, Any], source: dict[str, str]) -> None:
        user = await consent.take_next_user(self.ctx, VENDOR, app["app_id"])
        user_id = user["user_id"] if user else "2088" + str(int(consent.browser_user(self)[:12], 16))[:12].zfill(12)
        code = common.new_code()
        await self.ctx.db.sandbox_alipay_codes.insert_one({
            "_id": code, "app_id": app["app_id"], "user_id": user_id, "id_mode": "both", "used_at": None,
            "expires_at": self.ctx.clock() + common.CODE_TTL})
        self.redirect(consent.with_query(source["redirect_uri"], {
            "app_id": app["app_id"], "source": "alipay_wallet", "scope": source["scope"], "auth_code": code,
            "state": source["state"]}))


class OAuthUserHelperHandler(SandboxHandler):
    """Sandbox test helper: {app_id, user_id}: who the web app's next consent is."""

    async def post(self) -> None:
        body = self.json_body()
        app_id = await common.require_registered(self.ctx, VENDOR, body)
        user_id = common.required_identifier(body, "user_id")
        await consent.set_next_user(self.ctx, VENDOR, app_id, {"user_id": user_id})
        self.write_json({"app_id": app_id, "user_id": user_id})


# ---- test helpers ------------------------------------------------------------------------------
class AuthCodeHelperHandler(SandboxHandler):
    """Sandbox test helper: an auth code for {app_id, user_id, id_mode?} (single use, 5 minutes).

    `id_mode` is what the app is configured to receive: "user_id", "open_id" or "both" (default).
    """

    async def post(self) -> None:
        body = self.json_body()
        app_id = await common.require_registered(self.ctx, VENDOR, body)
        user_id = common.required_identifier(body, "user_id")
        id_mode = body.get("id_mode", "both")
        if id_mode not in ("user_id", "open_id", "both"):
            raise ValidationFailed(errors=[FieldError("id_mode", "invalid", "id_mode 应为 user_id、open_id 或 both",
                                                      "id_mode must be user_id, open_id or both")])
        code = common.new_code()
        await self.ctx.db.sandbox_alipay_codes.insert_one({
            "_id": code, "app_id": app_id, "user_id": user_id, "id_mode": id_mode, "used_at": None,
            "expires_at": self.ctx.clock() + common.CODE_TTL})
        self.write_json({"auth_code": code, "expires_in": int(common.CODE_TTL.total_seconds()),
                         "open_id": open_id_for(app_id, user_id or "")})


class FaultHelperHandler(SandboxHandler):
    """Sandbox test helper: the next `times` calls of `method` fail with {code, sub_code} and/or wait."""

    async def post(self) -> None:
        body = self.json_body()
        app_id = await common.require_registered(self.ctx, VENDOR, body)
        method, code = body.get("method"), body.get("code")
        times, delay_ms = body.get("times", 1), body.get("delay_ms", 0)
        errors = []
        if method not in GATEWAY_METHODS:
            errors.append(FieldError("method", "invalid", "沙箱网关没有这个方法", "The sandbox gateway has no such method"))
        if code is not None and not isinstance(code, str):
            errors.append(FieldError("code", "invalid", "code 应为字符串，如 \"20000\"", "code must be a string like \"20000\""))
        if not isinstance(times, int) or not 1 <= times <= 1000:
            errors.append(FieldError("times", "invalid", "times 应为 1-1000", "times must be 1-1000"))
        if not isinstance(delay_ms, int) or not 0 <= delay_ms <= 60000:
            errors.append(FieldError("delay_ms", "invalid", "delay_ms 应为 0-60000", "delay_ms must be 0-60000"))
        if errors:
            raise ValidationFailed(errors=errors)
        answer = None
        if code is not None:
            answer = {"code": code, "msg": body.get("msg") or "Service Currently Unavailable",
                      "sub_code": body.get("sub_code") or "", "sub_msg": body.get("sub_msg") or ""}
        await common.arm_fault(self.ctx, VENDOR, app_id, method, answer, times, delay_ms)
        self.write_json({"app_id": app_id, "method": method, "code": code, "times": times, "delay_ms": delay_ms})


class RefuseMessagesHelperHandler(SandboxHandler):
    """Sandbox test helper: {app_id, user_id, refuse} makes messages to that user fail (not subscribed)."""

    async def post(self) -> None:
        body = self.json_body()
        app_id = await common.require_registered(self.ctx, VENDOR, body)
        user_id = common.required_identifier(body, "user_id")
        await common.set_refusal(self.ctx, VENDOR, app_id, user_id, bool(body.get("refuse", True)))
        self.write_json({"app_id": app_id, "user_id": user_id, "refuse": bool(body.get("refuse", True))})


class MessagesHelperHandler(SandboxHandler):
    """Sandbox test helper: the mini-program messages Alipay received (?app_id=&to=)."""

    async def get(self) -> None:
        items = await common.list_messages(self.ctx, VENDOR, self.get_query_argument("app_id", None),
                                           self.get_query_argument("to", None))
        self.write_json({"items": items, "total": len(items)})


async def _gateway_key_material(ctx: Context) -> dict[str, Any]:
    return {"gateway_public_key_pem": await gateway_public_key_pem(ctx), "sign_type": "RSA2"}


keys.register_material("alipay", _gateway_key_material)

routes = [
    (r"/sandbox/alipay/gateway\.do", GatewayHandler),
    (r"/sandbox/alipay/oauth2/publicAppAuthorize\.htm", PublicAppAuthorizeHandler),
    (r"/sandbox/alipay/test/oauth-user", OAuthUserHelperHandler),
    (r"/sandbox/alipay/test/auth-code", AuthCodeHelperHandler),
    (r"/sandbox/alipay/test/fault", FaultHelperHandler),
    (r"/sandbox/alipay/test/refuse-messages", RefuseMessagesHelperHandler),
    (r"/sandbox/alipay/test/messages", MessagesHelperHandler),
]
