"""Recovering from typos: what a pinyin input method and a hurried thumb make of a word.

Most slips in Chinese input are homophones (户照 for 护照, 社宝卡 for 社保卡: the same pinyin, the
wrong character), near-homophones (护造, z for zh), or one wrong character (户口签移); in pinyin
input, one letter too many, too few, swapped or wrong (huzaho). `Corrector` knows the catalogue's
own words (the name and alias words the index gives pinyin keys) and finds, for a stretch of the
query that matched nothing, the words it most likely meant:

- exact pinyin: the stretch's syllables spell a known word's pinyin (homophones);
- pinyin within one edit (insertion, deletion, substitution or transposition of a letter), for
  keys of five letters or more, through a deletion index (each key and its one-letter deletions);
- one character off: a known word of three characters or more that differs in one character.

`segment` covers a stretch of the query (its units: CJK characters with their syllable, Latin runs
as written) with known words, most units covered first, then fewest pieces.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from pypinyin import Style, lazy_pinyin

MIN_FUZZY_KEY = 5       # shorter pinyin keys have too many neighbours within one edit
MAX_PIECE_UNITS = 6     # characters (or Latin runs) one recovered word may span
FUZZY_PENALTY = 0.4     # a fuzzy piece covers its units a little less than an exact one
CHAR_EDIT_PENALTY = 0.5


@dataclasses.dataclass(frozen=True)
class Piece:
    """A stretch of the query [start, end) (in units) read as these catalogue words."""

    start: int
    end: int
    terms: tuple[str, ...]
    how: str  # "pinyin", "fuzzy_pinyin" or "character"


def units_of(text: str) -> list[tuple[str, str, int]]:
    """(unit text, its pinyin, offset in `text`): a CJK character each, a Latin run each; other
    characters (digits, spaces, punctuation) are left out and break nothing but themselves."""
    units: list[tuple[str, str, int]] = []
    i = 0
    cjk_run: list[tuple[str, int]] = []

    def flush() -> None:
        if cjk_run:
            syllables = lazy_pinyin("".join(c for c, _ in cjk_run), style=Style.NORMAL, errors="ignore")
            if len(syllables) == len(cjk_run):
                units.extend((c, s, at) for (c, at), s in zip(cjk_run, syllables, strict=True))
            cjk_run.clear()

    while i < len(text):
        ch = text[i]
        if "\u4e00" <= ch <= "\u9fff":
            cjk_run.append((ch, i))
            i += 1
        elif "a" <= ch <= "z":
            flush()
            j = i
            while j < len(text) and "a" <= text[j] <= "z":
                j += 1
            units.append((text[i:j], text[i:j], i))
            i = j
        else:
            flush()
            i += 1
    flush()
    return units


def edit_distance_at_most_one(a: str, b: str) -> bool:
    """Whether `a` and `b` differ by at most one insertion, deletion, substitution or transposition."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1:] == b[i + 1:]:
            return True
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2:] == b[i + 2:]
    if la > lb:
        return a[i + 1:] == b[i:]
    return a[i:] == b[i + 1:]


class Corrector:
    """The catalogue's words by pinyin, by pinyin within one edit, and by all-but-one character."""

    def __init__(self, pinyin_full: dict[str, list[str]]) -> None:
        self.pinyin_full = pinyin_full
        self._deletes: dict[str, list[str]] = {}
        self._one_off: dict[str, list[str]] = {}
        for key, terms in pinyin_full.items():
            if len(key) >= MIN_FUZZY_KEY:
                for variant in _deletions(key):
                    self._deletes.setdefault(variant, []).append(key)
            for term in terms:
                if len(term) >= 3:
                    for i in range(len(term)):
                        self._one_off.setdefault(term[:i] + "?" + term[i + 1:], []).append(term)

    def fuzzy_keys(self, key: str) -> list[str]:
        """Known pinyin keys within one edit of `key` (none for short keys), nearest length first."""
        if len(key) < MIN_FUZZY_KEY:
            return []
        found: set[str] = set()
        for variant in _deletions(key):
            for candidate in self._deletes.get(variant, ()):
                if candidate != key and edit_distance_at_most_one(key, candidate):
                    found.add(candidate)
        return sorted(found, key=lambda k: (abs(len(k) - len(key)), k))

    def lookup(self, text: str, key: str) -> tuple[tuple[str, ...], str] | None:
        """The words `text` (whose pinyin is `key`) most likely meant, and how they were found."""
        exact = self.pinyin_full.get(key)
        if exact:
            return tuple(exact), "pinyin"
        if text.isascii():  # typed pinyin: one edit away
            fuzzy = [t for k in self.fuzzy_keys(key)[:3] for t in self.pinyin_full[k]]
            return (tuple(fuzzy), "fuzzy_pinyin") if fuzzy else None
        if len(text) >= 3:
            off = {t for i in range(len(text)) for t in self._one_off.get(text[:i] + "?" + text[i + 1:], ())}
            if off:
                return tuple(sorted(off)), "character"
        fuzzy = [t for k in self.fuzzy_keys(key)[:3] for t in self.pinyin_full[k]]
        return (tuple(fuzzy), "fuzzy_pinyin") if fuzzy else None

    def segment(self, units: list[tuple[str, str, int]]) -> list[Piece]:
        """Known words covering as many of `units` as possible, then as few pieces as possible."""
        n = len(units)
        # best[i]: (covered, -pieces, pieces) for units[:i]
        best: list[tuple[float, int, list[Piece]]] = [(0.0, 0, [])] + [(-1.0, 0, [])] * n
        for end in range(1, n + 1):
            covered, neg, pieces = best[end - 1]  # leave unit end-1 uncovered
            candidate = (covered, neg, pieces)
            for start in range(max(0, end - MAX_PIECE_UNITS), end):
                before = best[start]
                if before[0] < 0:
                    continue
                span = units[start:end]
                if end - start == 1 and not span[0][0].isascii():
                    continue  # one character is too little to recover a word from
                found = self.lookup("".join(u[0] for u in span), "".join(u[1] for u in span))
                if found is None:
                    continue
                terms, how = found
                gain = end - start - (FUZZY_PENALTY if how == "fuzzy_pinyin" else
                                      CHAR_EDIT_PENALTY if how == "character" else 0.0)
                option = (before[0] + gain, before[1] - 1, [*before[2], Piece(start, end, terms, how)])
                if (option[0], option[1]) > (candidate[0], candidate[1]):
                    candidate = option
            best[end] = candidate
        return best[n][2]


def _deletions(key: str) -> Iterable[str]:
    yield key
    for i in range(len(key)):
        yield key[:i] + key[i + 1:]
