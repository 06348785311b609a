"""What citizens read of the catalogue, served from this process's rendered copies
(models.catalogue.rendered): one item's guide and the department, theme and region lists.

Navigation bodies are kept with the very objects they were rendered from (the rows read from the
datastore, and for a channel with a list of exposed items, its `Exposure` and the search index its
columns were read from) and served only while those are still this process's current ones: evicting
the rows, or the channel changing, retires every body made from them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from models.catalogue.items import get_published_item, public_item
from models.catalogue.navigation import list_departments, list_regions, list_themes, public_entry, public_region
from models.catalogue.rendered import NAVIGATION, Document, etag_of, item_key, local_copies, rows_key
from models.core.context import Context
from models.errors import NotFound
from models.localcache import LocalCache

MAX_CODE_LENGTH = 64
# Through a channel with a list, departments and themes holding none of its items are left out.
_EXPOSED_FIELD = {"departments": "department", "themes": "themes"}
Columns = Callable[[Context, Any, str], Awaitable[set[str]]]


async def guide_document(ctx: Context, code: Any, locale: str, encode: Callable[[Any], bytes]) -> Document:
    """A published item's guide in `locale`, encoded by `encode` (the handler's JSON); NotFound
    `service_not_found` otherwise (never kept)."""
    if not isinstance(code, str) or not code or len(code) > MAX_CODE_LENGTH:
        raise NotFound("service_not_found", "未找到该事项", "Service item not found")
    cache = local_copies(ctx)
    key = item_key(code, locale)
    hit = cache.get(key)
    if hit is not None:
        return hit
    epoch = cache.epoch  # a change heard while we read makes what we read unfit to keep
    body = encode(public_item(await get_published_item(ctx.db, code), locale))
    document = Document(body, etag_of(body))
    cache.put(key, document, epoch)
    return document


async def navigation_document(ctx: Context, kind: str, locale: str, encode: Callable[[Any], bytes], *,
                     through: Any = None, columns: Columns | None = None) -> Document:
    """The department, theme or region list (`kind`) as citizens see it in `locale`: departments
    and themes without a published item left out, and for a request through a channel with a list of
    exposed items (`through`, a models.exposure.Exposure) those holding none of them too
    (`columns(ctx, through, field)`, models.exposure.navigation_codes: the codes to keep)."""
    if kind not in NAVIGATION:
        raise ValueError(f"unknown navigation {kind!r}")
    cache = local_copies(ctx)
    rows = await _rows(ctx, cache, kind)
    limited = (kind in _EXPOSED_FIELD and columns is not None and through is not None
               and not through.everything)
    sources: tuple[Any, ...] = (rows,)
    if limited:
        from models import search  # the search engine reads the catalogue; import late to avoid a cycle
        sources = (rows, through, await search.index_for(ctx))  # what the exposed columns are read from
    key = f"{kind}|{locale}|{through.app_id if limited else ''}"
    hit = cache.get(key)
    if hit is not None and hit.rendered_from(sources):
        return hit
    epoch = cache.epoch
    if kind == "regions":
        payload = {"items": [public_region(node, locale) for node in rows]}
    else:
        shown: Iterable[dict[str, Any]] = rows
        if limited:
            keep = await columns(ctx, through, _EXPOSED_FIELD[kind])
            shown = [row for row in rows if row.get("code") in keep]
        payload = {"items": [public_entry(row, locale) for row in shown]}
    body = encode(payload)
    document = Document(body, etag_of(body), sources)
    cache.put(key, document, epoch)
    return document


async def _rows(ctx: Context, cache: LocalCache, kind: str) -> list[dict[str, Any]]:
    """The navigation rows as read from the datastore, kept until the catalogue changes; shared by
    every request: read them, never change them."""
    key = rows_key(kind)
    rows = cache.get(key)
    if rows is None:
        epoch = cache.epoch
        reader = {"departments": list_departments, "themes": list_themes, "regions": list_regions}[kind]
        rows = await reader(ctx.db)
        cache.put(key, rows, epoch)
    return rows
