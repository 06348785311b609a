"""Text into terms: one `Analyzer` for the index and the queries.

NFKC and lower case, traditional → simplified (OpenCC t2s), and jieba segmentation with a user
dictionary of government terms (data/search_userdict.txt) plus every term of the synonym dictionary
(data/search_synonyms.txt); pinyin keys for Latin input.
"""

from __future__ import annotations

import heapq
import logging
import math
import re
import threading
import unicodedata
from pathlib import Path

import jieba
import opencc
from pypinyin import Style, lazy_pinyin

from models.search.dictionaries import (
    CANONICAL_FACTOR,
    INDEX_STOPWORDS,
    INTENTS,
    LIFE_EVENTS_PATH,
    SYNONYM_FACTOR,
    SYNONYMS_PATH,
    USERDICT_PATH,
    parse_life_events,
    parse_synonyms,
)

QUERY_CACHE_ENTRIES = 8192
_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)


class Analyzer:
    """Normalisation, segmentation, synonyms and pinyin: the one place text is turned into terms."""

    def __init__(self, synonyms_path: Path = SYNONYMS_PATH, userdict_path: Path = USERDICT_PATH,
                 life_events_path: Path = LIFE_EVENTS_PATH) -> None:
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
        self.life_events = parse_life_events(life_events_path.read_text(encoding="utf-8")) \
            if life_events_path.exists() else []
        self.life_event_triggers: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        for themes, triggers, terms in self.life_events:
            for trigger in triggers:
                self.life_event_triggers.setdefault(trigger, (themes, terms))
        # Intent phrases and life-event triggers are cut as one word, so a query reads them whole.
        for phrase in [*INTENTS, *(t for _, triggers, _ in self.life_events for t in triggers)]:
            if len(phrase) > 1 and not phrase.isascii() and phrase not in self._synonyms:
                self._tokenizer.add_word(phrase, freq=None)
        self._cache: dict[str, tuple[str, ...]] = {}
        self._norm_cache: dict[str, str] = {}
        self._query_cache: dict[str, str] = {}
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

    def normalize_query(self, text: str) -> str:
        """`normalize` for queries, the most frequent of which recur (a bounded cache)."""
        cached = self._query_cache.get(text)
        if cached is None:
            cached = self.normalize(text)
            if len(self._query_cache) >= QUERY_CACHE_ENTRIES:
                self._query_cache.pop(next(iter(self._query_cache)))
            self._query_cache[text] = cached
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

    def frequency(self, word: str) -> int:
        """How often general Chinese uses a word (jieba's dictionary count; 0 when unknown)."""
        return self._freq.get(word, 0) or 0

    def rarity(self, term: str) -> float:
        """How unusual a word is in general Chinese (log inverse dictionary frequency)."""
        return self._log_total - math.log(self._freq.get(term, 0) + 1)


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


_char_syllables: dict[str, str] = {}


def char_pinyin_keys(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of a text character by character, each in its most common reading:
    far cheaper than `pinyin_keys` over many long texts (suggestion keys of every item's name)."""
    syllables = []
    for ch in text:
        if not "\u4e00" <= ch <= "\u9fff":
            continue
        syllable = _char_syllables.get(ch)
        if syllable is None:
            found = lazy_pinyin(ch, style=Style.NORMAL, errors="ignore")
            syllable = _char_syllables[ch] = found[0] if found else ""
        if syllable:
            syllables.append(syllable)
    return "".join(syllables), "".join(s[0] for s in syllables)
