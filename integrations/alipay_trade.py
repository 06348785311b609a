"""Alipay trade APIs (支付宝交易) for mini-program payments: create, query, close, refund, notifications.

Built on `integrations.alipay` (the gateway client, RSA2 signing and response verification shared with
login). This module adds what payments need: the alipay.trade.* calls with their amounts in yuan
strings, and the asynchronous notification check (RSA2 over the sorted parameters without `sign`
and `sign_type`, then app id and seller). `AlipayTradeGateway` implements the payments domain's
`PaymentGateway` port (models.ports) for one app, from the plain `AlipayMerchant` the domain builds
from the channel document.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import logging
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from tornado.httpclient import AsyncHTTPClient

from integrations import alipay as gateway
from integrations import rsa_keys
from integrations.alipay import AlipayError  # noqa: F401 - re-exported for the tests
from models.core.timezone import alipay_time, parse_alipay_time, vendor_time_field
from models.ports import (
    AlipayMerchant,
    InboundNotification,
    OrderToPlace,
    PaymentNotification,
    PaymentNotificationRejected,
    PaymentRefused,
    PaymentUnavailable,
    PlacedOrder,
    RefundState,
    RefundToMake,
    TradeState,
)

log = logging.getLogger("citygate.payments.alipay")


class AlipayTradeError(gateway.AlipayError, PaymentRefused):
    """alipay.trade.* answered with a business failure (`code`, `sub_code` such as ACQ.TRADE_NOT_EXIST)."""


class AlipayUnavailable(PaymentUnavailable):
    """The gateway could not be reached, or its answer could not be trusted (retry later)."""


class NotificationRejected(PaymentNotificationRejected):
    """A notification failed verification; `reason` is a stable machine string for the log."""

    # Alipay's key or the seller the merchant config may have changed meanwhile.
    stale_config_reasons = frozenset({"signature_invalid", "seller_mismatch"})


def fen_to_yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def yuan_to_fen(text: str) -> int:
    """"12.34" -> 1234; ValueError for anything that is not a plain amount with at most 2 decimals."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{1,10}(\.\d{1,2})?", text):
        raise ValueError(f"not an amount: {text!r}")
    try:
        return int(Decimal(text) * 100)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None


def sign_notification(params: Mapping[str, Any], alipay_private_key: str) -> dict[str, str]:
    """A copy of notification `params` signed as Alipay signs them (without sign and sign_type)."""
    signed = {k: str(v) for k, v in params.items() if k != "sign"}
    signed.setdefault("sign_type", "RSA2")
    signed["sign"] = gateway.sign_text(gateway.signing_content(signed, ("sign", "sign_type")), alipay_private_key)
    return signed


def verify_notification(alipay_public_key: str, app_id: str, seller_id: str,
                        params: Mapping[str, str]) -> dict[str, str]:
    """Verify an asynchronous notification's RSA2 signature, app id and seller; return its parameters."""
    signature = params.get("sign", "")
    if not signature:
        raise NotificationRejected("signature_missing", "notification has no sign", 401)
    if params.get("sign_type", "RSA2") != "RSA2":
        raise NotificationRejected("signature_type_unsupported", "only RSA2 notifications are accepted", 401)
    if not gateway.verify_params(params, signature, alipay_public_key, exclude_sign_type=True):
        raise NotificationRejected("signature_invalid", "notification sign does not verify", 401)
    if params.get("app_id") != app_id:
        raise NotificationRejected("app_id_mismatch", "notification is for another app_id")
    if seller_id and params.get("seller_id") and params.get("seller_id") != seller_id:
        raise NotificationRejected("seller_mismatch", "notification is for another seller")
    return dict(params)


