"""Alipay open platform gateway client: RSA2 signing, response verification, oauth token.

Wire format (open platform "gateway.do"): every call is a form POST of the common parameters
(app_id, method, format, charset, sign_type, timestamp, version, and biz_content as a JSON string or
the method's own top-level parameters) plus `sign`: SHA256withRSA (PKCS#1 v1.5) over the parameters
sorted by name, joined as `k=v` with `&`, empty values left out. The answer is JSON with one node
named after the method (`alipay_system_oauth_token_response`) or `error_response`, and `sign` over
the *raw text* of that node, so it is verified before the JSON is trusted.

`sign_params` / `verify_params` are shared with the payments code (alipay.trade.* and asynchronous
notifications); `AlipayClient(channel).call(method, biz_content)` is the one way to call the gateway.
`AlipayAdapter` is the domain's IdentityProvider and ChannelCredentials for Alipay mini-program
channels (models.ports): it answers in the ports' plain types and fails with `ChannelCallFailed`.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import urllib.parse
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from integrations import rsa_keys
from integrations.rsa_keys import generate_private_key_pem  # noqa: F401 - tests and the demo make app keys here
from models.core.timezone import alipay_time
from models.ports import (
    Channel,
    ChannelCallFailed,
    ChannelCheck,
    ChannelError,
    ChannelLogin,
    Failure,
    Services,
    VerifiedPhone,
)

log = logging.getLogger("citygate.alipay")

SUCCESS_CODE = "10000"


# ---- keys ------------------------------------------------------------------------------------
# Alipay's console hands out bare base64 keys; they are read as well as PEM.
def read_private_key(pem: str) -> rsa.RSAPrivateKey:
    """An app private key, PEM or bare base64."""
    return rsa_keys.load_private_key(rsa_keys.as_pem(pem, "PRIVATE KEY"))


def read_public_key(pem: str) -> rsa.RSAPublicKey:
    """A public key (Alipay's or an app's), PEM or bare base64."""
    return rsa_keys.load_public_key(rsa_keys.as_pem(pem, "PUBLIC KEY"))


def public_key_pem(private_pem: str) -> str:
    """The public half (PEM) of an app private key given as PEM or bare base64."""
    return rsa_keys.public_key_pem(read_private_key(private_pem))


# ---- RSA2 signing ----------------------------------------------------------------------------
def signing_content(params: Mapping[str, Any], exclude: tuple[str, ...] = ("sign",)) -> str:
    """The string Alipay signs: non-empty parameters sorted by name, `k=v` joined with `&`."""
    items = []
    for key in sorted(params):
        value = params[key]
        if key in exclude or value is None or value == "":
            continue
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        items.append(f"{key}={value}")
    return "&".join(items)


def sign_text(text: str, private_key: str) -> str:
    """SHA256withRSA signature of `text`, base64."""
    return rsa_keys.sign(text, read_private_key(private_key))


def verify_text(text: str, signature: str, public_key: str) -> bool:
    """True when `signature` is Alipay's RSA2 of `text` under `public_key` (False for an unreadable key)."""
    try:
        key = read_public_key(public_key)
    except (ValueError, TypeError):
        return False
    return rsa_keys.verify(text, signature, key, strict_base64=False)


def sign_params(params: Mapping[str, Any], private_key: str) -> str:
    """RSA2 signature of request parameters (every parameter but `sign`, `sign_type` included)."""
    return sign_text(signing_content(params), private_key)


def verify_params(params: Mapping[str, Any], signature: str, public_key: str, *,
                  exclude_sign_type: bool = False) -> bool:
    """Check an RSA2 signature over parameters.

    Requests are signed with `sign_type` included; Alipay's asynchronous notifications are signed
    without it, so verify those with `exclude_sign_type=True`.
    """
    exclude = ("sign", "sign_type") if exclude_sign_type else ("sign",)
    return verify_text(signing_content(params, exclude), signature, public_key)


def signed_node_text(raw: str, node: str) -> str | None:
    """The exact text of the JSON value of `node` in `raw` (what Alipay signed), or None."""
    marker = json.dumps(node)
    start = raw.find(marker)
    while start != -1:
        position = start + len(marker)
        while position < len(raw) and raw[position] in " \t\r\n":
            position += 1
        if position < len(raw) and raw[position] == ":":
            position += 1
            while position < len(raw) and raw[position] in " \t\r\n":
                position += 1
            try:
                _, end = json.JSONDecoder().raw_decode(raw, position)
            except json.JSONDecodeError:
                return None
            return raw[position:end]
        start = raw.find(marker, start + 1)
    return None


# ---- the gateway client ----------------------------------------------------------------------
@dataclasses.dataclass
class AlipayError(Exception):
    """The gateway answered with a failure code."""

    code: str
    msg: str = ""
    sub_code: str = ""
    sub_msg: str = ""

    def __str__(self) -> str:
        return f"alipay {self.code} {self.sub_code}".strip()

    @property
    def transient(self) -> bool:
        """20000 (service unavailable) and isp.* sub-codes are Alipay's side; worth a retry."""
        return self.code == "20000" or self.sub_code.startswith("isp.") or self.sub_code.startswith("aop.ACQ.SYSTEM")


