"""WeChat mini-program server API: code2Session, getPhoneNumber, access_token, subscribe messages.

wechatpy describes the calls (endpoint paths, parameters, bodies) and interprets the answers
(`errcode` → `WeChatClientException`), but its transport is the blocking `requests`. We keep its
request building and result handling and swap the transport: `_PreparingClient` returns the request
wechatpy would send, and `WeChatMiniProgram` sends it with Tornado's async client, so the event
loop never blocks. The API base URL comes from the channel (real WeChat or our sandbox).

`WeChatAdapter` is the domain's IdentityProvider and ChannelCredentials for WeChat mini-program
channels (models.ports): it answers in the ports' plain types and fails with `ChannelCallFailed`,
whose `Failure` says what went wrong in the domain's words (the domain picks what the caller sees).

Also here: the WXBizDataCrypt scheme (AES-128-CBC with the session key) for the older
`encryptedData` + `iv` form of user data.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import json
import logging
import os
import urllib.parse
from typing import Any

from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from redis.exceptions import LockNotOwnedError
from tornado.httpclient import HTTPClientError, HTTPRequest
from wechatpy.client import WeChatClient
from wechatpy.exceptions import WeChatClientException

from integrations import rsa_keys
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


class WeChatMiniProgram:
    """The server API of one WeChat mini-program (one channel)."""

    def __init__(self, services: Services, channel: Channel) -> None:
        self.services = services
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
            previous = self.channel.previous_values("app_secret", self.services.clock())
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
            response = await self.services.http.fetch(request, raise_error=False)
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
        """The app's access_token, cached in Redis for every worker; fetched by one worker at a time.

        Each fetch retires the app's previous token, so a worker that finds another one fetching
        waits (up to 3 s) for that token instead of fetching its own; a forced refresh (the cached
        token was refused) fetches at once. redis-py's lock releases only its owner's hold, so a
        fetch that outlives the lock's 10 s cannot free the lock another worker has taken since.
        """
        redis = self.services.redis
        key = TOKEN_CACHE_PREFIX + self.channel.app_id
        context = f"wechat.access_token:{self.channel.app_id}"
        if not force_refresh:
            cached = await redis.get(key)
            if cached:
                return self.services.cipher.decrypt(cached, context)
        lock = redis.lock(TOKEN_LOCK_PREFIX + self.channel.app_id, timeout=10, sleep=0.05)
        locked = await lock.acquire(blocking=not force_refresh, blocking_timeout=3)
        try:
            if locked and not force_refresh:
                cached = await redis.get(key)
                if cached:  # fetched by the worker that held the lock before us
                    return self.services.cipher.decrypt(cached, context)
            result = await self._send_with_secret(lambda client: client.get("token", params={
                "grant_type": "client_credential", "appid": self.channel.app_id, "secret": client.secret}),
                previous_ok=previous_ok)
            token = str(result["access_token"])
            expires_in = int(result.get("expires_in", 7200))
            # Refresh five minutes early so no request goes out with a token about to lapse.
            await redis.set(key, self.services.cipher.encrypt(token, context), ex=max(60, expires_in - 300))
            return token
        except KeyError:
            raise WeChatTransportError("token answer lacks access_token") from None
        finally:
            if locked:
                with contextlib.suppress(LockNotOwnedError):  # held past its 10 s: no longer ours to free
                    await lock.release()

    # ---- the calls the domain needs --------------------------------------------------------------
    async def code_to_session(self, code: str) -> ChannelLogin:
        """code2Session (sns/jscode2session): a wx.login code → openid, unionid, session_key."""
        try:
            result = await self._send_with_secret(lambda client: client.wxa.code_to_session(code))
        except (WeChatClientException, WeChatTransportError) as exc:
            log.warning("wechat code2Session failed for app %s: %s", self.channel.app_id, _describe(exc))
            raise _failure(exc) from None
        openid, session_key = result.get("openid"), result.get("session_key")
        if not openid or not session_key:
            raise ChannelCallFailed(Failure.INCOMPLETE, "code2Session lacks openid or session_key")
        return ChannelLogin(self.channel.app_id, openid=str(openid), unionid=result.get("unionid") or None,
                            session_key=str(session_key))

    async def phone_number(self, code: str) -> VerifiedPhone:
        """phonenumber.getPhoneNumber (wxa/business/getuserphonenumber): a phone code → the number."""
        call = self._client.post("getuserphonenumber", data={"code": code},
                                 api_base_url=self.base + "wxa/business/")
        try:
            result = await self._send_with_token(call)
        except (WeChatClientException, WeChatTransportError) as exc:
            log.warning("wechat getPhoneNumber failed for app %s: %s", self.channel.app_id, _describe(exc))
            raise _failure(exc) from None
        info = result.get("phone_info") or {}
        watermark = info.get("watermark") or {}
        if watermark.get("appid") not in (None, self.channel.app_id):
            raise ChannelCallFailed(Failure.OTHER_APP, "phone_info watermark")
        pure = str(info.get("purePhoneNumber") or "")
        if not pure:
            raise ChannelCallFailed(Failure.INCOMPLETE, "phone_info lacks purePhoneNumber")
        return VerifiedPhone(pure, str(info.get("countryCode") or "86"))

    async def post_with_token(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST `body` as JSON to `path` (under the API base) with the app's access_token, renewed once
        when WeChat says it lapsed; WeChatClientException / WeChatTransportError for the caller to judge."""
        return await self._send_with_token(PreparedCall("POST", self.base + path, {}, body))

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


