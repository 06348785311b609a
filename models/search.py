"""Catalogue search: find what citizens type, in everyday words, fast.

Text goes through one `Analyzer`: NFKC and lower case, traditional → simplified (OpenCC t2s), and
jieba segmentation with a user dictionary of government terms (data/search_userdict.txt) plus every
term of the synonym dictionary (data/search_synonyms.txt). A query is cut into concepts; each
concept is searched with its alternatives (its synonyms, its sub-words, or for Latin input the
Chinese words whose full pinyin or initials it spells) and a document scores, per concept, its best
alternative. Documents matching more of the concepts rank first.

`SearchIndex` is an in-memory inverted index built from a list of item dicts, no database needed.
A term's postings are stored grouped by weight, heaviest first (a name hit weighs more than an alias
hit, which weighs more than a hit in the guide text). A query concept reads the weight groups of all
its alternatives best score first and stops after `candidate_cap` postings (the read budget): the
cost of a query is bounded by the budget, not by the size of the catalogue. The name/alias-level
postings are also kept per partition (department, theme, city), so a filtered query reads its
filter's own postings rather than hunting through the whole catalogue's. Totals are exact unless a
concept had more postings than the budget (`total_exact` then says so); the ranking of the first
pages is unaffected, since the best-weighted postings are read first.

Several worker processes each hold their own index. A write that changes what is published calls
`catalogue_changed`, which bumps this process's generation (rebuild at the next query) and the Redis
counter `catalogue:version`; the other processes look at that counter at most once a second and
rebuild when it moved.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import heapq
import logging
import math
import re
import threading
import time
import unicodedata
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jieba
import opencc
from pypinyin import Style, lazy_pinyin

from models import access

log = logging.getLogger("citygate.search")

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SYNONYMS_PATH = DATA_DIR / "search_synonyms.txt"
USERDICT_PATH = DATA_DIR / "search_userdict.txt"

VERSION_KEY = "catalogue:version"
CHECK_INTERVAL_SECONDS = 1.0

# Field weights: where a term occurs in an item.
NAME, ALIAS, RESULT, TAXONOMY, GUIDE = 10.0, 8.0, 4.0, 2.0, 1.0
PARTITIONED = RESULT          # postings of words this heavy are also kept per department/theme/city
EXTRA_FIELD_BONUS = 0.25      # per further field holding the same term
GUIDE_TERMS_PER_ITEM = 60     # the rarest guide-text terms kept per item
CANONICAL_FACTOR, SYNONYM_FACTOR, SUBWORD_FACTOR = 0.95, 0.9, 0.5
PINYIN_FULL_FACTOR, PINYIN_INITIALS_FACTOR = 1.0, 0.7
MAX_ALTERNATIVES = 16         # per concept
MAX_INITIALS_TERMS = 8        # Chinese words tried for one string of pinyin initials
MAX_PINYIN_VOCABULARY = 20_000  # most frequent name and alias words given pinyin keys
EVIDENCE_SHARE = 0.1          # of a concept's further matching alternatives, added to its best
EXACT_BONUS = 1.5             # the query is an item's name or one of its aliases

# Filler words of questions ("办护照需要什么材料"): not what the citizen is looking for.
QUERY_STOPWORDS = frozenset("""
办 办理 申请 申办 怎么 怎样 如何 哪里 在哪 在哪里 去哪 去哪里 哪儿 我 我要 我想 想 要 需要 什么 的 了 吗 呢 啊 吧
和 与 及 或 材料 流程 手续 多少 钱 费用 多久 时间 条件 网上 在线 可以 能 能否 是否 怎么办 去 到 给 帮 请问 一下
哪些 咨询 查询办理 如何办理 办事 指南 the a an of to for and in on my how do i
""".split())
INDEX_STOPWORDS = frozenset("""
的 和 或 及 与 在 由 为 等 对 向 按 并 后 内 日 个 中 是 有 无 可 应 须 将 其 该 之 于 以 及其 或者 以及 并且 已 经 被
of the and for a an to in on or by with be is are at as from
""".split())
_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)
_CJK = re.compile(r"^[\u4e00-\u9fff]+$")
_LATIN_QUERY = re.compile(r"^[a-z' ]+$")


# ---- analysis --------------------------------------------------------------------------------

class Analyzer:
    """Normalisation, segmentation, synonyms and pinyin: the one place text is turned into terms."""

    def __init__(self, synonyms_path: Path = SYNONYMS_PATH, userdict_path: Path = USERDICT_PATH) -> None:
        jieba.setLogLevel(logging.WARNING)
        self._t2s = opencc.OpenCC("t2s")
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        if userdict_path.exists():
            self._tokenizer.load_userdict(str(userdict_path))
        self.groups = parse_synonyms(synonyms_path.read_text(encoding="utf-8")) if synonyms_path.exists() else []
        self._synonyms: dict[str, dict[str, float]] = {}
        for group in self.groups:
            for term in group:
                if len(term) > 1 and not term.isascii():
                    self._tokenizer.add_word(term)
            for term in group:
                others = self._synonyms.setdefault(term, {})
                for i, other in enumerate(group):
                    if other != term:
                        factor = CANONICAL_FACTOR if i == 0 else SYNONYM_FACTOR
                        others[other] = max(others.get(other, 0.0), factor)
        self._cache: dict[str, tuple[str, ...]] = {}
        self._norm_cache: dict[str, str] = {}
        self._key_cache: dict[tuple[str, int], tuple[str, ...]] = {}
        self._cache_lock = threading.Lock()
        total = max(self._tokenizer.total, 1)
        self._log_total = math.log(total)
        self._freq = self._tokenizer.FREQ

    def normalize(self, text: str) -> str:
        """NFKC, lower case, traditional → simplified, single spaces."""
        text = unicodedata.normalize("NFKC", text or "").lower()
        if not text.isascii():
            text = self._t2s.convert(text)
        return " ".join(text.split())

    def normalize_cached(self, text: str) -> str:
        """`normalize` for index building, where the same names recur."""
        cached = self._norm_cache.get(text)
        if cached is None:
            cached = self.normalize(text)
            if len(self._norm_cache) > 200_000:
                self._norm_cache.clear()
            self._norm_cache[text] = cached
        return cached

    def key_terms(self, text: str, limit: int) -> tuple[str, ...]:
        """The `limit` most telling words of a long text (frequent here, rare in general), cached."""
        key = (text, limit)
        cached = self._key_cache.get(key)
        if cached is not None:
            return cached
        counts: dict[str, int] = {}
        for t in self.terms(text):
            if len(t) > 1:
                counts[t] = counts.get(t, 0) + 1
        best = heapq.nlargest(limit, counts.items(), key=lambda kv: (1 + math.log(kv[1])) * self.rarity(kv[0]))
        out = tuple(t for t, _ in best)
        if len(self._key_cache) > 50_000:
            self._key_cache.clear()
        self._key_cache[key] = out
        return out

    def terms(self, text: str) -> tuple[str, ...]:
        """Index terms of a text (search-mode cut: words and their dictionary sub-words), cached."""
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        norm = self.normalize(text)
        out = tuple(t for t in self._tokenizer.cut_for_search(norm, HMM=False)
                    if t.strip() and not _PUNCT.match(t) and t not in INDEX_STOPWORDS)
        with self._cache_lock:
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache[text] = out
        return out

    def words(self, normalized: str) -> list[str]:
        """Precise-mode words of an already normalised text (a query's concepts)."""
        return [t for t in self._tokenizer.cut(normalized, HMM=False) if t.strip() and not _PUNCT.match(t)]

    def subwords(self, word: str) -> list[str]:
        """Dictionary words inside a longer word (驾驶证期满换证 → 驾驶, 驾驶证, 期满, 换证)."""
        if len(word) <= 2:
            return []
        return [t for t in self._tokenizer.cut_for_search(word, HMM=False) if t != word and len(t) > 1]

    def synonyms(self, term: str) -> dict[str, float]:
        """Other terms of the groups holding `term`, with their weight factor."""
        return self._synonyms.get(term, {})

    def rarity(self, term: str) -> float:
        """How unusual a word is in general Chinese (log inverse dictionary frequency)."""
        return self._log_total - math.log(self._freq.get(term, 0) + 1)


def parse_synonyms(content: str) -> list[list[str]]:
    """Groups of the synonym file: one group a line, terms separated by spaces, # comments."""
    groups = []
    for line in content.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        terms = []
        for term in line.split():
            term = unicodedata.normalize("NFKC", term).lower()
            if term not in terms:
                terms.append(term)
        if len(terms) > 1:
            groups.append(terms)
    return groups


_analyzer: Analyzer | None = None
_analyzer_lock = threading.Lock()


def get_analyzer() -> Analyzer:
    """The process's analyzer (loading jieba's dictionary takes about a second, once)."""
    global _analyzer
    if _analyzer is None:
        with _analyzer_lock:
            if _analyzer is None:
                _analyzer = Analyzer()
    return _analyzer


def pinyin_keys(term: str) -> tuple[str, str]:
    """(full pinyin, initials) of a Chinese word: 护照 → ("huzhao", "hz")."""
    syllables = lazy_pinyin(term, style=Style.NORMAL, errors="ignore")
    return "".join(syllables), "".join(s[0] for s in syllables if s)


# ---- the index -------------------------------------------------------------------------------

@dataclasses.dataclass
class SearchResult:
    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int
    scores: list[float] = dataclasses.field(default_factory=list)
    total_exact: bool = True


def _text(value: Any) -> list[str]:
    """Every translation of a localised value (or the string itself)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, str)]
    return []


def _zh(value: Any) -> str:
    if isinstance(value, dict):
        return value.get("zh-CN") or next((v for v in value.values() if isinstance(v, str)), "")
    return value if isinstance(value, str) else ""


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


class SearchIndex:
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

    def __len__(self) -> int:
        return len(self.items)

    # ---- building ---------------------------------------------------------------------------
    @classmethod
    def build(cls, items: Iterable[dict[str, Any]], *, departments: dict[str, Any] | None = None,
              themes: dict[str, Any] | None = None, regions: dict[str, Any] | None = None,
              analyzer: Analyzer | None = None, candidate_cap: int = 64) -> SearchIndex:
        """Index `items` (service item dicts); names of departments/themes/regions (code → L) are
        searchable too when given."""
        index = cls(analyzer, candidate_cap)
        index._build(list(items), departments or {}, themes or {}, regions or {})
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
            names = _text(item.get("name"))
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
            for text in _text((guide.get("result") or {}).get("name")):
                add(an.terms(text), RESULT)
            taxonomy = [departments.get(item.get("department", ""))] + \
                [themes.get(t) for t in item.get("themes", [])] + [regions.get(item.get("region_code", ""))]
            for value in taxonomy:
                for text in _text(value):
                    add(an.terms(text), TAXONOMY)
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

    @staticmethod
    def _guide_texts(guide: dict[str, Any]) -> Iterator[str]:
        yield _zh(guide.get("conditions"))
        yield _zh(guide.get("legal_basis"))
        for material in guide.get("materials") or []:
            if isinstance(material, dict):
                yield _zh(material.get("name"))
        for step in guide.get("process") or []:
            yield _zh(step)

    # ---- querying ---------------------------------------------------------------------------
    def concepts(self, query: str) -> list[list[tuple[str, float]]]:
        """The query as concepts, each a list of (term, factor) alternatives (best first)."""
        an = self.analyzer
        norm = an.normalize(query)
        if not norm:
            return []
        if _LATIN_QUERY.match(norm):
            return self._latin_concepts(norm)
        words = [w for w in an.words(norm) if w not in QUERY_STOPWORDS]
        whole = norm.replace(" ", "")
        concepts = []
        for word in words:
            alts: dict[str, float] = {word: 1.0}
            for syn, factor in an.synonyms(word).items():
                alts[syn] = max(alts.get(syn, 0.0), factor)
            for sub in an.subwords(word):
                if sub not in QUERY_STOPWORDS:
                    alts[sub] = max(alts.get(sub, 0.0), SUBWORD_FACTOR)
            concepts.append(sorted(alts.items(), key=lambda kv: -kv[1])[:MAX_ALTERNATIVES])
        if len(words) > 1 and an.synonyms(whole):  # the whole query is a known phrase
            alts = {whole: 1.0, **an.synonyms(whole)}
            concepts = [sorted(alts.items(), key=lambda kv: -kv[1])[:MAX_ALTERNATIVES]]
        return concepts

    def _latin_concepts(self, norm: str) -> list[list[tuple[str, float]]]:
        """Latin input: English words when the index has them, else pinyin (full, split, initials)."""
        words = [w for w in norm.replace("'", " ").split() if w not in QUERY_STOPWORDS]
        english = [w for w in words if w in self._postings]
        squashed = norm.replace(" ", "").replace("'", "")
        pinyin: list[list[tuple[str, float]]] = []
        if squashed in self._pinyin_full:
            pinyin = [[(t, PINYIN_FULL_FACTOR) for t in self._pinyin_full[squashed][:MAX_ALTERNATIVES]]]
        else:
            pieces = self._split_pinyin(squashed)
            if pieces:
                pinyin = [[(t, PINYIN_FULL_FACTOR) for t in self._pinyin_full[p][:MAX_ALTERNATIVES]] for p in pieces]
            elif squashed in self._pinyin_initials and len(squashed) <= 8:
                pinyin = [[(t, PINYIN_INITIALS_FACTOR) for t in self._pinyin_initials[squashed]]]
        if english and (len(english) == len(words) or not pinyin):
            concepts = [[(w, 1.0)] for w in english]
            if pinyin and len(pinyin) == 1:
                concepts[0].extend(pinyin[0])
            return concepts
        return pinyin or [[(w, 1.0)] for w in words]

    def _split_pinyin(self, text: str, max_pieces: int = 4) -> list[str]:
        """Split run-together pinyin into known words' pinyin (fewest pieces): banhuzhao → ban|huzhao."""
        n = len(text)
        if n < 4 or n > 40:
            return []
        best: list[list[str] | None] = [None] * (n + 1)
        best[0] = []
        for end in range(1, n + 1):
            for start in range(max(0, end - 24), end - 1):
                prev = best[start]
                if prev is None or len(prev) >= max_pieces:
                    continue
                piece = text[start:end]
                if piece in self._pinyin_full:
                    candidate = prev + [piece]
                    if best[end] is None or len(candidate) < len(best[end]):  # type: ignore[arg-type]
                        best[end] = candidate
        return best[n] or []

    def _sources(self, term: str, partitions: list[str] | None) -> list[tuple[tuple[array, Any], float]]:
        """Where to read a term: its global postings, or the filter's partitions plus the global
        postings' guide-level groups (partitions hold only the heavier fields)."""
        entry = self._postings.get(term)
        if entry is None:
            return []
        if partitions is None:
            return [(entry, math.inf)]
        sources: list[tuple[tuple[array, Any], float]] = [(entry, PARTITIONED)]
        for key in partitions:
            part = self._partitions.get(key, {}).get(term)
            if part is not None:
                sources.append((part, math.inf))
        return sources

    def _accumulate(self, concepts: list[list[tuple[str, float]]], budget: int,
                    partitions: list[str] | None) -> tuple[list[dict[int, float]], bool]:
        """Best score per concept per document, reading at most `budget` postings per concept:
        the weight groups of all the concept's alternatives, best score first."""
        per_concept: list[dict[int, float]] = []
        truncated = False
        for alts in concepts:
            chunks = []
            for term, factor in alts:
                mult = self._idf.get(term, 0.0) * factor
                for (docs, segments), below in self._sources(term, partitions):
                    start = 0
                    for end, weight in segments:
                        if weight < below:
                            chunks.append((weight * mult, start, end, docs))
                        start = end
            chunks.sort(key=_chunk_score, reverse=True)
            best: dict[int, float] = {}
            extra: dict[int, float] = {}  # the other alternatives' scores: a little more evidence
            get, get_extra = best.get, extra.get
            left = budget
            for score, start, end, docs in chunks:
                if left <= 0:
                    truncated = True
                    break
                stop = min(end, start + left)
                if stop < end:
                    truncated = True
                left -= stop - start
                for doc in docs[start:stop]:
                    current = get(doc, 0.0)
                    if current < score:
                        best[doc] = score
                        if current:
                            extra[doc] = get_extra(doc, 0.0) + current
                    else:
                        extra[doc] = get_extra(doc, 0.0) + score
            for doc, value in extra.items():
                best[doc] += EVIDENCE_SHARE * value
            per_concept.append(best)
        return per_concept, truncated

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
        """Ranked, filtered, paginated items; without a query, items in code order (browsing).

        `total` counts the documents found within the read budget: exact for all but the broadest
        queries on large catalogues (`total_exact` tells).
        """
        page, page_size = max(1, page), max(1, page_size)
        keep, partitions = self._filter(department, theme, audience, region)
        if not query or not query.strip():
            return self._browse_items(keep, partitions, page, page_size)
        concepts = self.concepts(query)
        if not concepts:
            return SearchResult([], 0, page, page_size)
        wanted = page * page_size
        per_concept, truncated = self._accumulate(concepts, max(self.candidate_cap, 2 * wanted), partitions)
        scores = self._combine(per_concept, self.analyzer.normalize(query))
        if keep is not None:
            scores = {d: s for d, s in scores.items() if keep(d)}
        top = heapq.nlargest(wanted, scores.items(), key=_ranking)
        window = top[(page - 1) * page_size:]
        return SearchResult([self.items[d] for d, _ in window], len(scores), page, page_size,
                            [round(s, 4) for _, s in window], total_exact=not truncated)

    def _combine(self, per_concept: list[dict[int, float]], norm_query: str) -> dict[int, float]:
        """Sum of concept scores, scaled by the share of concepts matched (squared); documents
        matching fewer than half of the concepts are dropped."""
        n = len(per_concept)
        if n == 1:
            scores = dict(per_concept[0])
        else:
            matched: dict[int, int] = {}
            totals: dict[int, float] = {}
            for best in per_concept:
                for doc, score in best.items():
                    totals[doc] = totals.get(doc, 0.0) + score
                    matched[doc] = matched.get(doc, 0) + 1
            need = (n + 1) // 2  # a document must match at least half of what was asked
            scores = {doc: total * (matched[doc] / n) ** 2 for doc, total in totals.items() if matched[doc] >= need}
        exact = self._exact.get(norm_query)
        if exact:  # the candidates are few, the items named like the query may be many: loop the former
            for doc in scores:
                if doc in exact:
                    scores[doc] *= EXACT_BONUS
        return scores

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


def _chunk_score(chunk: tuple[float, int, int, array]) -> float:
    return chunk[0]


def _ranking(entry: tuple[int, float]) -> tuple[float, int]:
    return entry[1], -entry[0]  # score, then code order (documents are numbered in code order)


# ---- keeping each process's index fresh --------------------------------------------------------

_local_generation: dict[str, int] = {}


async def catalogue_changed(db: Any, redis: Any = None) -> None:
    """Published items changed: rebuild here at the next query, and tell the other processes."""
    name = getattr(db, "name", str(db))
    _local_generation[name] = _local_generation.get(name, 0) + 1
    if redis is not None:
        try:
            await redis.incr(VERSION_KEY)
        except Exception as exc:  # noqa: BLE001 - other processes catch up when Redis is back
            log.warning("could not bump %s: %s", VERSION_KEY, exc)


class CatalogueSearch:
    """One process's index over one database's published items."""

    def __init__(self, check_interval: float = CHECK_INTERVAL_SECONDS) -> None:
        self.check_interval = check_interval
        self._index: SearchIndex | None = None
        self._generation = -1
        self._version: str | None = None
        self._checked_at = 0.0
        self._lock = asyncio.Lock()
        self.builds = 0

    async def index(self, db: Any, redis: Any = None) -> SearchIndex:
        """The current index, rebuilt when this process or (checked at most once a second) any
        other process changed the published catalogue."""
        name = getattr(db, "name", str(db))
        if self._index is not None and self._generation == _local_generation.get(name, 0):
            now = time.monotonic()
            if redis is None or now - self._checked_at < self.check_interval:
                return self._index
            self._checked_at = now
            version = await self._read_version(redis)
            if version == self._version:
                return self._index
        async with self._lock:
            generation = _local_generation.get(name, 0)
            version = await self._read_version(redis) if redis is not None else None
            if self._index is None or generation != self._generation or version != self._version:
                self._index = await self._build(db)
                self._generation, self._version = generation, version
                self._checked_at = time.monotonic()
                self.builds += 1
        return self._index

    @staticmethod
    async def _read_version(redis: Any) -> str | None:
        try:
            value = await redis.get(VERSION_KEY)
        except Exception as exc:  # noqa: BLE001 - serve the index we have while Redis is away
            log.warning("could not read %s: %s", VERSION_KEY, exc)
            return None
        return value.decode() if isinstance(value, bytes) else value

    @staticmethod
    async def _build(db: Any) -> SearchIndex:
        items = await db.services.find({"status": "published"}, {"_id": 0}).to_list(None)
        departments = {d["code"]: d.get("name") for d in await db.departments.find({}, {"_id": 0}).to_list(None)}
        themes = {t["code"]: t.get("name") for t in await db.themes.find({}, {"_id": 0}).to_list(None)}
        regions = {r["code"]: r.get("name") for r in await db.regions.find({}, {"_id": 0}).to_list(None)}
        started = time.perf_counter()
        index = await asyncio.to_thread(SearchIndex.build, items, departments=departments, themes=themes,
                                        regions=regions)
        log.info("search index built: %d items in %.0f ms", len(index), (time.perf_counter() - started) * 1000)
        return index


async def index_for(ctx: Any) -> SearchIndex:
    """The search index of this app (kept in `ctx.extras`)."""
    holder = ctx.extras.get("catalogue_search")
    if holder is None:
        holder = ctx.extras.setdefault("catalogue_search", CatalogueSearch())
    return await holder.index(ctx.db, ctx.redis)


async def keep_fresh(ctx: Any) -> None:
    """Background task: build the index at start-up and follow catalogue changes, so no citizen's
    search waits for a (re)build."""
    await index_for(ctx)
