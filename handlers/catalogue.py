"""Citizens: the service catalogue (browse, search, one item's guide) and its navigation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from handlers.base import BaseHandler
from handlers.contract import Answer, Fen, Page, PageQuery, Query, Timestamp, declare
from models import catalogue, exposure


# ---- the contract ---------------------------------------------------------------------------------
# Localised texts arrive as the text in the caller's language (Accept-Language, falling back to zh-CN).
class ServicesQuery(PageQuery):
    """Filters of the catalogue; each is checked by the catalogue (422 naming the filter)."""

    q: Annotated[str | None, msgspec.Meta(description="words, in simplified or traditional Chinese or pinyin; "
                                                       "at most 100 characters")] = None
    department: Annotated[str | None, msgspec.Meta(description="department code")] = None
    theme: Annotated[str | None, msgspec.Meta(description="theme (life event) code")] = None
    audience: Annotated[str | None, msgspec.Meta(description="personal or enterprise")] = None
    region: Annotated[str | None, msgspec.Meta(
        description="region code of 2 to 6 digits: items of that region and of the regions above it")] = None


class ServiceSummary(Answer):
    """What a result list shows of one item."""

    code: str
    name: str
    department: str | None
    region_code: str | None
    audience: list[str]
    themes: list[str]
    handling_depth: Annotated[str | None, msgspec.Meta(
        description="info_only, online_application, whole_process_online or at_most_one_visit")]
    promised_time_limit_days: Annotated[int | None, msgspec.Meta(description="working days")]
    free: bool | None


class ThemeSuggestion(Answer):
    """A life event (theme) near the query: the citizen can open all its items (`?theme=code`)."""

    code: str
    name: str


class ServiceResults(Page[ServiceSummary]):
    total_exact: Annotated[bool, msgspec.Meta(
        description="false when a broad query matched more items than are ranked: `total` counts the ranked ones")]
    match: Annotated[Literal["exact", "related"], msgspec.Meta(
        description="exact: the items match what was asked (read with its synonyms, intents, life events and "
                    "typos recovered); related: nothing did, these are the closest items (a query never "
                    "answers nothing) and `themes` names the life events near it")] = "exact"
    themes: Annotated[list[ThemeSuggestion], msgspec.Meta(
        description="life events (themes) the query names or is near, in the caller's language")] = []


class SuggestQuery(Query):
    q: Annotated[str | None, msgspec.Meta(description="what the citizen has typed so far: characters, pinyin or "
                                                       "pinyin initials; at most 100 characters")] = None


class ServiceSuggestion(Answer):
    """A name or alias of a published item that begins with what was typed."""

    text: Annotated[str, msgspec.Meta(description="the name or alias, as written: what the search box is completed with")]
    kind: Annotated[Literal["name", "alias"], msgspec.Meta(description="an item's name or one of its aliases")]
    code: Annotated[str, msgspec.Meta(description="the item it belongs to (the first, in code order, when shared)")]
    name: Annotated[str, msgspec.Meta(description="that item's name in the caller's language")]


class ServiceSuggestions(Answer):
    items: list[ServiceSuggestion]


class GuideMaterial(Answer):
    key: str
    name: str
    original_or_copy: Annotated[str, msgspec.Meta(description="original, copy or both")]
    copies: int
    medium: Annotated[str, msgspec.Meta(description="paper, electronic or both")]
    required: bool
    format_rules: str | None = None
    template_url: Annotated[str | None, msgspec.Meta(description="a blank form to fill in")] = None
    sample_url: str | None = None
    allowed_types: Annotated[list[str] | None, msgspec.Meta(description="media types of an electronic copy")] = None
    max_bytes: int | None = None


class GuideFee(Answer):
    free: bool
    amount_fen: Fen | None = None
    basis: str | None = None


class GuideLocation(Answer):
    name: str
    address: str
    office_hours: str


class GuideResult(Answer):
    name: str
    sample_url: str | None = None


class GuideDelivery(Answer):
    by_post: Annotated[bool, msgspec.Meta(description="the result can be sent by post")]
    note: str | None = None


class ServiceGuide(Answer):
    """The guide (办事指南): basis, conditions, materials, process, time limits, fee, where, result."""

    legal_basis: str
    conditions: str
    materials: list[GuideMaterial]
    process: list[str]
    legal_time_limit_days: Annotated[int, msgspec.Meta(description="working days")]
    promised_time_limit_days: Annotated[int, msgspec.Meta(description="working days; deadlines count from this")]
    fee: GuideFee
    locations: list[GuideLocation]
    consultation_phone: str
    supervision_phone: str
    result: GuideResult
    delivery: GuideDelivery


class ServiceItem(Answer):
    """One published service item with its complete guide."""

    code: str
    name: str
    aliases: list[str]
    department: str
    region_code: str
    audience: list[str]
    themes: list[str]
    handling_depth: str
    guide: ServiceGuide
    locale: Annotated[str, msgspec.Meta(description="the language of the texts: zh-CN or en")]
    form_schema: Annotated[dict[str, Any] | None, msgspec.Meta(
        description="the online application form (JSON Schema), titles in the caller's language")] = None
    updated_at: Timestamp | None = None
    published_at: Timestamp | None = None


class NavigationEntry(Answer):
    """A department or theme with the number of published items it holds."""

    code: str
    name: str
    item_count: int
    consultation_phone: str | None = None


class NavigationList(Answer):
    items: list[NavigationEntry]


class RegionNode(Answer):
    code: str
    name: str
    level: Annotated[str | None, msgspec.Meta(description="province, city or county")]
    children: list[RegionNode]


class RegionTree(Answer):
    items: list[RegionNode]


CHANNEL_HEADER = {400: "X-CityGate-Channel names no enabled channel"}


class ServicesHandler(BaseHandler):
    """Browse and search published service items (q, department, theme, audience, region, page, page_size)."""

    @declare(query=ServicesQuery, answer=ServiceResults,
             errors={422: "A filter that is no valid value (each named in `errors`)"})
    async def get(self) -> None:
        """Search in everyday words (simplified, traditional or pinyin) with filters, paginated."""
        page, page_size = self.query.page, self.query.page_size
        args = {name: (getattr(self.query, name) or "").strip() or None
                for name in ("q", "department", "theme", "audience", "region")}
        # Through a channel with a list of exposed services: only those, in its order (models.exposure).
        exposed = await exposure.for_request(self.ctx, self.principal, self.header(exposure.CHANNEL_HEADER))
        if exposed is not None and not exposed.everything:
            self.write_json(await exposure.search(self.ctx, exposed, **args, page=page, page_size=page_size,
                                                  locale=self.locale_code))
            return
        self.write_json_body(await catalogue.search_catalogue_body(self.ctx, self.encode_json, **args, page=page,
                                                                   page_size=page_size, locale=self.locale_code))


class ServiceSuggestHandler(BaseHandler):
    """Suggestions as the citizen types: published items' names and aliases by prefix, pinyin or initials."""

    @declare(query=SuggestQuery, answer=ServiceSuggestions,
             errors={**CHANNEL_HEADER, 422: "q is longer than 100 characters"},
             example={"items": [{"text": "护照办理", "kind": "alias", "code": "GA-0001", "name": "普通护照签发"}]})
    async def get(self) -> None:
        """Up to ten names and aliases beginning with `q`, answered from memory (no datastore read)."""
        exposed = await exposure.for_request(self.ctx, self.principal, self.header(exposure.CHANNEL_HEADER))
        if exposed is None or exposed.everything:
            self.write_json_body(await catalogue.suggest_services_body(self.ctx, self.query.q, self.encode_json,
                                                                       locale=self.locale_code))
            return
        self.write_json(await catalogue.suggest_services(self.ctx, self.query.q, locale=self.locale_code,
                                                         allowed=lambda item: exposed.allows(item.get("code"))))


