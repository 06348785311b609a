"""`SearchIndex`: an in-memory inverted index of published items, built from a list of item dicts.

A term's postings are stored grouped by weight, heaviest first (a name hit weighs more than an alias
hit, which weighs more than a hit in the guide text); `Ranking` (models/search/ranking.py) reads
them within a budget. The name/alias-level postings are also kept per partition (department, theme,
city), so a filtered query reads its filter's own postings rather than hunting through the whole
catalogue's. Totals are exact unless a concept had more postings than the budget (`total_exact`
then says so); the ranking of the first pages is unaffected, since the best-weighted postings are
read first.
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import math
import re
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from models import access
from models.core import localized
from models.search.analysis import Analyzer, get_analyzer, pinyin_keys
from models.search.ranking import (
    ALIAS,
    EXTRA_FIELD_BONUS,
    GUIDE,
    NAME,
    PARTITIONED,
    RESULT,
    TAXONOMY,
    Ranking,
    ranking_key,
)
from models.search.reading import THEME_TERM, Reading
from models.search.suggest import Entry, Suggester
from models.search.typos import Corrector

GUIDE_TERMS_PER_ITEM = 60     # the rarest guide-text terms kept per item
MAX_INITIALS_TERMS = 8        # Chinese words tried for one string of pinyin initials
MAX_PINYIN_VOCABULARY = 20_000  # most frequent name and alias words given pinyin keys
NEED = 0.4                    # share of a query's weight an item must match (about half of what was asked)
RESULT_CACHE_ENTRIES = 4096   # answers kept per index: the most asked queries recur (the index never changes)
RELATED_THEMES = 3            # themes a related answer suggests beside its items
_CJK = re.compile(r"^[\u4e00-\u9fff]+$")


@dataclasses.dataclass
class SearchResult:
    """One page of items, best first, with their scores and how many matched in all."""

    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int
    scores: list[float] = dataclasses.field(default_factory=list)
    total_exact: bool = True
    match: str = "exact"  # "related": nothing matched what was asked; these are the closest items
    themes: list[str] = dataclasses.field(default_factory=list)  # life events the query names or is near


def region_scope(region: str) -> tuple[str, frozenset[str]]:
    """(prefix of codes inside the region, codes of the regions above it).

    330100 (a city) → ("3301", {"330000"}); 330106 (a county) → ("330106", {"330100", "330000"}).
    An item matches when it is inside the region or handled by a region above it (a city-level item
    serves every county of the city).
    """
    region = region.strip()
    if len(region) == 6 and region.isascii() and region.isdigit():
        return access.region_prefix(region), frozenset({region[:2] + "0000", region[:4] + "00"} - {region})
    prefix = region
    above = set()
    if len(prefix) >= 4:
        above.add(prefix[:2] + "0000")
    if len(prefix) >= 6:
        above.add(prefix[:4] + "00")
    return prefix, frozenset(above)


def _add_terms(fields: dict[str, set[float]], terms: Iterable[str], weight: float) -> None:
    for term in terms:
        held = fields.get(term)
        if held is None:
            fields[term] = {weight}
        else:
            held.add(weight)


class SearchIndex(Ranking):
    """Inverted index over published items; build it from a list of item dicts.

    Postings of a term: document numbers grouped by weight, heaviest first (`docs`, `segments` with
    the end offset and weight of each group). Besides the global postings, the name-, alias- and
    result-level postings are also kept per partition (department, theme, city), so a filtered
    query reads the filter's own postings instead of the whole catalogue's.
    """

    def __init__(self, analyzer: Analyzer | None = None, candidate_cap: int = 64) -> None:
        self.analyzer = analyzer or get_analyzer()
        self.candidate_cap = candidate_cap  # postings read per concept (the read budget)
        self.items: list[dict[str, Any]] = []
        self._postings: dict[str, tuple[array, tuple[tuple[int, float], ...]]] = {}
        self._partitions: dict[str, dict[str, tuple[array, tuple[tuple[int, float], ...]]]] = {}
        self._idf: dict[str, float] = {}
        self._exact: dict[str, set[int]] = {}
        self._pinyin_full: dict[str, list[str]] = {}
        self._pinyin_initials: dict[str, list[str]] = {}
        self._department: list[str] = []
        self._themes: list[tuple[str, ...]] = []
        self._audience: list[tuple[str, ...]] = []
        self._region: list[str] = []
        self._browse: dict[str, array] = {}     # partition key -> its documents in code order
        self._order: array = array("i")
        self._chars: dict[str, array] = {}      # a CJK character -> documents whose name holds it
        self._corrector = Corrector({})
        self._life_events = self.analyzer.life_events
        self.theme_names: dict[str, Any] = {}
        self._suggester: Suggester | None = None
        self._answers: dict[tuple[Any, ...], SearchResult] = {}
        self._kept: dict[tuple[Any, ...], Any] = {}

    def __len__(self) -> int:
        return len(self.items)

    @classmethod
    def build(cls, items: Iterable[dict[str, Any]], *, departments: dict[str, Any] | None = None,
              themes: dict[str, Any] | None = None, regions: dict[str, Any] | None = None,
              analyzer: Analyzer | None = None, candidate_cap: int = 64) -> SearchIndex:
        """Index `items` (service item dicts); names of departments/themes/regions (code → L) are
        searchable too when given."""
        index = cls(analyzer, candidate_cap)
        index._build(list(items), departments or {}, themes or {}, regions or {})
        index.theme_names = dict(themes or {})
        return index

    @staticmethod
    def partition_keys(item: dict[str, Any]) -> list[str]:
        """The partitions an item's postings are also filed under."""
        region = item.get("region_code") or ""
        keys = ["d:" + (item.get("department") or "")] + ["t:" + t for t in item.get("themes", []) or []]
        if len(region) >= 4:
            keys.append("r:" + region[:4])
        return keys

    def _build(self, items: list[dict[str, Any]], departments: dict[str, Any], themes: dict[str, Any],
               regions: dict[str, Any]) -> None:
        an = self.analyzer
        items.sort(key=lambda it: it.get("code", ""))
        self.items = items
        buckets: dict[str, dict[float, array]] = {}
        part_buckets: dict[str, dict[str, dict[float, array]]] = {}
        name_vocab: dict[str, int] = {}
        interned: dict[Any, Any] = {}

        def intern(value: Any) -> Any:
            return interned.setdefault(value, value)

        for doc, item in enumerate(items):
            fields: dict[str, set[float]] = {}  # term -> weights of the fields holding it
            add = functools.partial(_add_terms, fields)
            names = localized.translations(item.get("name"))
            aliases = [a for a in item.get("aliases", []) if isinstance(a, str)]
            for text in names:
                terms = an.terms(text)
                add(terms, NAME)
                for t in terms:
                    if _CJK.match(t) and 2 <= len(t) <= 6:
                        name_vocab[t] = name_vocab.get(t, 0) + 1
            for alias in aliases:
                terms = an.terms(alias)
                add(terms, ALIAS)
                add([an.normalize_cached(alias)], ALIAS)
                for t in terms:
                    if _CJK.match(t) and 2 <= len(t) <= 6:
                        name_vocab[t] = name_vocab.get(t, 0) + 1
            for exact in {an.normalize_cached(t) for t in names + aliases}:
                self._exact.setdefault(exact, set()).add(doc)
            guide = item.get("guide") or {}
            for text in localized.translations((guide.get("result") or {}).get("name")):
                add(an.terms(text), RESULT)
            taxonomy = [departments.get(item.get("department", ""))] + \
                [themes.get(t) for t in item.get("themes", [])] + [regions.get(item.get("region_code", ""))]
            for value in taxonomy:
                for text in localized.translations(value):
                    add(an.terms(text), TAXONOMY)
            add([THEME_TERM + t for t in item.get("themes", []) or ()], TAXONOMY)
            for ch in set(localized.text(item.get("name"))):
                if "\u4e00" <= ch <= "\u9fff":
                    self._chars.setdefault(ch, array("i")).append(doc)
            add(an.key_terms("\n".join(self._guide_texts(guide)), GUIDE_TERMS_PER_ITEM), GUIDE)

            keys = self.partition_keys(item)
            parts = [part_buckets.setdefault(k, {}) for k in keys]
            for term, weights in fields.items():
                top = max(weights)
                w = round(top + min(EXTRA_FIELD_BONUS * (len(weights) - 1), 1.0), 2) if len(weights) > 1 else top
                for target in (*parts, buckets) if top >= PARTITIONED else (buckets,):
                    per_weight = target.get(term)
                    if per_weight is None:
                        per_weight = target[term] = {}
                    docs = per_weight.get(w)
                    if docs is None:
                        docs = per_weight[w] = array("i")
                    docs.append(doc)
            for key in keys:
                self._browse.setdefault(key, array("i")).append(doc)
            self._department.append(intern(item.get("department", "")))
            self._themes.append(intern(tuple(item.get("themes", []) or ())))
            self._audience.append(intern(tuple(item.get("audience", []) or ())))
            self._region.append(intern(item.get("region_code", "")))

        n = len(items)
        for term, per_weight in buckets.items():
            self._postings[term] = _freeze(per_weight)
            self._idf[term] = math.log(1.0 + n / len(self._postings[term][0]))
        for key, terms in part_buckets.items():
            self._partitions[key] = {term: _freeze(per_weight) for term, per_weight in terms.items()}
        self._order = array("i", range(n))
        for term in heapq.nlargest(MAX_PINYIN_VOCABULARY, name_vocab, key=name_vocab.__getitem__):
            full, initials = pinyin_keys(term)
            if full:
                self._pinyin_full.setdefault(full, []).append(term)
            if len(initials) >= 2:
                self._pinyin_initials.setdefault(initials, []).append(term)
        for terms in self._pinyin_initials.values():  # most frequent name words first
            terms.sort(key=lambda t: (-name_vocab[t], t))
            del terms[MAX_INITIALS_TERMS:]
        for terms in self._pinyin_full.values():
            terms.sort(key=lambda t: (-name_vocab[t], t))
        self._corrector = Corrector(self._pinyin_full)
        self._suggester = Suggester(an, items)

    @staticmethod
    def _guide_texts(guide: dict[str, Any]) -> Iterator[str]:
        yield localized.text(guide.get("conditions"))
        yield localized.text(guide.get("legal_basis"))
        for material in guide.get("materials") or []:
            if isinstance(material, dict):
                yield localized.text(material.get("name"))
        for step in guide.get("process") or []:
            yield localized.text(step)

    def _filter(self, department: str | None, theme: str | None, audience: str | None,
                region: str | None) -> tuple[Any, list[str] | None]:
        """(predicate on document numbers or None, the smallest partition that holds every match)."""
        checks = []
        options: list[list[str]] = []
        if department:
            dept_of = self._department
            checks.append(lambda d: dept_of[d] == department)
            options.append(["d:" + department])
        if theme:
            themes_of = self._themes
            checks.append(lambda d: theme in themes_of[d])
            options.append(["t:" + theme])
        if audience:
            audience_of = self._audience
            checks.append(lambda d: audience in audience_of[d])
        if region:
            prefix, above = region_scope(region)
            region_of = self._region
            checks.append(lambda d: region_of[d].startswith(prefix) or region_of[d] in above)
            if len(prefix) >= 4:  # a city or a county: its city's partition and the province level
                options.append(["r:" + prefix[:4], "r:" + prefix[:2] + "00"])
        if not checks:
            return None, None
        keep = checks[0] if len(checks) == 1 else (lambda d: all(check(d) for check in checks))
        partitions = min(options, key=lambda keys: sum(len(self._browse.get(k, ())) for k in keys)) \
            if options else None
        return keep, partitions

    def search(self, query: str | None = None, *, department: str | None = None, theme: str | None = None,
               audience: str | None = None, region: str | None = None, page: int = 1,
               page_size: int = 20) -> SearchResult:
        """Ranked, filtered, paginated items matching the query; without a query, items in code
        order (browsing). Nothing found is an empty page (see `find` for the closest items).

        `total` counts the documents found within the read budget: exact for all but the broadest
        queries on large catalogues (`total_exact` tells).
        """
        page, page_size = max(1, page), max(1, page_size)
        keep, partitions = self._filter(department, theme, audience, region)
        if not query or not query.strip():
            return self._browse_items(keep, partitions, page, page_size)
        reading = self.read(query)
        result = self._ranked(reading, query, keep, partitions, page, page_size, need=NEED)
        result.themes = list(reading.themes)
        return result

    def find(self, query: str | None = None, *, department: str | None = None, theme: str | None = None,
             audience: str | None = None, region: str | None = None, page: int = 1,
             page_size: int = 20, use_cache: bool = True) -> SearchResult:
        """`search`, but a query never finds nothing: when no item matches what was asked, the
        closest ones (`match` "related"): items matching any of its concepts, the items of the life
        events it names, items sharing characters with it, and at worst the first items of the
        filter; `themes` then names the life events near it. Answers are kept (the index never
        changes; a changed catalogue is a new index): do not change the result."""
        key = (query, department, theme, audience, region, page, page_size)
        answer = self._answers.get(key) if use_cache else None
        if answer is None:
            answer = self._find(query, department=department, theme=theme, audience=audience, region=region,
                                page=page, page_size=page_size)
            if len(self._answers) >= RESULT_CACHE_ENTRIES:
                self._answers.pop(next(iter(self._answers)))
            self._answers[key] = answer
        return answer

    def _find(self, query: str | None, *, department: str | None, theme: str | None, audience: str | None,
              region: str | None, page: int, page_size: int) -> SearchResult:
        result = self.search(query, department=department, theme=theme, audience=audience, region=region,
                             page=page, page_size=page_size)
        if result.total or not query or not query.strip():
            return result
        page, page_size = max(1, page), max(1, page_size)
        keep, partitions = self._filter(department, theme, audience, region)
        asked = self.read(query)
        reading = self._weighed(Reading(concepts=asked.concepts + asked.boosts, themes=asked.themes))
        related = self._ranked(reading, query, keep, partitions, page, page_size, need=0.0)
        if not related.total:
            related = self._by_characters(query, keep, page, page_size)
        if not related.total:
            related = self._browse_items(keep, partitions, page, page_size)
        related.match = "related"
        related.themes = list(reading.themes)
        for item in related.items:
            for code in item.get("themes", []) or ():
                if len(related.themes) >= max(RELATED_THEMES, len(reading.themes)):
                    break
                if code not in related.themes:
                    related.themes.append(code)
        return related

    def kept(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        """What `make` renders from this index's answers (a response body), kept as long as the index
        is (bounded): a changed catalogue is a new index, so nothing kept outlives what it shows."""
        value = self._kept.get(key)
        if value is None:
            value = make()
            if len(self._kept) >= RESULT_CACHE_ENTRIES:
                self._kept.pop(next(iter(self._kept)))
            self._kept[key] = value
        return value

    def suggest(self, prefix: str, limit: int = 10, allowed: Any = None) -> list[tuple[Entry, dict[str, Any]]]:
        """Names and aliases beginning with what the citizen has typed (text, pinyin or initials),
        each with its item; `allowed(item)` keeps only some items."""
        if self._suggester is None or not prefix or not prefix.strip():
            return []
        keep = None if allowed is None else (lambda doc: allowed(self.items[doc]))
        return [(e, self.items[e.doc]) for e in self._suggester.suggest(prefix, limit, keep)]

    def _ranked(self, reading: Reading, query: str, keep: Any, partitions: list[str] | None, page: int,
                page_size: int, need: float) -> SearchResult:
        if not reading.concepts:
            return SearchResult([], 0, page, page_size)
        wanted = page * page_size
        budget = max(self.candidate_cap, 2 * wanted)
        per_concept, truncated = self._accumulate(reading.concepts, budget, partitions)
        boosts, _ = self._accumulate(reading.boosts, budget, partitions, lightest=ALIAS) if reading.boosts \
            else ([], False)
        scores = self._combine(per_concept, self.analyzer.normalize_query(query), reading.weights, boosts, need)
        if keep is not None:
            scores = {d: s for d, s in scores.items() if keep(d)}
        top = heapq.nlargest(wanted, scores.items(), key=ranking_key)
        window = top[(page - 1) * page_size:]
        return SearchResult([self.items[d] for d, _ in window], len(scores), page, page_size,
                            [round(s, 4) for _, s in window], total_exact=not truncated)

    def _by_characters(self, query: str, keep: Any, page: int, page_size: int) -> SearchResult:
        """Items whose names share the most characters with the query (a last resort)."""
        counts: dict[int, int] = {}
        for ch in set(self.analyzer.normalize(query)):
            for doc in self._chars.get(ch, ())[:self.candidate_cap]:
                if keep is None or keep(doc):
                    counts[doc] = counts.get(doc, 0) + 1
        top = heapq.nlargest(page * page_size, counts.items(), key=ranking_key)
        window = top[(page - 1) * page_size:]
        return SearchResult([self.items[d] for d, _ in window], len(counts), page, page_size,
                            [float(c) for _, c in window])

    def _browse_items(self, keep: Any, partitions: list[str] | None, page: int, page_size: int) -> SearchResult:
        start = (page - 1) * page_size
        if keep is None:
            docs = self._order[start:start + page_size]
            return SearchResult([self.items[d] for d in docs], len(self.items), page, page_size)
        # Walk the filter's partition (documents in code order), checking every filter.
        if partitions is None:
            source: Iterable[int] = self._order
        elif len(partitions) == 1:
            source = self._browse.get(partitions[0], ())
        else:
            source = sorted(d for key in partitions for d in self._browse.get(key, ()))
        matches = [d for d in source if keep(d)]
        return SearchResult([self.items[d] for d in matches[start:start + page_size]], len(matches), page, page_size)


def _freeze(per_weight: dict[float, array]) -> tuple[array, tuple[tuple[int, float], ...]]:
    """One term's postings: documents of the heaviest weight first, and where each weight ends."""
    docs = array("i")
    segments = []
    for weight in sorted(per_weight, reverse=True):
        docs.extend(per_weight[weight])
        segments.append((len(docs), weight))
    return docs, tuple(segments)
