"""The channels' message senders: the domain's MessageSender (models.ports) for WeChat and Alipay.

WeChat: subscribeMessage.send with the app's access_token. Alipay: the mini-program message method
on the gateway. Each sender classifies what its channel answered into the outcome the outbox acts
on (`SendResult`: sent, skipped, retry, failed). The message's id travels as the client message id,
so a resend after a lost answer is recognisable as the same message (our sandbox counts it once).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from wechatpy.exceptions import WeChatClientException

from integrations import alipay as alipay_api
from integrations import wechat as wechat_api
from models.ports import Channel, OutgoingMessage, SendResult, Services

log = logging.getLogger("citygate.messages")

# WeChat errcodes: the user refused / never subscribed, or the openid is unknown to this app.
_WECHAT_SKIP = frozenset({43101, 40003})
# WeChat errcodes that will not change by retrying: bad template or data, bad credentials.
_WECHAT_PERMANENT = frozenset({40037, 47003, 41030, 40013, 40125, 41002, 41004, 48001})


def _wechat_data(data: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Subscribe-message data is {"thing1": {"value": "..."}}; accept flat values too."""
    shaped = {}
    for key, value in data.items():
        if isinstance(value, dict) and "value" in value:
            shaped[key] = {"value": str(value["value"])}
        else:
            shaped[key] = {"value": str(value)}
    return shaped


class WeChatMessageSender:
    """Subscribe messages (subscribeMessage.send) to a WeChat mini-program's users."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def send(self, channel: Channel, message: OutgoingMessage) -> SendResult:
        if not message.openid:
            return SendResult("skipped", "no_openid", "wechat")
        client = wechat_api.WeChatMiniProgram(self.services, channel)
        try:
            await client.send_subscribe_message(message.openid, message.template_id, _wechat_data(message.data),
                                                page=message.page, client_msg_id=message.message_id or None)
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


class AlipayMessageSender:
    """Mini-program template messages (alipay.open.app.mini.templatemessage.send) to Alipay users."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def send(self, channel: Channel, message: OutgoingMessage) -> SendResult:
        biz: dict[str, Any] = {"user_template_id": message.template_id, "page": message.page,
                               "data": json.dumps(message.data, ensure_ascii=False, separators=(",", ":"))}
        if message.user_id:
            biz["to_user_id"] = message.user_id
        elif message.open_id:
            biz["to_open_id"] = message.open_id
        else:
            return SendResult("skipped", "no_user_id", "alipay")
        if message.message_id:
            biz["out_biz_no"] = message.message_id  # idempotency key, as Alipay's business methods take it
        try:
            await alipay_api.AlipayClient(channel, self.services.http).call(
                "alipay.open.app.mini.templatemessage.send", biz)
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
