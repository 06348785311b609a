"""Payment channels call us: WeChat Pay APIv3 and Alipay asynchronous notifications.

These answer in the channels' own formats, not problem+json: WeChat Pay wants 200/204 on success and
4xx/5xx with {"code": "FAIL", "message": ...} otherwise; Alipay wants exactly `success` (anything
else, and it retries). Verification and the exactly-once rules live in models.payments.
"""

from __future__ import annotations

import json
from typing import Any

from handlers.base import BaseHandler
from handlers.contract import Raw, declare
from models import payments
from models.errors import DomainError

# ---- the contract ---------------------------------------------------------------------------------
# The vendors' own formats, verified (signature, decryption) in models.payments, not by a type here.
WECHATPAY_NOTIFICATION = Raw("application/json", {
    "type": "object", "required": ["id", "create_time", "event_type", "resource_type", "resource"],
    "properties": {
        "id": {"type": "string"}, "create_time": {"type": "string", "description": "RFC 3339"},
        "event_type": {"type": "string", "examples": ["TRANSACTION.SUCCESS", "REFUND.SUCCESS"]},
        "resource_type": {"type": "string", "examples": ["encrypt-resource"]}, "summary": {"type": "string"},
        "resource": {"type": "object", "required": ["algorithm", "ciphertext", "nonce"], "properties": {
            "algorithm": {"type": "string", "examples": ["AEAD_AES_256_GCM"]}, "ciphertext": {"type": "string"},
            "nonce": {"type": "string"}, "associated_data": {"type": "string"}, "original_type": {"type": "string"}}},
    }}, "A WeChat Pay APIv3 notification, signed in the Wechatpay-Signature, -Timestamp, -Nonce and -Serial "
        "headers; its resource is encrypted with the merchant's APIv3 key")
ALIPAY_NOTIFICATION = Raw("application/x-www-form-urlencoded", {
    "type": "object", "required": ["notify_id", "app_id", "out_trade_no", "sign", "sign_type"],
    "properties": {name: {"type": "string"} for name in (
        "notify_id", "notify_time", "notify_type", "app_id", "seller_id", "trade_no", "out_trade_no", "trade_status",
        "total_amount", "gmt_payment", "out_biz_no", "refund_fee", "gmt_refund", "sign", "sign_type")},
    "additionalProperties": {"type": "string"}}, "An Alipay asynchronous notification, signed RSA2 (`sign`)")
ALIPAY_ACKNOWLEDGEMENT = Raw("text/plain", {"type": "string", "enum": ["success"]},
                             "Exactly `success` once applied (or known already); anything else and Alipay retries")


class WechatPayNotifyHandler(BaseHandler):
    """WeChat Pay APIv3 notification: verify the signature, decrypt the resource, apply once.

    Applied (or known already): 204, no content. Refused: 4xx/5xx with `{"code": "FAIL", "message": ...}`
    (application/json, not problem+json), and WeChat Pay sends it again later.
    """

    path_params = ("channel_id",)

    @declare(body=WECHATPAY_NOTIFICATION, answer=None, status=204)
    async def post(self, channel_id: str) -> None:
        result = await payments.handle_wechatpay_notification(self.ctx, channel_id, self.request.headers,
                                                             self.request.body or b"")
        if result.ok:
            self.set_status(204)
            self.finish()
        else:
            self._fail(result.status, result.message)

    def _fail(self, status: int, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"code": "FAIL", "message": message}, ensure_ascii=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.message("en") if isinstance(exc, DomainError) else "internal error, retry later"
        self._fail(status_code, message)


class AlipayNotifyHandler(BaseHandler):
    """Alipay asynchronous notification: verify RSA2, apply once, answer exactly `success`.

    Refused: `failure` (text/plain) with a 4xx, and Alipay sends it again later.
    """

    path_params = ("channel_id",)

    @declare(body=ALIPAY_NOTIFICATION, answer=ALIPAY_ACKNOWLEDGEMENT)
    async def post(self, channel_id: str) -> None:
        params = {name: values[-1].decode("utf-8", "replace") for name, values in self.request.body_arguments.items()}
        result = await payments.handle_alipay_notification(self.ctx, channel_id, params)
        self.set_status(200 if result.ok else result.status)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish("success" if result.ok else "failure")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish("failure")


routes = [
    (r"/notify/wechatpay/([^/]+)", WechatPayNotifyHandler),
    (r"/notify/alipay/([^/]+)", AlipayNotifyHandler),
]
