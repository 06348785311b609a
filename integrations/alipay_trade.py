"""Alipay trade APIs (支付宝交易) for mini-program payments: create, query, close, refund, notifications.

Built on `integrations.alipay` (the gateway client, RSA2 signing and response verification shared with
login). This module adds what payments need: the alipay.trade.* calls with their amounts in yuan
strings, and the asynchronous notification check (RSA2 over the sorted parameters without `sign`
and `sign_type`, then app id and seller). Keys and the gateway URL come from the channel document.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from tornado.httpclient import AsyncHTTPClient

from integrations import alipay as gateway
from integrations.alipay import AlipayError  # noqa: F401 - re-exported for the domain
from models.core.timezone import alipay_time
from models.ports import Channel


class AlipayUnavailable(Exception):
    """The gateway could not be reached, or its answer could not be trusted (retry later)."""


class NotificationRejected(Exception):
    """A notification failed verification; `reason` is a stable machine string for the log."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        self.reason, self.message, self.status = reason, message, status
        super().__init__(f"{reason}: {message}")


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
    """alipay.trade.* for one app: signed with its key, answers verified with the Alipay public key."""

    def __init__(self, channel: Channel, http: AsyncHTTPClient | None = None, gateway_url: str = "") -> None:
        if gateway_url and gateway_url != channel.api_base_url:
            channel = dataclasses.replace(channel, api_base_url=gateway_url.rstrip("/"))
        self.client = gateway.AlipayClient(channel, http)

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
            raise
        except (gateway.AlipayTransportError, gateway.AlipayResponseUnverified) as exc:
            raise AlipayUnavailable(f"{type(exc).__name__}: {exc}") from None
