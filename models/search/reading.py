"""Reading a query as a citizen means it: concepts, intents, life events, and what a typo meant.

"护照丢了怎么补" is a thing (护照), an intent (丢/补: replace), and question filler; "孩子出生了要办什么"
is a life event (a birth), whatever words follow; "开奶茶店要办什么证" asks for *some* licence (证)
to open (开: set up) a shop. A `Reading` holds:

- `concepts`: what an item must match (at least half of them, weighed by how telling each is);
  each a list of (term, factor) alternatives, best first: the word, its synonyms, its sub-words;
- `weights`: how telling each concept is (the best inverse document frequency of its alternatives);
- `boosts`: intents (补 → 补领/补发/补换, 交 → 缴纳, 开 → 设立 …, models.search.dictionaries.INTENTS)
  and generic heads (证, 许可, 手续): they favour items whose name or alias holds them, and never
  decide on their own whether an item matches;
- `themes`: the life events' themes (data/search_life_events.txt), which the answer names;
- `corrections`: the words a typo was read as (models.search.typos).

A word that matches nothing in the catalogue is a typo candidate: the stretch of the query around it
is re-read by pinyin and characters; what still matches nothing is left out (it cannot decide).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from models.search.dictionaries import GENERIC_HEADS, INTENTS, QUERY_STOPWORDS
from models.search.typos import Corrector, units_of

if TYPE_CHECKING:
    from models.search.analysis import Analyzer

SUBWORD_FACTOR = 0.5
PINYIN_FULL_FACTOR, PINYIN_INITIALS_FACTOR = 1.0, 0.7
CORRECTION_FACTOR = {"pinyin": 0.9, "fuzzy_pinyin": 0.8, "character": 0.8}
LIFE_EVENT_FACTOR, LIFE_THEME_FACTOR = 0.9, 0.5
CONTEXT_FACTOR = 0.6          # a life event beside a named thing is its context ("买房要社保证明")
RARE_WORD_FREQUENCY = 30      # a word general Chinese uses less often than this may be a slip (身分证)
MAX_ALTERNATIVES = 16         # per concept
MAX_TRIGGER_WORDS = 4
THEME_TERM = "\x00theme:"     # pseudo-term: the items of a theme (indexed at taxonomy weight)
LATIN_QUERY = re.compile(r"^[a-z' ]+$")
_LATIN_WORD = re.compile(r"^[a-z]+$")

Concept = list[tuple[str, float]]


@dataclasses.dataclass
class Reading:
    """A query as read: what must match, how much each counts, what only favours, which life events."""

    concepts: list[Concept] = dataclasses.field(default_factory=list)
    weights: list[float] = dataclasses.field(default_factory=list)
    boosts: list[Concept] = dataclasses.field(default_factory=list)
    themes: list[str] = dataclasses.field(default_factory=list)
    corrections: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Word:
    text: str
    start: int
    end: int
    kind: str = "word"  # word, intent, head, stop, event, latin
    concept: Concept | None = None


class QueryReading:
    """The reading side of `Ranking` (models/search/ranking.py); the index supplies what it reads."""

    analyzer: Analyzer
    _postings: dict[str, Any]
    _idf: dict[str, float]
    _pinyin_full: dict[str, list[str]]
    _pinyin_initials: dict[str, list[str]]
    _corrector: Corrector
    _life_events: list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]

    def read(self, query: str) -> Reading:
        """The query as concepts, weights, boosts, life-event themes and corrections."""
        an = self.analyzer
        norm = an.normalize_query(query)
        if not norm:
            return Reading()
        if LATIN_QUERY.match(norm):
            return self._weighed(Reading(concepts=self._latin_concepts(norm)))
        raw = an.words(norm)
        whole = norm.replace(" ", "")
        if len(raw) > 1 and an.synonyms(whole):  # the whole query is a known phrase
            alts = {whole: 1.0, **an.synonyms(whole)}
            return self._weighed(Reading(concepts=[_best(alts)]))
        words = _positioned(norm, raw)
        reading = Reading()
        self._life_events_in(words, reading)
        for w in words:
            if w.kind != "word":
                continue
            if _LATIN_WORD.match(w.text):
                w.kind, w.concept = "latin", self._latin_word(w.text)
            elif w.text in INTENTS:
                w.kind = "intent"
            elif w.text in QUERY_STOPWORDS:
                w.kind = "stop"
            elif w.text in GENERIC_HEADS:
                w.kind = "head"
            else:
                w.concept = self._alternatives(w.text)
        if any(self._suspect(w) for w in words):
            self._recover(norm, words, reading)
        content = [w for w in words if w.kind in ("word", "latin", "event", "fixed")]
        hard = [w for w in content if not self._dead(w)]
        soft = [w for w in words if w.kind in ("intent", "head")]
        if not content:  # only intents and heads ("补办", "许可"): they are what is asked
            hard = [w for w in soft if w.kind == "head" or not self._dead(_with(w, self._alternatives(w.text)))]
            for w in hard:
                w.concept = self._alternatives(w.text)
            soft = [w for w in soft if w not in hard]
        if any(w.kind == "event" for w in hard) and any(w.kind != "event" for w in hard):
            for w in hard:
                if w.kind == "event" and w.concept:
                    w.concept = [(t, f * CONTEXT_FACTOR) for t, f in w.concept]
        reading.concepts = [w.concept for w in hard if w.concept]
        for w in soft:
            if w.kind == "intent":
                reading.boosts.append([(t, 1.0) for t in INTENTS[w.text]])
            else:
                reading.boosts.append(self._alternatives(w.text))
        return self._weighed(reading)

    def concepts(self, query: str) -> list[Concept]:
        """The query's concepts (what an item must match), as `read` finds them."""
        return self.read(query).concepts

    # ---- the parts of a reading ------------------------------------------------------------------

    def _alternatives(self, word: str) -> Concept:
        an = self.analyzer
        alts: dict[str, float] = {word: 1.0}
        for syn, factor in an.synonyms(word).items():
            alts[syn] = max(alts.get(syn, 0.0), factor)
        for sub in an.subwords(word):
            if sub not in QUERY_STOPWORDS:
                alts[sub] = max(alts.get(sub, 0.0), SUBWORD_FACTOR)
        return _best(alts)

    def _dead(self, w: _Word) -> bool:
        """A word (or Latin run) none of whose alternatives the catalogue holds."""
        if w.kind not in ("word", "latin") or w.concept is None:
            return w.kind in ("word", "latin")
        return not any(t in self._postings for t, _ in w.concept)

    def _suspect(self, w: _Word) -> bool:
        """A word that may be a slip: it matches nothing and is rare in general Chinese, or it is a
        lone character (typos break a word into characters: 户照 → 户 照)."""
        if w.kind not in ("word", "latin"):
            return False
        if w.kind == "latin" or len(w.text) == 1:
            return True
        return self._dead(w) and self.analyzer.frequency(w.text) < RARE_WORD_FREQUENCY

    def _life_events_in(self, words: list[_Word], reading: Reading) -> None:
        """Mark the words that spell a life event's trigger; each event becomes one concept."""
        if not self._life_events:
            return
        i = 0
        while i < len(words):
            for size in range(min(MAX_TRIGGER_WORDS, len(words) - i), 0, -1):
                text = "".join(w.text for w in words[i:i + size])
                event = self._trigger(text)
                if event is None:
                    continue
                themes, terms = event
                text = "".join(w.text for w in words[i:i + size])
                alts: dict[str, float] = {text: 1.0, **self.analyzer.synonyms(text)}
                for term in terms:
                    for t, f in [(term, 1.0), *self.analyzer.synonyms(term).items()]:
                        alts[t] = max(alts.get(t, 0.0), LIFE_EVENT_FACTOR * f)
                for theme in themes:
                    alts[THEME_TERM + theme] = LIFE_THEME_FACTOR
                    if theme not in reading.themes:
                        reading.themes.append(theme)
                first = words[i]
                first.kind, first.concept, first.end = "event", _best(alts, 2 * MAX_ALTERNATIVES), words[i + size - 1].end
                first.text = text
                del words[i + 1:i + size]
                break
            i += 1

    def _trigger(self, text: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        return self.analyzer.life_event_triggers.get(text)

    def _recover(self, norm: str, words: list[_Word], reading: Reading) -> None:
        """Re-read the stretches around words that match nothing by pinyin and characters."""
        units = units_of(norm)
        if not units:
            return
        dead = [w for w in words if self._suspect(w)]
        for piece in self._corrector.segment(units):
            start = units[piece.start][2]
            last = units[piece.end - 1]
            end = last[2] + len(last[0])
            if not any(w.start < end and start < w.end for w in dead):
                continue  # this stretch was understood as typed
            if any(w.start < end and start < w.end and not (start <= w.start and w.end <= end) for w in words):
                continue  # a slip does not cut a word in two (当老|师 is no 养老)
            inside = [w for w in words if start <= w.start and w.end <= end and w.kind != "event"]
            if any(w.kind == "word" and not self._dead(w) and len(w.text) > 1 and w.text in piece.terms
                   for w in inside):
                continue
            factor = CORRECTION_FACTOR[piece.how]
            alts: dict[str, float] = {}
            for term in piece.terms[:MAX_ALTERNATIVES]:
                alts[term] = max(alts.get(term, 0.0), factor)
                for syn, f in self.analyzer.synonyms(term).items():
                    alts[syn] = max(alts.get(syn, 0.0), factor * f)
            for w in inside:
                w.kind = "gone"
            fixed = _Word(norm[start:end], start, end, "fixed", _best(alts))
            words.append(fixed)
            reading.corrections.extend(piece.terms[:3])
        words.sort(key=lambda w: w.start)

    def _latin_word(self, word: str) -> Concept:
        """A Latin run inside a Chinese query: pinyin (whole, split, or one edit away) or English."""
        if word in self._postings:
            return [(word, 1.0)]
        concepts = self._latin_concepts(word)
        return [alt for concept in concepts for alt in concept][:MAX_ALTERNATIVES] if concepts else [(word, 1.0)]

    def _latin_concepts(self, norm: str) -> list[Concept]:
        """Latin input: English words when the index has them, else pinyin (full, split, initials,
        or within one edit)."""
        words = [w for w in norm.replace("'", " ").split() if w not in QUERY_STOPWORDS]
        english = [w for w in words if w in self._postings]
        squashed = norm.replace(" ", "").replace("'", "")
        pinyin: list[Concept] = []
        if squashed in self._pinyin_full:
            pinyin = [[(t, PINYIN_FULL_FACTOR) for t in self._pinyin_full[squashed][:MAX_ALTERNATIVES]]]
        else:
            pieces = self._split_pinyin(squashed)
            if pieces:
                pinyin = [[(t, PINYIN_FULL_FACTOR) for t in self._pinyin_full[p][:MAX_ALTERNATIVES]] for p in pieces]
            elif squashed in self._pinyin_initials and len(squashed) <= 8:
                pinyin = [[(t, PINYIN_INITIALS_FACTOR) for t in self._pinyin_initials[squashed]]]
            elif not english:
                pinyin = self._fuzzy_pinyin(words)
        if english and (len(english) == len(words) or not pinyin):
            concepts = [[(w, 1.0)] for w in english]
            if pinyin and len(pinyin) == 1:
                concepts[0].extend(pinyin[0])
            return concepts
        return pinyin or [[(w, 1.0)] for w in words]

    def _fuzzy_pinyin(self, words: list[str]) -> list[Concept]:
        """Pinyin one edit away, word by word (huzaho → huzhao → 护照)."""
        factor = CORRECTION_FACTOR["fuzzy_pinyin"]
        out = []
        for word in words:
            keys = self._corrector.fuzzy_keys(word)[:3]
            if keys:
                out.append([(t, factor) for k in keys for t in self._pinyin_full[k]][:MAX_ALTERNATIVES])
        return out

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

    def _weighed(self, reading: Reading) -> Reading:
        """Each concept's weight: the best inverse document frequency among its alternatives."""
        idf = self._idf
        reading.weights = [max((idf.get(t, 0.0) * f for t, f in concept), default=0.0) or 1.0
                           for concept in reading.concepts]
        return reading


def _best(alts: dict[str, float], limit: int = MAX_ALTERNATIVES) -> Concept:
    return sorted(alts.items(), key=lambda kv: -kv[1])[:limit]


def _with(w: _Word, concept: Concept) -> _Word:
    return _Word(w.text, w.start, w.end, "word", concept)


def _positioned(norm: str, raw: list[str]) -> list[_Word]:
    """The words with their offsets in the normalised query."""
    out = []
    at = 0
    for text in raw:
        found = norm.find(text, at)
        if found < 0:
            found = at
        out.append(_Word(text, found, found + len(text)))
        at = found + len(text)
    return out
