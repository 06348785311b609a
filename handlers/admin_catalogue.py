"""Operators: catalogue maintenance (drafts, the publish gate), the misfiling report, zero-result searches.

Role `catalogue` (admins hold every role).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from handlers.base import BaseHandler, requires
from handlers.contract import BY_DOMAIN, Answer, Body, LocalizedText, Page, PageQuery, Timestamp, declare, one_of
from models import access, catalogue

# ---- the contract ---------------------------------------------------------------------------------
# The catalogue checks a save's fields itself and names every bad one at once (unknown fields too):
# documented here, decided there (models.catalogue); the guide is checked in full when publishing.
Names = list[str]
DraftName = Annotated[LocalizedText, msgspec.Meta(description="zh-CN required to publish")]
Audience = one_of(catalogue.AUDIENCES)
HandlingDepth = one_of(catalogue.HANDLING_DEPTHS)


class ServiceFields(Body):
    """What an operator sets on a service item; `guide` is the service guide (办事指南), checked in
    full only when publishing (422 `guide_incomplete`). Fields not listed here are refused."""

    name: Annotated[DraftName, BY_DOMAIN] = msgspec.UNSET
    aliases: Annotated[Names, msgspec.Meta(description="other names citizens search by"), BY_DOMAIN] = msgspec.UNSET
    department: Annotated[str, msgspec.Meta(description="department code"), BY_DOMAIN] = msgspec.UNSET
    region_code: Annotated[str, msgspec.Meta(description="six-digit region code, e.g. 330100"), BY_DOMAIN] = msgspec.UNSET
    audience: Annotated[list[Audience], BY_DOMAIN] = msgspec.UNSET
    themes: Annotated[Names, msgspec.Meta(description="theme codes"), BY_DOMAIN] = msgspec.UNSET
    handling_depth: Annotated[HandlingDepth, BY_DOMAIN] = msgspec.UNSET
    guide: Annotated[dict[str, Any], msgspec.Meta(description="merged key by key into the stored guide"),
                     BY_DOMAIN] = msgspec.UNSET
    form_schema: Annotated[dict[str, Any], msgspec.Meta(description="the application form, a JSON Schema"),
                           BY_DOMAIN] = msgspec.UNSET
    face_verification: Annotated[dict[str, Any] | None, msgspec.Meta(
        description="刷脸: {within_minutes, auto_complete?} to require a face verification; null removes it"),
        BY_DOMAIN] = msgspec.UNSET


class ServiceDraft(ServiceFields, kw_only=True):
    """A new service item, saved as a draft; `code` and `name` are required."""

    code: Annotated[str, msgspec.Meta(pattern=catalogue.ITEM_CODE.pattern, description="item code, e.g. GA-0001"),
                    BY_DOMAIN]
    name: Annotated[DraftName, BY_DOMAIN]


class ServiceRecord(Answer, kw_only=True):
    """A service item as stored: every locale of its texts, in any status."""

    code: str
    name: str | dict[str, Any]
    aliases: list[str] | None
    department: str | None = None
    region_code: str | None = None
    audience: list[str] | None
    themes: list[str] | None
    handling_depth: str | None = None
    guide: dict[str, Any] | None
    form_schema: dict[str, Any] | None = None
    face_verification: dict[str, Any] | None = None
    status: Literal["draft", "published"]
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    published_at: Timestamp | None = None


class GuideProblem(Answer):
    """One element that stops an item from being published, in both languages."""

    field: str
    code: str
    message: dict[str, str]


class ServiceAdminView(ServiceRecord, kw_only=True):
    """A service item as operators edit it, with what still stops it from being published."""

    publishable: bool
    problems: list[GuideProblem]


class AdminServicesQuery(PageQuery):
    status: Annotated[str | None, msgspec.Meta(description="draft or published")] = None
    department: str | None = None


class MisfilingProblem(Answer):
    field: Literal["department", "themes"]
    value: str | None
    reason: Literal["unknown_department", "unknown_theme", "keywords_mismatch"]


class MisfiledItem(Answer):
    code: str
    name: str | dict[str, Any] | None
    status: str | None
    department: str | None
    themes: list[str] | None
    problems: list[MisfilingProblem]


class MisfiledReport(Answer):
    """Every item in the operator's scope that looks filed in the wrong department or theme."""

    items: list[MisfiledItem]
    total: int


class SearchMiss(Answer):
    """A search that found nothing, with how often and when it was typed."""

    query: str
    count: int
    first_at: Timestamp | None = None
    last_at: Timestamp | None = None


NEW_SERVICE_EXAMPLE = {
    "code": "GA-0101", "name": {"zh-CN": "临时居民身份证核发", "en": "Temporary resident ID card issuance"},
    "aliases": ["临时身份证"], "department": "gongan", "region_code": "330100", "audience": ["personal"],
    "themes": ["household"], "handling_depth": "at_most_one_visit",
    "guide": {"legal_basis": {"zh-CN": "《中华人民共和国居民身份证法》第十条"}, "promised_time_limit_days": 1},
}


