"""Ports: what the domain needs from the outside world, as protocols and the plain data crossing them.

The domain owns these; `integrations/` implements them (one adapter per vendor, built from a plain
config object, raising its own errors derived from the ones here), and the server wires adapters to
ports at start-up (`server/context.py`). Nothing here talks to a network or imports an integration.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any, Protocol

# ==== payments (models.payments) ====================================================================
# What fee orders need from a payment vendor (WeChat Pay, Alipay): place an order and hand the
# mini-program its pay parameters, ask how an order or a refund stands, close an order, refund, and
# verify the vendor's notifications. Amounts are int fen, times aware UTC.


@dataclasses.dataclass(frozen=True)
class WechatPayMerchant:
    """One WeChat Pay merchant (商户号) as seen from one mini-program app id."""

    app_id: str
    mch_id: str
    serial_no: str                      # the merchant API certificate's serial number
    private_key_pem: str = dataclasses.field(repr=False)  # the merchant API private key (apiclient_key.pem)
    apiv3_key: str = dataclasses.field(repr=False)        # 32 characters, set in the merchant platform
    platform_keys: Mapping[str, str]    # Wechatpay-Serial -> public key or certificate PEM
    api_base: str                       # e.g. https://api.mch.weixin.qq.com
    # A rotated-out APIv3 key still in its overlap window: notifications encrypted with it decrypt too.
    previous_apiv3_keys: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    timeout_seconds: float = 10.0


@dataclasses.dataclass(frozen=True)
class AlipayMerchant:
    """One Alipay app taking payments for a seller (卖家 PID), with the keys it shares with login."""

    app_id: str
    seller_id: str
    app_private_key_pem: str = dataclasses.field(repr=False)
    alipay_public_key_pem: str
    gateway_url: str                    # e.g. https://openapi.alipay.com/gateway.do
    # Alipay's rotated-out public key still in its overlap window: what it signed still verifies.
    previous_alipay_public_keys: tuple[str, ...] = ()
    timeout_seconds: float = 10.0


MerchantConfig = WechatPayMerchant | AlipayMerchant


@dataclasses.dataclass(frozen=True)
class OrderToPlace:
    """A fee order as the vendor is asked to create it."""

    order_no: str
    description: str
    amount_fen: int
    payer_id: str                       # the citizen's id at the vendor (openid, user_id or open_id)
    notify_url: str
    expires_at: datetime.datetime
    reference: str = ""                 # ours, echoed by the vendor (the application number)


@dataclasses.dataclass(frozen=True)
class PlacedOrder:
    """The vendor's handle on a placed order, kept on it: WeChat Pay's prepay id or Alipay's trade number."""

    prepay_id: str = ""
    trade_no: str = ""


@dataclasses.dataclass(frozen=True)
class TradeState:
    """An order as the vendor knows it."""

    state: str  # paid | open | closed | absent (the vendor never heard of it)
    trade_no: str = ""
    paid_at: datetime.datetime | None = None
    amount_fen: int | None = None


@dataclasses.dataclass(frozen=True)
class RefundToMake:
    """A refund as the vendor is asked to make it."""

    order_no: str
    refund_no: str
    amount_fen: int
    order_amount_fen: int
    reason: str
    notify_url: str


@dataclasses.dataclass(frozen=True)
class RefundState:
    """A refund as the vendor knows it.

    `absent`: the vendor says there is no such refund. `unseen`: it shows none yet, as it shows one
    still in flight (Alipay), so only its age tells that it was never made.
    """

    state: str  # succeeded | failed | abnormal | processing | absent | unseen
    channel_refund_id: str = ""
    succeeded_at: datetime.datetime | None = None


@dataclasses.dataclass(frozen=True)
class InboundNotification:
    """A notification as it reached us: WeChat Pay's headers and raw body, or Alipay's form fields."""

    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b""
    form: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class PaymentNotification:
    """A verified notification, decoded.

    `kind`: "trade" (news of an order: paid or closed, and with `refund_no` a refund of it), "refund"
    (a refund's own result), or "other" (nothing to apply). `status`: for a trade paid | closed | "";
    for a refund succeeded | failed | abnormal | "" (not final). `amount_fen` is what it says was paid
    (trade) or refunded (refund), None when unreadable or not in CNY; `amount_field` names the vendor's
    field. `merchant_mismatch` names the fields that are not this merchant's ("" when all are).
    """

    id: str
    event_type: str
    kind: str
    ack_status: int                     # what the vendor expects for an accepted notification
    order_no: Any = None
    status: str = ""
    trade_no: str = ""
    refund_no: str = ""
    channel_refund_id: str = ""
    at: datetime.datetime | None = None
    amount_fen: int | None = None
    amount_field: str = "amount"
    merchant_mismatch: str = ""


class PaymentRefused(Exception):
    """The vendor answered with a business error (`code`, and Alipay's `sub_code`)."""

    code: str = ""
    sub_code: str = ""


class PaymentUnavailable(Exception):
    """The vendor could not be reached, or its answer could not be trusted (retry later)."""


class PaymentAnswerMismatch(Exception):
    """The vendor answered for another merchant."""


class PaymentNotificationRejected(Exception):
    """A notification failed verification; `reason` is a stable machine string, `status` the answer."""

    # Reasons a merchant config changed in another worker could explain (worth one fresh look).
    stale_config_reasons: frozenset[str] = frozenset()

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        self.reason, self.message, self.status = reason, message, status
        super().__init__(f"{reason}: {message}")

    @property
    def config_may_be_stale(self) -> bool:
        return self.reason in self.stale_config_reasons


class PaymentGateway(Protocol):
    """One merchant at one payment vendor: the calls fee orders make."""

    async def place(self, order: OrderToPlace) -> PlacedOrder:
        """Create the order at the vendor (the same order number again answers the same order)."""
        ...

    def client_params(self, placed: PlacedOrder) -> dict[str, str]:
        """What the mini-program passes to the vendor's pay call (wx.requestPayment, my.tradePay)."""
        ...

    async def query(self, order_no: str) -> TradeState: ...

    async def close(self, order_no: str) -> None: ...

    async def refund(self, refund: RefundToMake) -> RefundState: ...

    async def query_refund(self, order_no: str, refund_no: str) -> RefundState: ...

    def verify_notification(self, message: InboundNotification, now: datetime.datetime) -> PaymentNotification:
        """Check the notification is the vendor's and this merchant's; raise PaymentNotificationRejected."""
        ...


class PaymentVendor(Protocol):
    """A payment vendor: a gateway per merchant, and what can be told before a merchant is known."""

    def gateway(self, merchant: Any) -> PaymentGateway: ...

    def notification_record(self, message: InboundNotification) -> dict[str, Any]:
        """What the notification log keeps of a message not yet verified (never a secret)."""
        ...

    def key_readable(self, pem: object, *, private: bool) -> bool:
        """Whether `pem` is key material this vendor's gateway can use (private, or public/certificate)."""
        ...


# The payment vendors by the channel name fee orders use ("wechat", "alipay").
PaymentGateways = Mapping[str, PaymentVendor]

# ==== end of payments ===============================================================================
