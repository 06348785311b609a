"""Suggestions as the citizen types: prefixes of item names and aliases, of their pinyin, of their initials.

`Suggester` is built with the index (models/search/index.py) from the items it holds, so it is as
fresh as the index (models/search/freshness.py rebuilds both when the catalogue changes) and answers
from memory: one sorted array of keys, a binary search for the prefix, a bounded scan. Keys of an
entry (a name in each language, or an alias): its normalised text (simplified, lower case), its full
pinyin and its pinyin initials, so "hu", "huz", "hz" and "护" all reach 护照办理.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable
from typing import Any

from models.core import localized
from models.search.analysis import Analyzer, char_pinyin_keys, pinyin_keys

MAX_SCAN = 256        # keys read past the prefix's first, however many share it
KIND_ORDER = {"name": 0, "alias": 1}
HOW_ORDER = {"text": 0, "pinyin": 1, "initials": 2}


@dataclasses.dataclass(frozen=True)
class Entry:
    text: str        # what the citizen's box is completed with, as written
    kind: str        # "name" or "alias"
    doc: int         # the first item (in code order) it belongs to


class Suggester:
    """Sorted (key, how, entry) triples over every item's names and aliases."""

    def __init__(self, analyzer: Analyzer, items: list[dict[str, Any]]) -> None:
        entries: list[Entry] = []
        seen: dict[str, int] = {}
        for doc, item in enumerate(items):  # items are in code order: a shared alias keeps its first item
            texts = [(t, "name") for t in localized.translations(item.get("name"))]
            texts += [(a, "alias") for a in item.get("aliases", []) or () if isinstance(a, str)]
            for text, kind in texts:
                text = " ".join(text.split())
                if text and text not in seen:
                    seen[text] = len(entries)
                    entries.append(Entry(text, kind, doc))
        keys: list[tuple[str, int, int]] = []
        for number, entry in enumerate(entries):
            norm = analyzer.normalize_cached(entry.text)
            keys.append((norm, HOW_ORDER["text"], number))
            if entry.kind == "name":  # a name is also reached from each of its words (护照 → 普通护照签发)
                starts = set()
                for word in analyzer.terms(entry.text):  # the index's own (cached) cut of the name
                    at = norm.find(word)
                    if at > 0 and len(word) > 1 and at not in starts:
                        starts.add(at)
                        keys.append((norm[at:], HOW_ORDER["text"], number))
            if not norm.isascii():
                # aliases are few and short: read as words; names are many: character by character
                full, initials = pinyin_keys(norm) if entry.kind == "alias" else char_pinyin_keys(norm)
                if full and full != norm:
                    keys.append((full, HOW_ORDER["pinyin"], number))
                if len(initials) >= 2:
                    keys.append((initials, HOW_ORDER["initials"], number))
        keys.sort()
        self.entries = entries
        self._keys = [k for k, _, _ in keys]
        self._refs = [(how, number) for _, how, number in keys]
        self.analyzer = analyzer

    def __len__(self) -> int:
        return len(self.entries)

    def suggest(self, prefix: str, limit: int = 10,
                allowed: Callable[[int], bool] | None = None) -> list[Entry]:
        """Up to `limit` entries whose text, pinyin or initials begin with `prefix`: names before
        aliases, typed text before pinyin before initials, shorter first."""
        norm = self.analyzer.normalize(prefix)
        if not norm:
            return []
        found: dict[int, tuple[int, int, int, str]] = {}
        for key in {norm, norm.replace(" ", "")}:  # English words keep their spaces, pinyin has none
            start = bisect.bisect_left(self._keys, key)
            for i in range(start, min(len(self._keys), start + MAX_SCAN)):
                if not self._keys[i].startswith(key):
                    break
                how, number = self._refs[i]
                entry = self.entries[number]
                if allowed is not None and not allowed(entry.doc):
                    continue
                rank = (how, KIND_ORDER[entry.kind], len(entry.text), entry.text)
                if number not in found or rank < found[number]:
                    found[number] = rank
        best = sorted(found.items(), key=lambda kv: kv[1])[:limit]
        return [self.entries[number] for number, _ in best]

