"""Citizens: consultations and complaints, ratings (好差评), rectification follow-ups, error reports."""

from __future__ import annotations

from typing import Annotated

import msgspec

from handlers.base import BaseHandler, citizen_required
from handlers.contract import BY_DOMAIN, Answer, Body, Page, PageQuery, Query, Timestamp, declare
from models import consultations, feedback, ratelimit, ratings

# ---- the contract ---------------------------------------------------------------------------------
# Texts are checked by the domain (length, markup, emptiness), which names every bad field at once;
# the types below say the shape.
LocalizedText = Annotated[dict[str, str] | str, msgspec.Meta(
    description='the item\'s text per locale, e.g. {"zh-CN": "普通护照签发", "en": "Ordinary passport issuance"}')]
FileIdList = Annotated[list[str], msgspec.Meta(description="ids of the citizen's uploads (POST /api/v1/files), at most 5")]


class NewConsultation(Body, kw_only=True):
    """A question (kind consultation) or complaint about a service item, or about one of my applications."""

    kind: Annotated[str, msgspec.Meta(description="consultation or complaint")] = "consultation"
    service_code: Annotated[str | None, msgspec.Meta(description="required unless application_no is given")] = None
    application_no: str | None = None
    subject: Annotated[str, msgspec.Meta(description="at most 100 characters")]
    content: Annotated[str, msgspec.Meta(description="at most 2000 characters")]
    attachments: FileIdList = []
    suggestion_token: Annotated[str | None, msgspec.Meta(
        description="from POST /api/v1/consultations/suggest/{id}/opened: the answer read before asking")] = None


class FollowUpQuestion(Body):
    content: Annotated[str, msgspec.Meta(description="at most 2000 characters")]
    attachments: FileIdList = []


class ConsultationTurn(Answer):
    seq: int
    author: Annotated[str, msgspec.Meta(description="citizen or operator")]
    content: str
    attachments: list[str]
    created_at: Timestamp | None


class ConsultationSummary(Answer):
    id: str
    kind: str
    service_code: str
    service_name: LocalizedText
    department: str
    application_no: str | None
    subject: str
    status: Annotated[str, msgspec.Meta(description="open, answered or closed")]
    turns: int
    created_at: Timestamp | None
    due_at: Annotated[Timestamp | None, msgspec.Meta(description="the department answers by then")]
    first_answered_at: Timestamp | None
    closed_at: Timestamp | None
    rated: bool
    can_rate: bool


class ConsultationView(ConsultationSummary, kw_only=True):
    """One of my consultations with every turn of the conversation."""

    messages: list[ConsultationTurn]


class NewRating(Body):
    """A rating (好差评): grade 5 = 非常满意 … 1 = 非常不满意; an unfavourable one (1, 2) needs a comment."""

    # The rating rules refuse a grade that is no whole number from 1 to 5 in their own words.
    grade: Annotated[int, msgspec.Meta(ge=1, le=5), BY_DOMAIN]
    comment: Annotated[str | None, msgspec.Meta(description="at most 500 characters")] = None
    tags: Annotated[list[str], msgspec.Meta(description="at most 5, each at most 20 letters or digits")] = []


class RatingView(Answer):
    id: str
    target_type: Annotated[str, msgspec.Meta(description="application or consultation")]
    target_id: str
    service_code: str
    department: str
    grade: int
    grade_label: str
    grade_code: str
    comment: str
    tags: list[str]
    created_at: Timestamp | None
    rectification_id: Annotated[str | None, msgspec.Meta(
        description="the rectification case an unfavourable rating opened")]


class FollowUpView(Answer):
    question: Annotated[dict[str, str] | None, msgspec.Meta(description="asked once the department responded")]
    satisfied: bool | None
    comment: str | None
    answered_at: Timestamp | None


class RectificationView(Answer):
    """The rectification an unfavourable rating opened: the department's response and my follow-up answer."""

    id: str
    target_type: str
    target_id: str
    department: str
    service_code: str
    grade: int
    grade_label: str
    comment: str
    status: Annotated[str, msgspec.Meta(description="open, responded or closed")]
    created_at: Timestamp | None
    due_at: Timestamp | None
    overdue: bool
    response: str | None
    responded_at: Timestamp | None
    responded_late: bool
    follow_up: FollowUpView


