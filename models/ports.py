"""Ports: what the domain needs from outside, as small protocols with plain data crossing them.

The domain owns these; adapters in `integrations/` implement them from a plain config object and
raise their own errors in the terms defined here, which the domain maps to the problems callers
see. The server wires one adapter per channel kind to each port at start-up (`server/wiring.py`)
and the domain reaches them through its context (`ctx.identity_providers[channel.kind]` ...).
Nothing here imports an integration, the server or a handler.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from models.errors import DomainError

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


if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster
    from tornado.httpclient import AsyncHTTPClient

    from models.crypto import FieldCipher


# ---- channels: identity, channel checks and messages ------------------------------------------------

class ChannelError(DomainError):
    """The channel answered with something we cannot use (misconfiguration, bad signature...)."""

    status = 502
    default_code = "channel_error"
    default_zh = "第三方渠道返回异常，请稍后再试"
    default_en = "The channel returned an error"


@dataclasses.dataclass(frozen=True)
class Channel:
    """One loaded channel, secrets decrypted (kept out of repr so they never reach a log).

    The plain config every channel adapter works from: which app, which API base URL (the real
    vendor or our sandbox), which keys.
    """

    id: str
    kind: str
    app_id: str
    name: str
    enabled: bool
    api_base_url: str
    timeout_seconds: float
    public: Mapping[str, str]
    templates: Mapping[str, str]  # our message template name -> the channel's template id
    secrets: Mapping[str, str] = dataclasses.field(repr=False)
    # Rotated-out secrets and keys still accepted until their overlap window closes: name -> (value, until).
    previous: Mapping[str, tuple[str, datetime.datetime]] = dataclasses.field(default_factory=dict, repr=False)

    def secret(self, name: str) -> str:
        try:
            return self.secrets[name]
        except KeyError:
            raise ChannelError("channel_misconfigured", "渠道缺少密钥配置", f"Channel lacks secret {name!r}") from None

    def previous_values(self, name: str, now: datetime.datetime) -> list[str]:
        """The rotated-out value of secret or key `name` while its overlap window is open ([] after)."""
        found = self.previous.get(name)
        return [found[0]] if found is not None and found[1] > now else []

    def with_previous(self, name: str, now: datetime.datetime) -> Channel | None:
        """This channel with the rotated-out `name` in place of the current one (for a retry during
        the overlap window); None when there is none or the window has closed."""
        values = self.previous_values(name, now)
        if not values:
            return None
        if name in self.secrets:
            return dataclasses.replace(self, secrets={**self.secrets, name: values[0]})
        return dataclasses.replace(self, public={**self.public, name: values[0]})


class Services(Protocol):
    """What a channel adapter borrows from the running service (the server's context has them).

    Read at each call: a context's clock and cipher may be replaced while it runs (tests, key rotation).
    """

    http: AsyncHTTPClient
    redis: Redis | RedisCluster  # one node or a cluster (models/core/redisio.py)
    cipher: FieldCipher
    clock: Callable[[], datetime.datetime]


class Failure(enum.StrEnum):
    """Why a channel call gave nothing usable, in the domain's words."""

    UNREACHABLE = "unreachable"  # no answer: refused, reset, timed out, or not the vendor's format
    BUSY = "busy"  # the vendor says it is busy or temporarily unavailable
    RATE_LIMITED = "rate_limited"
    CODE_INVALID = "code_invalid"  # the login or phone code is unknown, expired or used
    USER_BLOCKED = "user_blocked"  # the vendor will not let this user log in
    UNVERIFIED = "unverified"  # the answer's signature does not verify
    INCOMPLETE = "incomplete"  # the answer lacks what was asked (an id, a phone number)
    OTHER_APP = "other_app"  # the answer's data belongs to another app
    DATA_INVALID = "data_invalid"  # encrypted user data does not decrypt for this app
    REFUSED = "refused"  # any other refusal


class ChannelCallFailed(Exception):
    """An adapter's call to its channel failed; `detail` is for logs (an errcode, never request data)."""

    def __init__(self, failure: Failure, detail: str = "") -> None:
        super().__init__(f"{failure}: {detail}" if detail else str(failure))
        self.failure = failure
        self.detail = detail


@dataclasses.dataclass(frozen=True)
class ChannelLogin:
    """Who a login code names, as the channel vouches: each id it gave, None for those it did not."""

    app_id: str
    openid: str | None = None  # WeChat: this app's id of the user
    unionid: str | None = None  # WeChat: the same person in every app of one open-platform account
    user_id: str | None = None  # Alipay: 2088..., the same in every app
    open_id: str | None = None  # Alipay: this app's id of the user
    session_key: str | None = dataclasses.field(default=None, repr=False)  # WeChat: decrypts encryptedData


@dataclasses.dataclass(frozen=True)
class VerifiedPhone:
    """A phone number the channel vouches for: the national number and its country code."""

    pure_number: str = dataclasses.field(repr=False)
    country_code: str


@dataclasses.dataclass(frozen=True)
class ChannelCheck:
    """Whether a channel accepted a config when called with it, which call proved it, and why not."""

    ok: bool
    call: str
    error: str | None = None

    @classmethod
    def failed(cls, call: str, exc: Exception) -> ChannelCheck:
        text = str(exc)
        return cls(False, call, type(exc).__name__ + (f": {text[:120]}" if text else ""))


@dataclasses.dataclass(frozen=True)
class OutgoingMessage:
    """One notification for one person on one channel, in that channel's terms."""

    message_id: str  # our idempotency key, sent as the client message id ("" when there is none)
    template_id: str  # the channel's template id
    page: str  # the mini-program page the message opens
    data: Mapping[str, Any]
    openid: str | None = None  # the recipient on WeChat
    user_id: str | None = None  # the recipient on Alipay (or open_id, when the app gets no user ids)
    open_id: str | None = None


@dataclasses.dataclass(frozen=True)
class SendResult:
    """What became of a message, telling the outbox what to do next.

    "sent": the channel accepted it; "skipped": it will never be delivered this way (the user refused
    or never subscribed, no channel); "retry": a transient failure (network, busy, rate limited);
    "failed": a permanent problem on our side (bad template, misconfigured channel) that needs a person.
    """

    outcome: str
    reason: str = ""
    channel: str = ""


class IdentityProvider(Protocol):
    """Who a mini-program user is, as their channel vouches (one adapter per channel kind)."""

    async def login(self, channel: Channel, code: str) -> ChannelLogin:
        """The ids a login code (wx.login, my.getAuthCode) names; ChannelCallFailed otherwise."""
        ...

    async def phone_number(self, channel: Channel, code: str) -> VerifiedPhone:
        """The phone number a phone code (getPhoneNumber) vouches for; ChannelCallFailed otherwise."""
        ...

    def phone_from_encrypted_data(self, app_id: str, session_key: str, encrypted_data: str,
                                  iv: str) -> VerifiedPhone:
        """The phone number in the older encryptedData + iv form, sealed with a login's session key;
        ChannelCallFailed(DATA_INVALID) when it does not open for `app_id`."""
        ...


class ChannelCredentials(Protocol):
    """What operators' channel settings need of a channel kind: a live check, and what a key implies."""

    async def check(self, channel: Channel) -> ChannelCheck:
        """Call the channel with this config and say whether it works; never raises for its answer."""
        ...

    def derived_public(self, name: str, value: str) -> dict[str, str]:
        """The public entries secret or key `name` implies (an app private key: its public key; {} for
        most); ValueError or TypeError when `value` is not a readable key of its kind."""
        ...


class MessageSender(Protocol):
    """Sends notifications on one channel kind."""

    async def send(self, channel: Channel, message: OutgoingMessage) -> SendResult:
        """Deliver one message; the result classifies what the channel answered (never raises for it)."""
        ...


# ---- channels: face verification (刷脸, models.face) -------------------------------------------------

@dataclasses.dataclass(frozen=True)
class FaceSubject:
    """Whom a face verification is for: the real name and ID number the vendor compares the face with.

    Held only while a verification is started or queried; the domain keeps a keyed hash of it, never it.
    """

    name: str = dataclasses.field(repr=False)
    id_number: str = dataclasses.field(repr=False)
    openid: str | None = None  # WeChat: the user in this app (the one who calls wx.requestFacialVerify)
    user_id: str | None = None  # Alipay: the user, when known


@dataclasses.dataclass(frozen=True)
class FaceSession:
    """A started verification: the vendor's id for it, and what the mini-program passes to its face call.

    `client_params` is for wx.requestFacialVerify ({verifyId}) or my.startAPVerify ({certifyId, url}).
    """

    vendor_id: str  # WeChat verify_id, Alipay certify_id
    client_params: Mapping[str, str]
    expires_in: int  # seconds the vendor keeps the session open for the face check


@dataclasses.dataclass(frozen=True)
class FaceResult:
    """What the vendor says became of a verification: passed, its result code ("" when none)."""

    passed: bool
    code: str  # WeChat verify_ret ("10000" is success), Alipay passed ("T" / "F")
    pending: bool = False  # the face check has not been done (yet)


class FaceVerifier(Protocol):
    """A channel's real-person verification (人脸核身): start one for a person, ask how it ended."""

    async def start(self, channel: Channel, subject: FaceSubject, out_seq_no: str) -> FaceSession:
        """Open a verification session for `subject` (`out_seq_no` is ours, unique); ChannelCallFailed otherwise."""
        ...

    async def query(self, channel: Channel, subject: FaceSubject, out_seq_no: str, vendor_id: str) -> FaceResult:
        """The result of session `vendor_id`, asked server-side (never taken from the client)."""
        ...


# ---- channels: H5 web authorisation and the JS-SDK (handlers.h5_auth) ----------------------------------

class WebAuthoriser(IdentityProvider, Protocol):
    """An H5 channel's web authorisation (OAuth 2): where the browser consents, and (as an
    IdentityProvider) who the code it comes back with names."""

    def authorize_url(self, channel: Channel, redirect_uri: str, scope: str, state: str) -> str:
        """The vendor's consent page for this channel, returning to `redirect_uri` with a code and `state`."""
        ...


class JsSdkTickets(Protocol):
    """WeChat JS-SDK: the official account's current jsapi_ticket (shared by every worker)."""

    async def jsapi_ticket(self, channel: Channel) -> str:
        """The ticket; ChannelCallFailed when WeChat gives none."""
        ...
