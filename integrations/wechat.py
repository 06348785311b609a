"""WeChat mini-program server API: code2Session, getPhoneNumber, access_token, subscribe messages.

wechatpy describes the calls (endpoint paths, parameters, bodies) and interprets the answers
(`errcode` → `WeChatClientException`), but its transport is the blocking `requests`. We keep its
request building and result handling and swap the transport: `_PreparingClient` returns the request
wechatpy would send, and `WeChatMiniProgram` sends it with Tornado's async client, so the event
loop never blocks. The API base URL comes from the channel (real WeChat or our sandbox).

Also here: the WXBizDataCrypt scheme (AES-128-CBC with the session key) for the older
`encryptedData` + `iv` form of user data.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import json
import logging
import os
import urllib.parse
from typing import Any

from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from tornado.httpclient import HTTPClientError, HTTPRequest
from wechatpy.client import WeChatClient
from wechatpy.exceptions import WeChatClientException

from models.channels import Channel, ChannelError
from models.errors import DomainError, FieldError, Forbidden, RateLimited, Unauthorized, Unavailable, ValidationFailed

log = logging.getLogger("citygate.wechat")

# errcodes that mean "the access_token is no longer good": fetch a new one and try once more.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
TOKEN_CACHE_PREFIX = "cg:wx:token:"
TOKEN_LOCK_PREFIX = "cg:wx:token-lock:"


@dataclasses.dataclass(frozen=True)
class PreparedCall:
    """One HTTP request as wechatpy would have sent it."""

    method: str
    url: str
    params: dict[str, Any]
    data: Any = None


@dataclasses.dataclass(frozen=True)
class _Answer:
    """What wechatpy's result handling expects of a response: the decoded body and its request."""

    payload: dict[str, Any]
    request: PreparedCall


class _PreparingClient(WeChatClient):
    """wechatpy's WeChatClient whose transport only prepares requests (we send them async)."""

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> PreparedCall:  # type: ignore[override]
        if url_or_endpoint.startswith(("http://", "https://")):
            url = url_or_endpoint
        else:
            url = kwargs.pop("api_base_url", self.API_BASE_URL) + url_or_endpoint
        return PreparedCall(method.upper(), url, dict(kwargs.get("params") or {}), kwargs.get("data"))

    def _decode_result(self, res: Any) -> Any:
        return res.payload if isinstance(res, _Answer) else super()._decode_result(res)


class WeChatTransportError(Exception):
    """WeChat could not be reached, timed out, or answered with something that is not its JSON."""


class WeChatDataError(Exception):
    """encryptedData that does not decrypt with the session key, or belongs to another app."""


@dataclasses.dataclass(frozen=True)
class WeChatSession:
    """code2Session's answer. The session key never leaves the server."""

    app_id: str
    openid: str
    unionid: str | None
    session_key: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class PhoneInfo:
    phone_number: str = dataclasses.field(repr=False)  # with country code for numbers outside China
    pure_phone_number: str = dataclasses.field(repr=False)
    country_code: str


