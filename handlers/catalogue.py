"""Citizens: the service catalogue (browse, search, one item's guide) and its navigation."""

from __future__ import annotations

from handlers.base import BaseHandler
from models import catalogue, exposure


class ServicesHandler(BaseHandler):
    """Browse and search published service items (q, department, theme, audience, region, page, page_size)."""

    async def get(self) -> None:
        """Search in everyday words (simplified, traditional or pinyin) with filters, paginated."""
        page, page_size = self.page_args()
        args = {name: self.get_query_argument(name, "").strip() or None
                for name in ("q", "department", "theme", "audience", "region")}
        # Through a channel with a list of exposed services: only those, in its order (models.exposure).
        exposed = await exposure.for_request(self.ctx, self.principal, self.header(exposure.CHANNEL_HEADER))
        if exposed is not None and not exposed.everything:
            self.write_json(await exposure.search(self.ctx, exposed, **args, page=page, page_size=page_size,
                                                  locale=self.locale_code))
            return
        self.write_json(await catalogue.search_catalogue(self.ctx, **args, page=page, page_size=page_size,
                                                         locale=self.locale_code))


class ServiceHandler(BaseHandler):
    """One published service item with its complete guide, in the caller's language."""

    path_params = ("code",)

    async def get(self, code: str) -> None:
        exposure.require_visible(await exposure.for_request(self.ctx, self.principal, self.header(exposure.CHANNEL_HEADER)),
                                 code)
        item = await catalogue.get_published_item(self.ctx.db, code)
        self.write_json(catalogue.public_item(item, self.locale_code))


class DepartmentsHandler(BaseHandler):
    """Departments that have published items (no empty columns)."""

    async def get(self) -> None:
        rows = await catalogue.list_departments(self.ctx.db)
        rows = await _exposed_columns(self, rows, "department")
        self.write_json({"items": [catalogue.public_entry(d, self.locale_code) for d in rows]})


class ThemesHandler(BaseHandler):
    """Themes (life events) that have published items (no empty columns)."""

    async def get(self) -> None:
        rows = await catalogue.list_themes(self.ctx.db)
        rows = await _exposed_columns(self, rows, "themes")
        self.write_json({"items": [catalogue.public_entry(t, self.locale_code) for t in rows]})


async def _exposed_columns(handler: BaseHandler, rows: list[dict], field: str) -> list[dict]:
    """Through a channel with a list of exposed services, only the columns holding one (models.exposure)."""
    exposed = await exposure.for_request(handler.ctx, handler.principal, handler.header(exposure.CHANNEL_HEADER))
    if exposed is None or exposed.everything:
        return rows
    keep = await exposure.navigation_codes(handler.ctx, exposed, field)
    return [row for row in rows if row.get("code") in keep]


class RegionsHandler(BaseHandler):
    """The region tree: province → city → counties, with region codes."""

    async def get(self) -> None:
        roots = await catalogue.list_regions(self.ctx.db)
        self.write_json({"items": [catalogue.public_region(r, self.locale_code) for r in roots]})


routes = [
    (r"/api/v1/services", ServicesHandler),
    (r"/api/v1/services/([^/]+)", ServiceHandler),
    (r"/api/v1/departments", DepartmentsHandler),
    (r"/api/v1/themes", ThemesHandler),
    (r"/api/v1/regions", RegionsHandler),
]
