"""Channels (渠道): the third-party entrances citizens come through (WeChat and Alipay mini-programs,
and their H5 entrances: a WeChat official account's and an Alipay web app's web authorisation).

A channel document holds the app's id, its API base URL (the real vendor or our sandbox: the client
code is the same, only this URL differs), non-secret key material in `public`, and secrets in
`secrets`, each encrypted at rest with the field cipher. Ciphertexts carry their key id, so
`rotate_channel_secrets` can re-encrypt them under a new key while old values still decrypt.
Loaded, a channel is a `models.ports.Channel`: the plain config the channel adapters work from.

- `store`: loading and saving channels, re-encrypting their secrets.
- `console`: operators manage channels through `/admin/v1/channels`: secrets are write-only
  (answers show `secret_set`, a `sha256:` fingerprint and `rotated_at` per secret, never a value);
  sending a new secret in a PATCH replaces it at once; `kind` and `app_id` never change.
  `exposed_services` lists what a channel offers, in which order and regions (models.exposure; empty:
  every item). A channel is deleted only when nothing depends on it: the demo channels (recreated
  at every start by server.demo_channels) and channels through which citizens logged in or fee
  orders were placed are refused with 409 — disable them instead, so their identities and refunds
  keep working history.
- `checks`: a channel is enabled only with a config that passes `check_config` (calling the channel).
- `rotation`: `rotate_secret` keeps the old value valid for an overlap window (`previous.<name>`,
  see `Channel.previous_values`).
- `identity`: logins and phone numbers through the channel kind's IdentityProvider, failures mapped
  to the problems the citizen's app sees.

Payment merchant keys are set through `/admin/v1/channels/{app_id}/merchant` (models.payments)
instead. Changing an Alipay app's private key here does not re-register it with the sandbox gateway
(the demo loader does that for the demo channel).
"""

from models.channels.checks import ChannelCheckFailed, check_channel, check_config
from models.channels.console import (
    CHANNEL_PUBLIC,
    CHANNEL_SECRETS,
    channel_usage,
    channel_view,
    create_channel,
    delete_channel,
    fingerprint,
    get_channel_view,
    list_channels,
    parse_channel,
    update_channel,
)
from models.channels.rotation import (
    DEFAULT_OVERLAP_SECONDS,
    MAX_OVERLAP_SECONDS,
    PUBLIC_ROTATABLE,
    ROTATABLE,
    rotate_secret,
)
from models.channels.store import (
    ALIPAY_MINIPROGRAM,
    ALIPAY_WEB,
    DEMO_ALIPAY_APP_ID,
    DEMO_ALIPAY_WEB_APP_ID,
    DEMO_APP_IDS,
    DEMO_WECHAT_APP_ID,
    DEMO_WECHAT_OA_APP_ID,
    KINDS,
    WEB_KINDS,
    WECHAT_MINIPROGRAM,
    WECHAT_OA,
    ensure_indexes,
    find_channel,
    get_enabled,
    rotate_channel_secrets,
    set_enabled,
    upsert_channel,
)
from models.ports import Channel, ChannelError

__all__ = [
    "ALIPAY_MINIPROGRAM", "ALIPAY_WEB", "DEMO_ALIPAY_WEB_APP_ID", "DEMO_WECHAT_OA_APP_ID", "WEB_KINDS", "WECHAT_OA",
    "CHANNEL_PUBLIC", "CHANNEL_SECRETS", "DEFAULT_OVERLAP_SECONDS", "DEMO_ALIPAY_APP_ID",
    "DEMO_APP_IDS", "DEMO_WECHAT_APP_ID", "KINDS", "MAX_OVERLAP_SECONDS", "PUBLIC_ROTATABLE", "ROTATABLE",
    "WECHAT_MINIPROGRAM", "Channel", "ChannelCheckFailed", "ChannelError", "channel_usage", "channel_view",
    "check_channel", "check_config", "create_channel", "delete_channel", "ensure_indexes", "find_channel",
    "fingerprint", "get_channel_view", "get_enabled", "list_channels", "parse_channel", "rotate_channel_secrets",
    "rotate_secret", "set_enabled", "update_channel", "upsert_channel",
]
