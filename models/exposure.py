"""What a channel exposes (渠道事项配置): which service items, in which order, in which regions.

A channel's `exposed_services` is a list of entries `{code, order, regions}`; an empty list exposes
every published item. A request arrives *through* a channel when its citizen token was issued by a
login through that channel (`Principal.channel`, the app id), or, for callers without a token, when
it names the app id in the `X-CityGate-Channel` header (a logged-in citizen's token wins over the
header: the header cannot widen what the login channel exposes). Requests through no channel (the
phone-browser client, operators' tools) see every item.

Through a channel with a list:
- browse (`GET /api/v1/services` without `q`) lists the exposed items in the channel's order
  (`order`, then code); a search (`q`) keeps its relevance ranking; both only exposed items;
- an entry with `regions` is listed only when the request's `?region=` lies inside one of them or
  contains one of them (a request that names no region sees it: the channel does not know where the
  citizen is); one item's guide and applications are not limited by region;
- `GET /api/v1/departments` and `/themes` leave out those with no exposed item (no empty columns);
- `GET /api/v1/services/{code}` and the item's form answer 404 `service_not_found` for an item the
  channel does not expose (as if it did not exist there), and `POST /api/v1/applications` answers
  403 `service_not_exposed`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from models import access
from models.core.context import Context
from models.errors import BadRequest, FieldError, Forbidden, NotFound

CHANNEL_HEADER = "X-CityGate-Channel"
CACHE_NAME = "channel-exposure"
CACHE_SECONDS = 30.0
MAX_ENTRIES = 1000
MAX_REGIONS = 50
_SERVICE_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,7}-[0-9A-Za-z]{2,12}\Z", re.ASCII)
_REGION = re.compile(r"^[0-9]{6}\Z", re.ASCII)


@dataclasses.dataclass(frozen=True)
class Exposure:
    """One channel's exposure; `entries` empty means everything."""

    app_id: str
    entries: dict[str, tuple[int, tuple[str, ...]]]  # code -> (order, regions)

    @property
    def everything(self) -> bool:
        return not self.entries

    def allows(self, code: Any, region: str | None = None) -> bool:
        """Whether item `code` is exposed (for a request about `region`, when it names one)."""
        if self.everything:
            return True
        entry = self.entries.get(code) if isinstance(code, str) else None
        if entry is None:
            return False
        regions = entry[1]
        if not regions or not region:
            return True
        return any(access.region_covers(r, region) or access.region_covers(region, r) for r in regions)

    def sort_key(self, code: str) -> tuple[int, str]:
        return self.entries.get(code, (1 << 30, ()))[0], code


def _error(field: str, code: str, zh: str, en: str) -> FieldError:
    return FieldError(field, code, zh, en)


def parse(value: Any, errors: list[FieldError], field: str = "exposed_services") -> list[dict[str, Any]]:
    """Validated entries from an operator's body: item codes (strings) or `{code, order?, regions?}`.

    A plain code's order is its position in the list. Entries come back sorted by (order, code).
    """
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        errors.append(_error(field, "invalid", f"{field} 应为事项列表（最多 {MAX_ENTRIES} 项，空列表表示全部事项）",
                             f"{field} must be a list of at most {MAX_ENTRIES} items (empty: every item)"))
        return []
    out: dict[str, dict[str, Any]] = {}
    before = len(errors)
    for position, raw in enumerate(value):
        where = f"{field}[{position}]"
        entry = {"code": raw} if isinstance(raw, str) else raw
        if not isinstance(entry, dict) or set(entry) - {"code", "order", "regions"}:
            errors.append(_error(where, "invalid", "应为事项编码或 {code, order, regions}",
                                 "must be an item code or {code, order, regions}"))
            continue
        code = entry.get("code")
        if not isinstance(code, str) or not _SERVICE_CODE.match(code):
            errors.append(_error(f"{where}.code", "invalid", "事项编码格式不正确", "not an item code"))
            continue
        if code in out:
            errors.append(_error(f"{where}.code", "duplicate", "事项重复", "this item is listed twice"))
            continue
        order = entry.get("order", position)
        if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= 1_000_000:
            errors.append(_error(f"{where}.order", "invalid", "order 应为 0 到 1000000 的整数",
                                 "order must be a whole number from 0 to 1000000"))
            continue
        regions = entry.get("regions", [])
        if not isinstance(regions, list) or len(regions) > MAX_REGIONS or \
                not all(isinstance(r, str) and _REGION.match(r) for r in regions):
            errors.append(_error(f"{where}.regions", "invalid", f"regions 应为最多 {MAX_REGIONS} 个 6 位行政区划代码",
                                 f"regions must be at most {MAX_REGIONS} six-digit region codes"))
            continue
        out[code] = {"code": code, "order": order, "regions": sorted(set(regions))}
    if len(errors) > before:
        return []
    return sorted(out.values(), key=lambda e: (e["order"], e["code"]))


