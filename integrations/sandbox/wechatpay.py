"""Sandbox WeChat Pay (微信支付) APIv3: JSAPI orders, query, close, refunds and real notifications.

Plays WeChat Pay's side of the protocol over real HTTP under /sandbox/wechatpay: it checks the
merchant's WECHATPAY2-SHA256-RSA2048 Authorization (with the merchant public key registered here, as
a merchant uploads its certificate), signs every answer with its platform key (the "WeChat Pay
public key", named by a PUB_KEY_ID_ serial), and sends notifications signed the same way with the
resource encrypted under the merchant's APIv3 key (AEAD_AES_256_GCM).

Test helpers: POST /sandbox/wechatpay/test/pay {out_trade_no} pays an order and sends its
TRANSACTION.SUCCESS notification (`"deliver": false` pays without notifying, to play a lost
callback). Refunds succeed at once: the REFUND.SUCCESS notification is sent before the refund call
answers PROCESSING, so the merchant sees the two out of order. Every notification sent is kept in
`sandbox_wechatpay_notifications`, so tests can replay them byte for byte.

State lives in MongoDB (every worker sees the same orders); the platform key comes from
`integrations.sandbox.keys` (generated once, published at GET /sandbox/keys).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import re
import secrets
import time
import uuid
from typing import Any

from bson import ObjectId
from cryptography.hazmat.primitives import serialization
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from tornado.httpclient import HTTPRequest

from integrations import rsa_keys
from integrations import wechatpay as wxpay
from integrations.sandbox import keys as sandbox_keys
from integrations.sandbox.base import SandboxHandler as BaseHandler
from models.core.context import Context
from models.core.timezone import VendorTimeError, local, parse_rfc3339, rfc3339
from models.errors import FieldError, ValidationFailed

log = logging.getLogger("citygate.sandbox.wechatpay")

PLATFORM_KEY_NAME = "wechatpay_platform"
_OUT_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,64}$")


class WxPayFail(Exception):
    """An APIv3 error answer: HTTP status plus {"code", "message"}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(f"{status} {code}")


# ---- key material and merchants -----------------------------------------------------------------