# What WeChat's errcodes mean to the domain; any other errcode is a refusal.
_ERRCODE_FAILURES = {
    40029: Failure.CODE_INVALID,  # invalid code
    40163: Failure.CODE_INVALID,  # code already used
    45011: Failure.RATE_LIMITED,  # per-user minute quota
    45009: Failure.RATE_LIMITED,  # app daily quota
    40226: Failure.USER_BLOCKED,  # high-risk user, blocked by WeChat
    -1: Failure.BUSY,  # system busy
}


def failure_of(exc: Exception) -> ChannelCallFailed:
    """What a WeChat call's exception means to the domain (used by the other WeChat adapters too)."""
    return _failure(exc)


def _failure(exc: Exception) -> ChannelCallFailed:
    if isinstance(exc, WeChatTransportError):
        return ChannelCallFailed(Failure.UNREACHABLE, str(exc))
    errcode = getattr(exc, "errcode", None)
    return ChannelCallFailed(_ERRCODE_FAILURES.get(errcode, Failure.REFUSED), f"errcode {errcode}")


class WeChatAdapter:
    """The domain's IdentityProvider and ChannelCredentials for WeChat mini-program channels."""

    CHECK_CALL = "cgi-bin/token"

    def __init__(self, services: Services) -> None:
        self.services = services

    def client(self, channel: Channel) -> WeChatMiniProgram:
        return WeChatMiniProgram(self.services, channel)

    async def login(self, channel: Channel, code: str) -> ChannelLogin:
        return await self.client(channel).code_to_session(code)

    async def phone_number(self, channel: Channel, code: str) -> VerifiedPhone:
        return await self.client(channel).phone_number(code)

    def phone_from_encrypted_data(self, app_id: str, session_key: str, encrypted_data: str,
                                  iv: str) -> VerifiedPhone:
        try:
            data = decrypt_user_data(app_id, session_key, encrypted_data, iv)
        except WeChatDataError as exc:
            raise ChannelCallFailed(Failure.DATA_INVALID, str(exc)) from None
        return VerifiedPhone(str(data.get("purePhoneNumber") or ""), str(data.get("countryCode") or "86"))

    async def check(self, channel: Channel) -> ChannelCheck:
        """Fetch an access token: cgi-bin/token proves the app id and app secret (the token is kept
        as the app's current one, since each fetch retires the previous)."""
        try:
            await self.client(channel).access_token(force_refresh=True, previous_ok=False)
        except WeChatClientException as exc:
            return ChannelCheck(False, self.CHECK_CALL, f"errcode {exc.errcode}")
        except (WeChatTransportError, ChannelError) as exc:
            return ChannelCheck.failed(self.CHECK_CALL, exc)
        return ChannelCheck(True, self.CHECK_CALL)

    def derived_public(self, name: str, value: str) -> dict[str, str]:
        if name == "wechatpay_private_key":
            rsa_keys.load_private_key(value)
        return {}


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
