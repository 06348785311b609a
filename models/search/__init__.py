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

A query is read (`reading`) into weighed concepts, intents and generic heads that only favour
(补 → 补领/补发, 交 → 缴纳, "要办什么证"), life events (data/search_life_events.txt) whose themes the answer
names, and typos recovered by pinyin and characters (`typos`). `SearchIndex.find` never answers a
non-empty query with nothing: the closest items, `match` "related". Suggestions while typing come
from a prefix array built with the index (`suggest`). See docs/service-item.md, "Search".

Modules: `dictionaries` (synonyms, user dictionary, stop words, intents, life events), `analysis` (the
`Analyzer`, pinyin), `reading` (a query as concepts, boosts, life events, corrections), `typos`
(pinyin and character recovery), `index` (`SearchIndex`: building, filters, pages, `find`, kept
answers), `ranking` (scoring, the weights), `suggest` (prefixes of names, aliases, pinyin, initials),
`freshness` (one index per process, rebuilt when the catalogue changes).
"""

from models.search.analysis import Analyzer, get_analyzer, pinyin_keys
from models.search.dictionaries import (
    DATA_DIR,
    INDEX_STOPWORDS,
    QUERY_STOPWORDS,
    SYNONYMS_PATH,
    USERDICT_PATH,
    parse_synonyms,
)
from models.search.freshness import (
    CHECK_INTERVAL_SECONDS,
    VERSION_KEY,
    CatalogueSearch,
    catalogue_changed,
    index_for,
    keep_fresh,
)
from models.search.index import SearchIndex, SearchResult, region_scope
from models.search.reading import Reading
from models.search.suggest import Suggester
from models.search.typos import Corrector

__all__ = [
    "CHECK_INTERVAL_SECONDS", "DATA_DIR", "INDEX_STOPWORDS", "QUERY_STOPWORDS", "SYNONYMS_PATH", "USERDICT_PATH",
    "VERSION_KEY", "Analyzer", "CatalogueSearch", "Corrector", "Reading", "SearchIndex", "SearchResult", "Suggester",
    "catalogue_changed",
    "get_analyzer", "index_for", "keep_fresh", "parse_synonyms", "pinyin_keys", "region_scope",
]
