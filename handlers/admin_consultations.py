"""Operators: answer consultations, respond to rectification cases, handle error reports, statistics.

Permissions (models.access): consultations.read for lists, details and statistics;
consultations.work to reply, close, respond and resolve. Everything is limited to the operator's scope.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

import msgspec

from handlers.base import BaseHandler, requires
from handlers.contract import BY_DOMAIN, Answer, Body, Flag, Page, PageQuery, Query, Timestamp, declare, one_of
from models import access, consultations, feedback, ratings
from models.core.timezone import local_instant
from models.errors import BadRequest

# ---- the contract ---------------------------------------------------------------------------------
# Query arguments keep the checks they had before the contract (`AdminHandler` reads them): texts at
# most 64 characters, dates YYYY-MM-DD (Asia/Shanghai).
Text = Annotated[str, msgspec.Meta(description="at most 64 characters")]
DayText = Annotated[str, msgspec.Meta(description="YYYY-MM-DD (Asia/Shanghai), inclusive")]


class ConsultationsQuery(PageQuery):
    department: Text = ""
    unanswered: Annotated[Flag, msgspec.Meta(description="true: waiting for an answer, earliest deadline first")] = False
    overdue: Annotated[Flag, msgspec.Meta(description="true: waiting past the answer deadline")] = False
    kind: Annotated[str, msgspec.Meta(description="consultation or complaint")] = ""
    status: Annotated[str, msgspec.Meta(description="open, answered or closed")] = ""


class Period(Query):
    since: DayText = msgspec.field(name="from", default="")
    until: DayText = msgspec.field(name="to", default="")


class AnswerTimeQuery(Period):
    department: Text = ""


class RatingStatsQuery(Period):
    department: Text = ""
    service_code: Text = ""


class RectificationsQuery(PageQuery):
    department: Text = ""
    status: Annotated[str, msgspec.Meta(description="open, responded or closed")] = ""
    overdue: Annotated[Flag, msgspec.Meta(description="true: still open past the deadline")] = False


class FeedbackQuery(PageQuery):
    department: Text = ""
    status: Annotated[str, msgspec.Meta(description="pending, confirmed, fixed or explained")] = ""
    service_code: Text = ""


# Free text is checked by models.usertext (its own codes: required, not_text, too_long, too_short).
class ConsultationReply(Body):
    content: Annotated[str, msgspec.Meta(min_length=1, max_length=consultations.CONTENT_MAX), BY_DOMAIN]


class ConsultationClosing(Body):
    """A final note, required when the consultation was never answered (it becomes the answer)."""

    note: Annotated[str, msgspec.Meta(max_length=consultations.CONTENT_MAX), BY_DOMAIN] = msgspec.UNSET


class RectificationResponse(Body):
    response: Annotated[str, msgspec.Meta(min_length=ratings.RESPONSE_MIN, max_length=ratings.RESPONSE_MAX), BY_DOMAIN]


FeedbackAction = one_of(feedback.ACTIONS)


class FeedbackResolution(Body):
    """`confirm` (it is an error), `fix` (corrected; a note of 5+ characters) or `explain` (the content is right)."""

    action: Annotated[FeedbackAction, BY_DOMAIN]
    note: Annotated[str, msgspec.Meta(max_length=feedback.NOTE_MAX), BY_DOMAIN] = msgspec.UNSET


class ConsultationAdminTurn(Answer, kw_only=True):
    """One turn of the conversation; an operator's turn says who answered and how long it took."""

    seq: int
    author: str
    content: str
    attachments: list[str]
    created_at: Timestamp
    operator_id: str | None = None
    answer_working_hours: float | None = None


class ConsultationAdminSummary(Answer):
    """A consultation or complaint as the department sees it in a list."""

    id: str
    kind: str
    service_code: str
    service_name: str | dict[str, Any]
    department: str
    application_no: str | None
    subject: str
    status: str
    turns: int
    created_at: Timestamp
    due_at: Timestamp
    first_answered_at: Timestamp | None
    closed_at: Timestamp | None
    rated: bool
    can_rate: bool
    citizen_id: str
    overdue: bool
    pending_since: Timestamp | None
    first_answer_working_hours: float | None
    answered_late: bool | None


class ConsultationAdminView(ConsultationAdminSummary, kw_only=True):
    """One consultation with every turn."""

    messages: list[ConsultationAdminTurn]


class DepartmentAnswerTimes(Answer):
    department: str
    answered: int
    median_working_hours: float | None
    p90_working_hours: float | None
    answered_late: int
    over_5_working_days: int
    unanswered: int
    overdue: int


