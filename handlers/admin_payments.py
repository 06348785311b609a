"""Operators: fee orders, refunds, and the channels' merchant set-up for payments."""

from __future__ import annotations

from handlers.base import BaseHandler, requires
from models import access, channels, idempotency, payments
from models.errors import BadRequest, NotFound

FINANCE = "finance"


class PaymentsHandler(BaseHandler):
    """Fee orders, newest first (?status=pending|paid|closed&application_no=&channel=wechat|alipay)."""

    @requires(access.PAYMENTS_READ)
    async def get(self) -> None:
        page, size = self.page_args()
        self.write_json(await payments.list_orders(
            self.ctx, self.scope, status=self.get_query_argument("status", None),
            application_no=self.get_query_argument("application_no", None),
            channel=self.get_query_argument("channel", None), page=page, page_size=size))


class PaymentHandler(BaseHandler):
    """One fee order with its refunds and every callback attempt."""

    path_params = ("order_no",)

    @requires(access.PAYMENTS_READ)
    async def get(self, order_no: str) -> None:
        self.write_json(await payments.operator_detail(self.ctx, self.scope, order_no))


class RefundsHandler(BaseHandler):
    """Refund a paid fee order, in full or in part {amount_fen?, reason}; never more than was paid."""

    path_params = ("order_no",)

    @requires(access.PAYMENTS_REFUND)
    async def post(self, order_no: str) -> None:
        """Refund {amount_fen? (default: all that is left), reason}; honours Idempotency-Key."""
        body = self.json_body()
        operator_id = self.principal.subject_id
        status, payload = await idempotency.run_once(
            self.ctx, f"operator:{operator_id}:payments.refund:{order_no}", self.request.headers.get("Idempotency-Key"),
            body, lambda: payments.request_refund(self.ctx, self.scope, order_no, body.get("amount_fen"), body.get("reason"),
                                                  operator_id))
        self.write_json(payload, status)


class MerchantHandler(BaseHandler):
    """A channel's payment merchant set-up (secrets are write-only)."""

    path_params = ("app_id",)

    async def _channel(self, app_id: str) -> channels.Channel:
        channel = await channels.find_channel(self.ctx, app_id)
        if channel is None:
            raise NotFound("channel_not_found", "未找到该渠道", "No such channel")
        return channel

    @requires(access.CHANNELS_READ)
    async def get(self, app_id: str) -> None:
        self.write_json(payments.merchant_view(await self._channel(app_id)))

    @requires(access.CHANNELS_MANAGE)
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
