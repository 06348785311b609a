"""Citizens' applications: submit, drafts, supplements, withdrawal, prefill, and public progress."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from handlers.base import BaseHandler, citizen_required
from handlers.contract import Answer, Body, Day, Page, PageQuery, Query, Timestamp, declare
from models import applications, exposure, ratelimit

SUBMISSIONS_PER_HOUR = 60
PROGRESS_PER_IP_PER_MINUTE = 30
PROGRESS_PER_NUMBER_PER_10_MINUTES = 20


# ---- the contract ---------------------------------------------------------------------------------
FileIds = str | list[str]


class MaterialRef(Body):
    key: str
    file_id: str


class Delivery(Body):
    """How the citizen receives the result: `pickup` (default) or `post` with an address."""

    method: str = "pickup"
    recipient: str | None = None
    phone: str | None = None
    address: str | None = None


class ApplicationInput(Body):
    """What a citizen fills in: the form (the item's JSON Schema), uploaded files per material, delivery."""

    form: dict[str, Any] | None = None
    materials: dict[str, FileIds] | list[MaterialRef] | None = None
    delivery: Delivery | None = None


class NewApplication(ApplicationInput, kw_only=True):
    service_code: str
    draft: bool = False


class Withdrawal(Body):
    reason: str | None = None


class Supplement(Body):
    materials: dict[str, FileIds] | list[MaterialRef] | None = None
    note: str | None = None


class DeadlineView(Answer):
    promised_days: int
    due_date: Day | None
    paused: bool
    days_left: int | None
    overdue: bool
    finished_on: Day | None = None


class ApplicationSummary(Answer):
    application_no: str
    service_code: str
    service_name: str
    department: str | None
    status: str
    status_label: str
    version: int | None
    deadline: DeadlineView | None
    created_at: Timestamp | None
    updated_at: Timestamp | None
    submitted_at: Timestamp | None


class TimelineEntry(Answer):
    seq: int
    at: Timestamp
    action: str
    action_label: str
    status: str
    status_label: str
    actor: str
    note: str


class ApplicationView(ApplicationSummary, kw_only=True):
    """One application as its owner sees it: form (sensitive values masked), materials, timeline."""

    query_code: str | None
    form: dict[str, Any]
    materials: dict[str, Any]
    delivery: dict[str, Any] | None
    supplement: dict[str, Any] | None
    decision: dict[str, Any] | None
    result: dict[str, Any] | None
    payment: dict[str, Any] | None
    allowed_actions: list[str]
    timeline: list[TimelineEntry]


class ApplicationsQuery(PageQuery):
    status: Annotated[str | None, msgspec.Meta(description="comma-separated statuses")] = None


class MaterialSlot(Answer):
    key: str
    name: str
    required: bool
    medium: str
    allowed_types: list[str]
    max_bytes: int | None


class PrefilledForm(Answer):
    service_code: str
    service_name: str
    form_schema: dict[str, Any]
    values: dict[str, Any]
    sources: dict[str, str]
    masked: list[str]
    materials: list[MaterialSlot]
    draft_application_no: str | None


class ProgressQuery(Query):
    application_no: str = ""
    query_code: str = ""


class PublicDeadline(Answer):
    due_date: Day | None
    days_left: int | None
    overdue: bool
    paused: bool


class PublicStep(Answer):
    at: Timestamp
    status: str
    status_label: str


class Progress(Answer):
    """Progress for whoever holds the number and query code: states and dates, nothing personal."""

    application_no: str
    service_name: str
    status: str
    status_label: str
    submitted_at: Timestamp | None
    deadline: PublicDeadline | None
    timeline: list[PublicStep]


IDEMPOTENT = {409: "An Idempotency-Key reused with another body, or the application changed state",
              429: "Too many submissions"}


class CitizenHandler(BaseHandler):
    """Shared by the citizen application routes."""

    @property
    def citizen_id(self) -> str:
        return self.principal.subject_id


class ApplicationsHandler(CitizenHandler):
    """My applications: list them, or submit a new one (`draft: true` saves a draft)."""

    @citizen_required
    @declare(query=ApplicationsQuery, answer=Page[ApplicationSummary])
    async def get(self) -> None:
        """My applications, newest first; `?status=` filters (comma-separated)."""
        self.write_json(await applications.list_for_citizen(
            self.ctx, self.citizen_id, self.get_query_argument("status", None), self.query.page, self.query.page_size,
            self.locale_code))

    @citizen_required
    @declare(body=NewApplication, answer=ApplicationView, status=201, errors=IDEMPOTENT,
             example={"service_code": "GA-0001", "form": {"applicant": {"name": "张三"}},
                      "materials": {"id_card": ["f_0123456789abcdef"]}, "delivery": {"method": "pickup"}})
    async def post(self) -> None:
        """Submit an application {service_code, form, materials, delivery?, draft?}; honours Idempotency-Key."""
        body = self.json_body()
        # Only what the channel the citizen logged in through exposes (models.exposure).
        exposure.require_applicable(await exposure.for_request(self.ctx, self.principal, self.header(exposure.CHANNEL_HEADER)),
                                    body.get("service_code"))
        await ratelimit.enforce(self.ctx.redis, f"apply:{self.citizen_id}", SUBMISSIONS_PER_HOUR, 3600,
                                "submission_rate_limited", "提交过于频繁，请稍后再试", "Too many submissions, retry later")
        await self.write_once("applications.create", body,
                              lambda: applications.create(self.ctx, self.citizen_id, body, self.locale_code),
                              recover=lambda record: applications.recover_created(
                                  self.ctx, self.citizen_id, record, self.locale_code))


class ApplicationHandler(CitizenHandler):
    """One of my applications with its timeline; PATCH updates it while it is a draft."""

    path_params = ("no",)

    @citizen_required
    @declare(answer=ApplicationView)
    async def get(self, no: str) -> None:
        """One of my applications, with its timeline and deadline."""
        self.write_json_body(await applications.citizen_body(self.ctx, self.citizen_id, no, self.locale_code,
                                                             self.encode_json))

    @citizen_required
    @declare(body=ApplicationInput, answer=ApplicationView, errors={409: "Not a draft any more"})
    async def patch(self, no: str) -> None:
        """Save changes to a draft {form?, materials?, delivery?}."""
        self.write_json(await applications.save_draft(self.ctx, self.citizen_id, no, self.json_body(), self.locale_code))


class SubmitDraftHandler(CitizenHandler):
    """Submit a saved draft (body may carry last changes); honours Idempotency-Key."""

    path_params = ("no",)

    @citizen_required
    @declare(body=ApplicationInput, body_required=False, answer=ApplicationView, errors=IDEMPOTENT)
    async def post(self, no: str) -> None:
        body = self.json_body()
        await self.write_once(f"applications.submit:{no}", body,
                              lambda: applications.submit_draft(self.ctx, self.citizen_id, no, body, self.locale_code))


class SupplementHandler(CitizenHandler):
    """Provide the materials the department asked for {materials, note?}; honours Idempotency-Key."""

    path_params = ("no",)

    @citizen_required
    @declare(body=Supplement, answer=ApplicationView, errors=IDEMPOTENT)
    async def post(self, no: str) -> None:
        body = self.json_body()
        await self.write_once(f"applications.supplement:{no}", body,
                              lambda: applications.supplement(self.ctx, self.citizen_id, no, body, self.locale_code))


class WithdrawHandler(CitizenHandler):
    """Withdraw my application before a decision {reason?}."""

    path_params = ("no",)

    @citizen_required
    @declare(body=Withdrawal, body_required=False, answer=ApplicationView, errors=IDEMPOTENT)
    async def post(self, no: str) -> None:
        body = self.json_body()
        await self.write_once(f"applications.withdraw:{no}", body,
                              lambda: applications.withdraw(self.ctx, self.citizen_id, no, body, self.locale_code))


class ServiceFormHandler(CitizenHandler):
    """A service item's application form, prefilled with what I already gave (profile, real name, earlier forms)."""

    path_params = ("code",)

    @citizen_required
    @declare(answer=PrefilledForm)
    async def get(self, code: str) -> None:
        exposure.require_visible(await exposure.for_request(self.ctx, self.principal, self.header(exposure.CHANNEL_HEADER)),
                                 code)
        self.write_json(await applications.prefilled_form(self.ctx, self.citizen_id, code, self.locale_code))


class ProgressHandler(BaseHandler):
    """Progress of an application by number and query code, without login; no personal data."""

    @declare(query=ProgressQuery, answer=Progress, errors={429: "Too many lookups"})
    async def get(self) -> None:
        no = self.query.application_no.strip()
        code = self.query.query_code
        await ratelimit.enforce(self.ctx.redis, f"progress-ip:{self.request.remote_ip}", PROGRESS_PER_IP_PER_MINUTE, 60)
        await ratelimit.enforce(self.ctx.redis, f"progress-no:{no[:64]}", PROGRESS_PER_NUMBER_PER_10_MINUTES, 600)
        self.write_json(await applications.progress(self.ctx, no, code, self.locale_code))


routes = [
    (r"/api/v1/applications", ApplicationsHandler),
    (r"/api/v1/applications/([^/]+)", ApplicationHandler),
    (r"/api/v1/applications/([^/]+)/submit", SubmitDraftHandler),
    (r"/api/v1/applications/([^/]+)/supplement", SupplementHandler),
    (r"/api/v1/applications/([^/]+)/withdraw", WithdrawHandler),
    (r"/api/v1/services/([^/]+)/form", ServiceFormHandler),
    (r"/api/v1/progress", ProgressHandler),
]