class AnswerTimeStats(Answer):
    """First-answer times in working hours, per department."""

    items: list[DepartmentAnswerTimes]
    working_hours_per_day: float


class RectificationAdminFollowUp(Answer):
    question: dict[str, str] | None
    satisfied: bool | None
    comment: str | None
    answered_at: Timestamp | None


class RectificationAdminSummary(Answer):
    """A rectification case (差评整改) opened by an unfavourable rating."""

    id: str
    target_type: str
    target_id: str
    department: str
    service_code: str
    grade: int
    grade_label: str
    comment: str
    status: str
    created_at: Timestamp
    due_at: Timestamp
    overdue: bool
    response: str | None
    responded_at: Timestamp | None
    responded_late: bool
    follow_up: RectificationAdminFollowUp


class RectificationAdminView(RectificationAdminSummary, kw_only=True):
    """One rectification case, with who rated and who responded."""

    citizen_id: str
    responded_by: str | None


class RatingCounts(Answer, kw_only=True):
    total: int
    grades: Annotated[dict[str, int], msgspec.Meta(description="ratings per grade, 5 (very satisfied) to 1")]
    rectifications_open: int
    rectifications_overdue: int
    average_grade: float | None
    satisfaction_rate: Annotated[float | None, msgspec.Meta(description="share of grades 3 to 5")]


class DepartmentRatings(RatingCounts, kw_only=True):
    department: str


class ServiceRatings(RatingCounts, kw_only=True):
    department: str
    service_code: str


class RatingStats(Answer):
    by_department: list[DepartmentRatings]
    by_service: list[ServiceRatings]


class FeedbackAdminView(Answer):
    """An error report (纠错) on a service item, as the department handles it."""

    id: str
    service_code: str
    service_name: str | dict[str, Any]
    element: str
    description: str
    suggestion: str | None
    status: str
    answer: str | None
    created_at: Timestamp
    answered_at: Timestamp | None
    department: str
    citizen_id: str | None
    confirmed_at: Timestamp | None
    answered_by: str | None


class AdminHandler(BaseHandler):
    """Shared query-argument parsing for this module's handlers."""

    @staticmethod
    def text_arg(name: str, raw: str) -> str | None:
        value = raw.strip()
        if len(value) > 64:
            raise BadRequest("invalid_query", f"{name} 过长", f"{name} is too long")
        return value or None

    @staticmethod
    def date_arg(name: str, raw: str, end: bool = False) -> datetime.datetime | None:
        """A YYYY-MM-DD date (Asia/Shanghai) as the instant its day starts (or ends, for `end`)."""
        raw = raw.strip()
        if not raw:
            return None
        try:
            day = datetime.date.fromisoformat(raw) + datetime.timedelta(days=1 if end else 0)
            # In UTC here, so that a day at either end of the calendar fails now, not in the datastore driver.
            return local_instant(day)
        except (ValueError, OverflowError):
            raise BadRequest("invalid_query", f"{name} 应为 YYYY-MM-DD 日期", f"{name} must be a YYYY-MM-DD date") from None


class AdminConsultationsHandler(AdminHandler):
    """Consultations of my department: ?unanswered=true, ?overdue=true (past the answer deadline), ?department=."""

    @requires(access.CONSULTATIONS_READ)
    @declare(query=ConsultationsQuery, answer=Page[ConsultationAdminSummary], errors={422: "An unknown kind or status"})
    async def get(self) -> None:
        query = self.query
        self.write_json(await consultations.list_for_operator(
            self.ctx, self.scope, department=self.text_arg("department", query.department),
            unanswered=query.unanswered, overdue=query.overdue,
            kind=self.text_arg("kind", query.kind), status=self.text_arg("status", query.status),
            page=query.page, page_size=query.page_size))


class AdminConsultationStatsHandler(AdminHandler):
    """Per department: median and 90th-percentile first-answer time in working hours, waiting and overdue."""

    @requires(access.CONSULTATIONS_READ)
    @declare(query=AnswerTimeQuery, answer=AnswerTimeStats)
    async def get(self) -> None:
        query = self.query
        self.write_json(await consultations.answer_time_stats(
            self.ctx, self.scope, department=self.text_arg("department", query.department),
            since=self.date_arg("from", query.since), until=self.date_arg("to", query.until, end=True)))


class AdminConsultationHandler(AdminHandler):
    """One consultation of my department with every turn."""

    path_params = ("id",)

    @requires(access.CONSULTATIONS_READ)
    @declare(answer=ConsultationAdminView)
    async def get(self, consultation_id: str) -> None:
        self.write_json(await consultations.get_for_operator(self.ctx, self.scope, consultation_id))