class FollowUpAnswer(Body):
    satisfied: bool
    comment: Annotated[str | None, msgspec.Meta(description="at most 500 characters")] = None


class ErrorReport(Body, kw_only=True):
    """What is wrong or missing in a service item's published content."""

    # Optional in the type: the feedback rules name a missing item or element with their own codes.
    service_code: str | None = None
    element: Annotated[str | None, msgspec.Meta(
        description="the part concerned, e.g. guide.fee, guide.materials.<key>, or other")] = None
    description: Annotated[str, msgspec.Meta(description="5 to 1000 characters")]
    suggestion: Annotated[str | None, msgspec.Meta(description="at most 1000 characters")] = None


class FeedbackView(Answer):
    id: str
    service_code: str
    service_name: LocalizedText
    element: str
    description: str
    suggestion: str | None
    status: Annotated[str, msgspec.Meta(description="pending, confirmed, fixed or explained")]
    answer: str | None
    created_at: Timestamp | None
    answered_at: Timestamp | None


class FeedbackReceipt(FeedbackView, kw_only=True):
    """The report as filed, with the code that opens it later without logging in."""

    query_code: str


class FeedbackLookup(Query):
    query_code: Annotated[str | None, msgspec.Meta(description="the code given when the report was filed")] = None


RATE_LIMITED = {429: "Too many submissions"}
IDEMPOTENT = {409: "An Idempotency-Key reused with another body", **RATE_LIMITED}
RATING_ERRORS = {409: "Already rated, or not finished yet", **RATE_LIMITED}


async def _limit(handler: BaseHandler, name: str, key: str, limit: tuple[int, int]) -> None:
    count, window = limit
    await ratelimit.enforce(handler.ctx.redis, f"{name}:{key}", count, window, "too_many_submissions",
                            "提交过于频繁，请稍后再试", "Too many submissions, please retry later")


class ConsultationsHandler(BaseHandler):
    """Ask a question or complain about a service item; list my consultations."""

    @citizen_required
    @declare(query=PageQuery, answer=Page[ConsultationSummary])
    async def get(self) -> None:
        """My consultations and complaints, newest first."""
        self.write_json(await consultations.list_own(self.ctx, self.principal.subject_id, self.query.page,
                                                     self.query.page_size))

    @citizen_required
    @declare(body=NewConsultation, answer=ConsultationView, status=201,
             errors={404: "No such published item, or no such application of mine", **IDEMPOTENT},
             example={"kind": "consultation", "service_code": "GA-0001", "subject": "护照办理时限",
                      "content": "请问办理普通护照需要几个工作日？"})
    async def post(self) -> None:
        """Ask (kind=consultation) or complain (kind=complaint); routed to the item's department."""
        body = self.json_body()
        citizen_id = self.principal.subject_id
        await _limit(self, "consultation-create", citizen_id, consultations.RATE_LIMITS["create"])
        await self.write_once("consultations.create", body, lambda: consultations.create(self.ctx, citizen_id, body),
                              status=201)


class ConsultationHandler(BaseHandler):
    """One of my consultations with every turn of the conversation."""

    path_params = ("id",)

    @citizen_required
    @declare(answer=ConsultationView)
    async def get(self, consultation_id: str) -> None:
        self.write_json(await consultations.get_own(self.ctx, self.principal.subject_id, consultation_id))


class ConsultationMessagesHandler(BaseHandler):
    """Add a follow-up question to my consultation (re-opens it with a new answer deadline)."""

    path_params = ("id",)

    @citizen_required
    @declare(body=FollowUpQuestion, answer=ConsultationView, status=201,
             errors={409: "Closed, too long a conversation, or being updated (retry)", **RATE_LIMITED},
             example={"content": "如果加急，最快几天可以拿到？"})
    async def post(self, consultation_id: str) -> None:
        body = self.json_body()
        citizen_id = self.principal.subject_id
        await _limit(self, "consultation-message", citizen_id, consultations.RATE_LIMITS["message"])
        self.write_json(await consultations.follow_up(self.ctx, citizen_id, consultation_id, body), 201)


