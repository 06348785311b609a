"""Sandbox face verification: WeChat's cityservice/face/identify/* and Alipay's alipay.user.certify.open.*.

WeChat (mounted beside the other sandbox WeChat APIs): `getverifyid` checks the access_token, the
JSON body and the certificate (cert_type IDENTITY_CARD, an 18-character number, a name) and answers
{errcode 0, verify_id, expires_in 3600}; `queryverifyinfo` answers {errcode 0, verify_ret} once the
face check was performed, without `verify_ret` before; an unknown verify_id (or another app's or
user's, or a different out_seq_no) is errcode 40097 "invalid args", and a cert_hash other than the
certificate's is verify_ret 10003 (身份证号不匹配). Alipay (on the sandbox gateway, RSA2 both ways):
initialize → certify_id (the same outer_order_no answers the same id), certify (the page the
mini-program opens) → code 10000, query → passed "T" / "F" ("F" too before the face check);
an unknown certify_id is 40004 OPEN_CERTIFY_BILL_NOT_EXIST.

The test helpers play the citizen in front of the camera: POST /sandbox/wechat/test/face
{verify_id, result: "pass" | "fail" | a verify_ret} and POST /sandbox/alipay/test/face
{certify_id, result: "pass" | "fail"}. Nothing about a face is stored, here or anywhere.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from pymongo import ReturnDocument

from integrations.sandbox import common
from integrations.sandbox.alipay import business_failed, gateway_method
from integrations.sandbox.base import SandboxHandler
from integrations.sandbox.wechat import VENDOR as WECHAT
from integrations.sandbox.wechat import WeChatApiHandler, _error
from integrations.wechat_face import CERT_TYPE, SUCCESS, cert_hash
from models.core.context import Context
from models.errors import FieldError, ValidationFailed

VERIFY_ID_SECONDS = 3600
CERTIFY_ID_SECONDS = 23 * 3600
FAILED_VERIFY_RET = 10004  # 比对人脸信息不匹配: the face is not the certificate's
_CERT_NO = re.compile(r"^\d{17}[\dX]$", re.ASCII)


def _cert_problem(cert: Any) -> str | None:
    if not isinstance(cert, dict) or cert.get("cert_type") != CERT_TYPE:
        return "cert_type"
    if not isinstance(cert.get("cert_name"), str) or not cert["cert_name"].strip():
        return "cert_name"
    if not isinstance(cert.get("cert_no"), str) or not _CERT_NO.match(cert["cert_no"]):
        return "cert_no"
    return None


# ---- WeChat -------------------------------------------------------------------------------------
class GetVerifyIdHandler(WeChatApiHandler):
    """WeChat getVerifyId (cityservice/face/identify/getverifyid): a face verification session."""

    api = "face_getverifyid"

    async def post(self) -> None:
        call = await self.token_call()
        if call is None:
            return
        app_id, body = call
        out_seq_no, openid = body.get("out_seq_no"), body.get("openid")
        if not isinstance(openid, str) or not openid:
            return self.answer(_error(40003, "invalid openid"))
        if not isinstance(out_seq_no, str) or not out_seq_no or len(out_seq_no) > 64:
            return self.answer(_error(40097, "invalid args: out_seq_no"))
        problem = _cert_problem(body.get("cert_info"))
        if problem:
            return self.answer(_error(40097, f"invalid args: cert_info.{problem}"))
        cert = body["cert_info"]
        verify_id = "vid" + common.new_code(40)
        now = self.ctx.clock()
        await self.ctx.db.sandbox_face_sessions.insert_one({
            "_id": verify_id, "vendor": WECHAT, "app_id": app_id, "openid": openid, "out_seq_no": out_seq_no,
            "cert_hash": cert_hash(cert["cert_name"], cert["cert_no"]), "result": None,
            "created_at": now, "expires_at": now + datetime.timedelta(seconds=VERIFY_ID_SECONDS)})
        self.answer({"errcode": 0, "errmsg": "ok", "verify_id": verify_id, "expires_in": VERIFY_ID_SECONDS})


class QueryVerifyInfoHandler(WeChatApiHandler):
    """WeChat queryVerifyInfo (cityservice/face/identify/queryverifyinfo): how a session ended."""

    api = "face_queryverifyinfo"

    async def post(self) -> None:
        call = await self.token_call()
        if call is None:
            return
        app_id, body = call
        verify_id = body.get("verify_id")
        session = await self.ctx.db.sandbox_face_sessions.find_one(
            {"_id": verify_id, "vendor": WECHAT}) if isinstance(verify_id, str) and verify_id else None
        if session is None or session["app_id"] != app_id or session["openid"] != body.get("openid") \
                or session["out_seq_no"] != body.get("out_seq_no"):
            return self.answer(_error(40097, "invalid args: verify_id not exist"))
        if session["result"] is None:
            return self.answer({"errcode": 0, "errmsg": "ok"})  # the user has not been in front of the camera yet
        if body.get("cert_hash") != session["cert_hash"]:
            return self.answer({"errcode": 0, "errmsg": "ok", "verify_ret": 10003})
        self.answer({"errcode": 0, "errmsg": "ok", "verify_ret": session["result"]})


# ---- Alipay -------------------------------------------------------------------------------------
@gateway_method("alipay.user.certify.open.initialize")
async def certify_initialize(ctx: Context, app_id: str, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    """Open a certification for the person in identity_param; the same outer_order_no answers the same id."""
    outer_order_no, identity = biz.get("outer_order_no"), biz.get("identity_param")
    if not isinstance(outer_order_no, str) or not outer_order_no or len(outer_order_no) > 32:
        raise business_failed("INVALID_PARAMETER", "outer_order_no 参数有误")
    if biz.get("biz_code") not in ("FACE", "CERT_PHOTO", "CERT_PHOTO_FACE", "SMART_FACE"):
        raise business_failed("INVALID_PARAMETER", "biz_code 参数有误")
    if not isinstance(identity, dict) or identity.get("identity_type") != "CERT_INFO" or _cert_problem(identity):
        raise business_failed("INVALID_PARAMETER", "identity_param 参数有误")
    key = f"{app_id}:{outer_order_no}"
    now = ctx.clock()
    session = await ctx.db.sandbox_face_sessions.find_one_and_update(
        {"_id": "alipay:" + key}, {"$setOnInsert": {
            "vendor": "alipay", "app_id": app_id, "certify_id": common.new_code(32).lower(),
            "cert_hash": cert_hash(identity["cert_name"], identity["cert_no"]), "result": None,
            "created_at": now, "expires_at": now + datetime.timedelta(seconds=CERTIFY_ID_SECONDS)}},
        upsert=True, return_document=ReturnDocument.AFTER)
    return {"code": "10000", "msg": "Success", "certify_id": session["certify_id"]}


async def _certification(ctx: Context, app_id: str, biz: dict[str, Any]) -> dict[str, Any]:
    certify_id = biz.get("certify_id")
    session = await ctx.db.sandbox_face_sessions.find_one(
        {"certify_id": certify_id, "vendor": "alipay"}) if isinstance(certify_id, str) and certify_id else None
    if session is None or session["app_id"] != app_id:
        raise business_failed("OPEN_CERTIFY_BILL_NOT_EXIST", "无效的certify_id")
    return session


@gateway_method("alipay.user.certify.open.certify")
async def certify_page(ctx: Context, app_id: str, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    """The certification page the mini-program opens (here: its node, once the signature verified)."""
    session = await _certification(ctx, app_id, biz)
    return {"code": "10000", "msg": "Success", "certify_id": session["certify_id"]}


@gateway_method("alipay.user.certify.open.query")
async def certify_query(ctx: Context, app_id: str, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    """passed "T" once the face check succeeded, "F" otherwise (failed, or not done yet)."""
    session = await _certification(ctx, app_id, biz)
    return {"code": "10000", "msg": "Success", "passed": "T" if session["result"] == "T" else "F"}


# ---- test helpers ---------------------------------------------------------------------------------
def _outcome(body: dict[str, Any], wechat: bool) -> int | str:
    result = body.get("result", "pass")
    if result == "pass":
        return SUCCESS if wechat else "T"
    if result == "fail":
        return FAILED_VERIFY_RET if wechat else "F"
    if wechat and isinstance(result, int) and not isinstance(result, bool) and 10000 <= result <= 99999:
        return result
    raise ValidationFailed(errors=[FieldError("result", "invalid", "result 应为 pass、fail" + ("或 verify_ret" if wechat else ""),
                                              "result must be pass or fail" + (" or a verify_ret" if wechat else ""))])


async def _perform(ctx: Context, query: dict[str, Any], outcome: int | str, field: str) -> dict[str, Any]:
    """Record the face check's outcome on a live, unperformed session (once, as the camera would)."""
    now = ctx.clock()
    session = await ctx.db.sandbox_face_sessions.find_one_and_update(
        {**query, "result": None, "expires_at": {"$gt": now}}, {"$set": {"result": outcome, "performed_at": now}},
        return_document=ReturnDocument.AFTER)
    if session is None:
        raise ValidationFailed(errors=[FieldError(field, "invalid", f"{field} 不存在、已过期或已完成核身",
                                                  f"{field} is unknown, expired or already used")])
    return session


