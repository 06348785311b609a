"""Catalogue search without a server: relevance for what citizens type, folding, pinyin, filters, pages."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from models import catalogue, search
from models.search import CatalogueSearch, SearchIndex, parse_synonyms, region_scope

DEMO = catalogue.read_demo()


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(
        DEMO["items"],
        departments={d["code"]: d["name"] for d in DEMO["departments"]},
        themes={t["code"]: t["name"] for t in DEMO["themes"]},
        regions={r["code"]: r["name"] for r in DEMO["regions"]},
    )


def codes(result: search.SearchResult) -> list[str]:
    return [item["code"] for item in result.items]


# (query, expected item, must be within the first n results)
RELEVANCE = [
    # the issue's own examples
    ("办护照", "GA-0001", 1),
    ("换驾照", "JJ-0001", 1),
    ("上户口", "GA-0005", 1),
    ("暂住证", "GA-0006", 1),
    # everyday words of our own
    ("领证", "MZ-0001", 1),
    ("扯证", "MZ-0001", 1),
    ("准生证", "WJ-0002", 1),
    ("社保卡丢了", "RS-0002", 1),
    ("取公积金", "GJJ-0001", 3),
    ("租房提取公积金", "GJJ-0002", 1),
    ("二手房过户", "ZR-0002", 1),
    ("失业金", "RS-0003", 1),
    ("辞职", "RS-0003", 3),
    ("开公司", "SC-0001", 1),
    ("营业执照", "SC-0001", 3),
    ("开饭店", "SC-0005", 1),
    ("违章罚款", "JJ-0004", 1),
    ("年检", "JJ-0005", 1),
    ("低保", "MZ-0104", 3),
    ("教资认定", "JY-0001", 1),
    ("个税退税", "SW-0003", 1),
    ("完税证明", "SW-0001", 3),
    ("异地就医", "YB-0002", 1),
    ("看病报销", "YB-0005", 1),
    ("良民证", "GA-0010", 1),
    ("小学报名", "JY-0102", 3),
    ("房产证", "ZR-0001", 3),
    ("身份证丢了", "GA-0008", 1),
    ("公租房", "ZJ-0001", 1),
    ("网约车", "JT-0002", 3),
    ("养老金认证", "RS-0004", 1),
    ("办退休", "RS-0005", 1),
    ("出生证", "WJ-0001", 1),
    ("生孩子", "WJ-0002", 3),
    ("残疾证", "CL-0001", 3),
    ("新车上牌", "JJ-0003", 1),
    ("驾照丢了怎么办", "JJ-0002", 1),
    ("办护照需要什么材料", "GA-0001", 1),
    ("港澳通行证", "GA-0003", 1),
    ("离婚", "MZ-0002", 1),
    ("买医保", "YB-0001", 1),
]


@pytest.mark.parametrize(("query", "expected", "within"), RELEVANCE, ids=[q for q, _, _ in RELEVANCE])
def test_colloquial_queries_find_the_right_item(index: SearchIndex, query: str, expected: str, within: int) -> None:
    found = codes(index.search(query, page_size=10))
    assert expected in found[:within], f"{query!r}: {found[:5]}"


@pytest.mark.parametrize(("query", "expected"), [
    ("辦護照", "GA-0001"), ("換駕照", "JJ-0001"), ("駕照到期", "JJ-0001"), ("結婚登記", "MZ-0001"),
    ("暫住證", "GA-0006"), ("上戶口", "GA-0005"),
])
def test_traditional_chinese_is_folded(index: SearchIndex, query: str, expected: str) -> None:
    assert codes(index.search(query))[0] == expected


@pytest.mark.parametrize(("query", "expected", "within"), [
    ("huzhao", "GA-0001", 1), ("HuZhao", "GA-0001", 1), ("hu zhao", "GA-0001", 1), ("banhuzhao", "GA-0001", 1),
    ("hz", "GA-0001", 3), ("bhz", "GA-0001", 1), ("jiashizheng", "JJ-0001", 3), ("juzhuzheng", "GA-0006", 1),
    ("gongjijin", "GJJ-0001", 3), ("passport", "GA-0001", 1), ("marriage registration", "MZ-0001", 1),
])
def test_latin_input_pinyin_and_english(index: SearchIndex, query: str, expected: str, within: int) -> None:
    found = codes(index.search(query))
    assert expected in found[:within], f"{query!r}: {found[:5]}"


def test_name_and_alias_hits_rank_above_guide_text(index: SearchIndex) -> None:
    result = index.search("居民身份证", page_size=100)
    # almost every item asks for an ID card among its materials; the ID-card items come first
    assert result.total > 30
    assert set(codes(result)[:2]) == {"GA-0007", "GA-0008"}
    assert result.scores[1] > 2 * result.scores[2]


def test_nothing_found_and_filler_only_queries(index: SearchIndex) -> None:
    assert index.search("量子纠缠证明").total == 0
    assert index.search("qqxzv").total == 0
    assert index.search("怎么办理").total == 0


def test_filter_by_department_theme_audience(index: SearchIndex) -> None:
    by_dept = index.search("证明", department="gongan", page_size=100)
    assert by_dept.total > 0 and {i["department"] for i in by_dept.items} == {"gongan"}
    assert "WJ-0001" not in codes(by_dept)  # 出生医学证明 is the health commission's
    by_theme = index.search("登记", theme="marriage", page_size=100)
    assert set(codes(by_theme)) == {"MZ-0001", "MZ-0002", "MZ-0003"}
    enterprise = index.search("登记", audience="enterprise", page_size=100)
    assert enterprise.total > 5 and all("enterprise" in i["audience"] for i in enterprise.items)
    assert "GA-0005" not in codes(enterprise)
    both = index.search("许可", department="shichang", audience="personal", page_size=100)
    assert codes(both) == ["SC-0005"]


def test_filter_by_region_includes_the_levels_above(index: SearchIndex) -> None:
    assert region_scope("330106") == ("330106", frozenset({"330100", "330000"}))
    assert region_scope("330100") == ("3301", frozenset({"330000"}))
    nanjiang = index.search("低保", region="330106", page_size=100)
    assert "MZ-0104" in codes(nanjiang) and "MZ-0204" not in codes(nanjiang)
    assert "MZ-0006" in codes(nanjiang)  # a city-level item serves the district too
    qingxi = index.search("低保", region="330122", page_size=100)
    assert "MZ-0204" in codes(qingxi) and "MZ-0104" not in codes(qingxi)
    city = index.search("低保", region="330100", page_size=100)
    assert {"MZ-0104", "MZ-0204"} <= set(codes(city))
    elsewhere = index.search("低保", region="340100", page_size=100)
    assert elsewhere.total == 0


def test_pagination_is_stable_and_complete(index: SearchIndex) -> None:
    everything = index.search("登记", page_size=100)
    assert everything.total > 25
    pages = []
    page = 1
    while True:
        result = index.search("登记", page=page, page_size=7)
        assert result.total == everything.total
        if not result.items:
            break
        assert len(result.items) <= 7
        pages.extend(codes(result))
        page += 1
    assert pages == codes(everything)
    assert len(set(pages)) == len(pages) == everything.total
    assert page - 1 == -(-everything.total // 7)


def test_browsing_without_a_query(index: SearchIndex) -> None:
    everything = index.search(None, page_size=100)
    assert everything.total == len(DEMO["items"])
    assert codes(everything) == sorted(codes(everything))
    gongan = index.search("", department="gongan", page=2, page_size=5)
    expected = sorted(i["code"] for i in DEMO["items"] if i["department"] == "gongan")
    assert gongan.total == len(expected)
    assert codes(gongan) == expected[5:10]
    county = index.search(None, region="330122", page_size=100)
    assert all(i["region_code"] in ("330122", "330100", "330000") for i in county.items)
    assert "MZ-0204" in codes(county) and "MZ-0104" not in codes(county)
    housing_enterprise = index.search(None, theme="housing", audience="enterprise", page_size=100)
    assert housing_enterprise.total == sum(1 for i in DEMO["items"]
                                           if "housing" in i["themes"] and "enterprise" in i["audience"])


def test_the_synonym_dictionary_is_maintained() -> None:
    groups = parse_synonyms(search.SYNONYMS_PATH.read_text(encoding="utf-8"))
    assert len(groups) >= 60
    together = [{"驾照", "驾驶证"}, {"上户口", "落户", "出生登记"}, {"营业执照", "设立登记"}, {"医保", "医疗保险"},
                {"暂住证", "居住证"}, {"办护照", "护照签发"}, {"换驾照", "驾驶证期满换证"}]
    for pair in together:
        assert any(pair <= set(g) for g in groups), pair
    assert parse_synonyms("# note\n a  B a # tail\nsingle\n") == [["a", "b"]]


def test_the_index_needs_no_database_and_few_items() -> None:
    items = [copy.deepcopy(i) for i in DEMO["items"] if i["code"] in ("GA-0001", "MZ-0001", "SC-0001")]
    small = SearchIndex.build(items)
    assert len(small) == 3
    assert codes(small.search("办护照")) == ["GA-0001"]
    assert codes(small.search("开公司")) == ["SC-0001"]


def _copies(code: str, n: int, **changes: Any) -> list[dict[str, Any]]:
    base = next(i for i in DEMO["items"] if i["code"] == code)
    out = []
    for k in range(n):
        item = copy.deepcopy(base)
        item["code"] = f"{code}-{k:05d}"
        item.update(changes)
        out.append(item)
    return out


def test_capped_postings_still_honour_a_selective_filter() -> None:
    items = _copies("GA-0001", 300) + _copies("GA-0001", 1, department="tuiyi")
    small_cap = SearchIndex.build(items, candidate_cap=20)
    unfiltered = small_cap.search("护照", page_size=5)
    assert len(unfiltered.items) == 5
    assert unfiltered.total < len(items)  # the cap bounds how many candidates are read
    filtered = small_cap.search("护照", department="tuiyi")
    assert codes(filtered) == ["GA-0001-00000"] and filtered.items[0]["department"] == "tuiyi"


def test_query_cost_does_not_grow_with_the_catalogue() -> None:
    small = SearchIndex.build(_copies("GA-0001", 50) + _copies("JJ-0001", 50), candidate_cap=100)
    large = SearchIndex.build(_copies("GA-0001", 1500) + _copies("JJ-0001", 1500), candidate_cap=100)

    def cost(index: SearchIndex) -> float:
        started = time.perf_counter()
        for _ in range(30):
            index.search("护照")
            index.search("驾照")
        return time.perf_counter() - started

    cost(small), cost(large)  # warm up
    assert cost(large) < 4 * cost(small) + 0.05  # 30x the items, nowhere near 30x the time


class _Cursor:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    async def to_list(self, length: Any = None) -> list[dict[str, Any]]:
        return [dict(r) for r in self.rows]


class _Collection:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def find(self, query: dict[str, Any], projection: Any = None) -> _Cursor:
        return _Cursor([r for r in self.rows if all(r.get(k) == v for k, v in query.items())])


class _FakeDb:
    def __init__(self, name: str, items: list[dict[str, Any]]) -> None:
        self.name = name
        self.services = _Collection(items)
        self.departments = _Collection([])
        self.themes = _Collection([])
        self.regions = _Collection([])


class _FakeRedis:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.reads = 0

    async def get(self, key: str) -> str | None:
        self.reads += 1
        return str(self.values[key]) if key in self.values else None

    async def incr(self, key: str) -> int:
        self.values[key] = self.values.get(key, 0) + 1
        return self.values[key]


async def test_each_process_rebuilds_when_the_catalogue_version_moves() -> None:
    passport = copy.deepcopy(DEMO["items"][0]) | {"status": "published"}
    licence = copy.deepcopy(next(i for i in DEMO["items"] if i["code"] == "JJ-0001")) | {"status": "draft"}
    db, redis = _FakeDb("fake-search-db", [passport, licence]), _FakeRedis()
    here, elsewhere = CatalogueSearch(check_interval=3600), CatalogueSearch(check_interval=3600)
    assert codes((await here.index(db, redis)).search("换驾照")) == []
    await elsewhere.index(db, redis)

    licence["status"] = "published"  # published by "this" process:
    await search.catalogue_changed(db, redis)
    assert codes((await here.index(db, redis)).search("换驾照")) == ["JJ-0001"]
    assert here.builds == 2

    reads = redis.reads
    again = _FakeDb("another-db", [passport])  # a second process sees only the Redis counter
    other = CatalogueSearch(check_interval=3600)
    await other.index(again, redis)
    await redis.incr(search.VERSION_KEY)
    await other.index(again, redis)
    assert other.builds == 1  # within the check interval: no Redis read, no rebuild
    other._checked_at = float("-inf")  # the interval has passed
    await other.index(again, redis)
    assert other.builds == 2 and redis.reads > reads
