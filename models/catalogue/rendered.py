"""The copies of what citizens read of the catalogue that each process keeps rendered, and how
every process is told to drop them.

The guide is the most-read citizen page and changes a few times a year, so `models.catalogue.public`
serves one item's guide and the department, theme and region lists from this process's memory
(`ctx.caches`, models/localcache.py): the encoded body and its strong validator (ETag), with no
datastore round trip, localisation or JSON encoding. A body is the same for every caller who may see
it: it varies by language only (its key), and a channel that does not expose an item answers 404
before any body is looked up (models.exposure), so nothing personal is kept here.

Every write that changes what citizens see of an item (publish, unpublish, an edit of a published
item, the demo load) calls `forget` once the change is stored: it evicts the item's bodies and the
navigation rows here at once and in every other worker through Redis pub/sub (`cg:invalidate`); a
read that started before the change cannot store what it read (the cache's epoch). `LOCAL_SECONDS`
bounds staleness should a message be lost. Not-found answers are never kept: an item published
elsewhere is seen at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from typing import Any

from models.core.context import Context
from models.core.localized import SUPPORTED_LOCALES
from models.localcache import LocalCache

CACHE = "catalogue-public"
LOCAL_SECONDS = 60.0  # backstop for a lost invalidation message only
# Bounds memory (a guide is a few kilobytes per language); the least recently read go first.
LOCAL_ENTRIES = 5_000
NAVIGATION = ("departments", "themes", "regions")


@dataclasses.dataclass(frozen=True, eq=False)
class Document:
    """A body as sent, encoded once, with its strong ETag (the same bytes give the same tag in every
    process), and the objects it was rendered from when it depends on more than its key."""

    body: bytes
    etag: str
    sources: tuple[Any, ...] = ()

    def rendered_from(self, sources: tuple[Any, ...]) -> bool:
        """Whether it was rendered from these very objects (identity, not equality)."""
        return len(sources) == len(self.sources) and all(a is b for a, b in zip(sources, self.sources, strict=True))


def etag_of(body: bytes) -> str:
    """A strong entity tag of `body`: a quoted digest of its bytes."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def local_copies(ctx: Context) -> LocalCache:
    """This process's rendered bodies and the navigation rows they are made from."""
    return ctx.caches.cache(CACHE, LOCAL_ENTRIES, LOCAL_SECONDS)


def item_key(code: str, locale: str) -> str:
    return f"item|{code}|{locale}"


def rows_key(kind: str) -> str:
    return f"rows|{kind}"


async def forget(ctx: Context, codes: Iterable[str] = ()) -> None:
    """What citizens see of the items `codes` (and so of the navigation counts) changed: every
    process renders them, and the navigation lists, again at their next read."""
    keys = [item_key(code, locale) for code in codes for locale in SUPPORTED_LOCALES]
    await ctx.caches.invalidate(CACHE, keys + [rows_key(kind) for kind in NAVIGATION])
