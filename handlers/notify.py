"""Payment channels call us: WeChat Pay APIv3 and Alipay asynchronous notifications.

These answer in the channels' own formats, not problem+json: WeChat Pay wants 200/204 on success and
4xx/5xx with {"code": "FAIL", "message": ...} otherwise; Alipay wants exactly `success` (anything
else, and it retries). Verification and the exactly-once rules live in models.payments.
"""

from __future__ import annotations

import json
from typing import Any

from handlers.base import BaseHandler
from models import payments
from models.errors import DomainError


class WechatPayNotifyHandler(BaseHandler):
    """WeChat Pay APIv3 notification: verify the signature, decrypt the resource, apply once."""

    path_params = ("channel_id",)

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
    """Alipay asynchronous notification: verify RSA2, apply once, answer exactly `success`."""

    path_params = ("channel_id",)

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