class AlipayTransportError(Exception):
    """The gateway could not be reached, timed out or answered something that is not its JSON."""


class AlipayResponseUnverified(Exception):
    """The gateway's answer failed signature verification."""


class AlipayClient:
    """Calls one Alipay app's gateway (the channel gives the URL and the keys)."""

    def __init__(self, channel: Channel, http: AsyncHTTPClient | None = None, *,
                 now: datetime.datetime | None = None, previous_ok: bool = True) -> None:
        self.channel = channel
        self.http = http or AsyncHTTPClient()
        # During an overlap window (models.channels.rotate_secret) answers signed with Alipay's
        # rotated-out key still verify, unless the caller judges the current config only (the check).
        self.previous_ok = previous_ok
        self.now = now

    def common_params(self, method: str) -> dict[str, str]:
        return {
            "app_id": self.channel.app_id, "method": method, "format": "JSON", "charset": "utf-8",
            "sign_type": "RSA2", "version": "1.0",
            "timestamp": alipay_time(datetime.datetime.now(datetime.UTC)),
        }

    def signed_request_params(self, method: str, biz_content: Mapping[str, Any] | None = None,
                              **params: Any) -> dict[str, str]:
        """Every parameter of one call, `sign` included (also what a client-side call needs)."""
        request = self.common_params(method)
        if biz_content is not None:
            request["biz_content"] = json.dumps(biz_content, ensure_ascii=False, separators=(",", ":"))
        request.update({k: str(v) for k, v in params.items() if v is not None})
        request["sign"] = sign_params(request, self.channel.secret("app_private_key"))
        return request

    async def call(self, method: str, biz_content: Mapping[str, Any] | None = None, **params: Any) -> dict[str, Any]:
        """Call `method`; return its verified response node, or raise AlipayError / transport errors."""
        body = urllib.parse.urlencode(self.signed_request_params(method, biz_content, **params))
        request = HTTPRequest(
            self.channel.api_base_url + "?charset=utf-8", method="POST", body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
            connect_timeout=min(3.0, self.channel.timeout_seconds), request_timeout=self.channel.timeout_seconds)
        try:
            response = await self.http.fetch(request, raise_error=False)
        except (OSError, HTTPClientError) as exc:  # refused, reset, DNS, timeout (599)
            raise AlipayTransportError(type(exc).__name__) from None
        if response.code == 599 or response.code >= 500:
            raise AlipayTransportError(f"http {response.code}")
        raw = (response.body or b"").decode("utf-8", "replace")
        return self.parse_response(method, raw)

    def _verifies(self, text: str, signature: str) -> bool:
        if verify_text(text, signature, self.channel.public["alipay_public_key"]):
            return True
        if not self.previous_ok:
            return False
        now = self.now or datetime.datetime.now(datetime.UTC)
        return any(verify_text(text, signature, key) for key in self.channel.previous_values("alipay_public_key", now))

    def parse_response(self, method: str, raw: str) -> dict[str, Any]:
        node_name = method.replace(".", "_") + "_response"
        try:
            document = json.loads(raw)
        except json.JSONDecodeError:
            raise AlipayTransportError("response is not JSON") from None
        if not isinstance(document, dict):
            raise AlipayTransportError("response is not a JSON object")
        name = node_name if node_name in document else "error_response" if "error_response" in document else None
        if name is None:
            raise AlipayTransportError("response lacks its node")
        node = document[name]
        signature = document.get("sign") or ""
        if signature:
            text = signed_node_text(raw, name)
            if text is None or not self._verifies(text, signature):
                raise AlipayResponseUnverified(method)
        elif name != "error_response":
            # Gateways may leave failures unsigned; a success must be signed to be believed.
            raise AlipayResponseUnverified(method)
        if not isinstance(node, dict):
            raise AlipayTransportError("response node is not an object")
        code = str(node.get("code", SUCCESS_CODE))
        if name == "error_response" or code != SUCCESS_CODE:
            raise AlipayError(code, str(node.get("msg", "")), str(node.get("sub_code", "")), str(node.get("sub_msg", "")))
        return node


# ---- what the domain needs ---------------------------------------------------------------------
def _failure(exc: AlipayError | AlipayTransportError | AlipayResponseUnverified) -> ChannelCallFailed:
    """What a gateway failure means to the domain."""
    if isinstance(exc, AlipayTransportError):
        return ChannelCallFailed(Failure.UNREACHABLE, str(exc))
    if isinstance(exc, AlipayResponseUnverified):
        return ChannelCallFailed(Failure.UNVERIFIED, str(exc))
    if exc.sub_code in ("isv.code-invalid", "isv.code-expired", "isv.invalid-auth-code") or \
            "code" in exc.sub_code and "invalid" in exc.sub_code:
        return ChannelCallFailed(Failure.CODE_INVALID, str(exc))
    if "limit" in exc.sub_code.lower():
        return ChannelCallFailed(Failure.RATE_LIMITED, str(exc))
    if exc.transient:
        return ChannelCallFailed(Failure.BUSY, str(exc))
    return ChannelCallFailed(Failure.REFUSED, str(exc))


