"""WeChat Pay APIv3 (微信支付 v3) for mini-program JSAPI payments: the merchant's side of the wire.

Everything WeChat-Pay-specific lives here: the WECHATPAY2-SHA256-RSA2048 request signature, response
and notification signature checks, the AEAD_AES_256_GCM `resource` encryption, the JSAPI prepay /
query / close / refund calls and the `wx.requestPayment` parameters. Keys and base URLs come from a
`MerchantConfig` built from the channel document; nothing here is a constant of one merchant.

The signing primitives are plain functions so the sandbox (which plays WeChat Pay's side) and the
tests can use them; the published WeChat Pay SDK test vectors check them in tests.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import json
import secrets
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

SCHEMA = "WECHATPAY2-SHA256-RSA2048"
# Notifications and responses older (or further in the future) than this are refused.
MAX_CLOCK_SKEW_SECONDS = 300


class WechatPayError(Exception):
    """WeChat Pay answered with a business error (`code` such as ORDER_NOT_EXIST, ORDER_PAID)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(f"{status} {code}: {message}")


class WechatPayUnavailable(Exception):
    """WeChat Pay could not be reached, or its answer could not be trusted (retry later)."""


class NotificationRejected(Exception):
    """A notification failed verification; `reason` is a stable machine string for the log."""

    def __init__(self, reason: str, message: str, status: int = 401) -> None:
        self.reason, self.message, self.status = reason, message, status
        super().__init__(f"{reason}: {message}")


@dataclasses.dataclass(frozen=True)
class MerchantConfig:
    """One merchant (商户号) as seen from one mini-program app id."""

    app_id: str
    mch_id: str
    serial_no: str                      # the merchant API certificate's serial number
    private_key_pem: str                # the merchant API private key (apiclient_key.pem)
    apiv3_key: str                      # 32 characters, set in the merchant platform
    platform_keys: Mapping[str, str]    # Wechatpay-Serial -> public key or certificate PEM
    api_base: str                       # e.g. https://api.mch.weixin.qq.com
    # A rotated-out APIv3 key still in its overlap window: notifications encrypted with it decrypt too.
    previous_apiv3_keys: tuple[str, ...] = dataclasses.field(default=(), repr=False)

    def private_key(self) -> rsa.RSAPrivateKey:
        return load_private_key(self.private_key_pem)


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

@functools.lru_cache(maxsize=64)
def load_private_key(pem: str | bytes) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM (parsed once per process: parsing checks the key, ~50 ms)."""
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


@functools.lru_cache(maxsize=256)
def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """An RSA public key from a PEM public key or a PEM X.509 certificate (platform certificates)."""
    data = pem.encode() if isinstance(pem, str) else pem
    if b"BEGIN CERTIFICATE" in data:
        key = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def certificate_serial(pem: str | bytes) -> str:
    """The serial number of a PEM certificate as WeChat Pay writes it (upper-case hex)."""
    data = pem.encode() if isinstance(pem, str) else pem
    return format(x509.load_pem_x509_certificate(data).serial_number, "X")


def public_key_pem(private_key: rsa.RSAPrivateKey) -> str:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def private_key_pem(private_key: rsa.RSAPrivateKey) -> str:
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()


def sign(message: str, private_key: rsa.RSAPrivateKey) -> str:
    """SHA256withRSA (PKCS#1 v1.5) of `message`, base64."""
    return base64.b64encode(private_key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(message: str, signature: str, public_key: rsa.RSAPublicKey) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(raw, message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


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
        self._key = config.private_key()

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
