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
LIFE_EVENTS_PATH = DATA_DIR / "search_life_events.txt"

CANONICAL_FACTOR, SYNONYM_FACTOR = 0.95, 0.9

# Filler words of questions ("办护照需要什么材料"): not what the citizen is looking for.
QUERY_STOPWORDS = frozenset("""
办 办理 申请 申办 怎么 怎样 如何 哪里 在哪 在哪里 去哪 去哪里 哪儿 我 我要 我想 想 要 需要 什么 的 了 吗 呢 啊 吧
和 与 及 或 材料 流程 手续 多少 钱 费用 多久 时间 条件 网上 在线 可以 能 能否 是否 怎么办 去 到 给 帮 请问 一下
哪些 咨询 查询办理 如何办理 办事 指南 the a an of to for and in on my how do i
在 哪 哪个 把 被 这边 那边 这里 本地 我们 你们 他 她 他们 家里 一家 一个 个 一下子 后 之后 以后 该 还 会 都 也 就 才 又
时候 这个 那个 么 呀 哦 啥 咋 咋办 怎么弄 怎么搞 弄 搞 些 东西 事 事情 手续 哪些手续 需不需要 用不用 有没有 是不是 应该
""".split())

# Generic heads of a question ("要办什么证", "需要什么手续"): they ask for *some* licence, so they only
# favour items whose name holds them and never decide on their own whether an item matches.
GENERIC_HEADS = frozenset("证 证件 证书 证照 执照 牌照 许可 许可证 资质 手续 证明 登记 备案".split())

# Intent words → the handling types (办理类型) that item names use. An intent favours the items whose
# name or alias holds one of its handling types; like a generic head it never decides alone.
INTENTS: dict[str, tuple[str, ...]] = {}
for _words, _types in (
    ("补 补办 补一个 补个 丢 丢了 丢失 遗失 找不到 不见了 被偷 偷了 掉了 坏了 损坏 弄丢", "补领 补发 补办 补换 补 挂失"),
    ("换 换个 换一个 换新 到期 过期 快到期 要到期 满了 期满", "换领 换发 换证 换 期满"),
    ("取 提 取出 提出来 取出来 取钱 提取", "提取"),
    ("交 缴 缴纳 缴费 交钱 付", "缴纳 缴存 罚款"),
    ("开 开个 开家 开一家 想开 开办 成立 创办", "设立 开办 开具"),
    ("迁 迁过来 迁到 迁来 迁走 迁出 搬过来", "迁移 迁入"),
    ("领 领取 领钱", "申领 领取"),
    ("办 申请 申办 首次 第一次", "申领 签发 核发 首次"),
    ("注销 销 不做了 关掉 关了", "注销"),
    ("转 转过去 转过来 转走 转到", "转移 接续"),
    ("查 查询 查一下", "查询"),
    ("认证 认定", "认证 认定"),
    ("报销 报", "报销"),
):
    for _word in _words.split():
        INTENTS[_word] = tuple(_types.split())


def parse_life_events(content: str) -> list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]:
    """Life events of data/search_life_events.txt: (themes, trigger phrases, terms searched)."""
    events = []
    for line in content.splitlines():
        line = line.split("#", 1)[0].strip()
        if ":" not in line or "|" not in line:
            continue
        themes, rest = line.split(":", 1)
        triggers, terms = rest.split("|", 1)
        norm = [unicodedata.normalize("NFKC", t).lower() for t in triggers.split()]
        events.append((tuple(themes.split(",")), tuple(norm), tuple(terms.split())))
    return events
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