class WeChatFaceHelperHandler(SandboxHandler):
    """Sandbox test helper: the user behind verify_id does wx.requestFacialVerify; {verify_id, result}."""

    async def post(self) -> None:
        body = self.json_body()
        verify_id = common.required_identifier(body, "verify_id")
        session = await _perform(self.ctx, {"_id": verify_id, "vendor": WECHAT}, _outcome(body, True), "verify_id")
        self.write_json({"verify_id": verify_id, "verify_ret": session["result"]})


class AlipayFaceHelperHandler(SandboxHandler):
    """Sandbox test helper: the user behind certify_id does my.startAPVerify; {certify_id, result}."""

    async def post(self) -> None:
        body = self.json_body()
        certify_id = common.required_identifier(body, "certify_id")
        session = await _perform(self.ctx, {"certify_id": certify_id, "vendor": "alipay"}, _outcome(body, False),
                                 "certify_id")
        self.write_json({"certify_id": certify_id, "passed": session["result"]})


routes = [
    (r"/sandbox/wechat/cityservice/face/identify/getverifyid", GetVerifyIdHandler),
    (r"/sandbox/wechat/cityservice/face/identify/queryverifyinfo", QueryVerifyInfoHandler),
    (r"/sandbox/wechat/test/face", WeChatFaceHelperHandler),
    (r"/sandbox/alipay/test/face", AlipayFaceHelperHandler),
]