def platform_serial_for(public_pem: str) -> str:
    """A stable "WeChat Pay public key id" for a public key (every worker derives the same)."""
    der = rsa_keys.load_public_key(public_pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "PUB_KEY_ID_" + hashlib.sha256(der).hexdigest()[:32].upper()


async def platform(ctx: Context) -> tuple[str, Any, str]:
    """(serial, private key object, public key PEM) of the sandbox's platform key."""
    cached = ctx.extras.get("sandbox_wechatpay_platform")
    if cached is None:
        private_pem = await sandbox_keys.rsa_private_key_pem(ctx, PLATFORM_KEY_NAME)
        private_key = rsa_keys.load_private_key(private_pem)
        public_pem = rsa_keys.public_key_pem(private_key)
        cached = (platform_serial_for(public_pem), private_key, public_pem)
        ctx.extras["sandbox_wechatpay_platform"] = cached
    return cached


async def platform_public_key(ctx: Context) -> tuple[str, str]:
    """(serial, public key PEM) a merchant configures to verify the sandbox's signatures."""
    serial, _, public_pem = await platform(ctx)
    return serial, public_pem


async def register_merchant(ctx: Context, *, mch_id: str, serial_no: str, public_key_pem: str, apiv3_key: str,
                            app_ids: list[str] | tuple[str, ...] = ()) -> None:
    """Tell the sandbox about a merchant: its API certificate's public key and its APIv3 key."""
    await ctx.db.sandbox_wechatpay_merchants.update_one(
        {"_id": mch_id},
        {"$set": {"serial_no": serial_no, "public_key_pem": public_key_pem,
                  "apiv3_key": ctx.cipher.encrypt(apiv3_key, f"sandbox_wechatpay:{mch_id}"),
                  "app_ids": list(app_ids), "updated_at": ctx.clock()}},
        upsert=True)


async def _merchant(ctx: Context, mch_id: str) -> dict[str, Any] | None:
    doc = await ctx.db.sandbox_wechatpay_merchants.find_one({"_id": mch_id})
    if doc is not None:
        doc["apiv3_key"] = ctx.cipher.decrypt(doc["apiv3_key"], f"sandbox_wechatpay:{mch_id}")
    return doc


async def _published(ctx: Context) -> dict[str, Any]:
    serial, public_pem = await platform_public_key(ctx)
    merchants = [{"mch_id": doc["_id"], "serial_no": doc["serial_no"], "public_key_pem": doc["public_key_pem"],
                  "app_ids": doc.get("app_ids", [])}
                 async for doc in ctx.db.sandbox_wechatpay_merchants.find({})]
    return {"platform_serial": serial, "platform_public_key_pem": public_pem, "merchants": merchants}


sandbox_keys.register_material("wechatpay", _published)


# ---- notifications --------------------------------------------------------------------------------

async def build_notification(ctx: Context, *, apiv3_key: str, event_type: str, original_type: str,
                             resource: dict[str, Any], summary: str, timestamp: int | None = None,
                             signing_key: Any = None, serial: str | None = None) -> tuple[dict[str, str], bytes]:
    """(headers, body) of one notification, signed and encrypted as WeChat Pay sends it.

    `timestamp`, `signing_key` and `serial` may be overridden to build stale or wrongly signed ones.
    """
    platform_serial, platform_key, _ = await platform(ctx)
    now = ctx.clock()
    nonce = secrets.token_hex(6)  # 12 characters, as the resource nonce is
    ciphertext = wxpay.encrypt_resource(apiv3_key, nonce, original_type,
                                        json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode())
    envelope = {
        "id": str(uuid.uuid4()), "create_time": rfc3339(now), "resource_type": "encrypt-resource",
        "event_type": event_type, "summary": summary,
        "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM", "ciphertext": ciphertext,
                     "associated_data": original_type, "nonce": nonce},
    }
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
    timestamp = int(now.timestamp()) if timestamp is None else timestamp  # the receiver checks against its clock
    header_nonce = wxpay.nonce_str()
    signature = rsa_keys.sign(wxpay.response_message(timestamp, header_nonce, body), signing_key or platform_key)
    headers = {
        "Content-Type": "application/json", "Wechatpay-Serial": serial or platform_serial,
        "Wechatpay-Signature": signature, "Wechatpay-Timestamp": str(timestamp), "Wechatpay-Nonce": header_nonce,
        "Wechatpay-Signature-Type": wxpay.SCHEMA, "Request-ID": secrets.token_hex(16),
    }
    return headers, body.encode()


async def _deliver(ctx: Context, url: str, headers: dict[str, str], body: bytes, kind: str, ref: str) -> dict[str, Any]:
    """POST one notification; keep it (and the merchant's answer) for replays."""
    record: dict[str, Any] = {"_id": ObjectId(), "kind": kind, "ref": ref, "url": url, "headers": headers,
                              "body": body.decode(), "sent_at": ctx.clock()}
    try:
        response = await ctx.http.fetch(HTTPRequest(url, method="POST", headers=headers, body=body,
                                                    request_timeout=10), raise_error=False)
        record.update(status=response.code, answer=(response.body or b"").decode("utf-8", "replace")[:500])
    except Exception as exc:  # noqa: BLE001 - the merchant being down is a normal outcome here
        record.update(status=599, answer=type(exc).__name__)
    await ctx.db.sandbox_wechatpay_notifications.insert_one(record)
    return record


def transaction_resource(order: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "appid": order["appid"], "mchid": order["mchid"], "out_trade_no": order["out_trade_no"],
        "trade_type": "JSAPI", "trade_state": order["trade_state"],
        "trade_state_desc": {"NOTPAY": "未支付", "SUCCESS": "支付成功", "CLOSED": "已关闭",
                             "REFUND": "转入退款"}.get(order["trade_state"], ""),
        "attach": order.get("attach", ""), "payer": {"openid": order["payer_openid"]},
        "amount": {"total": order["total"], "currency": "CNY"},
    }
    if order.get("transaction_id"):
        view.update(transaction_id=order["transaction_id"], bank_type="OTHERS",
                    success_time=rfc3339(order["success_time"]))
        view["amount"].update(payer_total=order["total"], payer_currency="CNY")
    return view


