"""Answers before asking: the published Q&A entries most relevant to what a citizen is about to ask.

`GET /api/v1/consultations/suggest?service_code=&q=` reads the published library from this
process's memory (`ctx.caches`, cache `qa_library`): every change to the library calls `forget`,
which evicts it in every worker, and it is read again from the datastore at most every
CACHE_SECONDS otherwise (the open counts that order an item's top answers may lag by that much).

Relevance: the query is cut into terms by the catalogue search's analyser (models.search.analysis:
simplified Chinese, jieba with the government-terms dictionary, lower-cased Latin), filler words of
questions dropped, each term widened to its synonyms. An entry scores, per query term, its best
alternative's weight: the term's rarity in the library (inverse document frequency) times 3 when it
is in the question, 1 when only in the answer. Without a query (or with only filler words), an
item's entries come most opened first: that is what the guide page shows.
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import math
from typing import Any

from models.core.context import Context
from models.core.localized import text
from models.core.timezone import local_iso
from models.search.analysis import get_analyzer
from models.search.dictionaries import QUERY_STOPWORDS

CACHE_NAME = "qa_library"
CACHE_KEY = "published"
CACHE_SECONDS = 60.0
DEFAULT_LIMIT = 5
MAX_LIMIT = 20
QUESTION_WEIGHT, ANSWER_WEIGHT = 3.0, 1.0


@dataclasses.dataclass(frozen=True)
class Entry:
    """A published entry as suggestions need it: its texts, items and analysed terms."""

    id: str
    question: dict[str, str]
    answer: dict[str, str]
    service_codes: tuple[str, ...]
    opened: int
    published_at: datetime.datetime | None
    updated_at: datetime.datetime | None
    question_terms: frozenset[str]
    answer_terms: frozenset[str]


@dataclasses.dataclass(frozen=True)
class Library:
    """The published library: the entries, by item, and how many entries hold each term."""

    entries: tuple[Entry, ...]
    by_service: dict[str, tuple[Entry, ...]]
    document_frequency: dict[str, int]

    @classmethod
    def build(cls, docs: list[dict[str, Any]]) -> Library:
        analyzer = get_analyzer()
        entries = []
        frequency: dict[str, int] = {}
        for doc in docs:
            question = _terms(analyzer, doc.get("question") or {})
            answer = _terms(analyzer, doc.get("answer") or {})
            for term in question | answer:
                frequency[term] = frequency.get(term, 0) + 1
            entries.append(Entry(str(doc["_id"]), dict(doc.get("question") or {}), dict(doc.get("answer") or {}),
                                 tuple(doc.get("service_codes") or ()), int(doc.get("opened") or 0),
                                 doc.get("published_at"), doc.get("updated_at"), question, answer))
        entries.sort(key=_top_order)
        by_service: dict[str, list[Entry]] = {}
        for entry in entries:
            for code in entry.service_codes:
                by_service.setdefault(code, []).append(entry)
        return cls(tuple(entries), {code: tuple(found) for code, found in by_service.items()}, frequency)

    def idf(self, term: str) -> float:
        return math.log(1 + len(self.entries) / (1 + self.document_frequency.get(term, 0)))


def _terms(analyzer: Any, texts: dict[str, str]) -> frozenset[str]:
    return frozenset(t for value in texts.values() if isinstance(value, str) for t in analyzer.terms(html.unescape(value)))


def _top_order(entry: Entry) -> tuple:
    published = entry.published_at.timestamp() if isinstance(entry.published_at, datetime.datetime) else 0.0
    return (-entry.opened, -published, entry.id)


async def library(ctx: Context) -> Library:
    """The published library, from this process's memory when it is there."""
    cache = ctx.caches.cache(CACHE_NAME, 4, CACHE_SECONDS)
    found = cache.get(CACHE_KEY)
    if found is not None:
        return found
    epoch = cache.epoch
    docs = await ctx.db.qa_library.find({"status": "published"}).to_list(None)
    found = Library.build(docs)
    cache.put(CACHE_KEY, found, epoch)
    return found


async def forget(ctx: Context) -> None:
    """The library changed: every worker reads it again."""
    await ctx.caches.invalidate(CACHE_NAME, [CACHE_KEY])


def query_terms(q: str) -> list[dict[str, float]]:
    """Each telling term of `q` with its alternatives (itself 1.0, its synonyms their factor)."""
    analyzer = get_analyzer()
    out = []
    seen: set[str] = set()
    for term in analyzer.terms(q):
        if term in QUERY_STOPWORDS or term in seen:
            continue
        seen.add(term)
        out.append({term: 1.0, **{k: v for k, v in analyzer.synonyms(term).items() if k != term}})
    return out


def score(found: Library, entry: Entry, concepts: list[dict[str, float]]) -> float:
    total = 0.0
    for alternatives in concepts:
        best = 0.0
        for term, factor in alternatives.items():
            where = QUESTION_WEIGHT if term in entry.question_terms else ANSWER_WEIGHT if term in entry.answer_terms else 0.0
            if where:
                best = max(best, where * factor * found.idf(term))
        total += best
    return total


def view(entry: Entry, locale: str) -> dict[str, Any]:
    """An entry as citizens see it: its texts in their language."""
    return {"id": entry.id, "question": text(entry.question, locale), "answer": text(entry.answer, locale),
            "service_codes": list(entry.service_codes), "updated_at": local_iso(entry.updated_at)}


def doc_view(doc: dict[str, Any], locale: str) -> dict[str, Any]:
    """A stored entry as citizens see it."""
    return {"id": str(doc["_id"]), "question": text(doc.get("question") or {}, locale),
            "answer": text(doc.get("answer") or {}, locale), "service_codes": list(doc.get("service_codes") or []),
            "updated_at": local_iso(doc.get("updated_at"))}


async def suggest(ctx: Context, *, service_code: str | None, q: str | None, locale: str,
                  limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The published answers most relevant to `q` (for `service_code` when given); without a telling
    word in `q`, the item's most opened answers (none without an item)."""
    found = await library(ctx)
    pool = found.by_service.get(service_code, ()) if service_code else found.entries
    concepts = query_terms(q) if q else []
    limit = max(1, min(limit, MAX_LIMIT))
    if concepts:
        scored = [(score(found, entry, concepts), entry) for entry in pool]
        ranked = [entry for value, entry in sorted(scored, key=lambda pair: (-pair[0], _top_order(pair[1]))) if value > 0]
        match = "relevant"
    else:
        ranked = list(pool) if service_code else []
        match = "top"
    return {"items": [view(entry, locale) for entry in ranked[:limit]], "service_code": service_code or None,
            "q": q or None, "match": match}
