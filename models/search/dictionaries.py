"""The search's word lists: the synonym groups and user dictionary under data/, and the stop words.

A synonym group is one line of data/search_synonyms.txt; its first term is the canonical one, so a
word's synonyms weigh CANONICAL_FACTOR for that term and SYNONYM_FACTOR for the others.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"
SYNONYMS_PATH = DATA_DIR / "search_synonyms.txt"
USERDICT_PATH = DATA_DIR / "search_userdict.txt"

CANONICAL_FACTOR, SYNONYM_FACTOR = 0.95, 0.9

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