class AdminServicesHandler(BaseHandler):
    """List service items in any status (status, department filters) or create a draft."""

    @requires(access.CATALOGUE_READ)
    @declare(query=AdminServicesQuery, answer=Page[ServiceRecord])
    async def get(self) -> None:
        """Items by code, drafts and published."""
        query = self.query
        self.write_json(await catalogue.list_items(self.ctx.db, self.scope, status=query.status or None,
                                                   department=query.department or None,
                                                   page=query.page, page_size=query.page_size))

    @requires(access.CATALOGUE_WRITE)
    @declare(body=ServiceDraft, answer=ServiceAdminView, status=201,
             errors={409: "An item with this code already exists (`service_exists`)"}, example=NEW_SERVICE_EXAMPLE)
    async def post(self) -> None:
        """Save a new item as a draft; an incomplete guide is allowed until publishing."""
        body = self.json_body()
        catalogue.require_placement(self.scope, body)
        item = await catalogue.create_item(self.ctx.db, body, now=self.ctx.clock())
        self.write_json(catalogue.admin_view(item), 201)


class AdminServiceHandler(BaseHandler):
    """One item: read (with what still stops it from being published), change, or delete a draft."""

    path_params = ("code",)

    @requires(access.CATALOGUE_READ)
    @declare(answer=ServiceAdminView)
    async def get(self, code: str) -> None:
        """The item in every locale, with `publishable` and `problems`."""
        self.write_json(catalogue.admin_view(await catalogue.get_item_for_operator(self.ctx.db, self.scope, code)))

    @requires(access.CATALOGUE_WRITE)
    @declare(body=ServiceFields, answer=ServiceAdminView,
             errors={409: "The item was changed meanwhile (`concurrent_update`)"},
             example={"guide": {"consultation_phone": "0571-87654321"}, "aliases": ["临时身份证", "办临时身份证"]})
    async def patch(self, code: str) -> None:
        """Change fields (`guide` merged key by key); a published item must stay complete."""
        changes = self.json_body()
        catalogue.require_placement(self.scope, changes, await catalogue.get_item_for_operator(self.ctx.db, self.scope, code))
        item = await catalogue.update_item(self.ctx, code, changes, now=self.ctx.clock())
        self.write_json(catalogue.admin_view(item))

    @requires(access.CATALOGUE_WRITE)
    @declare(answer=None, status=204, errors={409: "A published item is unpublished before it is deleted"})
    async def delete(self, code: str) -> None:
        """Delete a draft (published items are unpublished first)."""
        await catalogue.get_item_for_operator(self.ctx.db, self.scope, code)
        await catalogue.delete_item(self.ctx.db, code)
        self.set_status(204)
        self.finish()


class AdminPublishHandler(BaseHandler):
    """Publish an item through the gate: 422 `guide_incomplete` lists every missing or vague element."""

    path_params = ("code",)

    @requires(access.CATALOGUE_WRITE)
    @declare(answer=ServiceAdminView,
             errors={409: "The item was changed meanwhile (`concurrent_update`)",
                     422: "The guide is incomplete (`guide_incomplete`): every missing or vague element in `errors`"})
    async def post(self, code: str) -> None:
        await catalogue.get_item_for_operator(self.ctx.db, self.scope, code)
        item = await catalogue.publish_item(self.ctx, code, now=self.ctx.clock())
        self.write_json(catalogue.admin_view(item))


class AdminUnpublishHandler(BaseHandler):
    """Take an item off the citizens' catalogue (back to draft)."""

    path_params = ("code",)

    @requires(access.CATALOGUE_WRITE)
    @declare(answer=ServiceAdminView)
    async def post(self, code: str) -> None:
        await catalogue.get_item_for_operator(self.ctx.db, self.scope, code)
        item = await catalogue.unpublish_item(self.ctx, code, now=self.ctx.clock())
        self.write_json(catalogue.admin_view(item))


class MisfiledHandler(BaseHandler):
    """Items whose department or theme keywords do not match their name or aliases."""

    @requires(access.CATALOGUE_READ)
    @declare(answer=MisfiledReport)
    async def get(self) -> None:
        report = await catalogue.misfiled_items(self.ctx.db, self.scope)
        self.write_json({"items": report, "total": len(report)})


class SearchMissesHandler(BaseHandler):
    """Searches that found nothing, with how often each was typed (most frequent first)."""

    @requires(access.CATALOGUE_READ)
    @declare(query=PageQuery, answer=Page[SearchMiss])
    async def get(self) -> None:
        self.write_json(await catalogue.list_search_misses(self.ctx.db, page=self.query.page,
                                                           page_size=self.query.page_size))


routes = [
    (r"/admin/v1/services", AdminServicesHandler),
    (r"/admin/v1/services/([^/]+)", AdminServiceHandler),
    (r"/admin/v1/services/([^/]+)/publish", AdminPublishHandler),
    (r"/admin/v1/services/([^/]+)/unpublish", AdminUnpublishHandler),
    (r"/admin/v1/catalogue/misfiled", MisfiledHandler),
    (r"/admin/v1/search/misses", SearchMissesHandler),
]
