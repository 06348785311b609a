"""WeChat Pay APIv3 (微信支付 v3) for mini-program JSAPI payments: the merchant's side of the wire.

Everything WeChat-Pay-specific lives here: the WECHATPAY2-SHA256-RSA2048 request signature, response
and notification signature checks, the AEAD_AES_256_GCM `resource` encryption, the JSAPI prepay /
query / close / refund calls and the `wx.requestPayment` parameters. `WechatPayGateway` implements
the payments domain's `PaymentGateway` port (models.ports) for one merchant, from the plain
`MerchantConfig` the domain builds from the channel document; nothing here is a constant of one merchant.

The signing primitives are plain functions so the sandbox (which plays WeChat Pay's side) and the
tests can use them; the published WeChat Pay SDK test vectors check them in tests.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import hashlib
import json
import logging
import secrets
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from integrations import rsa_keys
from integrations.rsa_keys import (  # noqa: F401 - the sandbox, the demo and the test vectors use them from here
    load_private_key,
    load_public_key,
    public_key_pem,
    sign,
    verify,
)
from models.core.timezone import parse_rfc3339, rfc3339, vendor_time_field
from models.ports import (
    InboundNotification,
    OrderToPlace,
    PaymentAnswerMismatch,
    PaymentNotification,
    PaymentNotificationRejected,
    PaymentRefused,
    PaymentUnavailable,
    PlacedOrder,
    RefundState,
    RefundToMake,
    TradeState,
    WechatPayMerchant,
)

log = logging.getLogger("citygate.payments.wechatpay")

SCHEMA = "WECHATPAY2-SHA256-RSA2048"
# Notifications and responses older (or further in the future) than this are refused.
MAX_CLOCK_SKEW_SECONDS = 300
# What WeChat Pay answers for an order or a refund it never heard of.
NOT_FOUND_CODES = ("ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS")
# The headers a notification attempt is logged with.
LOGGED_HEADERS = ("Wechatpay-Serial", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Request-ID")

# One merchant (商户号) as seen from one mini-program app id: the plain config the domain builds.
MerchantConfig = WechatPayMerchant


class WechatPayError(PaymentRefused):
    """WeChat Pay answered with a business error (`code` such as ORDER_NOT_EXIST, ORDER_PAID)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(f"{status} {code}: {message}")


class WechatPayUnavailable(PaymentUnavailable):
    """WeChat Pay could not be reached, or its answer could not be trusted (retry later)."""


class WechatPayMismatch(PaymentAnswerMismatch):
    """WeChat Pay answered for another app id or merchant."""


class NotificationRejected(PaymentNotificationRejected):
    """A notification failed verification; `reason` is a stable machine string for the log."""

    # A platform key, signature or APIv3 key the merchant config may have changed meanwhile.
    stale_config_reasons = frozenset({"serial_unknown", "signature_invalid", "decrypt_failed"})

    def __init__(self, reason: str, message: str, status: int = 401) -> None:
        super().__init__(reason, message, status)


@dataclasses.dataclass(frozen=True)
class Notification:
    """A verified and decrypted notification."""

    id: str
    event_type: str          # TRANSACTION.SUCCESS, REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED
    original_type: str       # transaction | refund
    resource: dict[str, Any]  # the decrypted resource object
    serial: str
    timestamp: int
    nonce: str


# ---- keys and primitives ----------------------------------------------------------------------

def certificate_serial(pem: str | bytes) -> str:
    """The serial number of a PEM certificate as WeChat Pay writes it (upper-case hex)."""
    data = pem.encode() if isinstance(pem, str) else pem
    return format(x509.load_pem_x509_certificate(data).serial_number, "X")


