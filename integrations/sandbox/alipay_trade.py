"""Sandbox Alipay trades (支付宝交易): alipay.trade.* on the sandbox gateway, and RSA2 notifications.

The methods plug into the sandbox gateway (`integrations.sandbox.alipay`, /sandbox/alipay/gateway.do)
through its `@gateway_method` hook, so requests are verified and answers signed exactly as for login,
with the one gateway key a channel's `alipay_public_key` names.

POST /sandbox/alipay/test/pay {out_trade_no} pays a trade and sends the RSA2-signed TRADE_SUCCESS
notification (signed without sign and sign_type) to its notify_url; `"deliver": false` pays without
notifying, to play a lost callback. A refund sends its notification (with `out_biz_no` and
`refund_fee`) before the refund call answers. Sent notifications are kept in
`sandbox_alipay_notifications` for byte-for-byte replays.
"""

from __future__ import annotations

import datetime
import secrets
import urllib.parse
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from tornado.httpclient import HTTPRequest

from integrations.alipay_trade import fen_to_yuan, sign_notification, yuan_to_fen
from integrations.sandbox import alipay as alipay_sandbox
from integrations.sandbox import common
from integrations.sandbox.alipay import business_failed, gateway_method, invalid_arguments
from integrations.sandbox.base import SandboxHandler as BaseHandler
from models.core.context import Context
from models.core.timezone import VendorTimeError, alipay_time, local, parse_alipay_time
from models.errors import FieldError, ValidationFailed

VENDOR = alipay_sandbox.VENDOR


async def register_seller(ctx: Context, app_id: str, seller_id: str | None = None) -> str:
    """Give a registered app its merchant PID (2088...), as signing a payment product does; return it."""
    app = await common.find_app(ctx, VENDOR, app_id) or {}
    seller_id = seller_id or app.get("seller_id") or "2088" + "".join(secrets.choice("0123456789") for _ in range(12))
    await common.register_app(ctx, VENDOR, app_id, seller_id=seller_id)
    return seller_id


def _trade_id(app_id: str, out_trade_no: Any) -> str:
    return f"{app_id}:{out_trade_no}"


async def _trade(ctx: Context, app_id: str, biz: dict[str, Any]) -> dict[str, Any]:
    trade = await ctx.db.sandbox_alipay_trades.find_one({"_id": _trade_id(app_id, biz.get("out_trade_no", ""))})
    if trade is None:
        raise business_failed("ACQ.TRADE_NOT_EXIST", "交易不存在")
    return trade


def _amount(value: Any, name: str) -> int:
    try:
        fen = yuan_to_fen(str(value))
    except ValueError:
        raise invalid_arguments("isv.invalid-parameter", f"{name} 格式错误") from None
    if fen <= 0:
        raise invalid_arguments("isv.invalid-parameter", f"{name} 应大于 0")
    return fen


