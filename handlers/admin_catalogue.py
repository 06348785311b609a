"""Operators: catalogue maintenance (drafts, the publish gate), the misfiling report, zero-result searches.

Role `catalogue` (admins hold every role).
"""

from __future__ import annotations

from handlers.base import BaseHandler, requires
from models import access, catalogue


class AdminServicesHandler(BaseHandler):
    """List service items in any status (status, department filters) or create a draft."""

    @requires(access.CATALOGUE_READ)
    async def get(self) -> None:
        """Items by code, drafts and published."""
        page, page_size = self.page_args()
        status = self.get_query_argument("status", "") or None
        department = self.get_query_argument("department", "") or None
        self.write_json(await catalogue.list_items(self.ctx.db, self.scope, status=status, department=department,
                                                   page=page, page_size=page_size))

    @requires(access.CATALOGUE_WRITE)
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
    async def get(self, code: str) -> None:
        """The item in every locale, with `publishable` and `problems`."""
        self.write_json(catalogue.admin_view(await catalogue.get_item_for_operator(self.ctx.db, self.scope, code)))

    @requires(access.CATALOGUE_WRITE)
    async def patch(self, code: str) -> None:
        """Change fields (`guide` merged key by key); a published item must stay complete."""
        changes = self.json_body()
        catalogue.require_placement(self.scope, changes, await catalogue.get_item_for_operator(self.ctx.db, self.scope, code))
        item = await catalogue.update_item(self.ctx.db, code, changes, redis=self.ctx.redis, now=self.ctx.clock())
        self.write_json(catalogue.admin_view(item))

    @requires(access.CATALOGUE_WRITE)
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
    async def post(self, code: str) -> None:
        await catalogue.get_item_for_operator(self.ctx.db, self.scope, code)
        item = await catalogue.publish_item(self.ctx.db, code, redis=self.ctx.redis, now=self.ctx.clock())
        self.write_json(catalogue.admin_view(item))


class AdminUnpublishHandler(BaseHandler):
    """Take an item off the citizens' catalogue (back to draft)."""

    path_params = ("code",)

    @requires(access.CATALOGUE_WRITE)
    async def post(self, code: str) -> None:
        await catalogue.get_item_for_operator(self.ctx.db, self.scope, code)
        item = await catalogue.unpublish_item(self.ctx.db, code, redis=self.ctx.redis, now=self.ctx.clock())
        self.write_json(catalogue.admin_view(item))


class MisfiledHandler(BaseHandler):
    """Items whose department or theme keywords do not match their name or aliases."""

    @requires(access.CATALOGUE_READ)
    async def get(self) -> None:
        report = await catalogue.misfiled_items(self.ctx.db, self.scope)
        self.write_json({"items": report, "total": len(report)})


class SearchMissesHandler(BaseHandler):
    """Searches that found nothing, with how often each was typed (most frequent first)."""

    @requires(access.CATALOGUE_READ)
    async def get(self) -> None:
        page, page_size = self.page_args()
        self.write_json(await catalogue.list_search_misses(self.ctx.db, page=page, page_size=page_size))


routes = [
    (r"/admin/v1/services", AdminServicesHandler),
    (r"/admin/v1/services/([^/]+)", AdminServiceHandler),
    (r"/admin/v1/services/([^/]+)/publish", AdminPublishHandler),
    (r"/admin/v1/services/([^/]+)/unpublish", AdminUnpublishHandler),
    (r"/admin/v1/catalogue/misfiled", MisfiledHandler),
    (r"/admin/v1/search/misses", SearchMissesHandler),
]
