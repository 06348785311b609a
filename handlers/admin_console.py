"""Operators' console: the inspection scorecard, channel configuration, and the audit log.

Permissions (models.access): scorecard.read, audit.read, channels.read / channels.manage. The
scorecard and the audit log are limited to the operator's scope.
"""

from __future__ import annotations

from handlers.base import BaseHandler, requires
from models import access, audit, channels, scorecard


class ScorecardHandler(BaseHandler):
    """The inspection scorecard: five dimensions with indicators, 0–100 scores and worst offenders (?department=&region=)."""

    @requires(access.SCORECARD_READ)
    async def get(self) -> None:
        self.write_json(await scorecard.scorecard(
            self.ctx, self.scope, department=self.get_query_argument("department", None) or None,
            region=self.get_query_argument("region", None) or None))


class ChannelsHandler(BaseHandler):
    """List channels (?kind=) or create one {kind, app_id, name, api_base_url, secrets, public?, enabled?, templates?, exposed_services?}; secrets are write-only."""

    @requires(access.CHANNELS_READ)
    async def get(self) -> None:
        """Channels by app_id; secrets only as `secret_set` and fingerprints."""
        page, size = self.page_args()
        self.write_json(await channels.list_channels(
            self.ctx, kind=self.get_query_argument("kind", None) or None, page=page, page_size=size))

    @requires(access.CHANNELS_MANAGE)
    async def post(self) -> None:
        """Create a channel; 409 channel_exists when the app_id has one."""
        self.write_json(await channels.create_channel(self.ctx, self.json_body()), 201)


class ChannelHandler(BaseHandler):
    """One channel: read, change (enable/disable, rotate a secret by sending a new one), or delete one nobody depends on."""

    path_params = ("app_id",)

    @requires(access.CHANNELS_READ)
    async def get(self, app_id: str) -> None:
        """The channel without its secrets."""
        self.write_json(await channels.get_channel_view(self.ctx, app_id))

    @requires(access.CHANNELS_MANAGE)
    async def patch(self, app_id: str) -> None:
        """Change some settings; secrets sent replace the stored ones."""
        self.write_json(await channels.update_channel(self.ctx, app_id, self.json_body()))

    @requires(access.CHANNELS_MANAGE)
    async def delete(self, app_id: str) -> None:
        """Delete; 409 for demo channels and channels with linked citizens or fee orders (disable those)."""
        await channels.delete_channel(self.ctx, app_id)
        self.set_status(204)
        self.finish()


class AuditHandler(BaseHandler):
    """Who changed what: operators' write requests, newest first (?operator=&since=&until=&route=&page=&page_size=)."""

    @requires(access.AUDIT_READ)
    async def get(self) -> None:
        page, size = self.page_args()
        arg = self.get_query_argument
        self.write_json(await audit.search(
            self.ctx, operator=arg("operator", None) or None, since=arg("since", None) or None,
            until=arg("until", None) or None, route=arg("route", None) or None, page=page, page_size=size))


routes = [
    (r"/admin/v1/scorecard", ScorecardHandler),
    (r"/admin/v1/channels", ChannelsHandler),
    (r"/admin/v1/channels/([^/]+)", ChannelHandler),
    (r"/admin/v1/audit", AuditHandler),
]
