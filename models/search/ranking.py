"""Reading a query and scoring documents: concepts, their alternatives, and the weights that rank them.

A query is cut into concepts; each concept is searched with its alternatives (its synonyms, its
sub-words, or for Latin input the Chinese words whose full pinyin or initials it spells) and a
document scores, per concept, its best alternative. Documents matching more of the concepts rank
first. A concept reads the weight groups of all its alternatives best score first and stops after
the index's read budget.
"""

from __future__ import annotations

import math
import re
from array import array
from typing import TYPE_CHECKING, Any

from models.search.dictionaries import QUERY_STOPWORDS

if TYPE_CHECKING:
    from models.search.analysis import Analyzer

# Field weights: where a term occurs in an item.
NAME, ALIAS, RESULT, TAXONOMY, GUIDE = 10.0, 8.0, 4.0, 2.0, 1.0
PARTITIONED = RESULT          # postings of words this heavy are also kept per department/theme/city
EXTRA_FIELD_BONUS = 0.25      # per further field holding the same term
SUBWORD_FACTOR = 0.5
PINYIN_FULL_FACTOR, PINYIN_INITIALS_FACTOR = 1.0, 0.7
MAX_ALTERNATIVES = 16         # per concept
EVIDENCE_SHARE = 0.1          # of a concept's further matching alternatives, added to its best
EXACT_BONUS = 1.5             # the query is an item's name or one of its aliases
_LATIN_QUERY = re.compile(r"^[a-z' ]+$")

Postings = tuple[array, tuple[tuple[int, float], ...]]


class Ranking:
    """The query side of `SearchIndex` (models/search/index.py), which builds what it reads."""

    analyzer: Analyzer
    _postings: dict[str, Postings]
    _partitions: dict[str, dict[str, Postings]]
    _idf: dict[str, float]
    _exact: dict[str, set[int]]
    _pinyin_full: dict[str, list[str]]
    _pinyin_initials: dict[str, list[str]]

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


def _chunk_score(chunk: tuple[float, int, int, array]) -> float:
    return chunk[0]


def ranking_key(entry: tuple[int, float]) -> tuple[float, int]:
    return entry[1], -entry[0]  # score, then code order (documents are numbered in code order)