def _refund_view(refund: dict[str, Any]) -> dict[str, Any]:
    view = {
        "refund_id": refund["refund_id"], "out_refund_no": refund["out_refund_no"],
        "transaction_id": refund["transaction_id"], "out_trade_no": refund["out_trade_no"],
        "channel": "ORIGINAL", "user_received_account": "支付用户零钱", "create_time": rfc3339(refund["create_time"]),
        "status": refund["status"], "funds_account": "AVAILABLE",
        "amount": {"total": refund["total"], "refund": refund["refund"], "payer_total": refund["total"],
                   "payer_refund": refund["refund"], "settlement_total": refund["total"],
                   "settlement_refund": refund["refund"], "discount_refund": 0, "currency": "CNY"},
    }
    if refund.get("success_time"):
        view["success_time"] = rfc3339(refund["success_time"])
    return view


async def pay_order(ctx: Context, out_trade_no: str, *, deliver: bool = True, mch_id: str | None = None) -> dict[str, Any]:
    """The payer pays (or paid: the notification is sent again); notify the merchant unless told not to."""
    query: dict[str, Any] = {"out_trade_no": out_trade_no}
    if mch_id:
        query["mchid"] = mch_id
    order = await ctx.db.sandbox_wechatpay_orders.find_one(query)
    if order is None:
        raise WxPayFail(404, "ORDER_NOT_EXIST", "订单不存在")
    now = ctx.clock()
    if order["trade_state"] == "NOTPAY":
        if order["time_expire"] <= now:
            raise WxPayFail(400, "ORDER_CLOSED", "订单已过期")
        paid = await ctx.db.sandbox_wechatpay_orders.find_one_and_update(
            {"_id": order["_id"], "trade_state": "NOTPAY"},
            {"$set": {"trade_state": "SUCCESS", "success_time": now,
                      "transaction_id": "4200" + local(now).strftime("%Y%m%d") + "".join(secrets.choice("0123456789") for _ in range(16))}},
            return_document=ReturnDocument.AFTER)
        order = paid or await ctx.db.sandbox_wechatpay_orders.find_one({"_id": order["_id"]})
    if order["trade_state"] == "CLOSED":
        raise WxPayFail(400, "ORDER_CLOSED", "订单已关闭")
    result: dict[str, Any] = {"out_trade_no": out_trade_no, "trade_state": order["trade_state"],
                              "transaction_id": order["transaction_id"]}
    if deliver:
        delivered = await send_transaction_notification(ctx, order)
        result.update(notify_status=delivered["status"], notify_answer=delivered["answer"])
    return result


async def send_transaction_notification(ctx: Context, order: dict[str, Any]) -> dict[str, Any]:
    merchant = await _merchant(ctx, order["mchid"])
    if merchant is None:
        raise WxPayFail(400, "MCH_NOT_EXISTS", "商户号不存在")
    resource = transaction_resource(order)
    resource["trade_state"] = "SUCCESS"
    resource["trade_state_desc"] = "支付成功"
    headers, body = await build_notification(ctx, apiv3_key=merchant["apiv3_key"], event_type="TRANSACTION.SUCCESS",
                                             original_type="transaction", resource=resource, summary="支付成功")
    return await _deliver(ctx, order["notify_url"], headers, body, "transaction", order["out_trade_no"])


async def send_refund_notification(ctx: Context, refund: dict[str, Any]) -> dict[str, Any] | None:
    if not refund.get("notify_url"):
        return None
    merchant = await _merchant(ctx, refund["mchid"])
    if merchant is None:
        return None
    resource = {
        "mchid": refund["mchid"], "out_trade_no": refund["out_trade_no"], "transaction_id": refund["transaction_id"],
        "out_refund_no": refund["out_refund_no"], "refund_id": refund["refund_id"], "refund_status": refund["status"],
        "user_received_account": "支付用户零钱",
        "amount": {"total": refund["total"], "refund": refund["refund"], "payer_total": refund["total"],
                   "payer_refund": refund["refund"]},
    }
    if refund.get("success_time"):
        resource["success_time"] = rfc3339(refund["success_time"])
    event = {"SUCCESS": "REFUND.SUCCESS", "ABNORMAL": "REFUND.ABNORMAL", "CLOSED": "REFUND.CLOSED"}[refund["status"]]
    headers, body = await build_notification(ctx, apiv3_key=merchant["apiv3_key"], event_type=event,
                                             original_type="refund", resource=resource, summary="退款状态变更")
    return await _deliver(ctx, refund["notify_url"], headers, body, "refund", refund["out_refund_no"])


# ---- the HTTP side ------------------------------------------------------------------------------

