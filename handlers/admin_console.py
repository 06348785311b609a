"""Operators' console: the inspection scorecard and the audit log (channels: handlers.admin_channels).

Permissions (models.access): scorecard.read, audit.read. The scorecard and the audit log are
limited to the operator's scope.
"""

from __future__ import annotations

from handlers.base import BaseHandler, requires
from models import access, audit, scorecard


class ScorecardHandler(BaseHandler):
    """The inspection scorecard: five dimensions with indicators, 0–100 scores and worst offenders (?department=&region=)."""

    @requires(access.SCORECARD_READ)
    async def get(self) -> None:
        self.write_json(await scorecard.scorecard(
            self.ctx, self.scope, department=self.get_query_argument("department", None) or None,
            region=self.get_query_argument("region", None) or None))


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
    (r"/admin/v1/audit", AuditHandler),
]
