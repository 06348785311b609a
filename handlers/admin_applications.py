"""Operators handle applications: lists to work on, one application, and the actions on it."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from handlers.applications import ApplicationSummary, TimelineEntry
from handlers.base import BaseHandler, requires
from handlers.contract import BY_DOMAIN, Body, Flag, Page, PageQuery, declare, one_of
from handlers.files import DOWNLOAD, DOWNLOAD_AS, send_file
from models import access, applications, files
from models.errors import NotFound

ROLE = "applications"


# ---- the contract ---------------------------------------------------------------------------------
class AdminApplicationsQuery(PageQuery):
    status: Annotated[str | None, msgspec.Meta(description="comma-separated statuses")] = None
    department: str | None = None
    service_code: str | None = None
    overdue: Annotated[Flag | None, msgspec.Meta(
        description="true: past the promised date; false: within it; empty or `any`: either")] = None


class AdminApplicationSummary(ApplicationSummary, kw_only=True):
    """One application in an operator's list: the citizen's summary and who applied."""

    citizen_id: str | None


class AdminTimelineEntry(TimelineEntry, kw_only=True):
    """One step of the timeline, with the id of the citizen or operator who took it."""

    actor_id: str


class AdminApplicationView(ApplicationSummary, kw_only=True):
    """One application as the handling department sees it: the form unmasked, no query code."""

    citizen_id: str | None
    form: dict[str, Any]
    materials: dict[str, Any]
    licences: dict[str, Any] = {}
    delivery: dict[str, Any] | None
    supplement: dict[str, Any] | None
    decision: dict[str, Any] | None
    result: dict[str, Any] | None
    payment: dict[str, Any] | None
    allowed_actions: list[str]
    timeline: list[AdminTimelineEntry]


Note = Annotated[str, msgspec.Meta(max_length=applications.NOTE_MAX)]
ActionName = one_of(applications.OPERATOR_ACTIONS)


class Shipment(Body):
    carrier: str = msgspec.UNSET
    tracking_no: str = msgspec.UNSET


class OperatorAction(Body):
    """One step on an application. `request_supplement` names `missing_materials`; `reject` needs a
    `reason`; `complete` gives the `result` and, when the applicant chose post, `delivery.tracking_no`."""

    # The state machine checks what each action needs (and ignores what it does not), naming the
    # actions it knows when refusing one: the schema documents the fields, models.applications decides.
    action: Annotated[ActionName, BY_DOMAIN]
    note: Annotated[Note, BY_DOMAIN] = msgspec.UNSET
    expected_version: Annotated[int, msgspec.Meta(
        description="the version the operator saw: 409 when the application changed since"), BY_DOMAIN] = msgspec.UNSET
    missing_materials: Annotated[list[str], msgspec.Meta(min_length=1, description="material keys (request_supplement)"),
                                 BY_DOMAIN] = msgspec.UNSET
    reason: Annotated[Note, msgspec.Meta(description="required to reject"), BY_DOMAIN] = msgspec.UNSET
    result: Annotated[str | dict[str, Any], msgspec.Meta(description="what the applicant receives (complete)"),
                      BY_DOMAIN] = msgspec.UNSET
    delivery: Annotated[Shipment, msgspec.Meta(description="how the result was sent (complete)"), BY_DOMAIN] = msgspec.UNSET


MATERIAL_DOWNLOAD = DOWNLOAD  # the material as the citizen uploaded it


class AdminApplicationsHandler(BaseHandler):
    """Applications to handle, newest first: `?status=&department=&service_code=&overdue=`."""

    @requires(access.APPLICATIONS_READ)
    @declare(query=AdminApplicationsQuery, answer=Page[AdminApplicationSummary])
    async def get(self) -> None:
        query = self.query
        self.write_json(await applications.list_for_operators(
            self.ctx, self.scope, query.department or None, status=query.status,
            service_code=query.service_code, overdue=query.overdue,
            page=query.page, page_size=query.page_size, locale=self.locale_code))


class AdminApplicationHandler(BaseHandler):
    """One application with its form, materials, timeline (with who acted) and deadline."""

    path_params = ("no",)

    @requires(access.APPLICATIONS_READ)
    @declare(answer=AdminApplicationView)
    async def get(self, no: str) -> None:
        self.write_json(await applications.operator_detail(self.ctx, no, self.scope, self.locale_code))


class AdminApplicationActionHandler(BaseHandler):
    """Act on an application {action: accept|request_supplement|approve|reject|complete, note, ...}."""

    path_params = ("no",)

    @requires(access.APPLICATIONS_WORK)
    @declare(body=OperatorAction, answer=AdminApplicationView,
             errors={409: "Not allowed in the application's state, changed since `expected_version`, "
                          "or an Idempotency-Key reused with another body"},
             example={"action": "request_supplement", "missing_materials": ["household"], "note": "请补充户口簿首页及本人页"})
    async def post(self, no: str) -> None:
        """Take one step {action, note?, expected_version?, ...}; honours Idempotency-Key."""
        body = self.json_body()
        await self.write_once(f"applications.action:{no}", body, lambda: applications.operator_action(
            self.ctx, self.principal.subject_id, self.scope, no, body, self.locale_code))


class AdminApplicationFileHandler(BaseHandler):
    """Download a material attached to an application the operator handles."""

    path_params = ("no", "file_id")

    @requires(access.APPLICATIONS_READ)
    @declare(answer=MATERIAL_DOWNLOAD, also=DOWNLOAD_AS)
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
