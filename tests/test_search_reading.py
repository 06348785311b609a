"""Reading a query without a server: intents, life events, question filler, typos, the related fallback."""

from __future__ import annotations

import pytest

from models import catalogue
from models.search import SearchIndex
from models.search.dictionaries import INTENTS, LIFE_EVENTS_PATH, parse_life_events
from models.search.typos import edit_distance_at_most_one, units_of

DEMO = catalogue.read_demo()


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(DEMO["items"], themes={t["code"]: t["name"] for t in DEMO["themes"]})


def codes(result) -> list[str]:
    return [item["code"] for item in result.items]


def test_intent_words_map_to_handling_types() -> None:
    for word, handling in [("办", "申领"), ("换", "换领"), ("补", "补领"), ("取", "提取"), ("交", "缴纳"), ("开", "设立"),
                           ("迁", "迁移"), ("丢了", "补领"), ("到期", "换领"), ("找不到", "补发")]:
        assert handling in INTENTS[word], word


def test_an_intent_favours_but_never_decides(index: SearchIndex) -> None:
    reading = index.read("护照怎么补")
    assert [t for t, _ in reading.concepts[0]][:1] == ["护照"] and len(reading.concepts) == 1
    assert any("补发" in [t for t, _ in boost] for boost in reading.boosts)
    assert codes(index.search("护照怎么补"))[0] == "GA-0002"  # GA-0001 matches 护照 too; 补 decides the order
    assert codes(index.search("护照丢了怎么补"))[0] == "GA-0002"
    assert codes(index.search("办护照"))[0] == "GA-0001"
    assert codes(index.search("换护照"))[0] == "GA-0002"
    assert index.search("补").total > 0  # an intent alone is what is asked


def test_question_forms_are_read_as_what_they_ask(index: SearchIndex) -> None:
    assert codes(index.search("交通罚款在哪交"))[0] == "JJ-0004"
    assert codes(index.search("契税在哪交"))[0] == "SW-0005"
    assert codes(index.search("无犯罪证明去哪开"))[0] == "GA-0010"
    assert set(codes(index.search("开奶茶店要办什么证"))[:2]) & {"SC-0005", "SC-0002"}


def test_life_events_name_their_themes(index: SearchIndex) -> None:
    events = parse_life_events(LIFE_EVENTS_PATH.read_text(encoding="utf-8"))
    known = {t["code"] for t in DEMO["themes"]}
    assert events and all(set(themes) <= known for themes, _, _ in events)
    birth = index.find("孩子出生了要办什么")
    assert birth.match == "exact" and birth.themes == ["birth"]
    assert {"GA-0005", "WJ-0001"} <= set(codes(birth)[:4])
    retired = index.find("退休了")
    assert "pension" in retired.themes and set(codes(retired)[:3]) & {"RS-0005", "RS-0004", "GJJ-0003"}
    # beside a named thing, the event is context: the thing wins
    assert codes(index.find("退休了公积金怎么取"))[0] == "GJJ-0003"


@pytest.mark.parametrize(("query", "expected"), [
    ("办户照", "GA-0001"),          # homophone: the same pinyin, the wrong character
    ("社宝卡丢了", "RS-0002"),
    ("护造丢了", "GA-0002"),        # z for zh: pinyin one edit away
    ("户口签移", "GA-0009"),
    ("身分证丢了", "GA-0008"),      # a rare variant word
    ("huzaho", "GA-0001"),          # typed pinyin with two letters swapped
    ("shangkukou", "GA-0005"),
    ("社保ka丢了", "RS-0002"),      # mixed scripts
    ("换jiazhao", "JJ-0001"),
])
def test_typos_are_recovered(index: SearchIndex, query: str, expected: str) -> None:
    result = index.find(query)
    assert result.match == "exact" and expected in codes(result)[:3], codes(result)[:5]


def test_real_words_are_not_corrected_into_others(index: SearchIndex) -> None:
    assert index.read("卖熟食").corrections == []      # 熟食 is a word (shushi is not hushi: 护士)
    assert index.read("当老师").corrections == []
    assert "护照" in index.read("办户照").corrections[0]


def test_edit_distance_and_units() -> None:
    assert edit_distance_at_most_one("huzaho", "huzhao")  # transposition
    assert edit_distance_at_most_one("juzhuzhen", "juzhuzheng")
    assert edit_distance_at_most_one("shangkukou", "shanghukou")
    assert not edit_distance_at_most_one("hukou", "huzhao")
    assert [u[:2] for u in units_of("社保ka丢了")] == [("社", "she"), ("保", "bao"), ("ka", "ka"), ("丢", "diu"),
                                                     ("了", "le")]


def test_related_answers_are_never_empty(index: SearchIndex) -> None:
    for query in ("量子纠缠证明", "qqxzv", "怎么办理", "火星移民"):
        assert index.search(query).total == 0 or query == "怎么办理"
        related = index.find(query)
        assert related.match == "related" and related.items and related.themes, query
    assert index.find("办护照").match == "exact"
    nothing_there = index.find("低保", region="340100")
    assert nothing_there.items == [] and nothing_there.total == 0


def test_answers_are_kept_per_index(index: SearchIndex) -> None:
    first = index.find("办护照")
    assert index.find("办护照") is first
    assert index.find("办护照", use_cache=False) is not first
    assert codes(index.find("办护照", use_cache=False)) == codes(first)