def nonce_str(length: int = 32) -> str:
    return secrets.token_hex(length // 2).upper()


def request_message(method: str, url_path: str, timestamp: int | str, nonce: str, body: str) -> str:
    """The string a merchant signs for one request: METHOD, path with query, timestamp, nonce, body."""
    return f"{method}\n{url_path}\n{timestamp}\n{nonce}\n{body}\n"


def response_message(timestamp: int | str, nonce: str, body: str) -> str:
    """The string WeChat Pay signs for a response or a notification."""
    return f"{timestamp}\n{nonce}\n{body}\n"


def authorization(mch_id: str, serial_no: str, private_key: rsa.RSAPrivateKey, method: str, url_path: str,
                  body: str, timestamp: int | None = None, nonce: str | None = None) -> str:
    """The `Authorization` header value for one request."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    nonce = nonce or nonce_str()
    signature = sign(request_message(method, url_path, timestamp, nonce, body), private_key)
    return (f'{SCHEMA} mchid="{mch_id}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{serial_no}"')


def parse_authorization(header: str) -> dict[str, str]:
    """The fields of a WECHATPAY2-SHA256-RSA2048 Authorization header ({} when malformed)."""
    schema, _, rest = header.strip().partition(" ")
    if schema != SCHEMA:
        return {}
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, eq, value = part.strip().partition("=")
        if not eq or len(value) < 2 or not (value.startswith('"') and value.endswith('"')):
            return {}
        fields[name] = value[1:-1]
    if not {"mchid", "nonce_str", "signature", "timestamp", "serial_no"} <= set(fields):
        return {}
    return fields


def aes_key(apiv3_key: str | bytes) -> bytes:
    key = apiv3_key.encode() if isinstance(apiv3_key, str) else apiv3_key
    if len(key) not in (16, 24, 32):
        raise ValueError("the APIv3 key must be 32 bytes")
    return key


def decrypt_resource(apiv3_key: str | bytes, nonce: str, associated_data: str, ciphertext: str) -> bytes:
    """AEAD_AES_256_GCM decryption of a notification `resource` (ciphertext is base64 with the tag)."""
    raw = base64.b64decode(ciphertext, validate=True)
    return AESGCM(aes_key(apiv3_key)).decrypt(nonce.encode(), raw, associated_data.encode() if associated_data else None)


def encrypt_resource(apiv3_key: str | bytes, nonce: str, associated_data: str, plaintext: bytes) -> str:
    """The inverse of `decrypt_resource` (WeChat Pay's side; the sandbox uses it)."""
    sealed = AESGCM(aes_key(apiv3_key)).encrypt(nonce.encode(), plaintext, associated_data.encode() if associated_data else None)
    return base64.b64encode(sealed).decode()


def request_payment_params(app_id: str, prepay_id: str, private_key: rsa.RSAPrivateKey,
                           timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    """The parameters of `wx.requestPayment` for one prepay id (paySign over appId, timeStamp, nonceStr, package)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    nonce = nonce or nonce_str()
    package = f"prepay_id={prepay_id}"
    pay_sign = sign(f"{app_id}\n{timestamp}\n{nonce}\n{package}\n", private_key)
    return {"timeStamp": str(timestamp), "nonceStr": nonce, "package": package, "signType": "RSA", "paySign": pay_sign}


def header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:  # plain dicts are case-sensitive; HTTP headers are not
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), "")
    return value or ""


def verify_signed_message(platform_keys: Mapping[str, str], headers: Mapping[str, str], body: str,
                          now: float | None = None) -> tuple[str, int, str]:
    """Check Wechatpay-Signature over timestamp, nonce and body with the key Wechatpay-Serial names.

    Returns (serial, timestamp, nonce); raises NotificationRejected.
    """
    serial = header(headers, "Wechatpay-Serial")
    signature = header(headers, "Wechatpay-Signature")
    timestamp_text = header(headers, "Wechatpay-Timestamp")
    nonce = header(headers, "Wechatpay-Nonce")
    if not (serial and signature and timestamp_text and nonce):
        raise NotificationRejected("signature_headers_missing", "missing Wechatpay-* signature headers")
    if header(headers, "Wechatpay-Signature-Type") not in ("", SCHEMA):
        raise NotificationRejected("signature_type_unsupported", "unsupported Wechatpay-Signature-Type")
    if not timestamp_text.isdigit():
        raise NotificationRejected("timestamp_invalid", "Wechatpay-Timestamp is not a number")
    timestamp = int(timestamp_text)
    now = time.time() if now is None else now
    if abs(now - timestamp) > MAX_CLOCK_SKEW_SECONDS:
        raise NotificationRejected("timestamp_stale", "Wechatpay-Timestamp is more than 5 minutes away")
    pem = platform_keys.get(serial)
    if not pem:
        raise NotificationRejected("serial_unknown", "no platform key with this Wechatpay-Serial")
    if not verify(response_message(timestamp_text, nonce, body), signature, load_public_key(pem)):
        raise NotificationRejected("signature_invalid", "Wechatpay-Signature does not verify")
    return serial, timestamp, nonce


def verify_notification(config: MerchantConfig, headers: Mapping[str, str], body: bytes | str,
                        now: float | None = None) -> Notification:
    """Verify the signature and freshness of a notification, then decrypt its resource."""
    try:
        text = body.decode() if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise NotificationRejected("body_invalid", "body is not UTF-8", 400) from None
    serial, timestamp, nonce = verify_signed_message(config.platform_keys, headers, text, now)
    try:
        envelope = json.loads(text)
        resource = envelope["resource"]
        if resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise NotificationRejected("algorithm_unsupported", "resource algorithm is not AEAD_AES_256_GCM", 400)
        plaintext = _decrypt_with_any(config, resource)
        decrypted = json.loads(plaintext)
        if not isinstance(decrypted, dict):
            raise ValueError("resource is not an object")
    except NotificationRejected:
        raise
    except InvalidTag:
        raise NotificationRejected("decrypt_failed", "resource does not decrypt with the APIv3 key", 400) from None
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise NotificationRejected("body_invalid", "notification body is malformed", 400) from None
    return Notification(id=str(envelope.get("id", "")), event_type=str(envelope.get("event_type", "")),
                        original_type=str(resource.get("original_type", "")), resource=decrypted,
                        serial=serial, timestamp=timestamp, nonce=nonce)


def _decrypt_with_any(config: MerchantConfig, resource: dict[str, Any]) -> bytes:
    """The resource decrypted with the current APIv3 key, else with a rotated-out one still valid."""
    keys = (config.apiv3_key, *config.previous_apiv3_keys)
    for n, key in enumerate(keys):
        try:
            return decrypt_resource(key, resource["nonce"], resource.get("associated_data", ""), resource["ciphertext"])
        except InvalidTag:
            if n == len(keys) - 1:
                raise
    raise InvalidTag  # unreachable: there is always a current key


# ---- the client ---------------------------------------------------------------------------------

class WechatPayClient:
    """The calls the payments domain needs, signed with the merchant key, answers verified."""

    def __init__(self, http: AsyncHTTPClient, config: MerchantConfig, timeout: float = 10.0) -> None:
        self.http, self.config, self.timeout = http, config, timeout
        self._key = load_private_key(config.private_key_pem)

    async def jsapi_prepay(self, *, out_trade_no: str, description: str, amount_fen: int, payer_openid: str,
                           notify_url: str, time_expire: str, attach: str = "") -> str:
        """Place a JSAPI order (/v3/pay/transactions/jsapi); return its prepay_id."""
        body: dict[str, Any] = {
            "appid": self.config.app_id, "mchid": self.config.mch_id, "description": description[:127],
            "out_trade_no": out_trade_no, "time_expire": time_expire, "notify_url": notify_url,
            "amount": {"total": amount_fen, "currency": "CNY"}, "payer": {"openid": payer_openid},
        }
        if attach:
            body["attach"] = attach
        answer = await self._call("POST", "/v3/pay/transactions/jsapi", body)
        prepay_id = answer.get("prepay_id") if isinstance(answer, dict) else None
        if not prepay_id:
            raise WechatPayUnavailable("prepay answer without prepay_id")
        return str(prepay_id)

    def payment_params(self, prepay_id: str) -> dict[str, str]:
        """`wx.requestPayment` parameters for a prepay id."""
        return request_payment_params(self.config.app_id, prepay_id, self._key)

    async def query(self, out_trade_no: str) -> dict[str, Any]:
        """The order as WeChat Pay knows it (trade_state SUCCESS, NOTPAY, CLOSED, REFUND, ...)."""
        path = (f"/v3/pay/transactions/out-trade-no/{urllib.parse.quote(out_trade_no, safe='')}"
                f"?mchid={urllib.parse.quote(self.config.mch_id, safe='')}")
        return await self._call("GET", path, None)

    async def close(self, out_trade_no: str) -> None:
        """Close an unpaid order (204); ORDER_PAID when it was paid meanwhile."""
        path = f"/v3/pay/transactions/out-trade-no/{urllib.parse.quote(out_trade_no, safe='')}/close"
        await self._call("POST", path, {"mchid": self.config.mch_id})

    async def refund(self, *, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int,
                     reason: str, notify_url: str) -> dict[str, Any]:
        """Request a refund (/v3/refund/domestic/refunds); status SUCCESS, PROCESSING, ABNORMAL or CLOSED."""
        body = {"out_trade_no": out_trade_no, "out_refund_no": out_refund_no, "reason": reason[:80],
                "notify_url": notify_url, "amount": {"refund": refund_fen, "total": total_fen, "currency": "CNY"}}
        return await self._call("POST", "/v3/refund/domestic/refunds", body)

    async def query_refund(self, out_refund_no: str) -> dict[str, Any]:
        return await self._call("GET", f"/v3/refund/domestic/refunds/{urllib.parse.quote(out_refund_no, safe='')}", None)

    async def _call(self, method: str, path: str, payload: dict[str, Any] | None) -> Any:
        url = self.config.api_base.rstrip("/") + path
        signed_path = urllib.parse.urlsplit(url)
        canonical = signed_path.path + (f"?{signed_path.query}" if signed_path.query else "")
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")) if payload is not None else ""
        headers = {
            "Authorization": authorization(self.config.mch_id, self.config.serial_no, self._key, method, canonical, body),
            "Accept": "application/json", "User-Agent": "CityGate/1.0",
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        request = HTTPRequest(url, method=method, headers=headers, body=body.encode() if payload is not None else None,
                              request_timeout=self.timeout, connect_timeout=min(3.0, self.timeout))
        try:
            response = await self.http.fetch(request, raise_error=False)
        except (OSError, HTTPClientError) as exc:
            raise WechatPayUnavailable(f"WeChat Pay unreachable: {type(exc).__name__}") from None
        if response.code == 599:
            raise WechatPayUnavailable("WeChat Pay unreachable (timeout or connection error)")
        text = (response.body or b"").decode("utf-8", "replace")
        try:
            verify_signed_message(self.config.platform_keys, response.headers, text)
        except NotificationRejected as exc:
            raise WechatPayUnavailable(f"WeChat Pay answer not trusted: {exc.reason}") from None
        data: Any = json.loads(text) if text else {}
        if response.code >= 400:
            code = data.get("code", "HTTP_" + str(response.code)) if isinstance(data, dict) else str(response.code)
            message = data.get("message", "") if isinstance(data, dict) else ""
            if response.code >= 500 or code == "SYSTEM_ERROR":
                raise WechatPayUnavailable(f"WeChat Pay error {response.code} {code}")
            raise WechatPayError(response.code, str(code), str(message))
        return data


# ---- the payments domain's gateway (models.ports.PaymentGateway) -----------------------------------

class WechatPayGateway:
    """One WeChat Pay merchant as the payments domain sees a vendor: WeChat Pay's states and codes
    read into the port's terms."""

    ack_status = 204  # what WeChat Pay expects for an accepted notification

    def __init__(self, http: AsyncHTTPClient, merchant: MerchantConfig) -> None:
        self.merchant = merchant
        self.client = WechatPayClient(http, merchant, timeout=merchant.timeout_seconds)

    async def place(self, order: OrderToPlace) -> PlacedOrder:
        prepay_id = await self.client.jsapi_prepay(
            out_trade_no=order.order_no, description=order.description, amount_fen=order.amount_fen,
            payer_openid=order.payer_id, notify_url=order.notify_url, time_expire=rfc3339(order.expires_at),
            attach=order.reference)
        return PlacedOrder(prepay_id=prepay_id)

    def client_params(self, placed: PlacedOrder) -> dict[str, str]:
        """`wx.requestPayment` parameters, signed afresh."""
        return self.client.payment_params(placed.prepay_id)

    async def query(self, order_no: str) -> TradeState:
        try:
            answer = await self.client.query(order_no)
        except WechatPayError as exc:
            if exc.code in NOT_FOUND_CODES:
                return TradeState("absent")
            raise
        if answer.get("appid") != self.merchant.app_id or answer.get("mchid") != self.merchant.mch_id:
            raise WechatPayMismatch(f"order {order_no} answered for another merchant")
        state = answer.get("trade_state")
        if state in ("SUCCESS", "REFUND"):
            return TradeState("paid", str(answer.get("transaction_id", "")),
                              vendor_time_field(parse_rfc3339, answer, "success_time", log),
                              (answer.get("amount") or {}).get("total"))
        if state in ("NOTPAY", "USERPAYING"):
            return TradeState("open")
        return TradeState("closed")

    async def close(self, order_no: str) -> None:
        await self.client.close(order_no)

    async def refund(self, refund: RefundToMake) -> RefundState:
        answer = await self.client.refund(
            out_trade_no=refund.order_no, out_refund_no=refund.refund_no, refund_fen=refund.amount_fen,
            total_fen=refund.order_amount_fen, reason=refund.reason, notify_url=refund.notify_url)
        return _refund_state(answer)

    async def query_refund(self, order_no: str, refund_no: str) -> RefundState:
        try:
            return _refund_state(await self.client.query_refund(refund_no))
        except WechatPayError as exc:
            if exc.code in NOT_FOUND_CODES:
                return RefundState("absent")
            raise

    def verify_notification(self, message: InboundNotification, now: datetime.datetime) -> PaymentNotification:
        notification = verify_notification(self.merchant, message.headers, message.body, now=now.timestamp())
        resource, merchant = notification.resource, self.merchant
        seen = {"id": notification.id, "event_type": notification.event_type, "ack_status": self.ack_status}
        if notification.event_type.startswith("REFUND."):
            status = {"SUCCESS": "succeeded", "CLOSED": "failed", "ABNORMAL": "abnormal"}.get(
                resource.get("refund_status"), "")
            return PaymentNotification(
                **seen, kind="refund", order_no=resource.get("out_trade_no"), status=status,
                refund_no=str(resource.get("out_refund_no", "")), channel_refund_id=str(resource.get("refund_id", "")),
                at=vendor_time_field(parse_rfc3339, resource, "success_time", log) if status == "succeeded" else None,
                amount_fen=(resource.get("amount") or {}).get("refund"),
                merchant_mismatch="" if resource.get("mchid") == merchant.mch_id else "mchid")
        if notification.event_type != "TRANSACTION.SUCCESS" or resource.get("trade_state") != "SUCCESS":
            return PaymentNotification(**seen, kind="other", order_no=resource.get("out_trade_no"))
        amount = resource.get("amount") or {}
        return PaymentNotification(
            **seen, kind="trade", order_no=str(resource.get("out_trade_no", "")), status="paid",
            trade_no=str(resource.get("transaction_id", "")),
            at=vendor_time_field(parse_rfc3339, resource, "success_time", log),
            amount_fen=amount.get("total") if amount.get("currency", "CNY") == "CNY" else None, amount_field="amount",
            merchant_mismatch="" if (resource.get("appid"), resource.get("mchid")) == (merchant.app_id, merchant.mch_id)
            else "appid or mchid")


def _refund_state(answer: Mapping[str, Any]) -> RefundState:
    """A refund answer or query: status SUCCESS, CLOSED, ABNORMAL or PROCESSING."""
    status = answer.get("status")
    if status == "SUCCESS":
        return RefundState("succeeded", str(answer.get("refund_id", "")),
                           vendor_time_field(parse_rfc3339, answer, "success_time", log))
    if status == "CLOSED":
        return RefundState("failed")
    if status == "ABNORMAL":
        return RefundState("abnormal")
    return RefundState("processing", str(answer.get("refund_id") or ""))


class WechatPay:
    """WeChat Pay as the server wires it to the payments domain (models.ports.PaymentVendor)."""

    def __init__(self, http: AsyncHTTPClient) -> None:
        self.http = http

    def gateway(self, merchant: MerchantConfig) -> WechatPayGateway:
        return WechatPayGateway(self.http, merchant)

    def notification_record(self, message: InboundNotification) -> dict[str, Any]:
        return {"body_sha256": hashlib.sha256(message.body).hexdigest(), "body_bytes": len(message.body),
                "headers": {name: header(message.headers, name)[:128] for name in LOGGED_HEADERS}}

    def key_readable(self, pem: object, *, private: bool) -> bool:
        return rsa_keys.readable(pem, load_private_key if private else load_public_key)
