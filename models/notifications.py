"""Notifications (通知): one message to a citizen through the channel they last used.

Which channel and which of its templates is the domain's choice; the channel kind's MessageSender
(models.ports) sends it and classifies the answer into what the outbox does next (sent, skipped,
retry, failed: see `SendResult`). The message's id travels as the client message id, so a resend
after a lost answer is recognisable as the same message.
"""

from __future__ import annotations

from typing import Any

from models import channels
from models.core.context import Context
from models.ports import ChannelError, OutgoingMessage, SendResult

DEFAULT_PAGE = "pages/index/index"
# The kind a login records as the citizen's last channel -> the channel kind whose sender reaches them.
_CHANNEL_KINDS = {"wechat": channels.WECHAT_MINIPROGRAM, "alipay": channels.ALIPAY_MINIPROGRAM}


async def send_message(ctx: Context, citizen: dict[str, Any], message: dict[str, Any]) -> SendResult:
    """Deliver `message` ({id, event, template, data, page?}) to `citizen` via their last channel."""
    last = citizen.get("last_channel") or {}
    kind = last.get("kind")
    if kind not in ("wechat", "alipay") or not last.get("app_id"):
        return SendResult("skipped", "no_channel")
    channel = await channels.find_channel(ctx, last["app_id"])
    if channel is None or not channel.enabled:
        return SendResult("skipped", "channel_disabled", kind)
    template = message.get("template", "")
    outgoing = OutgoingMessage(
        message_id=str(message.get("id", "")), template_id=channel.templates.get(template, template),
        page=message.get("page") or DEFAULT_PAGE, data=message.get("data") or {},
        openid=last.get("openid"), user_id=last.get("user_id"), open_id=last.get("open_id"))
    try:
        return await ctx.message_senders[_CHANNEL_KINDS[kind]].send(channel, outgoing)
    except ChannelError as exc:  # e.g. a channel without its secret
        return SendResult("failed", exc.code, kind)
