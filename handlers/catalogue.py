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


class FaceRequirement(Answer):
    """刷脸: a submission needs a face verification of the applicant at most `within_minutes` old."""

    within_minutes: int
    auto_complete: Annotated[bool, msgspec.Meta(description="a verified submission completes at once")] = False


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
    face_verification: Annotated[FaceRequirement | None, msgspec.Meta(
        description="present when applying needs a face verification (POST /api/v1/me/face-verifications)")] = None
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


# Guides and navigation are public documents that change a few times a year: served from each
# process's rendered copies (models.catalogue.public) with a strong ETag, answered 304 to a caller
# revalidating, and kept a minute by browsers and shared caches (then served stale for up to another
# minute while they revalidate in the background). What a caller may see depends on the language and
# on the channel (the X-CityGate-Channel header, or the login channel of a citizen's token): hence
# Vary, and `private` for a caller with a token (docs/service-item.md, Caching).
PUBLIC_DOCUMENT = "public, max-age=60, stale-while-revalidate=60"
PRIVATE_DOCUMENT = "private, max-age=60, stale-while-revalidate=60"
DOCUMENT_VARY = f"Accept-Language, {exposure.CHANNEL_HEADER}, Authorization"


class PublicDocumentHandler(BaseHandler):
    """A public catalogue document: ETag, 304 to If-None-Match, Cache-Control and Vary."""

    per_channel = True  # what the caller sees depends on the channel it comes through

    def write_document(self, document: catalogue.Document) -> None:
        self.set_header("ETag", document.etag)
        if self.per_channel:
            self.set_header("Cache-Control", PRIVATE_DOCUMENT if self.header("Authorization") else PUBLIC_DOCUMENT)
            self.set_header("Vary", DOCUMENT_VARY)
        else:
            self.set_header("Cache-Control", PUBLIC_DOCUMENT)
            self.set_header("Vary", "Accept-Language")
        self.set_header("Content-Language", self.locale_code)
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
            return
        self.write_json_body(document.body)

    async def exposed(self) -> exposure.Exposure | None:
        """What the request's channel exposes (None: no channel, everything)."""
        return await exposure.for_request(self.ctx, self.principal, self.header(exposure.CHANNEL_HEADER))


class ServiceHandler(PublicDocumentHandler):
    """One published service item with its complete guide, in the caller's language."""

    path_params = ("code",)

    @declare(answer=ServiceItem, errors={**CHANNEL_HEADER, 403: "The channel does not offer this item"})
    async def get(self, code: str) -> None:
        """One published item's guide (办事指南), in the caller's language.

        ETag: a strong validator of the body. If-None-Match with a matching tag (strong or weak form,
        one of a list, or `*`) is answered 304 without a body. Through a channel that does not expose
        the item, 404 `service_not_found`.
        """
        exposure.require_visible(await self.exposed(), code)
        self.write_document(await catalogue.guide_document(self.ctx, code, self.locale_code, self.encode_json))


class DepartmentsHandler(PublicDocumentHandler):
    """Departments that have published items (no empty columns)."""

    @declare(answer=NavigationList, errors=CHANNEL_HEADER)
    async def get(self) -> None:
        """Departments that have published items (no empty columns), with ETag and 304 as the guide."""
        self.write_document(await catalogue.navigation_document(
            self.ctx, "departments", self.locale_code, self.encode_json, through=await self.exposed(),
            columns=exposure.navigation_codes))


class ThemesHandler(PublicDocumentHandler):
    """Themes (life events) that have published items (no empty columns)."""

    @declare(answer=NavigationList, errors=CHANNEL_HEADER)
    async def get(self) -> None:
        """Themes (life events) that have published items (no empty columns), with ETag and 304 as the guide."""
        self.write_document(await catalogue.navigation_document(
            self.ctx, "themes", self.locale_code, self.encode_json, through=await self.exposed(),
            columns=exposure.navigation_codes))


class RegionsHandler(PublicDocumentHandler):
    """The region tree: province → city → counties, with region codes."""

    per_channel = False

    @declare(answer=RegionTree)
    async def get(self) -> None:
        """The region tree: province → city → counties, with ETag and 304 as the guide."""
        self.write_document(await catalogue.navigation_document(self.ctx, "regions", self.locale_code,
                                                                self.encode_json))


routes = [
    (r"/api/v1/services", ServicesHandler),
    (r"/api/v1/services/suggest", ServiceSuggestHandler),  # before the item route: "suggest" is no code
    (r"/api/v1/services/([^/]+)", ServiceHandler),
    (r"/api/v1/departments", DepartmentsHandler),
    (r"/api/v1/themes", ThemesHandler),
    (r"/api/v1/regions", RegionsHandler),
]
