"""What citizens and operators see of fee orders and refunds, and operators' reads within their scope."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING

from models.access import OperatorScope
from models.core.context import Context
from models.core.pagination import page_of
from models.core.timezone import shown_time
from models.errors import BadRequest, NotFound
from models.payments.merchants import CHANNEL_KINDS


def order_view(order: dict[str, Any], *, operator: bool = False) -> dict[str, Any]:
    shown = {
        "order_no": order["_id"], "application_no": order["application_no"], "service_code": order.get("service_code"),
        "description": order.get("description"), "channel": order["channel"], "app_id": order["app_id"],
        "amount_fen": order["amount_fen"], "currency": "CNY", "status": order["status"],
        "created_at": shown_time(order["created_at"]), "expires_at": shown_time(order["expires_at"]),
        "paid_at": shown_time(order.get("paid_at")), "closed_at": shown_time(order.get("closed_at")),
        "refunded_fen": order.get("refunded_fen", 0),
    }
    if operator:
        shown.update(citizen_id=order.get("citizen_id"), channel_id=order.get("channel_id"),
                     channel_trade_no=order.get("channel_trade_no"), paid_via=order.get("paid_via"),
                     close_reason=order.get("close_reason"), refundable_fen=order.get("refundable_fen", 0),
                     anomaly=order.get("anomaly"))
    return shown


def refund_view(refund: dict[str, Any]) -> dict[str, Any]:
    return {"refund_no": refund["_id"], "order_no": refund["order_no"], "amount_fen": refund["amount_fen"],
            "status": refund["status"], "reason": refund.get("reason", ""), "operator_id": refund.get("operator_id"),
            "created_at": shown_time(refund["created_at"]), "succeeded_at": shown_time(refund.get("succeeded_at")),
            "failed_at": shown_time(refund.get("failed_at")), "failure": refund.get("failure")}


# ---- operators' reads ----------------------------------------------------------------------------

async def require_in_scope(ctx: Context, scope: OperatorScope, order: dict[str, Any]) -> None:
    """403 unless the order's application lies within the operator's scope."""
    if "department" not in order:  # an order placed before orders carried their scope
        application = await ctx.db.applications.find_one({"_id": order["application_no"]}) or {}
        order = {"department": application.get("department"), "region_code": application.get("region_code")}
    scope.require(order.get("department"), order.get("region_code"))


async def list_orders(ctx: Context, scope: OperatorScope, *, status: str | None, application_no: str | None,
                      channel: str | None, page: int, page_size: int) -> dict[str, Any]:
    query: dict[str, Any] = scope.filter()
    if status:
        if status not in ("pending", "paid", "closed"):
            raise BadRequest("invalid_status", "status 应为 pending、paid 或 closed", "status must be pending, paid or closed")
        query["status"] = status
    if application_no:
        query["application_no"] = application_no
    if channel:
        if channel not in CHANNEL_KINDS:
            raise BadRequest("invalid_channel", "channel 应为 wechat 或 alipay", "channel must be wechat or alipay")
        query["channel"] = channel
    return await page_of(ctx.db.payment_orders, query, [("created_at", DESCENDING)], page, page_size,
                         lambda order: order_view(order, operator=True))


async def operator_detail(ctx: Context, scope: OperatorScope, order_no: str) -> dict[str, Any]:
    """One order with its refunds and every callback attempt (for reconciliation by hand)."""
    order = await ctx.db.payment_orders.find_one({"_id": order_no})
    if order is None:
        raise NotFound("payment_not_found", "未找到该缴费订单", "Fee order not found")
    await require_in_scope(ctx, scope, order)
    refunds = await ctx.db.payment_refunds.find({"order_no": order_no}).sort([("created_at", ASCENDING)]).to_list(None)
    attempts = await ctx.db.payment_notifications.find({"order_no": order_no}).sort([("received_at", ASCENDING)]).to_list(None)
    return {**order_view(order, operator=True), "refunds": [refund_view(r) for r in refunds],
            "notifications": [{"id": str(a["_id"]), "received_at": shown_time(a["received_at"]), "event_type": a.get("event_type"),
                               "outcome": a["outcome"], "reason": a.get("reason"), "http_status": a.get("http_status")}
                              for a in attempts]}
