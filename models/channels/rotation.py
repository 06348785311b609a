"""Rotating a channel secret or key with an overlap window (POST /admin/v1/channels/{app_id}/rotations).

The new value becomes current at once; the one it replaces stays valid where it verifies or
authenticates something that may still be on the old one (`previous.<name>`, see
`Channel.previous_values`) until the window closes.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from pymongo import ReturnDocument

from models.channels.console import channel_view, fingerprint
from models.channels.store import (
    ALIPAY_MINIPROGRAM,
    ALIPAY_WEB,
    WECHAT_MINIPROGRAM,
    WECHAT_OA,
    from_document,
    not_found,
    previous_context,
    secret_context,
)
from models.core.context import Context
from models.errors import Conflict, FieldError, ValidationFailed
from models.ports import ChannelCredentials

log = logging.getLogger("citygate.channels")

# What POST /admin/v1/channels/{app_id}/rotations may rotate, by the name an operator sends. During the
# overlap the rotated-out value still works where it verifies or authenticates something that may
# still be on the old one: WeChat Pay callbacks encrypted with the old APIv3 key, Alipay callbacks
# signed with Alipay's old key, logins while the vendor still knows the old app secret or app key.
ROTATABLE: dict[str, dict[str, str]] = {
    WECHAT_MINIPROGRAM: {"app_secret": "app_secret", "apiv3_key": "wechatpay_apiv3_key",
                         "wechatpay_apiv3_key": "wechatpay_apiv3_key",
                         "private_key": "wechatpay_private_key", "wechatpay_private_key": "wechatpay_private_key"},
    ALIPAY_MINIPROGRAM: {"private_key": "app_private_key", "app_private_key": "app_private_key",
                         "alipay_public_key": "alipay_public_key"},
    WECHAT_OA: {"app_secret": "app_secret"},
    ALIPAY_WEB: {"private_key": "app_private_key", "app_private_key": "app_private_key",
                 "alipay_public_key": "alipay_public_key"},
}
PUBLIC_ROTATABLE = frozenset({"alipay_public_key"})  # keys, not secrets: shown, stored in clear
DEFAULT_OVERLAP_SECONDS = 86_400
MAX_OVERLAP_SECONDS = 30 * 86_400


def _read_value(credentials: ChannelCredentials, stored_name: str, value: str, body: dict[str, Any]) -> dict[str, str]:
    """The public entries a new value implies (an app private key: its public key); ValidationFailed
    when it cannot be the secret or key it is meant to be."""
    if stored_name == "wechatpay_apiv3_key" and len(value.encode()) != 32:
        raise ValidationFailed(errors=[FieldError("value", "invalid", "APIv3 密钥应为 32 个字符",
                                                  "an APIv3 key has 32 characters")])
    if stored_name == "app_secret" and not 8 <= len(value) <= 128:
        raise ValidationFailed(errors=[FieldError("value", "invalid", "AppSecret 应为 8 到 128 个字符",
                                                  "an app secret has 8 to 128 characters")])
    try:
        derived = credentials.derived_public(stored_name, value)
    except (ValueError, TypeError):
        raise ValidationFailed(errors=[FieldError("value", "invalid", "密钥无法读取（RSA PEM）",
                                                  "not a readable RSA key (PEM)")]) from None
    if stored_name == "wechatpay_private_key":
        serial = body.get("serial_no")
        if not isinstance(serial, str) or not 8 <= len(serial) <= 64 or not serial.isalnum():
            raise ValidationFailed(errors=[FieldError("serial_no", "required", "更换商户私钥需同时提供新证书序列号",
                                                      "a new merchant key needs its certificate's serial_no")])
    return derived


async def rotate_secret(ctx: Context, app_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Make `value` the current `secret` of a channel; the one it replaces stays valid where it is
    checked (callbacks, login fallbacks) for `overlap_seconds` (default one day, 0 = not at all).

    409 rotation_conflict when the secret changed meanwhile (another rotation won).
    """
    current = await ctx.db.channels.find_one({"app_id": app_id})
    if current is None:
        raise not_found()
    kind = current["kind"]
    names = ROTATABLE[kind]
    errors: list[FieldError] = []
    asked, value, overlap = body.get("secret"), body.get("value"), body.get("overlap_seconds", DEFAULT_OVERLAP_SECONDS)
    if not isinstance(asked, str) or asked not in names:
        errors.append(FieldError("secret", "invalid", "可轮换：" + "、".join(sorted(names)),
                                 "rotatable here: " + ", ".join(sorted(names))))
    if not isinstance(value, str) or not value.strip() or len(value) > 10_000:
        errors.append(FieldError("value", "required", "请提供新的密钥值", "value must be the new secret"))
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap <= MAX_OVERLAP_SECONDS:
        errors.append(FieldError("overlap_seconds", "invalid", f"overlap_seconds 应为 0 到 {MAX_OVERLAP_SECONDS} 的整数",
                                 f"overlap_seconds must be a whole number from 0 to {MAX_OVERLAP_SECONDS}"))
    if errors:
        raise ValidationFailed(errors=errors)
    stored_name = names[asked]
    value = value if value.lstrip().startswith("-----") else value.strip()
    derived = _read_value(ctx.channel_credentials[kind], stored_name, value, body)
    is_public = stored_name in PUBLIC_ROTATABLE
    field = ("public." if is_public else "secrets.") + stored_name
    old_stored = (current.get("public" if is_public else "secrets") or {}).get(stored_name)
    channel = from_document(ctx, current)
    old_value = (channel.public if is_public else channel.secrets).get(stored_name)
    if old_value == value:
        raise ValidationFailed(errors=[FieldError("value", "unchanged", "新值与当前值相同", "value is the current one")])
    now = ctx.clock()
    until = now + datetime.timedelta(seconds=overlap)
    update: dict[str, Any] = {
        field: value if is_public else ctx.cipher.encrypt(value, secret_context(current["_id"], stored_name)),
        f"rotated_at.{stored_name}": now, "updated_at": now,
    }
    if old_value:
        update[f"previous.{stored_name}"] = {
            "value": old_value if is_public else ctx.cipher.encrypt(old_value, previous_context(current["_id"], stored_name)),
            "secret": not is_public, "until": until, "rotated_at": now, "fingerprint": fingerprint(old_value)}
    for public_name, public_value in derived.items():
        update[f"public.{public_name}"] = public_value
    if stored_name == "wechatpay_private_key":
        update["public.wechatpay_serial_no"] = body["serial_no"]
    guard: dict[str, Any] = {"_id": current["_id"]}
    if old_stored is not None:
        guard[field] = old_stored
    doc = await ctx.db.channels.find_one_and_update(guard, {"$set": update}, return_document=ReturnDocument.AFTER)
    if doc is None:
        raise Conflict("rotation_conflict", "该密钥刚被修改，请刷新后重试", "This secret changed meanwhile; reload and retry")
    ctx.extras.get("payments_channel_cache", {}).pop(current["_id"], None)
    log.info("channel %s: %s rotated, the previous one accepted until %s", app_id, stored_name, until.isoformat())
    return {"secret": stored_name, "rotated_at": now, "previous_valid_until": until if old_value else None,
            "channel": channel_view(ctx, doc)}
