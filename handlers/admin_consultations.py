"""Operators: answer consultations, respond to rectification cases, handle error reports, statistics.

Permissions (models.access): consultations.read for lists, details and statistics;
consultations.work to reply, close, respond and resolve. Everything is limited to the operator's scope.
"""

from __future__ import annotations

import datetime

from handlers.base import BaseHandler, requires
from models import access, consultations, feedback, ratings
from models.core.timezone import SHANGHAI
from models.errors import BadRequest


class AdminHandler(BaseHandler):
    """Shared query-argument parsing for this module's handlers."""

    def flag(self, name: str) -> bool:
        raw = self.get_query_argument(name, "").lower()
        if raw not in ("", "true", "false", "1", "0", "yes", "no"):
            raise BadRequest("invalid_query", f"{name} 应为 true 或 false", f"{name} must be true or false")
        return raw in ("true", "1", "yes")

    def text_arg(self, name: str) -> str | None:
        value = self.get_query_argument(name, "").strip()
        if len(value) > 64:
            raise BadRequest("invalid_query", f"{name} 过长", f"{name} is too long")
        return value or None

    def date_arg(self, name: str, end: bool = False) -> datetime.datetime | None:
        """A YYYY-MM-DD date (Asia/Shanghai) as the instant its day starts (or ends, for `end`)."""
        raw = self.get_query_argument(name, "")
        if not raw:
            return None
        try:
            day = datetime.date.fromisoformat(raw) + datetime.timedelta(days=1 if end else 0)
            # In UTC here, so that a day at either end of the calendar fails now, not in the datastore driver.
            return datetime.datetime.combine(day, datetime.time(0), tzinfo=SHANGHAI).astimezone(datetime.UTC)
        except (ValueError, OverflowError):
            raise BadRequest("invalid_query", f"{name} 应为 YYYY-MM-DD 日期", f"{name} must be a YYYY-MM-DD date") from None


class AdminConsultationsHandler(AdminHandler):
    """Consultations of my department: ?unanswered=true, ?overdue=true (past the answer deadline), ?department=."""

    @requires(access.CONSULTATIONS_READ)
    async def get(self) -> None:
        page, page_size = self.page_args()
        self.write_json(await consultations.list_for_operator(
            self.ctx, self.scope, department=self.text_arg("department"), unanswered=self.flag("unanswered"),
            overdue=self.flag("overdue"), kind=self.text_arg("kind"), status=self.text_arg("status"),
            page=page, page_size=page_size))


class AdminConsultationStatsHandler(AdminHandler):
    """Per department: median and 90th-percentile first-answer time in working hours, waiting and overdue."""

    @requires(access.CONSULTATIONS_READ)
    async def get(self) -> None:
        self.write_json(await consultations.answer_time_stats(
            self.ctx, self.scope, department=self.text_arg("department"),
            since=self.date_arg("from"), until=self.date_arg("to", end=True)))


class AdminConsultationHandler(AdminHandler):
    """One consultation of my department with every turn."""

    path_params = ("id",)

    @requires(access.CONSULTATIONS_READ)
    async def get(self, consultation_id: str) -> None:
        self.write_json(await consultations.get_for_operator(self.ctx, self.scope, consultation_id))


class AdminConsultationReplyHandler(AdminHandler):
    """Reply to a consultation (one turn; the citizen is notified)."""

    path_params = ("id",)

    @requires(access.CONSULTATIONS_WORK)
    async def post(self, consultation_id: str) -> None:
        body = self.json_body()
        self.write_json(await consultations.reply(self.ctx, self.scope, consultation_id, body), 201)


class AdminConsultationCloseHandler(AdminHandler):
    """Close a consultation (a note is required when it was never answered); the citizen may then rate it."""

    path_params = ("id",)

    @requires(access.CONSULTATIONS_WORK)
    async def post(self, consultation_id: str) -> None:
        body = self.json_body()
        self.write_json(await consultations.close(self.ctx, self.scope, consultation_id, body))