@gateway_method("alipay.trade.create")
async def trade_create(ctx: Context, app_id: str, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    """Create a trade for a mini-program buyer (WAIT_BUYER_PAY); the same request again answers the same trade."""
    out_trade_no, subject = biz.get("out_trade_no"), biz.get("subject")
    buyer = biz.get("buyer_id") or biz.get("buyer_open_id")
    if not out_trade_no or not subject or not buyer:
        raise business_failed("ACQ.INVALID_PARAMETER", "缺少必选参数 out_trade_no / subject / buyer_id")
    total_fen = _amount(biz.get("total_amount"), "total_amount")
    now = ctx.clock()
    time_expire = now + datetime.timedelta(minutes=90)
    if biz.get("time_expire"):
        try:
            time_expire = parse_alipay_time(biz["time_expire"])
        except VendorTimeError:
            raise invalid_arguments("isv.invalid-parameter", "time_expire 格式错误") from None
    app = await common.find_app(ctx, VENDOR, app_id) or {}
    fields = {"app_id": app_id, "out_trade_no": out_trade_no, "total_fen": total_fen, "subject": subject,
              "buyer_id": buyer, "notify_url": params.get("notify_url", "")}
    trade_no = local(now).strftime("%Y%m%d") + "22" + "".join(secrets.choice("0123456789") for _ in range(18))
    try:
        await ctx.db.sandbox_alipay_trades.insert_one(
            {**fields, "_id": _trade_id(app_id, out_trade_no), "trade_no": trade_no, "seller_id": app.get("seller_id", ""),
             "refunded": 0, "trade_status": "WAIT_BUYER_PAY", "time_expire": time_expire, "created_at": now})
        existing = None
    except DuplicateKeyError:
        existing = await ctx.db.sandbox_alipay_trades.find_one({"_id": _trade_id(app_id, out_trade_no)})
    if existing is not None:
        if any(existing.get(name) != value for name, value in fields.items()):
            raise business_failed("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
        if existing["trade_status"] in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            raise business_failed("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
        if existing["trade_status"] == "TRADE_CLOSED":
            raise business_failed("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
        trade_no = existing["trade_no"]
    return {"code": "10000", "msg": "Success", "out_trade_no": out_trade_no, "trade_no": trade_no}


@gateway_method("alipay.trade.query")
async def trade_query(ctx: Context, app_id: str, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    """The trade's status: WAIT_BUYER_PAY, TRADE_SUCCESS or TRADE_CLOSED."""
    trade = await _trade(ctx, app_id, biz)
    node = {"code": "10000", "msg": "Success", "trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"],
            "trade_status": trade["trade_status"], "total_amount": fen_to_yuan(trade["total_fen"]),
            "buyer_user_id": trade["buyer_id"], "buyer_logon_id": "cit***@sandbox.example"}
    if trade.get("gmt_payment"):
        node.update(send_pay_date=alipay_time(trade["gmt_payment"]), receipt_amount=fen_to_yuan(trade["total_fen"]))
    return node


@gateway_method("alipay.trade.close")
async def trade_close(ctx: Context, app_id: str, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    """Close an unpaid trade; a paid one answers ACQ.TRADE_STATUS_ERROR."""
    trade = await _trade(ctx, app_id, biz)
    closed = await ctx.db.sandbox_alipay_trades.find_one_and_update(
        {"_id": trade["_id"], "trade_status": "WAIT_BUYER_PAY"}, {"$set": {"trade_status": "TRADE_CLOSED"}})
    if closed is None and (trade["trade_status"] != "TRADE_CLOSED" or trade.get("gmt_payment")):
        raise business_failed("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
    return {"code": "10000", "msg": "Success", "trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"]}


def _refund_answer(trade: dict[str, Any], fund_change: str) -> dict[str, Any]:
    return {"code": "10000", "msg": "Success", "trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"],
            "buyer_logon_id": "cit***@sandbox.example", "fund_change": fund_change,
            "refund_fee": fen_to_yuan(trade["refunded"]), "buyer_user_id": trade["buyer_id"]}


@gateway_method("alipay.trade.refund")
async def trade_refund(ctx: Context, app_id: str, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    """Refund part or all of a paid trade, never more than paid; out_request_no makes it idempotent."""
    trade = await _trade(ctx, app_id, biz)
    request_no = str(biz.get("out_request_no") or trade["out_trade_no"])
    refund_fen = _amount(biz.get("refund_amount"), "refund_amount")
    refund_id = f"{trade['_id']}:{request_no}"
    earlier = await ctx.db.sandbox_alipay_refunds.find_one({"_id": refund_id})
    if earlier is not None:
        if earlier["refund_fen"] != refund_fen:
            raise business_failed("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额与原请求不一致")
        return _refund_answer(trade, "N")
    if not trade.get("gmt_payment"):
        raise business_failed("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
    reserved = await ctx.db.sandbox_alipay_trades.find_one_and_update(
        {"_id": trade["_id"], "refunded": {"$lte": trade["total_fen"] - refund_fen}},  # plain shape: no $expr
        {"$inc": {"refunded": refund_fen}}, return_document=ReturnDocument.AFTER)
    if reserved is None:
        raise business_failed("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
    refund = {"_id": refund_id, "out_request_no": request_no, "refund_fen": refund_fen, "app_id": app_id,
              "out_trade_no": trade["out_trade_no"], "created_at": ctx.clock()}
    await ctx.db.sandbox_alipay_refunds.insert_one(refund)
    if reserved["refunded"] == reserved["total_fen"]:
        reserved = await ctx.db.sandbox_alipay_trades.find_one_and_update(
            {"_id": trade["_id"]}, {"$set": {"trade_status": "TRADE_CLOSED"}}, return_document=ReturnDocument.AFTER)
    await send_notification(ctx, reserved, trade_status=reserved["trade_status"], refund=refund)
    return _refund_answer(reserved, "Y")


@gateway_method("alipay.trade.fastpay.refund.query")
async def refund_query(ctx: Context, app_id: str, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    """One refund request's outcome (REFUND_SUCCESS); an unknown request answers without refund fields."""
    trade = await _trade(ctx, app_id, biz)
    request_no = str(biz.get("out_request_no") or trade["out_trade_no"])
    refund = await ctx.db.sandbox_alipay_refunds.find_one({"_id": f"{trade['_id']}:{request_no}"})
    node = {"code": "10000", "msg": "Success", "out_trade_no": trade["out_trade_no"], "trade_no": trade["trade_no"]}
    if refund is not None:
        node.update(out_request_no=request_no, total_amount=fen_to_yuan(trade["total_fen"]),
                    refund_amount=fen_to_yuan(refund["refund_fen"]), refund_status="REFUND_SUCCESS",
                    gmt_refund_pay=alipay_time(refund["created_at"]))
    return node


# ---- notifications -------------------------------------------------------------------------------

def notification_params(trade: dict[str, Any], *, trade_status: str, now: datetime.datetime,
                        refund: dict[str, Any] | None = None) -> dict[str, str]:
    """The unsigned parameters of one asynchronous notification about a trade."""
    params = {
        "notify_time": alipay_time(now), "notify_type": "trade_status_sync", "notify_id": secrets.token_hex(16),
        "app_id": trade["app_id"], "charset": "utf-8", "version": "1.0", "trade_no": trade["trade_no"],
        "out_trade_no": trade["out_trade_no"], "buyer_id": trade["buyer_id"], "seller_id": trade["seller_id"],
        "trade_status": trade_status, "total_amount": fen_to_yuan(trade["total_fen"]),
        "receipt_amount": fen_to_yuan(trade["total_fen"]), "buyer_pay_amount": fen_to_yuan(trade["total_fen"]),
        "subject": trade["subject"], "gmt_create": alipay_time(trade["created_at"]),
    }
    if trade.get("gmt_payment"):
        params["gmt_payment"] = alipay_time(trade["gmt_payment"])
    if refund is not None:
        params.update(out_biz_no=refund["out_request_no"], refund_fee=fen_to_yuan(trade.get("refunded", 0)),
                      gmt_refund=alipay_time(refund["created_at"]))
    return params


async def signed_notification(ctx: Context, trade: dict[str, Any], *, trade_status: str,
                              refund: dict[str, Any] | None = None) -> dict[str, str]:
    params = notification_params(trade, trade_status=trade_status, now=ctx.clock(), refund=refund)
    return sign_notification(params, await alipay_sandbox.gateway_private_key_pem(ctx))


async def send_notification(ctx: Context, trade: dict[str, Any], *, trade_status: str,
                            refund: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST one signed notification to the trade's notify_url; keep it (and the answer) for replays."""
    signed = await signed_notification(ctx, trade, trade_status=trade_status, refund=refund)
    record: dict[str, Any] = {"_id": ObjectId(), "out_trade_no": trade["out_trade_no"], "app_id": trade["app_id"],
                              "url": trade.get("notify_url", ""), "params": signed, "sent_at": ctx.clock()}
    if trade.get("notify_url"):
        try:
            response = await ctx.http.fetch(HTTPRequest(
                trade["notify_url"], method="POST", body=urllib.parse.urlencode(signed),
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, request_timeout=10),
                raise_error=False)
            record.update(status=response.code, answer=(response.body or b"").decode("utf-8", "replace")[:200])
        except Exception as exc:  # noqa: BLE001 - the app being down is a normal outcome here
            record.update(status=599, answer=type(exc).__name__)
    else:
        record.update(status=0, answer="no notify_url")
    await ctx.db.sandbox_alipay_notifications.insert_one(record)
    return record


class PayFailed(Exception):
    def __init__(self, sub_code: str, sub_msg: str) -> None:
        self.sub_code, self.sub_msg = sub_code, sub_msg
        super().__init__(sub_code)


async def pay_trade(ctx: Context, out_trade_no: str, *, deliver: bool = True, app_id: str | None = None) -> dict[str, Any]:
    """The buyer pays (or paid: the notification goes again); notify the app unless told not to."""
    query: dict[str, Any] = {"out_trade_no": out_trade_no}
    if app_id:
        query["app_id"] = app_id
    trade = await ctx.db.sandbox_alipay_trades.find_one(query)
    if trade is None:
        raise PayFailed("ACQ.TRADE_NOT_EXIST", "交易不存在")
    if trade["trade_status"] == "WAIT_BUYER_PAY":
        if trade["time_expire"] <= ctx.clock():
            raise PayFailed("ACQ.TRADE_HAS_CLOSE", "交易已超时")
        trade = await ctx.db.sandbox_alipay_trades.find_one_and_update(
            {"_id": trade["_id"], "trade_status": "WAIT_BUYER_PAY"},
            {"$set": {"trade_status": "TRADE_SUCCESS", "gmt_payment": ctx.clock()}},
            return_document=ReturnDocument.AFTER) or await ctx.db.sandbox_alipay_trades.find_one({"_id": trade["_id"]})
    if not trade.get("gmt_payment"):
        raise PayFailed("ACQ.TRADE_HAS_CLOSE", "交易已关闭")
    result: dict[str, Any] = {"out_trade_no": out_trade_no, "trade_no": trade["trade_no"],
                              "trade_status": trade["trade_status"]}
    if deliver:
        record = await send_notification(ctx, trade, trade_status="TRADE_SUCCESS")
        result.update(notify_status=record["status"], notify_answer=record["answer"])
    return result


class TestPayHandler(BaseHandler):
    """Sandbox Alipay test helper: the buyer pays a trade; its RSA2-signed notification is sent."""

    async def post(self) -> None:
        body = self.json_body()
        out_trade_no = body.get("out_trade_no")
        if not isinstance(out_trade_no, str) or not out_trade_no:
            raise ValidationFailed(errors=[FieldError("out_trade_no", "required", "out_trade_no 为必填项",
                                                      "out_trade_no is required")])
        try:
            result = await pay_trade(self.ctx, out_trade_no, deliver=body.get("deliver", True) is not False,
                                     app_id=body.get("app_id") or None)
        except PayFailed as exc:
            self.write_json({"code": "40004", "msg": "Business Failed", "sub_code": exc.sub_code,
                             "sub_msg": exc.sub_msg}, status=400)
            return
        self.write_json(result)


routes = [(r"/sandbox/alipay/test/pay", TestPayHandler)]