class _WxPayHandler(BaseHandler):
    """Signs every answer with the platform key and renders failures as APIv3 errors."""

    async def prepare(self) -> None:
        await super().prepare()
        self.platform = await platform(self.ctx)
        self.merchant: dict[str, Any] | None = None

    def answer(self, status: int, payload: dict[str, Any] | None) -> None:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")) if payload is not None else ""
        serial, key, _ = self.platform
        timestamp, nonce = str(int(time.time())), wxpay.nonce_str()
        self.set_status(status)
        self.set_header("Wechatpay-Serial", serial)
        self.set_header("Wechatpay-Timestamp", timestamp)
        self.set_header("Wechatpay-Nonce", nonce)
        self.set_header("Wechatpay-Signature", rsa_keys.sign(wxpay.response_message(timestamp, nonce, body), key))
        self.set_header("Wechatpay-Signature-Type", wxpay.SCHEMA)
        self.set_header("Request-ID", self.request_id)
        if payload is None:
            self.finish()
            return
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(body)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, WxPayFail):
            self.answer(exc.status, {"code": exc.code, "message": exc.message})
        elif getattr(self, "platform", None) is not None and status_code >= 500:
            self.answer(500, {"code": "SYSTEM_ERROR", "message": "系统异常，请稍后重试"})
        else:
            super().write_error(status_code, **kwargs)

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, WxPayFail):
            if not self._finished:
                self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, WxPayFail):
            return
        super().log_exception(typ, value, tb)

    async def authenticate(self) -> dict[str, Any]:
        """The merchant whose Authorization signature verifies; 401 SIGN_ERROR otherwise."""
        fields = wxpay.parse_authorization(self.request.headers.get("Authorization", ""))
        if not fields:
            raise WxPayFail(401, "SIGN_ERROR", "Authorization 头缺失或格式错误")
        merchant = await _merchant(self.ctx, fields["mchid"])
        if merchant is None:
            raise WxPayFail(400, "MCH_NOT_EXISTS", "商户号不存在")
        if fields["serial_no"] != merchant["serial_no"]:
            raise WxPayFail(401, "SIGN_ERROR", "商户证书序列号有误")
        if not fields["timestamp"].isdigit() or abs(time.time() - int(fields["timestamp"])) > wxpay.MAX_CLOCK_SKEW_SECONDS:
            raise WxPayFail(401, "SIGN_ERROR", "请求时间戳过期")
        message = wxpay.request_message(self.request.method or "", self.request.uri or "", fields["timestamp"],
                                        fields["nonce_str"], self.request.body.decode("utf-8", "replace"))
        if not rsa_keys.verify(message, fields["signature"], rsa_keys.load_public_key(merchant["public_key_pem"])):
            raise WxPayFail(401, "SIGN_ERROR", "签名错误")
        self.merchant = merchant
        return merchant

    def body_json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise WxPayFail(400, "PARAM_ERROR", "请求体不是合法的 JSON") from None
        if not isinstance(data, dict):
            raise WxPayFail(400, "PARAM_ERROR", "请求体应为 JSON 对象")
        return data


def _required(data: dict[str, Any], *names: str) -> None:
    for name in names:
        if data.get(name) in (None, ""):
            raise WxPayFail(400, "PARAM_ERROR", f"缺少参数 {name}")


