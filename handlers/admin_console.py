"""Operators' console: the inspection scorecard, channel configuration, and the audit log.

Roles: `supervisor` reads the scorecard and the audit log; `channels` manages channels; `admin`
holds every role. A supervisor with a department sees the scorecard of that department only.
"""

from __future__ import annotations

from handlers.admin_consultations import operator_with
from handlers.base import BaseHandler
from models import scorecard
from models.consultations import OperatorScope

SUPERVISOR = "supervisor"


class ScorecardHandler(BaseHandler):
    """The inspection scorecard: five dimensions with indicators, 0–100 scores and worst offenders (?department=&region=)."""

    @operator_with(SUPERVISOR)
    async def get(self) -> None:
        scope = OperatorScope(self.principal.subject_id, self.principal.department)
        self.write_json(await scorecard.scorecard(
            self.ctx, scope, department=self.get_query_argument("department", None) or None,
            region=self.get_query_argument("region", None) or None))


routes = [
    (r"/admin/v1/scorecard", ScorecardHandler),
]