class WeChatMiniProgram:
    """The server API of one WeChat mini-program (one channel)."""

    def __init__(self, ctx: Any, channel: Channel) -> None:
        self.ctx = ctx
        self.channel = channel
        self.base = channel.api_base_url.rstrip("/") + "/"
        self._client = self._client_for(channel.secret("app_secret"))

    def _client_for(self, secret: str) -> _PreparingClient:
        client = _PreparingClient(self.channel.app_id, secret, auto_retry=False)
        client.API_BASE_URL = self.base + "cgi-bin/"
        client.wxa.API_BASE_URL = self.base  # wechatpy's mini-program calls use their own base
        return client

    async def _send_with_secret(self, build: Any, previous_ok: bool = True) -> dict[str, Any]:
        """Send a call that carries the app secret. While a rotated-out secret is in its overlap window
        (models.channels.rotate_secret) and WeChat refuses the current one (40125: the new secret is
        not live there yet), send it once more with the previous one, so no login fails mid-rotation."""
        try:
            return await self._send(build(self._client))
        except WeChatClientException as exc:
            if exc.errcode != 40125 or not previous_ok:
                raise
            previous = self.channel.previous_values("app_secret", self.ctx.clock())
            if not previous:
                raise
        log.info("wechat app %s: the current app secret was refused; using the previous one (overlap window)",
                 self.channel.app_id)
        return await self._send(build(self._client_for(previous[0])))

    # ---- transport -------------------------------------------------------------------------
    async def _send(self, call: PreparedCall, access_token: str | None = None) -> dict[str, Any]:
        params = {k: v for k, v in call.params.items() if v is not None and k != "access_token"}
        if access_token:
            params["access_token"] = access_token
        url = call.url + ("?" + urllib.parse.urlencode(params) if params else "")
        body = None
        headers = {}
        if call.data is not None:
            body = call.data if isinstance(call.data, bytes) else json.dumps(call.data, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json; charset=utf-8"
        timeout = self.channel.timeout_seconds
        request = HTTPRequest(url, method=call.method, body=body, headers=headers,
                              connect_timeout=min(3.0, timeout), request_timeout=timeout)
        try:
            response = await self.ctx.http.fetch(request, raise_error=False)
        except (OSError, HTTPClientError) as exc:  # refused, reset, DNS, timeout (599)
            raise WeChatTransportError(type(exc).__name__) from None
        if response.code == 599 or response.code >= 500:
            raise WeChatTransportError(f"http {response.code}")
        try:
            payload = json.loads(response.body or b"")
        except (ValueError, UnicodeDecodeError):
            raise WeChatTransportError("answer is not JSON") from None
        if not isinstance(payload, dict):
            raise WeChatTransportError("answer is not a JSON object")
        # wechatpy turns a non-zero errcode into WeChatClientException (APILimitedException for 45009).
        return self._client._handle_result(_Answer(payload, call))

    async def _send_with_token(self, call: PreparedCall) -> dict[str, Any]:
        token = await self.access_token()
        try:
            return await self._send(call, token)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRCODES:
                raise
        # The cached token was revoked or expired early (another system fetched a new one).
        return await self._send(call, await self.access_token(force_refresh=True))

    # ---- access_token ------------------------------------------------------------------------
    async def access_token(self, force_refresh: bool = False, previous_ok: bool = True) -> str:
        """The app's access_token, cached in Redis for every worker; fetched by one worker at a time."""
        redis = self.ctx.redis
        key = TOKEN_CACHE_PREFIX + self.channel.app_id
        context = f"wechat.access_token:{self.channel.app_id}"
        if not force_refresh:
            cached = await redis.get(key)
            if cached:
                return self.ctx.cipher.decrypt(cached, context)
        lock_key = TOKEN_LOCK_PREFIX + self.channel.app_id
        locked = await redis.set(lock_key, "1", nx=True, ex=10)
        if not locked and not force_refresh:
            # Another worker is fetching: each fetch invalidates older tokens, so wait for its result.
            for _ in range(60):
                await asyncio.sleep(0.05)
                cached = await redis.get(key)
                if cached:
                    return self.ctx.cipher.decrypt(cached, context)
        try:
            result = await self._send_with_secret(lambda client: client.get("token", params={
                "grant_type": "client_credential", "appid": self.channel.app_id, "secret": client.secret}),
                previous_ok=previous_ok)
            token = str(result["access_token"])
            expires_in = int(result.get("expires_in", 7200))
            # Refresh five minutes early so no request goes out with a token about to lapse.
            await redis.set(key, self.ctx.cipher.encrypt(token, context), ex=max(60, expires_in - 300))
            return token
        except KeyError:
            raise WeChatTransportError("token answer lacks access_token") from None
        finally:
            if locked:
                await redis.delete(lock_key)

    # ---- the calls the domain needs --------------------------------------------------------------
    async def code_to_session(self, code: str) -> WeChatSession:
        """code2Session (sns/jscode2session): a wx.login code → openid, unionid, session_key."""
        try:
            result = await self._send_with_secret(lambda client: client.wxa.code_to_session(code))
        except (WeChatClientException, WeChatTransportError) as exc:
            log.warning("wechat code2Session failed for app %s: %s", self.channel.app_id, _describe(exc))
            raise login_problem(exc) from None
        openid, session_key = result.get("openid"), result.get("session_key")
        if not openid or not session_key:
            raise ChannelError("channel_error", "微信登录返回的数据不完整", "WeChat's login answer is incomplete")
        return WeChatSession(self.channel.app_id, str(openid), result.get("unionid") or None, str(session_key))

    async def phone_number(self, code: str) -> PhoneInfo:
        """phonenumber.getPhoneNumber (wxa/business/getuserphonenumber): a phone code → the number."""
        call = self._client.post("getuserphonenumber", data={"code": code},
                                 api_base_url=self.base + "wxa/business/")
        try:
            result = await self._send_with_token(call)
        except (WeChatClientException, WeChatTransportError) as exc:
            log.warning("wechat getPhoneNumber failed for app %s: %s", self.channel.app_id, _describe(exc))
            if isinstance(exc, WeChatClientException) and exc.errcode in (40029, 40163):
                raise ValidationFailed(errors=[FieldError(
                    "code", "wechat_phone_code_invalid", "手机号授权码无效或已使用，请重新授权",
                    "The phone number code is invalid or already used; please authorise again")]) from None
            raise login_problem(exc) from None
        info = result.get("phone_info") or {}
        watermark = info.get("watermark") or {}
        if watermark.get("appid") not in (None, self.channel.app_id):
            raise ChannelError("channel_error", "手机号数据不属于本小程序", "Phone data belongs to another app")
        pure = str(info.get("purePhoneNumber") or "")
        if not pure:
            raise ChannelError("channel_error", "微信未返回手机号", "WeChat returned no phone number")
        return PhoneInfo(str(info.get("phoneNumber") or pure), pure, str(info.get("countryCode") or "86"))

    async def send_subscribe_message(self, openid: str, template_id: str, data: dict[str, Any],
                                     page: str | None = None, client_msg_id: str | None = None) -> dict[str, Any]:
        """subscribeMessage.send; raises WeChatClientException / WeChatTransportError for the caller to judge.

        `client_msg_id` is our idempotency key for the message. The real API ignores unknown fields;
        the sandbox uses it to detect a message sent twice.
        """
        call = self._client.wxa.send_subscribe_message(openid, template_id, data, page=page)
        body = dict(call.data)
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        return await self._send_with_token(dataclasses.replace(call, data=body))


def _describe(exc: Exception) -> str:
    """For logs: the errcode only (errmsg may echo request data)."""
    if isinstance(exc, WeChatClientException):
        return f"errcode {exc.errcode}"
    return type(exc).__name__ + (f" ({exc})" if isinstance(exc, WeChatTransportError) else "")


def login_problem(exc: Exception) -> DomainError:
    """Map a WeChat failure during login to what the citizen's app sees."""
    if isinstance(exc, WeChatTransportError):
        return Unavailable("channel_unavailable", "微信服务暂时无法访问，请稍后再试",
                           "WeChat is unreachable right now; please retry shortly", retry_after=5)
    errcode = getattr(exc, "errcode", None)
    if errcode in (40029, 40163):  # invalid code, code already used
        return Unauthorized("wechat_code_invalid", "登录凭证无效或已使用，请重新登录",
                            "The login code is invalid or already used; please log in again")
    if errcode in (45011, 45009):  # per-user minute quota, app daily quota
        return RateLimited("channel_rate_limited", "微信接口调用过于频繁，请稍后再试",
                           "WeChat is rate limiting this request; please retry shortly", retry_after=60)
    if errcode == 40226:  # high-risk user, blocked by WeChat
        return Forbidden("wechat_user_blocked", "该微信账号存在风险，暂无法登录",
                         "WeChat has blocked this account from logging in")
    if errcode == -1:  # system busy
        return Unavailable("channel_unavailable", "微信服务繁忙，请稍后再试",
                           "WeChat is busy; please retry shortly", retry_after=5)
    return ChannelError("channel_error", "微信接口返回错误，请稍后再试", "WeChat returned an error")


# ---- WXBizDataCrypt ------------------------------------------------------------------------------
def decrypt_user_data(app_id: str, session_key: str, encrypted_data: str, iv: str) -> dict[str, Any]:
    """Decrypt mini-program encryptedData (AES-128-CBC, PKCS#7, key = the session key).

    Refuses data whose watermark names another app: the same user's data from another
    mini-program must not be accepted here.
    """
    try:
        key = base64.b64decode(session_key, validate=True)
        vector = base64.b64decode(iv, validate=True)
        sealed = base64.b64decode(encrypted_data, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise WeChatDataError("not base64") from None
    if len(key) != 16 or len(vector) != 16 or not sealed or len(sealed) % 16:
        raise WeChatDataError("wrong key, iv or data length")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(vector)).decryptor()
    padded = decryptor.update(sealed) + decryptor.finalize()
    unpadder = sym_padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        data = json.loads(plain.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise WeChatDataError("does not decrypt with this session key") from None
    if not isinstance(data, dict) or (data.get("watermark") or {}).get("appid") != app_id:
        raise WeChatDataError("watermark names another app")
    return data


def encrypt_user_data(session_key: str, data: dict[str, Any], iv: bytes | None = None) -> tuple[str, str]:
    """The inverse, as WeChat does it (used by the sandbox): → (encryptedData, iv), base64."""
    key = base64.b64decode(session_key)
    vector = iv or os.urandom(16)
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(json.dumps(data, ensure_ascii=False).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(vector)).encryptor()
    sealed = encryptor.update(padded) + encryptor.finalize()
    return base64.b64encode(sealed).decode(), base64.b64encode(vector).decode()
