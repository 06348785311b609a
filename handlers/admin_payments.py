"""Operators: fee orders, refunds, and the channels' merchant set-up for payments."""

from __future__ import annotations

from typing import Annotated

import msgspec

from handlers.base import BaseHandler, requires
from handlers.contract import BY_DOMAIN, Answer, Body, Fen, Page, PageQuery, Timestamp, declare
from models import access, channels, payments
from models.errors import BadRequest, NotFound

FINANCE = "finance"


# ---- the contract ---------------------------------------------------------------------------------
class PaymentsQuery(PageQuery):
    status: Annotated[str | None, msgspec.Meta(description="pending, paid or closed")] = None
    application_no: str | None = None
    channel: Annotated[str | None, msgspec.Meta(description="wechat or alipay")] = None


class FeeOrderAdminView(Answer):
    """A fee order (缴费订单) as finance sees it: amounts in fen, the channel's trade number, anomalies."""

    order_no: str
    application_no: str
    service_code: str | None
    description: str | None
    channel: str
    app_id: str
    amount_fen: Fen
    currency: str
    status: str
    created_at: Timestamp
    expires_at: Timestamp
    paid_at: Timestamp | None
    closed_at: Timestamp | None
    refunded_fen: Fen
    citizen_id: str | None
    channel_id: str | None
    channel_trade_no: str | None
    paid_via: str | None
    close_reason: str | None
    refundable_fen: Fen
    anomaly: str | None


class RefundAdminView(Answer):
    """A refund of a fee order: `processing` until the channel confirms, then `succeeded` or `failed`."""

    refund_no: str
    order_no: str
    amount_fen: Fen
    status: str
    reason: str
    operator_id: str | None
    created_at: Timestamp
    succeeded_at: Timestamp | None
    failed_at: Timestamp | None
    failure: str | None


class PaymentNotificationAttempt(Answer):
    """One notification the channel sent about the order, and what became of it."""

    id: str
    received_at: Timestamp
    event_type: str | None
    outcome: str
    reason: str | None
    http_status: int | None


class FeeOrderAdminDetail(FeeOrderAdminView, kw_only=True):
    """A fee order with its refunds and every notification attempt (for reconciliation by hand)."""

    refunds: list[RefundAdminView]
    notifications: list[PaymentNotificationAttempt]


# models.payments checks a refund (the amount against what is left, in one step) and names what is wrong.
class RefundRequest(Body, kw_only=True):
    amount_fen: Annotated[int, msgspec.Meta(ge=1, description="fen to refund; default: all that is left"),
                          BY_DOMAIN] = msgspec.UNSET
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=80), BY_DOMAIN]


WriteOnly = msgspec.Meta(description="write-only")


class MerchantSetup(Body):
    """A WeChat channel: `mch_id`, `serial_no`, `private_key_pem`, `apiv3_key`, `platform_keys`, `api_base`
    (every bad field named at once). An Alipay channel: `seller_id`, and optionally its keys."""

    mch_id: Annotated[str, msgspec.Meta(pattern="^[0-9]{6,32}$", description="WeChat Pay merchant number"),
                      BY_DOMAIN] = msgspec.UNSET
    serial_no: Annotated[str, msgspec.Meta(min_length=8, max_length=64,
                                           description="the merchant certificate's serial number"), BY_DOMAIN] = msgspec.UNSET
    private_key_pem: Annotated[str, msgspec.Meta(description="the merchant's RSA private key (PEM), write-only"),
                               BY_DOMAIN] = msgspec.UNSET
    apiv3_key: Annotated[str, msgspec.Meta(min_length=32, max_length=32), WriteOnly, BY_DOMAIN] = msgspec.UNSET
    platform_keys: Annotated[dict[str, str], msgspec.Meta(
        min_length=1, description="WeChat Pay platform public keys (PEM) by serial number"), BY_DOMAIN] = msgspec.UNSET
    api_base: Annotated[str, msgspec.Meta(description="e.g. https://api.mch.weixin.qq.com",
                                          extra_json_schema={"format": "uri"}), BY_DOMAIN] = msgspec.UNSET
    seller_id: Annotated[str, msgspec.Meta(pattern="^2088[0-9]{12}$", description="Alipay seller PID"),
                         BY_DOMAIN] = msgspec.UNSET
    app_private_key_pem: Annotated[str, WriteOnly, BY_DOMAIN] = msgspec.UNSET
    alipay_public_key_pem: Annotated[str, BY_DOMAIN] = msgspec.UNSET