class AdminConsultationReplyHandler(AdminHandler):
    """Reply to a consultation (one turn; the citizen is notified)."""

    path_params = ("id",)

    @requires(access.CONSULTATIONS_WORK)
    @declare(body=ConsultationReply, answer=ConsultationAdminView, status=201,
             errors={409: "The consultation is closed"}, example={"content": "一般 7 个工作日，可申请加急。"})
    async def post(self, consultation_id: str) -> None:
        body = self.json_body()
        self.write_json(await consultations.reply(self.ctx, self.scope, consultation_id, body), 201)


class AdminConsultationCloseHandler(AdminHandler):
    """Close a consultation (a note is required when it was never answered); the citizen may then rate it."""

    path_params = ("id",)

    @requires(access.CONSULTATIONS_WORK)
    @declare(body=ConsultationClosing, answer=ConsultationAdminView, errors={409: "The consultation is closed already"},
             example={"note": "已电话答复申请人。"})
    async def post(self, consultation_id: str) -> None:
        body = self.json_body()
        self.write_json(await consultations.close(self.ctx, self.scope, consultation_id, body))


class AdminRectificationsHandler(AdminHandler):
    """Rectification cases (差评整改) of my department: ?status=open|responded|closed, ?overdue=true."""

    @requires(access.CONSULTATIONS_READ)
    @declare(query=RectificationsQuery, answer=Page[RectificationAdminSummary], errors={422: "An unknown status"})
    async def get(self) -> None:
        query = self.query
        self.write_json(await ratings.list_cases(
            self.ctx, self.scope, department=self.text_arg("department", query.department),
            status=self.text_arg("status", query.status), overdue=query.overdue,
            page=query.page, page_size=query.page_size))


class AdminRectificationHandler(AdminHandler):
    """One rectification case."""

    path_params = ("id",)

    @requires(access.CONSULTATIONS_READ)
    @declare(answer=RectificationAdminView)
    async def get(self, case_id: str) -> None:
        self.write_json(await ratings.get_case_for_operator(self.ctx, self.scope, case_id))


class AdminRectificationResponseHandler(AdminHandler):
    """Respond to a rectification case (required text); the citizen gets the follow-up question."""

    path_params = ("id",)

    @requires(access.CONSULTATIONS_WORK)
    @declare(body=RectificationResponse, answer=RectificationAdminView, errors={409: "The case was responded to already"},
             example={"response": "已对窗口工作人员进行服务规范培训，并增设了取号引导。"})
    async def post(self, case_id: str) -> None:
        body = self.json_body()
        self.write_json(await ratings.respond(self.ctx, self.scope, case_id, body))


class AdminRatingStatsHandler(AdminHandler):
    """Rating statistics per department and per service: grades, average, satisfaction rate, rectifications."""

    @requires(access.CONSULTATIONS_READ)
    @declare(query=RatingStatsQuery, answer=RatingStats)
    async def get(self) -> None:
        query = self.query
        self.write_json(await ratings.rating_stats(
            self.ctx, self.scope, department=self.text_arg("department", query.department),
            service_code=self.text_arg("service_code", query.service_code),
            since=self.date_arg("from", query.since), until=self.date_arg("to", query.until, end=True)))


class AdminFeedbackListHandler(AdminHandler):
    """Error reports on my department's items: ?status=pending|confirmed|fixed|explained, ?service_code=."""

    @requires(access.CONSULTATIONS_READ)
    @declare(query=FeedbackQuery, answer=Page[FeedbackAdminView], errors={422: "An unknown status"})
    async def get(self) -> None:
        query = self.query
        self.write_json(await feedback.list_for_operator(
            self.ctx, self.scope, department=self.text_arg("department", query.department),
            status=self.text_arg("status", query.status), service_code=self.text_arg("service_code", query.service_code),
            page=query.page, page_size=query.page_size))


class AdminFeedbackHandler(AdminHandler):
    """One error report."""

    path_params = ("id",)

    @requires(access.CONSULTATIONS_READ)
    @declare(answer=FeedbackAdminView)
    async def get(self, feedback_id: str) -> None:
        self.write_json(await feedback.get_for_operator(self.ctx, self.scope, feedback_id))


class AdminFeedbackResolutionHandler(AdminHandler):
    """Handle an error report: confirm, fix (with a note), or explain; the reporter is answered."""

    path_params = ("id",)

    @requires(access.CONSULTATIONS_WORK)
    @declare(body=FeedbackResolution, answer=FeedbackAdminView,
             errors={409: "Not possible in the report's current status"},
             example={"action": "fix", "note": "收费标准已更正为 160 元，感谢指正。"})
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