class AdminRectificationsHandler(AdminHandler):
    """Rectification cases (差评整改) of my department: ?status=open|responded|closed, ?overdue=true."""

    @requires(access.CONSULTATIONS_READ)
    async def get(self) -> None:
        page, page_size = self.page_args()
        self.write_json(await ratings.list_cases(
            self.ctx, self.scope, department=self.text_arg("department"), status=self.text_arg("status"),
            overdue=self.flag("overdue"), page=page, page_size=page_size))


class AdminRectificationHandler(AdminHandler):
    """One rectification case."""

    path_params = ("id",)

    @requires(access.CONSULTATIONS_READ)
    async def get(self, case_id: str) -> None:
        self.write_json(await ratings.get_case_for_operator(self.ctx, self.scope, case_id))


class AdminRectificationResponseHandler(AdminHandler):
    """Respond to a rectification case (required text); the citizen gets the follow-up question."""

    path_params = ("id",)

    @requires(access.CONSULTATIONS_WORK)
    async def post(self, case_id: str) -> None:
        body = self.json_body()
        self.write_json(await ratings.respond(self.ctx, self.scope, case_id, body))


class AdminRatingStatsHandler(AdminHandler):
    """Rating statistics per department and per service: grades, average, satisfaction rate, rectifications."""

    @requires(access.CONSULTATIONS_READ)
    async def get(self) -> None:
        self.write_json(await ratings.rating_stats(
            self.ctx, self.scope, department=self.text_arg("department"), service_code=self.text_arg("service_code"),
            since=self.date_arg("from"), until=self.date_arg("to", end=True)))


class AdminFeedbackListHandler(AdminHandler):
    """Error reports on my department's items: ?status=pending|confirmed|fixed|explained, ?service_code=."""

    @requires(access.CONSULTATIONS_READ)
    async def get(self) -> None:
        page, page_size = self.page_args()
        self.write_json(await feedback.list_for_operator(
            self.ctx, self.scope, department=self.text_arg("department"), status=self.text_arg("status"),
            service_code=self.text_arg("service_code"), page=page, page_size=page_size))


class AdminFeedbackHandler(AdminHandler):
    """One error report."""

    path_params = ("id",)

    @requires(access.CONSULTATIONS_READ)
    async def get(self, feedback_id: str) -> None:
        self.write_json(await feedback.get_for_operator(self.ctx, self.scope, feedback_id))


class AdminFeedbackResolutionHandler(AdminHandler):
    """Handle an error report: confirm, fix (with a note), or explain; the reporter is answered."""

    path_params = ("id",)

    @requires(access.CONSULTATIONS_WORK)
    async def post(self, feedback_id: str) -> None:
        body = self.json_body()
        self.write_json(await feedback.resolve(self.ctx, self.scope, feedback_id, body))


# `/consultations/stats` precedes `/consultations/{id}`: Tornado takes the first matching pattern.
routes = [
    (r"/admin/v1/consultations", AdminConsultationsHandler),
    (r"/admin/v1/consultations/stats", AdminConsultationStatsHandler),
    (r"/admin/v1/consultations/([^/]+)", AdminConsultationHandler),
    (r"/admin/v1/consultations/([^/]+)/reply", AdminConsultationReplyHandler),
    (r"/admin/v1/consultations/([^/]+)/close", AdminConsultationCloseHandler),
    (r"/admin/v1/rectifications", AdminRectificationsHandler),
    (r"/admin/v1/rectifications/([^/]+)", AdminRectificationHandler),
    (r"/admin/v1/rectifications/([^/]+)/response", AdminRectificationResponseHandler),
    (r"/admin/v1/ratings/stats", AdminRatingStatsHandler),
    (r"/admin/v1/feedback", AdminFeedbackListHandler),
    (r"/admin/v1/feedback/([^/]+)", AdminFeedbackHandler),
    (r"/admin/v1/feedback/([^/]+)/resolution", AdminFeedbackResolutionHandler),
]