def failure_of(exc: AlipayError | AlipayTransportError | AlipayResponseUnverified) -> ChannelCallFailed:
    """What a gateway failure means to the domain (used by the other Alipay adapters too)."""
    return _failure(exc)


class AlipayAdapter:
    """The domain's IdentityProvider and ChannelCredentials for Alipay mini-program channels."""

    CHECK_CALL = "alipay.system.oauth.token"

    def __init__(self, services: Services) -> None:
        self.services = services

    async def login(self, channel: Channel, code: str) -> ChannelLogin:
        """alipay.system.oauth.token: exchange a mini-program auth code for the user's ids.

        While a rotated-out app private key is in its overlap window (models.channels.rotate_secret)
        and the gateway refuses our signature with the current one (its new public key is not uploaded
        yet), the call is signed once more with the previous key, so no login fails mid-rotation.
        """
        http, now = self.services.http, self.services.clock()
        try:
            try:
                node = await AlipayClient(channel, http, now=now).call(
                    "alipay.system.oauth.token", grant_type="authorization_code", code=code)
            except AlipayError as exc:
                previous = channel.with_previous("app_private_key", now) \
                    if exc.sub_code == "isv.invalid-signature" else None
                if previous is None:
                    raise
                log.info("alipay app %s: our signature was refused; signing with the previous key (overlap window)",
                         channel.app_id)
                node = await AlipayClient(previous, http, now=now).call(
                    "alipay.system.oauth.token", grant_type="authorization_code", code=code)
        except (AlipayError, AlipayTransportError, AlipayResponseUnverified) as exc:
            log.warning("alipay oauth.token failed for app %s: %s", channel.app_id, exc)
            raise _failure(exc) from None
        user_id, open_id = node.get("user_id") or None, node.get("open_id") or None
        if not user_id and not open_id:
            raise ChannelCallFailed(Failure.INCOMPLETE, "oauth.token lacks user_id and open_id")
        # Alipay's own access_token / refresh_token in `node` are not needed: we only identify the user.
        return ChannelLogin(channel.app_id, user_id=str(user_id) if user_id else None,
                            open_id=str(open_id) if open_id else None)

    async def phone_number(self, channel: Channel, code: str) -> VerifiedPhone:
        raise NotImplementedError("Alipay mini-programs have no phone codes here")

    def phone_from_encrypted_data(self, app_id: str, session_key: str, encrypted_data: str,
                                  iv: str) -> VerifiedPhone:
        raise NotImplementedError("Alipay mini-programs have no session keys")

    async def check(self, channel: Channel) -> ChannelCheck:
        """A signed gateway call (alipay.system.oauth.token with a code that cannot exist): an
        `isv.code-invalid` answer proves the gateway verified our signature (app id and private key)
        and its signed answer verified with `alipay_public_key`."""
        try:
            await AlipayClient(channel, self.services.http, previous_ok=False).call(
                self.CHECK_CALL, grant_type="authorization_code", code="citygate-config-check")
        except AlipayError as exc:
            ok = "code" in exc.sub_code and ("invalid" in exc.sub_code or "expired" in exc.sub_code)
            return ChannelCheck(ok, self.CHECK_CALL, None if ok else f"{exc.code} {exc.sub_code}".strip())
        except AlipayResponseUnverified:
            return ChannelCheck(False, self.CHECK_CALL, "response_unverified (alipay_public_key)")
        except (AlipayTransportError, ChannelError, ValueError, TypeError, KeyError) as exc:
            return ChannelCheck.failed(self.CHECK_CALL, exc)
        return ChannelCheck(True, self.CHECK_CALL)  # the gateway took a code that cannot exist

    def derived_public(self, name: str, value: str) -> dict[str, str]:
        if name == "app_private_key":
            return {"app_public_key": public_key_pem(value)}  # the app's public key follows its private key
        if name == "alipay_public_key":
            read_public_key(value)
        return {}


# ---- web authorisation (H5) --------------------------------------------------------------------
AUTHORIZE_BASE_URL = "https://openauth.alipay.com"


class AlipayWebAdapter(AlipayAdapter):
    """An Alipay web app's authorisation (用户信息授权 for H5 pages): the browser consents at
    `oauth2/publicAppAuthorize.htm?app_id&scope&redirect_uri&state`, comes back to
    `redirect_uri?app_id&source=alipay_wallet&scope&auth_code&state`, and the auth code is exchanged
    with alipay.system.oauth.token exactly as a mini-program's is."""

    def authorize_url(self, channel: Channel, redirect_uri: str, scope: str, state: str) -> str:
        base = (channel.public.get("authorize_base_url") or AUTHORIZE_BASE_URL).rstrip("/")
        query = urllib.parse.urlencode({"app_id": channel.app_id, "scope": scope, "redirect_uri": redirect_uri,
                                        "state": state})
        return f"{base}/oauth2/publicAppAuthorize.htm?{query}"