class ServiceHandler(BaseHandler):
    """One published service item with its complete guide, in the caller's language."""

    path_params = ("code",)

    @declare(answer=ServiceItem, errors={**CHANNEL_HEADER, 403: "The channel does not offer this item"})
    async def get(self, code: str) -> None:
        exposure.require_visible(await exposure.for_request(self.ctx, self.principal, self.header(exposure.CHANNEL_HEADER)),
                                 code)
        item = await catalogue.get_published_item(self.ctx.db, code)
        self.write_json(catalogue.public_item(item, self.locale_code))


class DepartmentsHandler(BaseHandler):
    """Departments that have published items (no empty columns)."""

    @declare(answer=NavigationList, errors=CHANNEL_HEADER)
    async def get(self) -> None:
        rows = await catalogue.list_departments(self.ctx.db)
        rows = await _exposed_columns(self, rows, "department")
        self.write_json({"items": [catalogue.public_entry(d, self.locale_code) for d in rows]})


class ThemesHandler(BaseHandler):
    """Themes (life events) that have published items (no empty columns)."""

    @declare(answer=NavigationList, errors=CHANNEL_HEADER)
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

    @declare(answer=RegionTree)
    async def get(self) -> None:
        roots = await catalogue.list_regions(self.ctx.db)
        self.write_json({"items": [catalogue.public_region(r, self.locale_code) for r in roots]})


routes = [
    (r"/api/v1/services", ServicesHandler),
    (r"/api/v1/services/suggest", ServiceSuggestHandler),  # before the item route: "suggest" is no code
    (r"/api/v1/services/([^/]+)", ServiceHandler),
    (r"/api/v1/departments", DepartmentsHandler),
    (r"/api/v1/themes", ThemesHandler),
    (r"/api/v1/regions", RegionsHandler),
]
