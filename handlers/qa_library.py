"""The question-and-answer library (问答库): citizens' suggestions before asking; operators' publishing.

Citizens: `GET /api/v1/consultations/suggest` (no login) and `POST .../suggest/{id}/opened` (login
optional; counts towards deflection). Operators (models.access): qa.read to list and read entries,
qa.publish to publish a consultation, write, edit and unpublish entries, all within their scope.
Listed in server/registry.py before handlers.consultations: `/api/v1/consultations/suggest` must
be matched before `/api/v1/consultations/{id}`.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from handlers.base import BaseHandler, requires
from handlers.contract import BY_DOMAIN, Answer, Body, Page, PageQuery, Query, Timestamp, declare, one_of
from models import access, ratelimit
from models.consultations import library, suggestions

# ---- the contract ---------------------------------------------------------------------------------
QaText = Annotated[str | dict[str, str], msgspec.Meta(
    description='a text in Chinese, or per language: {"zh-CN": "…", "en": "…"} (zh-CN required)'), BY_DOMAIN]
ServiceCodes = Annotated[list[str], msgspec.Meta(description=f"1 to {library.MAX_ITEMS} item codes of one department"),
                         BY_DOMAIN]


class QaSuggestQuery(Query):
    service_code: Annotated[str, msgspec.Meta(max_length=32, description="the item the citizen is looking at")] = ""
    q: Annotated[str, msgspec.Meta(max_length=200, description="the question being typed; empty: the item's top answers")] = ""
    limit: Annotated[int, msgspec.Meta(ge=1, le=suggestions.MAX_LIMIT)] = suggestions.DEFAULT_LIMIT


class QaSuggestion(Answer):
    """A published answer, in the caller's language."""

    id: str
    question: str
    answer: str
    service_codes: list[str]
    updated_at: Timestamp | None


class QaSuggestions(Answer):
    items: list[QaSuggestion]
    service_code: str | None
    q: str | None
    match: Annotated[str, msgspec.Meta(description="relevant (ranked by the words of q) or top (most opened)")]


class QaOpening(Body):
    service_code: Annotated[str, msgspec.Meta(
        max_length=32, description="the item the citizen was looking at; default: the answer's first item")] = ""


class QaOpened(Answer):
    """The answer opened, and the token to send with a consultation asked after all."""

    suggestion: QaSuggestion
    suggestion_token: Annotated[str, msgspec.Meta(description="send as suggestion_token with POST /api/v1/consultations")]
    window_minutes: int


class QaPublication(Body):
    """Publish an answered consultation; each field overrides what is taken from the consultation."""

    question: QaText = msgspec.UNSET
    answer: QaText = msgspec.UNSET
    service_codes: ServiceCodes = msgspec.UNSET


class NewQaEntry(Body):
    question: QaText
    answer: QaText
    service_codes: ServiceCodes


class QaEntryEdit(Body):
    question: QaText = msgspec.UNSET
    answer: QaText = msgspec.UNSET
    service_codes: ServiceCodes = msgspec.UNSET
    status: Annotated[one_of(library.STATUSES), BY_DOMAIN] = msgspec.UNSET


class QaRedaction(Answer):
    kind: Annotated[str, msgspec.Meta(description="id_number, phone, email, number, plate, name or address")]
    count: int


class QaEntryView(Answer):
    """A library entry as its department sees it: every language, what was masked, how often it was opened."""

    id: str
    question: dict[str, str]
    answer: dict[str, str]
    service_codes: list[str]
    department: str
    region_code: str
    status: Annotated[str, msgspec.Meta(description="published or unpublished")]
    source_consultation_id: str | None
    opened: int
    redactions: list[QaRedaction]
    created_at: Timestamp | None
    updated_at: Timestamp | None
    published_at: Timestamp | None
    created_by: str | None
    updated_by: str | None


class QaListQuery(PageQuery):
    department: Annotated[str, msgspec.Meta(max_length=64)] = ""
    service_code: Annotated[str, msgspec.Meta(max_length=32)] = ""
    status: Annotated[str, msgspec.Meta(max_length=16, description="published or unpublished")] = ""


OPENED_LIMIT = (120, 3600)  # opens per caller and hour: enough to read, too few to inflate the figure


# ---- citizens -------------------------------------------------------------------------------------
class QaSuggestHandler(BaseHandler):
    """Published answers before asking: for an item (its top answers), and relevant to the question being typed."""

    @declare(query=QaSuggestQuery, answer=QaSuggestions)
    async def get(self) -> None:
        query = self.query
        self.write_json(await suggestions.suggest(
            self.ctx, service_code=query.service_code.strip() or None, q=query.q.strip() or None,
            locale=self.locale_code, limit=query.limit))


