"""One page of a collection, written once: `{"items", "total", "page", "page_size"}` as every list answers.

Pages are numbered from 1 (the handlers check `page` and `page_size` before the domain sees them).
The total comes from `count_documents` over the same filter, the page from `find` with the sort
given, so the filter and sort shapes sent are exactly the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

Sort = list[tuple[str, int]]


async def page_of(collection: AsyncCollection, query: Mapping[str, Any], sort: Sort, page: int, page_size: int,
                  view: Callable[[dict[str, Any]], Any] | None = None,
                  projection: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The `page`-th `page_size` documents matching `query` in `sort` order, each shown by `view`
    (the document itself without one), with the number of all matches."""
    total = await collection.count_documents(query)
    cursor = collection.find(query, projection).sort(sort).skip((page - 1) * page_size).limit(page_size)
    docs = await cursor.to_list(length=page_size)
    return {"items": [view(doc) for doc in docs] if view else docs, "total": total, "page": page, "page_size": page_size}
