"""Catalogue (政务服务事项目录): service items, departments, themes, regions.

A service item (政务服务事项) is one service a citizen can apply for; its shape is described in
docs/service-item.md. Items are saved as drafts however incomplete they are, and published only
through the publish gate (`guide_problems`), which names every missing or vague element of the
guide (办事指南). Citizens see only published items, and navigation hides departments and themes
that have none. Other modules read items through `get_published_item` / `get_item` only.

Modules: `gate` (the publish gate), `items` (storage,
edits, publication), `navigation` (departments, themes, regions), `misfiling` (items filed under
the wrong department or theme), `browse` (citizens' search, zero-result queries), `public` (the
guide and navigation bodies citizens read, rendered once per process, with their ETags) and
`rendered` (those copies, dropped in every process when the catalogue changes), `demo` (the demo
catalogue in data/demo_catalogue/). Texts in several languages are `models.core.localized`'s, re-exported
here. Callers import from `models.catalogue`.
"""

from models.catalogue.browse import (
    list_search_misses,
    record_search_miss,
    search_catalogue,
    search_catalogue_body,
    suggest_services,
    suggest_services_body,
    summary,
)
from models.catalogue.demo import DEMO_DIR, load_demo, load_demo_catalogue, read_demo, read_department_files
from models.catalogue.gate import (
    AUDIENCES,
    DEFAULT_ALLOWED_TYPES,
    FORM_MATERIAL,
    GENERIC_STEPS,
    HANDLING_DEPTHS,
    ITEM_CODE,
    LAW_REFERENCE,
    LAW_TITLE,
    MAX_TIME_LIMIT_DAYS,
    MEDIUMS,
    ONLINE_DEPTHS,
    ORIGINALS,
    PHONE,
    REGION_CODE,
    STEP_SEPARATORS,
    VAGUE_LAW_PHRASES,
    VAGUE_MATERIAL_WORDS,
    guide_problems,
    is_generic_step,
    is_vague_conditions,
    is_vague_legal_basis,
    is_vague_material_name,
)
from models.catalogue.items import (
    EDITABLE_FIELDS,
    STATUSES,
    admin_view,
    catalogue_changed,
    create_item,
    delete_item,
    ensure_indexes,
    find_item,
    get_item,
    get_item_for_operator,
    get_published_item,
    list_items,
    public_item,
    publish_item,
    published_changed,
    published_items,
    require_placement,
    unpublish_item,
    update_item,
)
from models.catalogue.misfiling import misfiled_items, misfiling_problems
from models.catalogue.navigation import list_departments, list_regions, list_themes, public_entry, public_region
from models.catalogue.public import guide_document, navigation_document
from models.catalogue.rendered import Document
from models.core.localized import (
    DEFAULT_LOCALE,
    LOCALE_KEY,
    SUPPORTED_LOCALES,
    Localized,
    is_localized,
    localize,
    resolve_locale,
    text,
)

__all__ = [
    "AUDIENCES", "DEFAULT_ALLOWED_TYPES", "DEFAULT_LOCALE", "DEMO_DIR", "Document", "EDITABLE_FIELDS", "FORM_MATERIAL",
    "GENERIC_STEPS", "HANDLING_DEPTHS", "ITEM_CODE", "LAW_REFERENCE", "LAW_TITLE", "LOCALE_KEY",
    "MAX_TIME_LIMIT_DAYS", "MEDIUMS", "ONLINE_DEPTHS", "ORIGINALS", "PHONE", "REGION_CODE", "STATUSES",
    "STEP_SEPARATORS", "SUPPORTED_LOCALES", "VAGUE_LAW_PHRASES", "VAGUE_MATERIAL_WORDS", "Localized",
    "admin_view", "catalogue_changed", "create_item", "delete_item", "ensure_indexes", "find_item", "get_item",
    "get_item_for_operator", "get_published_item", "guide_document", "guide_problems", "is_generic_step", "is_localized",
    "is_vague_conditions", "is_vague_legal_basis", "is_vague_material_name", "list_departments", "list_items",
    "list_regions", "list_search_misses", "list_themes", "load_demo", "load_demo_catalogue", "localize",
    "misfiled_items", "misfiling_problems", "navigation_document", "public_entry", "public_item", "public_region",
    "publish_item", "published_changed", "published_items", "read_demo", "read_department_files",
    "record_search_miss", "require_placement", "resolve_locale", "search_catalogue", "search_catalogue_body",
    "suggest_services", "suggest_services_body", "summary", "text", "unpublish_item", "update_item",
]