class PaymentMerchantView(Answer, kw_only=True):
    """A channel's payment set-up, never its secrets; WeChat and Alipay channels show their own fields."""

    app_id: str
    channel_id: str
    kind: str
    configured: bool
    notify_path: str
    mch_id: str | None = None
    serial_no: str | None = None
    api_base: str | None = None
    platform_serials: list[str] | None = None
    seller_id: str | None = None
    gateway: str | None = None


class PaymentsHandler(BaseHandler):
    """Fee orders, newest first (?status=pending|paid|closed&application_no=&channel=wechat|alipay)."""

    @requires(access.PAYMENTS_READ)
    @declare(query=PaymentsQuery, answer=Page[FeeOrderAdminView])
    async def get(self) -> None:
        query = self.query
        self.write_json(await payments.list_orders(
            self.ctx, self.scope, status=query.status, application_no=query.application_no,
            channel=query.channel, page=query.page, page_size=query.page_size))


class PaymentHandler(BaseHandler):
    """One fee order with its refunds and every callback attempt."""

    path_params = ("order_no",)

    @requires(access.PAYMENTS_READ)
    @declare(answer=FeeOrderAdminDetail)
    async def get(self, order_no: str) -> None:
        self.write_json(await payments.operator_detail(self.ctx, self.scope, order_no))


class RefundsHandler(BaseHandler):
    """Refund a paid fee order, in full or in part {amount_fen?, reason}; never more than was paid."""

    path_params = ("order_no",)

    @requires(access.PAYMENTS_REFUND)
    @declare(body=RefundRequest, answer=RefundAdminView, status=201,
             errors={409: "The order is not paid, the amount exceeds what is left, "
                          "or an Idempotency-Key reused with another body",
                     502: "The payment channel refused the refund (`refund_refused`)"},
             example={"amount_fen": 4000, "reason": "多收费用退还"})
    async def post(self, order_no: str) -> None:
        """Refund {amount_fen? (default: all that is left), reason}; honours Idempotency-Key."""
        body = self.json_body()
        operator_id = self.principal.subject_id
        await self.write_once(f"payments.refund:{order_no}", body, lambda: payments.request_refund(
            self.ctx, self.scope, order_no, body.get("amount_fen"), body.get("reason"), operator_id))


class MerchantHandler(BaseHandler):
    """A channel's payment merchant set-up (secrets are write-only)."""

    path_params = ("app_id",)

    async def _channel(self, app_id: str) -> channels.Channel:
        channel = await channels.find_channel(self.ctx, app_id)
        if channel is None:
            raise NotFound("channel_not_found", "未找到该渠道", "No such channel")
        return channel

    @requires(access.CHANNELS_READ)
    @declare(answer=PaymentMerchantView)
    async def get(self, app_id: str) -> None:
        self.write_json(payments.merchant_view(await self._channel(app_id)))

    @requires(access.CHANNELS_MANAGE)
    @declare(body=MerchantSetup, answer=PaymentMerchantView,
             example={"mch_id": "1900000109", "serial_no": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
                      "private_key_pem": "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
                      "apiv3_key": "0123456789abcdef0123456789abcdef",
                      "platform_keys": {"PUB_KEY_ID_0114": "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----"},
                      "api_base": "https://api.mch.weixin.qq.com"})
    async def put(self, app_id: str) -> None:
        """WeChat: {mch_id, serial_no, private_key_pem, apiv3_key, platform_keys: {serial: pem}, api_base};
        Alipay: {seller_id, app_private_key_pem?, alipay_public_key_pem?}."""
        body = self.json_body()
        channel = await self._channel(app_id)
        if channel.kind == channels.WECHAT_MINIPROGRAM:
            updated = await payments.configure_wechatpay(
                self.ctx, app_id, mch_id=body.get("mch_id"), serial_no=body.get("serial_no"),
                private_key_pem=body.get("private_key_pem"), apiv3_key=body.get("apiv3_key"),
                platform_keys=body.get("platform_keys"), api_base=body.get("api_base"))
        elif channel.kind == channels.ALIPAY_MINIPROGRAM:
            updated = await payments.configure_alipay(
                self.ctx, app_id, seller_id=body.get("seller_id"), app_private_key_pem=body.get("app_private_key_pem"),
                alipay_public_key_pem=body.get("alipay_public_key_pem"))
        else:
            raise BadRequest("channel_kind_unsupported", "该渠道不支持支付", "This channel kind has no payments")
        self.write_json(payments.merchant_view(updated))


routes = [
    (r"/admin/v1/payments", PaymentsHandler),
    (r"/admin/v1/payments/([^/]+)", PaymentHandler),
    (r"/admin/v1/payments/([^/]+)/refunds", RefundsHandler),
    (r"/admin/v1/channels/([^/]+)/merchant", MerchantHandler),
]