class JsapiPrepayHandler(_WxPayHandler):
    """Sandbox WeChat Pay: place a JSAPI order (/v3/pay/transactions/jsapi) → prepay_id."""

    async def post(self) -> None:
        merchant = await self.authenticate()
        data = self.body_json()
        _required(data, "appid", "mchid", "description", "out_trade_no", "notify_url", "amount", "payer")
        if data["mchid"] != merchant["_id"]:
            raise WxPayFail(400, "PARAM_ERROR", "mchid 与请求商户不一致")
        if merchant.get("app_ids") and data["appid"] not in merchant["app_ids"]:
            raise WxPayFail(400, "APPID_MCHID_NOT_MATCH", "AppID 和 mch_id 不匹配")
        if not _OUT_NO.match(str(data["out_trade_no"])):
            raise WxPayFail(400, "PARAM_ERROR", "out_trade_no 格式错误")
        total = (data.get("amount") or {}).get("total")
        openid = (data.get("payer") or {}).get("openid")
        if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
            raise WxPayFail(400, "PARAM_ERROR", "amount.total 应为正整数（分）")
        if not openid:
            raise WxPayFail(400, "PARAM_ERROR", "缺少参数 payer.openid")
        now = self.ctx.clock()
        time_expire = now + datetime.timedelta(hours=2)
        if data.get("time_expire"):
            try:
                time_expire = parse_rfc3339(data["time_expire"])
            except VendorTimeError:
                raise WxPayFail(400, "PARAM_ERROR", "time_expire 格式错误（RFC 3339，需带时区）") from None
        key = f"{data['mchid']}:{data['out_trade_no']}"
        fields = {"appid": data["appid"], "mchid": data["mchid"], "out_trade_no": data["out_trade_no"],
                  "description": data["description"], "notify_url": data["notify_url"], "total": total,
                  "payer_openid": openid, "attach": data.get("attach", "")}
        prepay_id = "wx" + local(now).strftime("%d%H%M%S") + secrets.token_hex(13)
        try:
            await self.ctx.db.sandbox_wechatpay_orders.insert_one(
                {**fields, "_id": key, "prepay_id": prepay_id, "trade_state": "NOTPAY", "refunded": 0,
                 "time_expire": time_expire, "created_at": now})
            existing = None
        except DuplicateKeyError:
            existing = await self.ctx.db.sandbox_wechatpay_orders.find_one({"_id": key})
        if existing is not None:
            if any(existing.get(name) != value for name, value in fields.items()):
                raise WxPayFail(403, "OUT_TRADE_NO_USED", "商户订单号重复")
            if existing["trade_state"] in ("SUCCESS", "REFUND"):
                raise WxPayFail(400, "ORDERPAID", "该订单已支付")
            if existing["trade_state"] == "CLOSED":
                raise WxPayFail(400, "ORDER_CLOSED", "订单已关闭")
            prepay_id = existing["prepay_id"]
        self.answer(200, {"prepay_id": prepay_id})


class OrderQueryHandler(_WxPayHandler):
    """Sandbox WeChat Pay: query an order by out_trade_no."""

    path_params = ("out_trade_no",)

    async def get(self, out_trade_no: str) -> None:
        merchant = await self.authenticate()
        if self.get_query_argument("mchid", "") != merchant["_id"]:
            raise WxPayFail(400, "PARAM_ERROR", "mchid 参数错误")
        order = await self.ctx.db.sandbox_wechatpay_orders.find_one({"_id": f"{merchant['_id']}:{out_trade_no}"})
        if order is None:
            raise WxPayFail(404, "ORDER_NOT_EXIST", "订单不存在")
        self.answer(200, transaction_resource(order))


class OrderCloseHandler(_WxPayHandler):
    """Sandbox WeChat Pay: close an unpaid order (204, as WeChat Pay answers even for unknown ones)."""

    path_params = ("out_trade_no",)

    async def post(self, out_trade_no: str) -> None:
        merchant = await self.authenticate()
        if self.body_json().get("mchid") != merchant["_id"]:
            raise WxPayFail(400, "PARAM_ERROR", "mchid 参数错误")
        key = f"{merchant['_id']}:{out_trade_no}"
        await self.ctx.db.sandbox_wechatpay_orders.update_one({"_id": key, "trade_state": "NOTPAY"},
                                                              {"$set": {"trade_state": "CLOSED"}})
        order = await self.ctx.db.sandbox_wechatpay_orders.find_one({"_id": key})
        if order is not None and order["trade_state"] in ("SUCCESS", "REFUND"):
            raise WxPayFail(400, "ORDERPAID", "订单已支付，不能关闭")
        self.answer(204, None)


