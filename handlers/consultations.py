"""Citizens: consultations and complaints, ratings (好差评), rectification follow-ups, error reports."""

from __future__ import annotations

from typing import Any

from handlers.base import BaseHandler, citizen_required
from models import consultations, feedback, idempotency, ratelimit, ratings


async def _limit(handler: BaseHandler, name: str, key: str, limit: tuple[int, int]) -> None:
    count, window = limit
    await ratelimit.enforce(handler.ctx.redis, f"{name}:{key}", count, window, "too_many_submissions",
                            "提交过于频繁，请稍后再试", "Too many submissions, please retry later")


async def _once(handler: BaseHandler, scope: str, body: dict[str, Any], create: Any) -> None:
    async def run() -> tuple[int, Any]:
        return 201, await create()
    status, payload = await idempotency.run_once(handler.ctx, scope, handler.request.headers.get("Idempotency-Key"),
                                                 body, run)
    handler.write_json(payload, status)


class ConsultationsHandler(BaseHandler):
    """Ask a question or complain about a service item; list my consultations."""

    @citizen_required
    async def get(self) -> None:
        """My consultations and complaints, newest first."""
        page, page_size = self.page_args()
        self.write_json(await consultations.list_own(self.ctx, self.principal.subject_id, page, page_size))

    @citizen_required
    async def post(self) -> None:
        """Ask (kind=consultation) or complain (kind=complaint); routed to the item's department."""
        body = self.json_body()
        citizen_id = self.principal.subject_id
        await _limit(self, "consultation-create", citizen_id, consultations.RATE_LIMITS["create"])
        await _once(self, f"citizen:{citizen_id}:consultations.create", body,
                    lambda: consultations.create(self.ctx, citizen_id, body))


class ConsultationHandler(BaseHandler):
    """One of my consultations with every turn of the conversation."""

    path_params = ("id",)

    @citizen_required
    async def get(self, consultation_id: str) -> None:
        self.write_json(await consultations.get_own(self.ctx, self.principal.subject_id, consultation_id))


class ConsultationMessagesHandler(BaseHandler):
    """Add a follow-up question to my consultation (re-opens it with a new answer deadline)."""

    path_params = ("id",)

    @citizen_required
    async def post(self, consultation_id: str) -> None:
        body = self.json_body()
        citizen_id = self.principal.subject_id
        await _limit(self, "consultation-message", citizen_id, consultations.RATE_LIMITS["message"])
        self.write_json(await consultations.follow_up(self.ctx, citizen_id, consultation_id, body), 201)


class ConsultationEvaluationHandler(BaseHandler):
    """Rate my closed consultation once (grade 1-5, 5 = 非常满意), or see my rating."""

    path_params = ("id",)

    @citizen_required
    async def get(self, consultation_id: str) -> None:
        """My rating of this consultation."""
        self.write_json(await ratings.get_own_rating(self.ctx, self.principal.subject_id, "consultation",
                                                     str(consultations.parse_id(consultation_id))))

    @citizen_required
    async def post(self, consultation_id: str) -> None:
        """Rate this consultation (once, after it is closed)."""
        body = self.json_body()
        citizen_id = self.principal.subject_id
        await _limit(self, "rating", citizen_id, ratings.RATE_LIMITS["rate"])
        self.write_json(await ratings.rate_consultation(self.ctx, citizen_id, consultation_id, body), 201)


class ApplicationEvaluationHandler(BaseHandler):
    """Rate my completed application once (好差评, grade 1-5, 5 = 非常满意), or see my rating."""

    path_params = ("no",)

    @citizen_required
    async def get(self, application_no: str) -> None:
        """My rating of this application."""
        self.write_json(await ratings.get_own_rating(self.ctx, self.principal.subject_id, "application", application_no))

    @citizen_required
    async def post(self, application_no: str) -> None:
        """Rate this application (once, after it is completed)."""
        body = self.json_body()
        citizen_id = self.principal.subject_id
        await _limit(self, "rating", citizen_id, ratings.RATE_LIMITS["rate"])
        self.write_json(await ratings.rate_application(self.ctx, citizen_id, application_no, body), 201)


class RectificationHandler(BaseHandler):
    """The rectification case my unfavourable rating opened: the department's response and follow-up."""

    path_params = ("id",)

    @citizen_required
    async def get(self, case_id: str) -> None:
        self.write_json(await ratings.get_case_for_citizen(self.ctx, self.principal.subject_id, case_id))


class RectificationFollowUpHandler(BaseHandler):
    """Answer the follow-up question: am I satisfied with the rectification? (closes the case)"""

    path_params = ("id",)

    @citizen_required
    async def post(self, case_id: str) -> None:
        body = self.json_body()
        self.write_json(await ratings.answer_follow_up(self.ctx, self.principal.subject_id, case_id, body))


class FeedbackHandler(BaseHandler):
    """Report wrong or missing content of a service item (我为政府网站找错); login optional."""

    async def post(self) -> None:
        body = self.json_body()
        citizen_id = self.principal.subject_id if self.principal and self.principal.kind == "citizen" else None
        if citizen_id:
            await _limit(self, "feedback", citizen_id, feedback.RATE_LIMITS["citizen"])
        else:
            await _limit(self, "feedback-anon", self.request.remote_ip or "unknown", feedback.RATE_LIMITS["anonymous"])
        scope = f"citizen:{citizen_id}" if citizen_id else f"ip:{self.request.remote_ip}"
        await _once(self, f"{scope}:feedback.create", body, lambda: feedback.report(self.ctx, body, citizen_id))


class FeedbackItemHandler(BaseHandler):
    """My error report and its answer: as the logged-in reporter, or with `?query_code=`."""

    path_params = ("id",)

    async def get(self, feedback_id: str) -> None:
        await _limit(self, "feedback-lookup", self.request.remote_ip or "unknown", feedback.RATE_LIMITS["lookup"])
        citizen_id = self.principal.subject_id if self.principal and self.principal.kind == "citizen" else None
        self.write_json(await feedback.get_for_reporter(
            self.ctx, feedback_id, citizen_id=citizen_id, query_code=self.get_query_argument("query_code", None)))


routes = [
    (r"/api/v1/consultations", ConsultationsHandler),
    (r"/api/v1/consultations/([^/]+)", ConsultationHandler),
    (r"/api/v1/consultations/([^/]+)/messages", ConsultationMessagesHandler),
    (r"/api/v1/consultations/([^/]+)/evaluation", ConsultationEvaluationHandler),
    (r"/api/v1/applications/([^/]+)/evaluation", ApplicationEvaluationHandler),
    (r"/api/v1/rectifications/([^/]+)", RectificationHandler),
    (r"/api/v1/rectifications/([^/]+)/follow-up", RectificationFollowUpHandler),
    (r"/api/v1/feedback", FeedbackHandler),
    (r"/api/v1/feedback/([^/]+)", FeedbackItemHandler),
]
