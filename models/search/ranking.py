"""Reading a query and scoring documents: concepts, their alternatives, and the weights that rank them.

A query is cut into concepts; each concept is searched with its alternatives (its synonyms, its
sub-words, or for Latin input the Chinese words whose full pinyin or initials it spells) and a
document scores, per concept, its best alternative. Documents matching more of the concepts rank
first. A concept reads the weight groups of all its alternatives best score first and stops after
the index's read budget.
"""

from __future__ import annotations

import math
from array import array
from typing import TYPE_CHECKING, Any

from models.search.reading import QueryReading

if TYPE_CHECKING:
    from models.search.analysis import Analyzer

# Field weights: where a term occurs in an item.
NAME, ALIAS, RESULT, TAXONOMY, GUIDE = 10.0, 8.0, 4.0, 2.0, 1.0
PARTITIONED = RESULT          # postings of words this heavy are also kept per department/theme/city
EXTRA_FIELD_BONUS = 0.25      # per further field holding the same term
EVIDENCE_SHARE = 0.1          # of a concept's further matching alternatives, added to its best
EXACT_BONUS = 1.5             # the query is an item's name or one of its aliases
BOOST_SHARE = 0.3             # of an intent's or a generic head's name/alias-level score

Postings = tuple[array, tuple[tuple[int, float], ...]]


class Ranking(QueryReading):
    """The query side of `SearchIndex` (models/search/index.py), which builds what it reads."""

    analyzer: Analyzer
    _postings: dict[str, Postings]
    _partitions: dict[str, dict[str, Postings]]
    _idf: dict[str, float]
    _exact: dict[str, set[int]]
    _pinyin_full: dict[str, list[str]]
    _pinyin_initials: dict[str, list[str]]

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
                    partitions: list[str] | None, lightest: float = 0.0) -> tuple[list[dict[int, float]], bool]:
        """Best score per concept per document, reading at most `budget` postings per concept:
        the weight groups of all the concept's alternatives, best score first (none lighter than
        `lightest`: boosts read only name- and alias-level postings)."""
        per_concept: list[dict[int, float]] = []
        truncated = False
        for alts in concepts:
            chunks = []
            for term, factor in alts:
                mult = self._idf.get(term, 0.0) * factor
                for (docs, segments), below in self._sources(term, partitions):
                    start = 0
                    for end, weight in segments:
                        if lightest <= weight < below:
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

    def _combine(self, per_concept: list[dict[int, float]], norm_query: str, weights: list[float] | None = None,
                 boosts: list[dict[int, float]] | None = None, need: float = 0.5) -> dict[int, float]:
        """Sum of concept scores, scaled by the share of concepts matched (squared), each concept
        counting by its weight (how telling it is); documents matching less than `need` of the
        weight are dropped (half: an item must match at least half of what was asked). Boosts
        (intents, generic heads) then add a share of their score to the documents kept."""
        n = len(per_concept)
        if n == 1:
            scores = dict(per_concept[0])
        else:
            weights = weights or [1.0] * n
            whole = sum(weights)
            matched: dict[int, float] = {}
            totals: dict[int, float] = {}
            for best, weight in zip(per_concept, weights, strict=True):
                for doc, score in best.items():
                    totals[doc] = totals.get(doc, 0.0) + score
                    matched[doc] = matched.get(doc, 0.0) + weight
            floor = need * whole - 1e-9
            scores = {doc: total * (matched[doc] / whole) ** 2 for doc, total in totals.items()
                      if matched[doc] >= floor}
        for boost in boosts or ():
            for doc, score in boost.items():
                if doc in scores:
                    scores[doc] += BOOST_SHARE * score
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