class RefundHandler(_WxPayHandler):
    """Sandbox WeChat Pay: request a refund; notifies REFUND.SUCCESS before answering PROCESSING."""

    async def post(self) -> None:
        merchant = await self.authenticate()
        data = self.body_json()
        _required(data, "out_trade_no", "out_refund_no", "amount")
        amount = data.get("amount") or {}
        refund_fen, total = amount.get("refund"), amount.get("total")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (refund_fen, total)):
            raise WxPayFail(400, "PARAM_ERROR", "amount.refund 与 amount.total 应为正整数（分）")
        if not _OUT_NO.match(str(data["out_refund_no"])):
            raise WxPayFail(400, "PARAM_ERROR", "out_refund_no 格式错误")
        order_key = f"{merchant['_id']}:{data['out_trade_no']}"
        order = await self.ctx.db.sandbox_wechatpay_orders.find_one({"_id": order_key})
        if order is None:
            raise WxPayFail(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if order["trade_state"] not in ("SUCCESS", "REFUND"):
            raise WxPayFail(400, "INVALID_REQUEST", "订单未支付，不能退款")
        if total != order["total"]:
            raise WxPayFail(400, "PARAM_ERROR", "订单金额与原订单不一致")
        refund_key = f"{merchant['_id']}:{data['out_refund_no']}"
        existing = await self.ctx.db.sandbox_wechatpay_refunds.find_one({"_id": refund_key})
        if existing is not None:
            if existing["refund"] != refund_fen or existing["out_trade_no"] != data["out_trade_no"]:
                raise WxPayFail(400, "INVALID_REQUEST", "退款单号重复且参数不一致")
            self.answer(200, _refund_view(existing))
            return
        # Reserve the amount on the order: refunds never exceed what was paid.
        reserved = await self.ctx.db.sandbox_wechatpay_orders.find_one_and_update(
            {"_id": order_key, "refunded": {"$lte": order["total"] - refund_fen}},  # plain shape: no $expr
            {"$inc": {"refunded": refund_fen}, "$set": {"trade_state": "REFUND"}})
        if reserved is None:
            raise WxPayFail(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        now = self.ctx.clock()
        refund = {
            "_id": refund_key, "mchid": merchant["_id"], "out_trade_no": data["out_trade_no"],
            "transaction_id": order["transaction_id"], "out_refund_no": data["out_refund_no"],
            "refund_id": "5030" + local(now).strftime("%Y%m%d") + "".join(secrets.choice("0123456789") for _ in range(16)),
            "refund": refund_fen, "total": total, "reason": data.get("reason", ""),
            "notify_url": data.get("notify_url", ""), "status": "PROCESSING", "create_time": now,
        }
        await self.ctx.db.sandbox_wechatpay_refunds.insert_one(refund)
        answer = _refund_view(refund)
        refund = await self.ctx.db.sandbox_wechatpay_refunds.find_one_and_update(
            {"_id": refund_key}, {"$set": {"status": "SUCCESS", "success_time": self.ctx.clock()}},
            return_document=ReturnDocument.AFTER)
        await send_refund_notification(self.ctx, refund)
        self.answer(200, answer)


class RefundQueryHandler(_WxPayHandler):
    """Sandbox WeChat Pay: query a refund by out_refund_no."""

    path_params = ("out_refund_no",)

    async def get(self, out_refund_no: str) -> None:
        merchant = await self.authenticate()
        refund = await self.ctx.db.sandbox_wechatpay_refunds.find_one({"_id": f"{merchant['_id']}:{out_refund_no}"})
        if refund is None:
            raise WxPayFail(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        self.answer(200, _refund_view(refund))


class TestPayHandler(BaseHandler):
    """Sandbox WeChat Pay: the payer pays an order; its signed, encrypted notification is sent."""

    async def post(self) -> None:
        body = self.json_body()
        out_trade_no = body.get("out_trade_no")
        if not isinstance(out_trade_no, str) or not out_trade_no:
            raise ValidationFailed(errors=[FieldError("out_trade_no", "required", "out_trade_no 为必填项",
                                                      "out_trade_no is required")])
        try:
            result = await pay_order(self.ctx, out_trade_no, deliver=body.get("deliver", True) is not False,
                                     mch_id=body.get("mchid") or None)
        except WxPayFail as exc:
            self.write_json({"code": exc.code, "message": exc.message}, status=exc.status)
            return
        self.write_json(result)


routes = [
    (r"/sandbox/wechatpay/v3/pay/transactions/jsapi", JsapiPrepayHandler),
    (r"/sandbox/wechatpay/v3/pay/transactions/out-trade-no/([^/]+)", OrderQueryHandler),
    (r"/sandbox/wechatpay/v3/pay/transactions/out-trade-no/([^/]+)/close", OrderCloseHandler),
    (r"/sandbox/wechatpay/v3/refund/domestic/refunds", RefundHandler),
    (r"/sandbox/wechatpay/v3/refund/domestic/refunds/([^/]+)", RefundQueryHandler),
    (r"/sandbox/wechatpay/test/pay", TestPayHandler),
]