class AlipayTradeClient:
    """alipay.trade.* for one app: signed with its key, answers verified with the Alipay public key.

    `app` is what `integrations.alipay.AlipayClient` reads of an app (a channel, or `GatewayApp`).
    """

    def __init__(self, app: Any, http: AsyncHTTPClient | None = None) -> None:
        self.client = gateway.AlipayClient(app, http)

    async def create(self, *, out_trade_no: str, amount_fen: int, subject: str, buyer_id: str,
                     notify_url: str, time_expire: datetime.datetime) -> str:
        """alipay.trade.create for a mini-program buyer; return Alipay's trade_no for my.tradePay."""
        biz: dict[str, Any] = {"out_trade_no": out_trade_no, "total_amount": fen_to_yuan(amount_fen),
                               "subject": subject[:256], "product_code": "JSAPI_PAY",
                               "time_expire": alipay_time(time_expire)}
        # 2088... is a user_id; newer apps get a per-app open_id instead
        biz["buyer_id" if buyer_id.startswith("2088") else "buyer_open_id"] = buyer_id
        answer = await self._call("alipay.trade.create", biz, notify_url=notify_url)
        if not answer.get("trade_no"):
            raise AlipayUnavailable("trade.create answer without trade_no")
        return str(answer["trade_no"])

    async def query(self, out_trade_no: str) -> dict[str, Any]:
        """trade_status WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_FINISHED or TRADE_CLOSED."""
        return await self._call("alipay.trade.query", {"out_trade_no": out_trade_no})

    async def close(self, out_trade_no: str) -> None:
        await self._call("alipay.trade.close", {"out_trade_no": out_trade_no})

    async def refund(self, *, out_trade_no: str, refund_fen: int, out_request_no: str, reason: str) -> dict[str, Any]:
        """alipay.trade.refund; `fund_change` "Y" means the money moved now."""
        return await self._call("alipay.trade.refund", {
            "out_trade_no": out_trade_no, "refund_amount": fen_to_yuan(refund_fen),
            "out_request_no": out_request_no, "refund_reason": reason[:256]})

    async def query_refund(self, out_trade_no: str, out_request_no: str) -> dict[str, Any]:
        """alipay.trade.fastpay.refund.query; refund_status REFUND_SUCCESS once done."""
        return await self._call("alipay.trade.fastpay.refund.query",
                                {"out_trade_no": out_trade_no, "out_request_no": out_request_no})

    async def _call(self, method: str, biz: dict[str, Any], **params: Any) -> dict[str, Any]:
        try:
            return await self.client.call(method, biz, **params)
        except gateway.AlipayError as exc:
            if exc.transient:
                raise AlipayUnavailable(str(exc)) from None
            raise AlipayTradeError(exc.code, exc.msg, exc.sub_code, exc.sub_msg) from None
        except (gateway.AlipayTransportError, gateway.AlipayResponseUnverified) as exc:
            raise AlipayUnavailable(f"{type(exc).__name__}: {exc}") from None


# ---- the payments domain's gateway (models.ports.PaymentGateway) -----------------------------------

@dataclasses.dataclass(frozen=True)
class GatewayApp:
    """A merchant in the shape `integrations.alipay.AlipayClient` reads an app: URL, timeout and keys."""

    merchant: AlipayMerchant

    @property
    def app_id(self) -> str:
        return self.merchant.app_id

    @property
    def api_base_url(self) -> str:
        return self.merchant.gateway_url

    @property
    def timeout_seconds(self) -> float:
        return self.merchant.timeout_seconds

    @property
    def public(self) -> Mapping[str, str]:
        return {"alipay_public_key": self.merchant.alipay_public_key_pem}

    def secret(self, name: str) -> str:
        return {"app_private_key": self.merchant.app_private_key_pem}[name]

    def previous_values(self, name: str, now: datetime.datetime) -> list[str]:
        """The merchant holds only the keys still in their overlap window, so `now` has been applied."""
        return list(self.merchant.previous_alipay_public_keys) if name == "alipay_public_key" else []


