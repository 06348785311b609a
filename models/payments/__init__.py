"""Fee payments (缴费): paying an application's fee through WeChat Pay or Alipay, exactly once.

An application whose service item charges a fee (`guide.fee.amount_fen`) gets a fee order: a unique
order number, the amount in fen, an expiry (`settings.payment_order_ttl_minutes`) and the channel it
is paid through. States: pending → paid | closed. One code path serves both vendors: each is a
`PaymentGateway` (models.ports), implemented in `integrations/` and wired at start-up
(`ctx.payment_gateways`); this package imports no vendor.

- `merchants`: a channel's payment set-up, its vendor config object and gateway
- `orders`: creating and placing fee orders, the citizen's read
- `settlement`: the orders' state changes, and bringing an order in line with its vendor
- `callbacks`: the vendors' notifications, applied exactly once, every attempt recorded
- `refunds`: operator-initiated refunds, never more than was paid
- `reconcile`: the periodic job that settles what callbacks left open
- `views`: what citizens and operators see, and operators' reads within their scope
"""

from __future__ import annotations

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from models.payments.callbacks import (
    NotifyResult,
    handle_alipay_notification,
    handle_notification,
    handle_wechatpay_notification,
)
from models.payments.merchants import (
    CHANNEL_KINDS,
    PaymentChannelError,
    channel_by_id,
    configure_alipay,
    configure_wechatpay,
    merchant_view,
    notify_url,
    wechatpay_config,
)
from models.payments.orders import PAYABLE_STATUSES, create_payment, get_for_citizen
from models.payments.reconcile import reconcile_due
from models.payments.refunds import request_refund
from models.payments.settlement import EFFECTS_CHECK, refresh
from models.payments.views import list_orders, operator_detail, order_view, refund_view

__all__ = [
    "CHANNEL_KINDS", "EFFECTS_CHECK", "PAYABLE_STATUSES", "NotifyResult", "PaymentChannelError", "channel_by_id",
    "configure_alipay", "configure_wechatpay", "create_payment", "ensure_indexes", "get_for_citizen",
    "handle_alipay_notification", "handle_notification", "handle_wechatpay_notification", "list_orders",
    "merchant_view", "notify_url", "operator_detail", "order_view", "reconcile_due", "refresh", "refund_view",
    "request_refund", "wechatpay_config",
]


async def ensure_indexes(db: AsyncDatabase) -> None:
    # Single-field indexes: nx-27017 never answers a query from a compound index (a full scan).
    await db.payment_orders.create_index("active_for", unique=True, sparse=True)
    await db.payment_orders.create_index("application_no")
    await db.payment_orders.create_index("citizen_id")
    await db.payment_orders.create_index("next_check_at")
    await db.payment_orders.create_index("effects_check_at", sparse=True)
    await db.payment_orders.create_index([("created_at", DESCENDING)])
    await db.payment_refunds.create_index("order_no")
    await db.payment_refunds.create_index("next_check_at")
    await db.payment_notifications.create_index("order_no")
    await db.payment_notifications.create_index([("received_at", DESCENDING)])