class QaOpenedHandler(BaseHandler):
    """A citizen opens a suggested answer: the whole answer, counted for the deflection figure."""

    path_params = ("id",)

    @declare(body=QaOpening, answer=QaOpened, status=201,
             errors={404: "No such published answer", 422: "The answer is not attached to that item",
                     429: "Too many opens"})
    async def post(self, qa_id: str) -> None:
        citizen_id = self.principal.subject_id if self.principal and self.principal.kind == "citizen" else None
        caller = citizen_id or self.request.remote_ip or "unknown"
        count, window = OPENED_LIMIT
        await ratelimit.enforce(self.ctx.redis, f"qa-opened:{caller}", count, window, "too_many_requests",
                                "操作过于频繁，请稍后再试", "Too many requests, please retry later")
        service_code = self.body.service_code or None
        self.write_json(await library.open_entry(self.ctx, qa_id, service_code, citizen_id, self.locale_code), 201)


# ---- operators ------------------------------------------------------------------------------------
class AdminQaListHandler(BaseHandler):
    """The library entries of my department: ?status=published|unpublished, ?service_code=; or write one directly."""

    @requires(access.QA_READ)
    @declare(query=QaListQuery, answer=Page[QaEntryView], errors={422: "An unknown status"})
    async def get(self) -> None:
        query = self.query
        self.write_json(await library.list_for_operator(
            self.ctx, self.scope, department=query.department.strip() or None,
            service_code=query.service_code.strip() or None, status=query.status.strip() or None,
            page=query.page, page_size=query.page_size))

    @requires(access.QA_PUBLISH)
    @declare(body=NewQaEntry, answer=QaEntryView, status=201,
             errors={403: "An item outside my scope", 404: "No such published item"},
             example={"question": {"zh-CN": "护照照片有什么要求？", "en": "What photo does a passport need?"},
                      "answer": {"zh-CN": "近期正面免冠彩色照片，白色背景。", "en": "A recent colour photo on white."},
                      "service_codes": ["GA-0001"]})
    async def post(self) -> None:
        """Write an entry directly (published at once, personal data masked)."""
        body = self.json_body()
        self.write_json(await library.create_entry(self.ctx, self.scope, body), 201)


class AdminQaHandler(BaseHandler):
    """One library entry: read, edit (question, answer, items, status), unpublish."""

    path_params = ("id",)

    @requires(access.QA_READ)
    @declare(answer=QaEntryView, errors={403: "Another department's entry"})
    async def get(self, qa_id: str) -> None:
        self.write_json(await library.get_entry(self.ctx, self.scope, qa_id))

    @requires(access.QA_PUBLISH)
    @declare(body=QaEntryEdit, answer=QaEntryView, errors={403: "Another department's entry or item",
                                                           409: "The entry changed meanwhile"},
             example={"answer": {"zh-CN": "一般 7 个工作日，可申请加急。"}, "status": "published"})
    async def patch(self, qa_id: str) -> None:
        """Edit; texts are masked again; `status` publishes or unpublishes."""
        self.write_json(await library.update_entry(self.ctx, self.scope, qa_id, self.json_body()))

    @requires(access.QA_PUBLISH)
    @declare(answer=None, status=204, errors={403: "Another department's entry"})
    async def delete(self, qa_id: str) -> None:
        """Unpublish (the entry is kept as `unpublished` and may be published again)."""
        await library.unpublish(self.ctx, self.scope, qa_id)
        self.set_status(204)
        self.finish()


class AdminConsultationPublishHandler(BaseHandler):
    """Publish an answered consultation to the Q&A library, stripped of what is personal."""

    path_params = ("id",)

    @requires(access.QA_PUBLISH)
    @declare(body=QaPublication, answer=QaEntryView, status=201,
             errors={403: "An item outside my scope", 404: "No such consultation in my scope",
                     409: "Not answered yet, or published already"},
             example={"question": "办理普通护照需要几个工作日？", "service_codes": ["GA-0001"]})
    async def post(self, consultation_id: str) -> None:
        body = self.json_body()
        self.write_json(await library.publish_consultation(self.ctx, self.scope, consultation_id, body), 201)


routes = [
    (r"/api/v1/consultations/suggest", QaSuggestHandler),
    (r"/api/v1/consultations/suggest/([^/]+)/opened", QaOpenedHandler),
    (r"/admin/v1/qa", AdminQaListHandler),
    (r"/admin/v1/qa/([^/]+)", AdminQaHandler),
    (r"/admin/v1/consultations/([^/]+)/publish", AdminConsultationPublishHandler),
]
