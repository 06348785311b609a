"""Operators handle applications: lists to work on, one application, and the actions on it."""

from __future__ import annotations

from handlers.base import BaseHandler, requires
from handlers.files import send_file
from models import access, applications, files, idempotency
from models.errors import FieldError, NotFound, ValidationFailed

ROLE = "applications"


class OperatorHandler(BaseHandler):
    """Shared by the operator application routes."""

    def flag(self, name: str) -> bool | None:
        raw = self.get_query_argument(name, "").lower()
        if raw in ("", "any"):
            return None
        if raw not in ("true", "1", "false", "0"):
            raise ValidationFailed(errors=[FieldError(name, "type", f"{name} 应为 true 或 false", f"{name} must be true or false")])
        return raw in ("true", "1")


class AdminApplicationsHandler(OperatorHandler):
    """Applications to handle, newest first: `?status=&department=&service_code=&overdue=`."""

    @requires(access.APPLICATIONS_READ)
    async def get(self) -> None:
        page, size = self.page_args()
        self.write_json(await applications.list_for_operators(
            self.ctx, self.scope, self.get_query_argument("department", None) or None, status=self.get_query_argument("status", None),
            service_code=self.get_query_argument("service_code", None), overdue=self.flag("overdue"),
            page=page, page_size=size, locale=self.locale_code))


class AdminApplicationHandler(OperatorHandler):
    """One application with its form, materials, timeline (with who acted) and deadline."""

    path_params = ("no",)

    @requires(access.APPLICATIONS_READ)
    async def get(self, no: str) -> None:
        self.write_json(await applications.operator_detail(self.ctx, no, self.scope, self.locale_code))


class AdminApplicationActionHandler(OperatorHandler):
    """Act on an application {action: accept|request_supplement|approve|reject|complete, note, ...}."""

    path_params = ("no",)

    @requires(access.APPLICATIONS_WORK)
    async def post(self, no: str) -> None:
        body = self.json_body()
        scope = f"operator:{self.principal.subject_id}:applications.action:{no}"
        status, payload = await idempotency.run_once(
            self.ctx, scope, self.request.headers.get("Idempotency-Key"), body,
            lambda: applications.operator_action(self.ctx, self.principal.subject_id, self.scope, no, body,
                                                 self.locale_code))
        self.write_json(payload, status)


class AdminApplicationFileHandler(OperatorHandler):
    """Download a material attached to an application the operator handles."""

    path_params = ("no", "file_id")

    @requires(access.APPLICATIONS_READ)
    async def get(self, no: str, file_id: str) -> None:
        application = await applications.get_for_operator(self.ctx.db, no, self.scope)
        owner = application["citizen_id"]
        if not applications.has_file(application, file_id):
            raise NotFound(*files.FILE_NOT_FOUND)
        await send_file(self, await files.owned_file(self.ctx.db, file_id, owner))


routes = [
    (r"/admin/v1/applications", AdminApplicationsHandler),
    (r"/admin/v1/applications/([^/]+)", AdminApplicationHandler),
    (r"/admin/v1/applications/([^/]+)/actions", AdminApplicationActionHandler),
    (r"/admin/v1/applications/([^/]+)/files/([^/]+)", AdminApplicationFileHandler),
]