class ConsultationEvaluationHandler(BaseHandler):
    """Rate my closed consultation once (grade 1-5, 5 = 非常满意), or see my rating."""

    path_params = ("id",)

    @citizen_required
    @declare(answer=RatingView)
    async def get(self, consultation_id: str) -> None:
        """My rating of this consultation."""
        self.write_json(await ratings.get_own_rating(self.ctx, self.principal.subject_id, "consultation",
                                                     str(consultations.parse_id(consultation_id))))

    @citizen_required
    @declare(body=NewRating, answer=RatingView, status=201, errors=RATING_ERRORS,
             example={"grade": 5, "comment": "答复及时、清楚", "tags": ["答复及时"]})
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
    @declare(answer=RatingView)
    async def get(self, application_no: str) -> None:
        """My rating of this application."""
        self.write_json(await ratings.get_own_rating(self.ctx, self.principal.subject_id, "application", application_no))

    @citizen_required
    @declare(body=NewRating, answer=RatingView, status=201, errors=RATING_ERRORS,
             example={"grade": 2, "comment": "材料要求没有一次说清，跑了两次", "tags": ["多次跑腿"]})
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
    @declare(answer=RectificationView)
    async def get(self, case_id: str) -> None:
        self.write_json(await ratings.get_case_for_citizen(self.ctx, self.principal.subject_id, case_id))


class RectificationFollowUpHandler(BaseHandler):
    """Answer the follow-up question: am I satisfied with the rectification? (closes the case)"""

    path_params = ("id",)

    @citizen_required
    @declare(body=FollowUpAnswer, answer=RectificationView,
             errors={409: "The department has not responded yet, or the question was answered"},
             example={"satisfied": False, "comment": "还是要跑两次"})
    async def post(self, case_id: str) -> None:
        body = self.json_body()
        self.write_json(await ratings.answer_follow_up(self.ctx, self.principal.subject_id, case_id, body))


class FeedbackHandler(BaseHandler):
    """Report wrong or missing content of a service item (我为政府网站找错); login optional."""

    @declare(body=ErrorReport, answer=FeedbackReceipt, status=201,
             errors={404: "No such published item", **IDEMPOTENT},
             example={"service_code": "GA-0001", "element": "guide.fee",
                      "description": "指南写收费 120 元，窗口实际收 160 元。"})
    async def post(self) -> None:
        body = self.json_body()
        citizen_id = self.principal.subject_id if self.principal and self.principal.kind == "citizen" else None
        if citizen_id:
            await _limit(self, "feedback", citizen_id, feedback.RATE_LIMITS["citizen"])
        else:
            await _limit(self, "feedback-anon", self.request.remote_ip or "unknown", feedback.RATE_LIMITS["anonymous"])
        # Anyone may report, so the keys of a caller who is not a citizen are the address's.
        caller = f"citizen:{citizen_id}" if citizen_id else f"ip:{self.request.remote_ip}"
        await self.write_once("feedback.create", body, lambda: feedback.report(self.ctx, body, citizen_id),
                              status=201, caller=caller)


class FeedbackItemHandler(BaseHandler):
    """My error report and its answer: as the logged-in reporter, or with `?query_code=`."""

    path_params = ("id",)

    @declare(query=FeedbackLookup, answer=FeedbackView, errors=RATE_LIMITED)
    async def get(self, feedback_id: str) -> None:
        await _limit(self, "feedback-lookup", self.request.remote_ip or "unknown", feedback.RATE_LIMITS["lookup"])
        citizen_id = self.principal.subject_id if self.principal and self.principal.kind == "citizen" else None
        self.write_json(await feedback.get_for_reporter(
            self.ctx, feedback_id, citizen_id=citizen_id, query_code=self.query.query_code))


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
