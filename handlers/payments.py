"""Citizens' fee payments: create a fee order for an application, and follow its state."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from handlers.base import BaseHandler, citizen_required
from handlers.contract import BY_DOMAIN, Answer, Body, Fen, Timestamp, declare
from models import payments


# ---- the contract ---------------------------------------------------------------------------------
class NewFeeOrder(Body):
    """Which channel pays: the mini-program the citizen pays in."""

    # The payment rules name a wrong channel and a missing app_id together, in their own words.
    channel: Annotated[Literal["wechat", "alipay"], BY_DOMAIN]
    app_id: Annotated[str, msgspec.Meta(description="the mini-program's AppID"), BY_DOMAIN]


class FeeOrder(Answer):
    """A fee order for one of my applications."""

    order_no: str
    application_no: str
    service_code: str | None
    description: str | None
    channel: Annotated[str, msgspec.Meta(description="wechat or alipay")]
    app_id: str
    amount_fen: Fen
    currency: Annotated[str, msgspec.Meta(description="CNY")]
    status: Annotated[str, msgspec.Meta(description="pending, paid or closed (refunds show in refunded_fen)")]
    created_at: Timestamp
    expires_at: Timestamp
    paid_at: Timestamp | None
    closed_at: Timestamp | None
    refunded_fen: Fen


class FeeOrderToPay(FeeOrder, kw_only=True):
    """The order with what the mini-program passes to wx.requestPayment or my.tradePay."""

    pay_params: Annotated[dict[str, str] | None, msgspec.Meta(
        description="WeChat: timeStamp, nonceStr, package, signType, paySign; Alipay: tradeNO. "
                    "Absent when the order was paid or closed meanwhile")] = None


class ApplicationPaymentsHandler(BaseHandler):
    """Create a fee order for my application → parameters for wx.requestPayment or my.tradePay."""

    path_params = ("no",)

    @citizen_required
    @declare(body=NewFeeOrder, answer=FeeOrderToPay, status=201,
             errors={409: "Not payable (state, no fee, already paid, no login through this mini-program, merchant not "
                          "configured), an order being created, or an Idempotency-Key reused with another body",
                     502: "The payment channel refused the order", 503: "The payment channel is unreachable"},
             example={"channel": "wechat", "app_id": "wx1234567890abcdef"})
    async def post(self, no: str) -> None:
        """Fee order {channel: "wechat"|"alipay", app_id} → order with `pay_params`; honours Idempotency-Key."""
        body = self.json_body()
        citizen_id = self.principal.subject_id
        await self.write_once(f"payments.create:{no}", body, lambda: payments.create_payment(
            self.ctx, citizen_id, no, body.get("channel"), body.get("app_id")), status=201)


class PaymentHandler(BaseHandler):
    """One of my fee orders; a pending one is checked with the payment channel first."""

    path_params = ("order_no",)

    @citizen_required
    @declare(answer=FeeOrder)
    async def get(self, order_no: str) -> None:
        self.write_json(await payments.get_for_citizen(self.ctx, self.principal.subject_id, order_no))


routes = [
    (r"/api/v1/applications/([^/]+)/payments", ApplicationPaymentsHandler),
    (r"/api/v1/payments/([^/]+)", PaymentHandler),
]
