"""Operators: the third-party channels (WeChat and Alipay mini-programs) citizens come through.

Permissions (models.access): channels.read to read, channels.manage to change. Secrets are
write-only; enabling a channel checks its config by calling the channel first; rotations keep the
replaced secret valid for an overlap window. The merchant set-up for payments is in
handlers.admin_payments (`/admin/v1/channels/{app_id}/merchant`).
"""

from __future__ import annotations

from handlers.base import BaseHandler, requires
from models import access, channels


class ChannelsHandler(BaseHandler):
    """List channels (?kind=) or create one {kind, app_id, name, api_base_url, secrets, public?, enabled?, templates?, exposed_services?}; secrets are write-only."""

    @requires(access.CHANNELS_READ)
    async def get(self) -> None:
        """Channels by app_id; secrets only as `secret_set`, fingerprints and when each was rotated."""
        page, size = self.page_args()
        self.write_json(await channels.list_channels(
            self.ctx, kind=self.get_query_argument("kind", None) or None, page=page, page_size=size))

    @requires(access.CHANNELS_MANAGE)
    async def post(self) -> None:
        """Create a channel (disabled unless `enabled: true`, which must pass the config check: 422
        channel_check_failed); 409 channel_exists when the app_id has one."""
        self.write_json(await channels.create_channel(self.ctx, self.json_body()), 201)


class ChannelHandler(BaseHandler):
    """One channel: read, change (enabling runs the config check; exposed services), or delete one nobody depends on."""

    path_params = ("app_id",)

    @requires(access.CHANNELS_READ)
    async def get(self, app_id: str) -> None:
        """The channel without its secrets."""
        self.write_json(await channels.get_channel_view(self.ctx, app_id))

    @requires(access.CHANNELS_MANAGE)
    async def patch(self, app_id: str) -> None:
        """Change some settings; secrets sent replace the stored ones (no overlap: use /rotations);
        enabling, or changing an enabled channel's URL, secrets or keys, must pass the config check."""
        self.write_json(await channels.update_channel(self.ctx, app_id, self.json_body()))

    @requires(access.CHANNELS_MANAGE)
    async def delete(self, app_id: str) -> None:
        """Delete; 409 for demo channels and channels with linked citizens or fee orders (disable those)."""
        await channels.delete_channel(self.ctx, app_id)
        self.set_status(204)
        self.finish()


class ChannelCheckHandler(BaseHandler):
    """Check a channel's stored config by calling the channel (WeChat: access token; Alipay: a signed gateway call) → {ok, call, at, error?}."""

    path_params = ("app_id",)

    @requires(access.CHANNELS_MANAGE)
    async def post(self, app_id: str) -> None:
        self.write_json(await channels.check_channel(self.ctx, app_id))


class ChannelRotationsHandler(BaseHandler):
    """Rotate a channel secret or key {secret: app_secret|private_key|apiv3_key|alipay_public_key, value, overlap_seconds?, serial_no?}; the replaced one stays valid for the overlap window."""

    path_params = ("app_id",)

    @requires(access.CHANNELS_MANAGE)
    async def post(self, app_id: str) -> None:
        self.write_json(await channels.rotate_secret(self.ctx, app_id, self.json_body()), 201)


routes = [
    (r"/admin/v1/channels", ChannelsHandler),
    (r"/admin/v1/channels/([^/]+)", ChannelHandler),
    (r"/admin/v1/channels/([^/]+)/check", ChannelCheckHandler),
    (r"/admin/v1/channels/([^/]+)/rotations", ChannelRotationsHandler),
]
