"""What a channel vouches for about a citizen: logins and phone numbers, through its IdentityProvider.

The provider (models.ports, one per channel kind) says why a call failed in the domain's words; this
module turns that into the problem the citizen's app sees, in the channel's name.
"""

from __future__ import annotations

from models.channels.store import ALIPAY_MINIPROGRAM, ALIPAY_WEB, WECHAT_MINIPROGRAM, WECHAT_OA
from models.core.context import Context
from models.errors import DomainError, FieldError, Forbidden, RateLimited, Unauthorized, Unavailable, ValidationFailed
from models.ports import (
    Channel,
    ChannelCallFailed,
    ChannelError,
    ChannelLogin,
    Failure,
    JsSdkTickets,
    VerifiedPhone,
    WebAuthoriser,
)

# What a failed call means to the caller, by channel kind; whatever is not listed is channel_error.
_PROBLEMS: dict[tuple[str, Failure], tuple[type[DomainError], str, str, str]] = {
    (WECHAT_MINIPROGRAM, Failure.UNREACHABLE): (Unavailable, "channel_unavailable", "微信服务暂时无法访问，请稍后再试",
                                                "WeChat is unreachable right now; please retry shortly"),
    (WECHAT_MINIPROGRAM, Failure.CODE_INVALID): (Unauthorized, "wechat_code_invalid", "登录凭证无效或已使用，请重新登录",
                                                 "The login code is invalid or already used; please log in again"),
    (WECHAT_MINIPROGRAM, Failure.RATE_LIMITED): (RateLimited, "channel_rate_limited", "微信接口调用过于频繁，请稍后再试",
                                                 "WeChat is rate limiting this request; please retry shortly"),
    (WECHAT_MINIPROGRAM, Failure.USER_BLOCKED): (Forbidden, "wechat_user_blocked", "该微信账号存在风险，暂无法登录",
                                                 "WeChat has blocked this account from logging in"),
    (WECHAT_MINIPROGRAM, Failure.BUSY): (Unavailable, "channel_unavailable", "微信服务繁忙，请稍后再试",
                                         "WeChat is busy; please retry shortly"),
    (WECHAT_MINIPROGRAM, Failure.REFUSED): (ChannelError, "channel_error", "微信接口返回错误，请稍后再试",
                                            "WeChat returned an error"),
    (ALIPAY_MINIPROGRAM, Failure.UNREACHABLE): (Unavailable, "channel_unavailable", "支付宝服务暂时无法访问，请稍后再试",
                                                "Alipay is unreachable right now; please retry shortly"),
    (ALIPAY_MINIPROGRAM, Failure.UNVERIFIED): (ChannelError, "channel_response_unverified", "支付宝返回的数据未通过验签",
                                               "Alipay's response failed signature verification"),
    (ALIPAY_MINIPROGRAM, Failure.CODE_INVALID): (Unauthorized, "alipay_code_invalid", "授权码无效或已使用，请重新授权",
                                                 "The auth code is invalid or already used; please authorise again"),
    (ALIPAY_MINIPROGRAM, Failure.RATE_LIMITED): (RateLimited, "channel_rate_limited", "渠道调用过于频繁，请稍后再试",
                                                 "The channel is rate limiting us; please retry shortly"),
    (ALIPAY_MINIPROGRAM, Failure.BUSY): (Unavailable, "channel_unavailable", "支付宝服务暂时不可用，请稍后再试",
                                         "Alipay is temporarily unavailable; please retry shortly"),
    (ALIPAY_MINIPROGRAM, Failure.REFUSED): (ChannelError, "channel_error", "支付宝返回错误，请稍后再试",
                                            "Alipay returned an error"),
}
# An answer without what was asked, by what was asked.
_LOGIN_INCOMPLETE = {WECHAT_MINIPROGRAM: ("微信登录返回的数据不完整", "WeChat's login answer is incomplete"),
                     ALIPAY_MINIPROGRAM: ("支付宝未返回用户标识", "Alipay returned no user id")}
# An H5 channel's failures read as its vendor's mini-program's (the same vendor, the same words).
_VENDOR_OF = {WECHAT_OA: WECHAT_MINIPROGRAM, ALIPAY_WEB: ALIPAY_MINIPROGRAM}
_PHONE_INCOMPLETE = ("微信未返回手机号", "WeChat returned no phone number")
_PHONE_OTHER_APP = ("手机号数据不属于本小程序", "Phone data belongs to another app")


def _problem(kind: str, failure: Failure) -> DomainError:
    kind = _VENDOR_OF.get(kind, kind)
    error_class, code, zh, en = _PROBLEMS.get((kind, failure)) or _PROBLEMS[(kind, Failure.REFUSED)]
    return error_class(code, zh, en)


async def login(ctx: Context, channel: Channel, code: str) -> ChannelLogin:
    """The ids a login code names on this channel; the caller's problem when the channel says no."""
    try:
        return await ctx.identity_providers[channel.kind].login(channel, code)
    except ChannelCallFailed as exc:
        if exc.failure is Failure.INCOMPLETE:
            raise ChannelError("channel_error", *_LOGIN_INCOMPLETE[_VENDOR_OF.get(channel.kind, channel.kind)]) from None
        raise _problem(channel.kind, exc.failure) from None


async def phone_number(ctx: Context, channel: Channel, code: str) -> VerifiedPhone:
    """The phone number a getPhoneNumber code vouches for on this channel."""
    try:
        return await ctx.identity_providers[channel.kind].phone_number(channel, code)
    except ChannelCallFailed as exc:
        if exc.failure is Failure.CODE_INVALID:
            raise ValidationFailed(errors=[FieldError(
                "code", "wechat_phone_code_invalid", "手机号授权码无效或已使用，请重新授权",
                "The phone number code is invalid or already used; please authorise again")]) from None
        if exc.failure is Failure.INCOMPLETE:
            raise ChannelError("channel_error", *_PHONE_INCOMPLETE) from None
        if exc.failure is Failure.OTHER_APP:
            raise ChannelError("channel_error", *_PHONE_OTHER_APP) from None
        raise _problem(channel.kind, exc.failure) from None


def phone_from_encrypted_data(ctx: Context, app_id: str, session_key: str, encrypted_data: str,
                              iv: str) -> VerifiedPhone:
    """The phone number in a WeChat app's older encryptedData form, opened with the login's session key."""
    try:
        return ctx.identity_providers[WECHAT_MINIPROGRAM].phone_from_encrypted_data(app_id, session_key,
                                                                                     encrypted_data, iv)
    except ChannelCallFailed:
        raise ValidationFailed(errors=[FieldError(
            "encrypted_data", "wechat_data_invalid", "加密数据无法解密或不属于本小程序，请重新登录后再试",
            "The encrypted data does not decrypt for this app; log in again and retry")]) from None


async def jsapi_ticket(ctx: Context, channel: Channel) -> str:
    """The official account's JS-SDK ticket (models.ports.JsSdkTickets); the caller's problem when WeChat says no."""
    tickets: JsSdkTickets = ctx.identity_providers[channel.kind]  # type: ignore[assignment]
    try:
        return await tickets.jsapi_ticket(channel)
    except ChannelCallFailed as exc:
        raise _problem(channel.kind, exc.failure) from None


def authorize_url(ctx: Context, channel: Channel, redirect_uri: str, scope: str, state: str) -> str:
    """The vendor's consent page for an H5 channel (models.ports.WebAuthoriser)."""
    authoriser: WebAuthoriser = ctx.identity_providers[channel.kind]  # type: ignore[assignment]
    return authoriser.authorize_url(channel, redirect_uri, scope, state)