class AlipayTradeGateway:
    """One Alipay app taking payments, as the payments domain sees a vendor: Alipay's trade states,
    sub-codes and notification fields read into the port's terms."""

    ack_status = 200  # what Alipay expects (with the body `success`) for an accepted notification

    def __init__(self, http: AsyncHTTPClient, merchant: AlipayMerchant) -> None:
        self.merchant = merchant
        self.client = AlipayTradeClient(GatewayApp(merchant), http)

    async def place(self, order: OrderToPlace) -> PlacedOrder:
        trade_no = await self.client.create(
            out_trade_no=order.order_no, amount_fen=order.amount_fen, subject=order.description,
            buyer_id=order.payer_id, notify_url=order.notify_url, time_expire=order.expires_at)
        return PlacedOrder(trade_no=trade_no)

    def client_params(self, placed: PlacedOrder) -> dict[str, str]:
        """The trade number `my.tradePay` takes."""
        return {"tradeNO": placed.trade_no}

    async def query(self, order_no: str) -> TradeState:
        try:
            answer = await self.client.query(order_no)
        except AlipayTradeError as exc:
            if exc.sub_code == "ACQ.TRADE_NOT_EXIST":
                return TradeState("absent")
            raise
        state = answer.get("trade_status")
        # A fully refunded trade is TRADE_CLOSED too; its send_pay_date says it was paid first.
        if state in ("TRADE_SUCCESS", "TRADE_FINISHED") or (state == "TRADE_CLOSED" and answer.get("send_pay_date")):
            return TradeState("paid", str(answer.get("trade_no", "")),
                              vendor_time_field(parse_alipay_time, answer, "send_pay_date", log),
                              _fen_or_none(answer.get("total_amount", "")))
        if state == "WAIT_BUYER_PAY":
            return TradeState("open")
        return TradeState("closed")

    async def close(self, order_no: str) -> None:
        await self.client.close(order_no)

    async def refund(self, refund: RefundToMake) -> RefundState:
        answer = await self.client.refund(out_trade_no=refund.order_no, refund_fen=refund.amount_fen,
                                          out_request_no=refund.refund_no, reason=refund.reason)
        if answer.get("fund_change") == "Y":
            return RefundState("succeeded")
        return await self.query_refund(refund.order_no, refund.refund_no)

    async def query_refund(self, order_no: str, refund_no: str) -> RefundState:
        answer = await self.client.query_refund(order_no, refund_no)
        if answer.get("refund_status") == "REFUND_SUCCESS":
            return RefundState("succeeded", "", vendor_time_field(parse_alipay_time, answer, "gmt_refund_pay", log))
        return RefundState("processing" if answer.get("refund_amount") else "unseen")

    def verify_notification(self, message: InboundNotification, now: datetime.datetime) -> PaymentNotification:
        """RSA2 with Alipay's current public key, else with a rotated-out one still in its overlap window;
        a failure raises the current key's NotificationRejected."""
        params, merchant = message.form, self.merchant
        try:
            verify_notification(merchant.alipay_public_key_pem, merchant.app_id, merchant.seller_id, params)
        except NotificationRejected as exc:
            if exc.reason != "signature_invalid" or not any(
                    _verifies(key, merchant, params) for key in merchant.previous_alipay_public_keys):
                raise
        status = {"TRADE_SUCCESS": "paid", "TRADE_FINISHED": "paid", "TRADE_CLOSED": "closed"}.get(
            params.get("trade_status"), "")
        # A refund shows as a trade notification naming the refund request (out_biz_no) and its fee.
        refund_no = params["out_biz_no"] if params.get("out_biz_no") and params.get("refund_fee") else ""
        at = None
        if refund_no:
            at = vendor_time_field(parse_alipay_time, params, "gmt_refund", log)
        elif status == "paid":
            at = vendor_time_field(parse_alipay_time, params, "gmt_payment", log)
        return PaymentNotification(
            id=str(params.get("notify_id", ""))[:64], event_type=str(params.get("trade_status", ""))[:32],
            kind="trade", ack_status=self.ack_status, order_no=str(params.get("out_trade_no", "")), status=status,
            trade_no=str(params.get("trade_no", "")), refund_no=refund_no, at=at,
            amount_fen=_fen_or_none(params.get("total_amount", "")), amount_field="total_amount")


def _verifies(public_key: str, merchant: AlipayMerchant, params: Mapping[str, str]) -> bool:
    try:
        verify_notification(public_key, merchant.app_id, merchant.seller_id, params)
    except NotificationRejected:
        return False
    return True


def _fen_or_none(text: Any) -> int | None:
    try:
        return yuan_to_fen(str(text))
    except ValueError:
        return None


class AlipayTrade:
    """Alipay payments as the server wires them to the payments domain (models.ports.PaymentVendor)."""

    def __init__(self, http: AsyncHTTPClient) -> None:
        self.http = http

    def gateway(self, merchant: AlipayMerchant) -> AlipayTradeGateway:
        return AlipayTradeGateway(self.http, merchant)

    def notification_record(self, message: InboundNotification) -> dict[str, Any]:
        params = message.form
        return {"notification_id": str(params.get("notify_id", ""))[:64],
                "event_type": str(params.get("trade_status", ""))[:32],
                "body_sha256": hashlib.sha256(json.dumps(dict(params), sort_keys=True).encode()).hexdigest()}

    def key_readable(self, pem: object, *, private: bool) -> bool:
        # the loaders the gateway client signs and verifies with (bare base64 or PEM)
        return isinstance(pem, str) and rsa_keys.readable(pem, gateway.read_private_key if private else gateway.read_public_key)
