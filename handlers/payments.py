"""Citizens' fee payments: create a fee order for an application, and follow its state."""

from __future__ import annotations

from handlers.base import BaseHandler, citizen_required
from models import idempotency, payments


class ApplicationPaymentsHandler(BaseHandler):
    """Create a fee order for my application → parameters for wx.requestPayment or my.tradePay."""

    path_params = ("no",)

    @citizen_required
    async def post(self, no: str) -> None:
        """Fee order {channel: "wechat"|"alipay", app_id} → order with `pay_params`; honours Idempotency-Key."""
        body = self.json_body()
        citizen_id = self.principal.subject_id

        async def create() -> tuple[int, dict]:
            return 201, await payments.create_payment(self.ctx, citizen_id, no, body.get("channel"), body.get("app_id"))

        status, payload = await idempotency.run_once(
            self.ctx, f"citizen:{citizen_id}:payments.create:{no}", self.request.headers.get("Idempotency-Key"), body, create)
        self.write_json(payload, status)


class PaymentHandler(BaseHandler):
    """One of my fee orders; a pending one is checked with the payment channel first."""

    path_params = ("order_no",)

    @citizen_required
    async def get(self, order_no: str) -> None:
        self.write_json(await payments.get_for_citizen(self.ctx, self.principal.subject_id, order_no))


routes = [
    (r"/api/v1/applications/([^/]+)/payments", ApplicationPaymentsHandler),
    (r"/api/v1/payments/([^/]+)", PaymentHandler),
]
