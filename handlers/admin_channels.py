"""Operators: the third-party channels (WeChat and Alipay mini-programs) citizens come through.

Permissions (models.access): channels.read to read, channels.manage to change. Secrets are
write-only; enabling a channel checks its config by calling the channel first; rotations keep the
replaced secret valid for an overlap window. The merchant set-up for payments is in
handlers.admin_payments (`/admin/v1/channels/{app_id}/merchant`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from handlers.base import BaseHandler, requires
from handlers.contract import BY_DOMAIN, Answer, Body, Page, PageQuery, Timestamp, declare
from models import access, channels

# ---- the contract ---------------------------------------------------------------------------------
ChannelKind = str  # wechat_miniprogram or alipay_miniprogram


class ExposedService(Body):
    code: str
    order: int = 0
    regions: list[str] = []


class ChannelSettings(Body):
    """Settings of a channel; `secrets` are write-only (app_secret, private keys, APIv3 key...).
    The domain checks every field and names each bad one (models.channels.parse_channel)."""

    name: Annotated[str, BY_DOMAIN] | None = None
    api_base_url: Annotated[str, BY_DOMAIN] | None = None
    timeout_seconds: Annotated[float, BY_DOMAIN] | None = None
    enabled: Annotated[bool, BY_DOMAIN] | None = None
    secrets: Annotated[dict[str, str], BY_DOMAIN] | None = None
    public: Annotated[dict[str, Any], BY_DOMAIN] | None = None
    templates: Annotated[dict[str, Any], BY_DOMAIN] | None = None
    exposed_services: Annotated[list[str | ExposedService], BY_DOMAIN] | None = None


class NewChannel(ChannelSettings, kw_only=True):
    kind: Annotated[Literal["wechat_miniprogram", "alipay_miniprogram"], BY_DOMAIN]
    app_id: Annotated[str, BY_DOMAIN]


class ChannelsQuery(PageQuery):
    kind: str | None = None


class PreviousSecret(Answer):
    fingerprint: str | None
    valid_until: Timestamp | None


class SecretState(Answer):
    set: bool
    fingerprint: str
    rotated_at: Timestamp | None
    previous: PreviousSecret | None = None


class ExposedServiceView(Answer):
    code: str
    order: int
    regions: list[str]


class ChannelView(Answer):
    """A channel as operators see it: every setting, secrets only as set/fingerprint/rotated_at."""

    id: str
    kind: str
    app_id: str
    name: str
    enabled: bool
    api_base_url: str
    timeout_seconds: float | int
    public: dict[str, Any]
    public_previous: dict[str, PreviousSecret]
    templates: dict[str, Any]
    exposed_services: list[ExposedServiceView]
    secret_set: bool
    secrets: dict[str, SecretState]
    last_check: dict[str, Any] | None
    demo: bool
    created_at: Timestamp | None
    updated_at: Timestamp | None


class ChannelCheck(Answer):
    """The outcome of calling the channel with its stored config."""

    app_id: str
    ok: bool
    at: Timestamp
    call: str | None = None
    error: Any = None


class Rotation(Body):
    """What to rotate (app_secret, private_key, apiv3_key or alipay_public_key) and its new value."""

    secret: Annotated[str, BY_DOMAIN]
    value: Annotated[str, BY_DOMAIN]
    overlap_seconds: Annotated[int, BY_DOMAIN] | None = None
    serial_no: Annotated[str, BY_DOMAIN] | None = None


class Rotated(Answer):
    secret: str
    rotated_at: Timestamp
    previous_valid_until: Timestamp | None


CHANNEL_CONFLICTS = {409: "The app_id has a channel, or the channel is a demo one or in use"}


class ChannelsHandler(BaseHandler):
    """List channels (?kind=) or create one {kind, app_id, name, api_base_url, secrets, public?, enabled?, templates?, exposed_services?}; secrets are write-only."""

    @requires(access.CHANNELS_READ)
    @declare(query=ChannelsQuery, answer=Page[ChannelView])
    async def get(self) -> None:
        """Channels by app_id; secrets only as `secret_set`, fingerprints and when each was rotated."""
        self.write_json(await channels.list_channels(self.ctx, kind=self.get_query_argument("kind", None) or None,
                                                     page=self.query.page, page_size=self.query.page_size))

    @requires(access.CHANNELS_MANAGE)
    @declare(body=NewChannel, answer=ChannelView, status=201, errors=CHANNEL_CONFLICTS,
             example={"kind": "wechat_miniprogram", "app_id": "wx1234567890abcdef", "name": "城市服务（微信）",
                      "api_base_url": "https://api.weixin.qq.com", "secrets": {"app_secret": "your app secret"}})
    async def post(self) -> None:
        """Create a channel (disabled unless `enabled: true`, which must pass the config check: 422
        channel_check_failed); 409 channel_exists when the app_id has one."""
        self.write_json(await channels.create_channel(self.ctx, self.json_body()), 201)


class ChannelHandler(BaseHandler):
    """One channel: read, change (enabling runs the config check; exposed services), or delete one nobody depends on."""

    path_params = ("app_id",)

    @requires(access.CHANNELS_READ)
    @declare(answer=ChannelView)
    async def get(self, app_id: str) -> None:
        """The channel without its secrets."""
        self.write_json(await channels.get_channel_view(self.ctx, app_id))

    @requires(access.CHANNELS_MANAGE)
    @declare(body=ChannelSettings, answer=ChannelView, errors=CHANNEL_CONFLICTS)
    async def patch(self, app_id: str) -> None:
        """Change some settings; secrets sent replace the stored ones (no overlap: use /rotations);
        enabling, or changing an enabled channel's URL, secrets or keys, must pass the config check."""
        self.write_json(await channels.update_channel(self.ctx, app_id, self.json_body()))

    @requires(access.CHANNELS_MANAGE)
    @declare(answer=None, status=204, errors=CHANNEL_CONFLICTS)
    async def delete(self, app_id: str) -> None:
        """Delete; 409 for demo channels and channels with linked citizens or fee orders (disable those)."""
        await channels.delete_channel(self.ctx, app_id)
        self.set_status(204)
        self.finish()


class ChannelCheckHandler(BaseHandler):
    """Check a channel's stored config by calling the channel (WeChat: access token; Alipay: a signed gateway call) → {ok, call, at, error?}."""

    path_params = ("app_id",)

    @requires(access.CHANNELS_MANAGE)
    @declare(answer=ChannelCheck)
    async def post(self, app_id: str) -> None:
        """Check the stored config by calling the channel."""
        self.write_json(await channels.check_channel(self.ctx, app_id))


class ChannelRotationsHandler(BaseHandler):
    """Rotate a channel secret or key {secret: app_secret|private_key|apiv3_key|alipay_public_key, value, overlap_seconds?, serial_no?}; the replaced one stays valid for the overlap window."""

    path_params = ("app_id",)

    @requires(access.CHANNELS_MANAGE)
    @declare(body=Rotation, answer=Rotated, status=201, errors={409: "The channel changed meanwhile"})
    async def post(self, app_id: str) -> None:
        """Rotate a secret or key; the replaced one stays valid for the overlap window."""
        self.write_json(await channels.rotate_secret(self.ctx, app_id, self.json_body()), 201)


routes = [
    (r"/admin/v1/channels", ChannelsHandler),
    (r"/admin/v1/channels/([^/]+)", ChannelHandler),
    (r"/admin/v1/channels/([^/]+)/check", ChannelCheckHandler),
    (r"/admin/v1/channels/([^/]+)/rotations", ChannelRotationsHandler),
]