def stored_entries(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """A channel document's entries (older documents hold plain codes)."""
    entries = []
    for position, raw in enumerate(doc.get("exposed_services") or []):
        if isinstance(raw, str):
            entries.append({"code": raw, "order": position, "regions": []})
        elif isinstance(raw, dict) and isinstance(raw.get("code"), str):
            entries.append({"code": raw["code"], "order": int(raw.get("order") or 0),
                            "regions": list(raw.get("regions") or [])})
    return sorted(entries, key=lambda e: (e["order"], e["code"]))


def from_document(doc: dict[str, Any]) -> Exposure:
    return Exposure(doc["app_id"], {e["code"]: (e["order"], tuple(e["regions"])) for e in stored_entries(doc)})


async def load(ctx: Context, app_id: str) -> tuple[Exposure, bool] | None:
    """(exposure, enabled) of the channel `app_id` (kept in this process up to CACHE_SECONDS; changes
    evict it everywhere through `forget`); None when there is no such channel."""
    cache = ctx.caches.cache(CACHE_NAME, 256, CACHE_SECONDS)
    found = cache.get(app_id)
    if found is not None:
        return found
    epoch = cache.epoch
    doc = await ctx.db.channels.find_one({"app_id": app_id}, {"app_id": 1, "exposed_services": 1, "enabled": 1})
    if doc is None:
        return None
    found = (from_document(doc), bool(doc.get("enabled", True)))
    cache.put(app_id, found, epoch)
    return found


async def forget(ctx: Context, app_id: str) -> None:
    """A channel's exposure (or enabled flag) changed: every process reads it again."""
    await ctx.caches.invalidate(CACHE_NAME, [app_id])


async def for_request(ctx: Context, principal: Any, header_app_id: str) -> Exposure | None:
    """The exposure that applies to a request: its citizen token's login channel, else the
    `X-CityGate-Channel` header; None (everything) for a request through no channel.

    A header naming no channel, or a disabled one, is 400 `channel_unknown` (as at login); a token's
    channel deleted since the login limits nothing.
    """
    token_channel = getattr(principal, "channel", "") if principal is not None and principal.kind == "citizen" else ""
    app_id = token_channel or (header_app_id or "").strip()
    if not app_id:
        return None
    found = await load(ctx, app_id)
    if found is None:
        if token_channel:
            return None
        raise _unknown()
    exposure, enabled = found
    if not token_channel and not enabled:
        raise _unknown()
    return exposure


def _unknown() -> BadRequest:
    return BadRequest("channel_unknown", "未知或已停用的渠道（X-CityGate-Channel）",
                      "Unknown or disabled channel (X-CityGate-Channel)")


def require_visible(exposure: Exposure | None, code: Any) -> None:
    """404 for an item the request's channel does not expose (it does not exist there)."""
    if exposure is not None and not exposure.allows(code):
        raise NotFound("service_not_found", "未找到该事项", "Service item not found")


def require_applicable(exposure: Exposure | None, code: Any) -> None:
    """403 problem+json for an application to an item the request's channel does not expose."""
    if exposure is not None and isinstance(code, str) and code and not exposure.allows(code):
        raise Forbidden("service_not_exposed", "该渠道未开放此事项的办理", "This channel does not offer this service item",
                        extra={"service_code": code, "channel": exposure.app_id})


async def search(ctx: Context, exposure: Exposure, *, q: str | None, department: str | None, theme: str | None,
                 audience: str | None, region: str | None, page: int, page_size: int, locale: str) -> dict[str, Any]:
    """Citizens' browse and search through a channel that exposes a list: the catalogue's own search
    over every match, then only exposed items (browse in the channel's order, search by relevance)."""
    from models import catalogue

    # Every match in one page: the index answers from memory and the exposed list is short, so the
    # cost is one pass over the matches. Validation and miss logging are the catalogue's own.
    everything = await catalogue.search_catalogue(ctx, q=q, department=department, theme=theme, audience=audience,
                                                   region=region, page=1, page_size=1_000_000, locale=locale)
    items = [item for item in everything["items"] if exposure.allows(item.get("code"), region)]
    if not (q and q.strip()):
        items.sort(key=lambda item: exposure.sort_key(item["code"]))
    start = (page - 1) * page_size
    return {"items": items[start:start + page_size], "total": len(items), "page": page, "page_size": page_size,
            "total_exact": everything.get("total_exact", True), "match": everything["match"],
            "themes": everything["themes"]}


async def navigation_codes(ctx: Context, exposure: Exposure, field: str) -> set[str]:
    """Departments (`field` "department") or themes ("themes") that hold an item the channel
    exposes: through a channel, the navigation shows no column it would leave empty."""
    from models import search

    index = await search.index_for(ctx)
    codes: set[str] = set()
    for item in index.items:
        if exposure.allows(item.get("code")):
            value = item.get(field)
            codes.update(value if isinstance(value, list | tuple) else [value] if value else [])
    return codes

