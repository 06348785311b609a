"""Send one notification to a citizen through the channel they last used (the outbox calls this).

WeChat: subscribeMessage.send with the app's access_token. Alipay: the mini-program message method
on the gateway. Each outcome tells the outbox what to do next:
  "sent"    the channel accepted it;
  "skipped" it will never be delivered this way (the user refused or never subscribed, no channel);
  "retry"   a transient failure (network, channel busy or rate limiting): try again later;
  "failed"  a permanent problem on our side (bad template, misconfigured channel): needs a person.
The message's id travels as the client message id, so a resend after a lost answer is recognisable
as the same message (our sandbox counts it once).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from wechatpy.exceptions import WeChatClientException

from integrations import alipay as alipay_api
from integrations import wechat as wechat_api
from models import channels
from models.channels import ChannelError

log = logging.getLogger("citygate.messages")

DEFAULT_PAGE = "pages/index/index"
# WeChat errcodes: the user refused / never subscribed, or the openid is unknown to this app.
_WECHAT_SKIP = frozenset({43101, 40003})
# WeChat errcodes that will not change by retrying: bad template or data, bad credentials.
_WECHAT_PERMANENT = frozenset({40037, 47003, 41030, 40013, 40125, 41002, 41004, 48001})


@dataclasses.dataclass(frozen=True)
class SendResult:
    outcome: str  # "sent" | "skipped" | "retry" | "failed"
    reason: str = ""
    channel: str = ""


def _wechat_data(data: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Subscribe-message data is {"thing1": {"value": "..."}}; accept flat values too."""
    shaped = {}
    for key, value in data.items():
        if isinstance(value, dict) and "value" in value:
            shaped[key] = {"value": str(value["value"])}
        else:
            shaped[key] = {"value": str(value)}
    return shaped


async def send_message(ctx, citizen: dict[str, Any], message: dict[str, Any]) -> SendResult:  # noqa: ANN001
    """Deliver `message` ({id, event, template, data, page?}) to `citizen` via their last channel."""
    last = citizen.get("last_channel") or {}
    kind = last.get("kind")
    if kind not in ("wechat", "alipay") or not last.get("app_id"):
        return SendResult("skipped", "no_channel")
    channel = await channels.find_channel(ctx, last["app_id"])
    if channel is None or not channel.enabled:
        return SendResult("skipped", "channel_disabled", kind)
    template_id = channel.templates.get(message.get("template", ""), message.get("template", ""))
    page = message.get("page") or DEFAULT_PAGE
    data = message.get("data") or {}
    try:
        if kind == "wechat":
            return await _send_wechat(ctx, channel, last, template_id, page, data, str(message.get("id", "")))
        return await _send_alipay(ctx, channel, last, template_id, page, data, str(message.get("id", "")))
    except ChannelError as exc:  # e.g. a channel without its secret
        return SendResult("failed", exc.code, kind)


async def _send_wechat(ctx, channel: channels.Channel, last: dict[str, Any], template_id: str,  # noqa: ANN001
                       page: str, data: dict[str, Any], message_id: str) -> SendResult:
    openid = last.get("openid")
    if not openid:
        return SendResult("skipped", "no_openid", "wechat")
    client = wechat_api.WeChatMiniProgram(ctx, channel)
    try:
        await client.send_subscribe_message(openid, template_id, _wechat_data(data), page=page,
                                            client_msg_id=message_id or None)
    except wechat_api.WeChatTransportError as exc:
        return SendResult("retry", f"transport:{exc}", "wechat")
    except WeChatClientException as exc:
        log.info("wechat subscribe send for app %s: errcode %s", channel.app_id, exc.errcode)
        if exc.errcode in _WECHAT_SKIP:
            return SendResult("skipped", f"wechat_{exc.errcode}", "wechat")
        if exc.errcode in _WECHAT_PERMANENT:
            return SendResult("failed", f"wechat_{exc.errcode}", "wechat")
        return SendResult("retry", f"wechat_{exc.errcode}", "wechat")
    return SendResult("sent", "", "wechat")


async def _send_alipay(ctx, channel: channels.Channel, last: dict[str, Any], template_id: str,  # noqa: ANN001
                       page: str, data: dict[str, Any], message_id: str) -> SendResult:
    biz: dict[str, Any] = {"user_template_id": template_id, "page": page,
                           "data": json.dumps(data, ensure_ascii=False, separators=(",", ":"))}
    if last.get("user_id"):
        biz["to_user_id"] = last["user_id"]
    elif last.get("open_id"):
        biz["to_open_id"] = last["open_id"]
    else:
        return SendResult("skipped", "no_user_id", "alipay")
    if message_id:
        biz["out_biz_no"] = message_id  # idempotency key, as Alipay's business methods take it
    try:
        await alipay_api.AlipayClient(channel, ctx.http).call("alipay.open.app.mini.templatemessage.send", biz)
    except alipay_api.AlipayTransportError as exc:
        return SendResult("retry", f"transport:{exc}", "alipay")
    except alipay_api.AlipayResponseUnverified:
        return SendResult("retry", "response_unverified", "alipay")
    except alipay_api.AlipayError as exc:
        log.info("alipay message for app %s: %s", channel.app_id, exc)
        if exc.transient or "limit" in exc.sub_code.lower():
            return SendResult("retry", f"alipay_{exc.code}", "alipay")
        if exc.code == "40004":  # business refusal: not subscribed, template not granted...
            return SendResult("skipped", f"alipay_{exc.sub_code or exc.code}", "alipay")
        return SendResult("failed", f"alipay_{exc.sub_code or exc.code}", "alipay")
    return SendResult("sent", "", "alipay")
