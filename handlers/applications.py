"""Citizens' applications: submit, drafts, supplements, withdrawal, prefill, and public progress."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from handlers.base import BaseHandler, citizen_required
from models import applications, exposure, idempotency, ratelimit

SUBMISSIONS_PER_HOUR = 60
PROGRESS_PER_IP_PER_MINUTE = 30
PROGRESS_PER_NUMBER_PER_10_MINUTES = 20


class CitizenHandler(BaseHandler):
    """Shared by the citizen application routes."""

    @property
    def citizen_id(self) -> str:
        return self.principal.subject_id

    async def write_once(self, operation: str, body: dict[str, Any],
                         create: Callable[[], Awaitable[tuple[int, Any]]]) -> None:
        """Run a write once per Idempotency-Key (replaying its first answer) and send the answer."""
        scope = f"citizen:{self.citizen_id}:{operation}"
        status, payload = await idempotency.run_once(self.ctx, scope, self.request.headers.get("Idempotency-Key"), body, create)
        self.write_json(payload, status)


class ApplicationsHandler(CitizenHandler):
    """My applications: list them, or submit a new one (`draft: true` saves a draft)."""

    @citizen_required
    async def get(self) -> None:
        """My applications, newest first; `?status=` filters (comma-separated)."""
        page, size = self.page_args()
        self.write_json(await applications.list_for_citizen(
            self.ctx, self.citizen_id, self.get_query_argument("status", None), page, size, self.locale_code))

    @citizen_required
    async def post(self) -> None:
        """Submit an application {service_code, form, materials, delivery?, draft?}; honours Idempotency-Key."""
        body = self.json_body()
        # Only what the channel the citizen logged in through exposes (models.exposure).
        exposure.require_applicable(await exposure.for_request(self.ctx, self.principal, self.header(exposure.CHANNEL_HEADER)),
                                    body.get("service_code"))
        await ratelimit.enforce(self.ctx.redis, f"apply:{self.citizen_id}", SUBMISSIONS_PER_HOUR, 3600,
                                "submission_rate_limited", "提交过于频繁，请稍后再试", "Too many submissions, retry later")
        await self.write_once("applications.create", body,
                              lambda: applications.create(self.ctx, self.citizen_id, body, self.locale_code))


class ApplicationHandler(CitizenHandler):
    """One of my applications with its timeline; PATCH updates it while it is a draft."""

    path_params = ("no",)

    @citizen_required
    async def get(self, no: str) -> None:
        """One of my applications, with its timeline and deadline."""
        self.write_json_body(await applications.citizen_body(self.ctx, self.citizen_id, no, self.locale_code,
                                                             self.encode_json))

    @citizen_required
    async def patch(self, no: str) -> None:
        """Save changes to a draft {form?, materials?, delivery?}."""
        self.write_json(await applications.save_draft(self.ctx, self.citizen_id, no, self.json_body(), self.locale_code))


class SubmitDraftHandler(CitizenHandler):
    """Submit a saved draft (body may carry last changes); honours Idempotency-Key."""

    path_params = ("no",)

    @citizen_required
    async def post(self, no: str) -> None:
        body = self.json_body()
        await self.write_once(f"applications.submit:{no}", body,
                              lambda: applications.submit_draft(self.ctx, self.citizen_id, no, body, self.locale_code))


class SupplementHandler(CitizenHandler):
    """Provide the materials the department asked for {materials, note?}; honours Idempotency-Key."""

    path_params = ("no",)

    @citizen_required
    async def post(self, no: str) -> None:
        body = self.json_body()
        await self.write_once(f"applications.supplement:{no}", body,
                              lambda: applications.supplement(self.ctx, self.citizen_id, no, body, self.locale_code))


class WithdrawHandler(CitizenHandler):
    """Withdraw my application before a decision {reason?}."""

    path_params = ("no",)

    @citizen_required
    async def post(self, no: str) -> None:
        body = self.json_body()
        await self.write_once(f"applications.withdraw:{no}", body,
                              lambda: applications.withdraw(self.ctx, self.citizen_id, no, body, self.locale_code))


class ServiceFormHandler(CitizenHandler):
    """A service item's application form, prefilled with what I already gave (profile, real name, earlier forms)."""

    path_params = ("code",)

    @citizen_required
    async def get(self, code: str) -> None:
        exposure.require_visible(await exposure.for_request(self.ctx, self.principal, self.header(exposure.CHANNEL_HEADER)),
                                 code)
        self.write_json(await applications.prefilled_form(self.ctx, self.citizen_id, code, self.locale_code))


class ProgressHandler(BaseHandler):
    """Progress of an application by number and query code, without login; no personal data."""

    async def get(self) -> None:
        no = self.get_query_argument("application_no", "").strip()
        code = self.get_query_argument("query_code", "")
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
