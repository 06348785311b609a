"""Checking a channel's config by calling the channel, before it is enabled and on an operator's demand.

The call itself is the channel kind's (models.ports.ChannelCredentials): WeChat fetches an access
token, which proves the app id and app secret; Alipay makes a signed gateway call, whose answer
proves the gateway verified our signature and that its own verifies with `alipay_public_key`.
"""

from __future__ import annotations

from typing import Any

from models.channels.store import find_channel, not_found
from models.core.context import Context
from models.errors import DomainError
from models.ports import Channel


class ChannelCheckFailed(DomainError):
    """The channel refused (or could not be reached with) the config about to be enabled."""

    status = 422
    default_code = "channel_check_failed"
    default_zh = "渠道配置校验未通过（调用渠道接口失败），不能启用"
    default_en = "The channel config failed its check (calling the channel failed); it cannot be enabled"


def require_passing(result: dict[str, Any]) -> dict[str, Any]:
    """A passing check's result as it is stored; ChannelCheckFailed (422) carrying it otherwise."""
    if not result["ok"]:
        raise ChannelCheckFailed(extra={"check": result})
    return result


async def check_config(ctx: Context, channel: Channel) -> dict[str, Any]:
    """Call the channel with this config and say whether it works: {ok, at, call, error?}.

    Never raises for what the channel answers.
    """
    result: dict[str, Any] = {"ok": False, "at": ctx.clock()}
    check = await ctx.channel_credentials[channel.kind].check(channel)
    result["call"] = check.call
    result["ok"] = check.ok
    if check.error is not None:
        result["error"] = check.error
    return result


async def check_channel(ctx: Context, app_id: str) -> dict[str, Any]:
    """Run the config check on a stored channel (enabled or not) and record its outcome."""
    channel = await find_channel(ctx, app_id)
    if channel is None:
        raise not_found()
    result = await check_config(ctx, channel)
    await ctx.db.channels.update_one({"_id": channel.id}, {"$set": {"last_check": result}})
    return {"app_id": app_id, **result}
