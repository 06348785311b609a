"""Relevance over a set of colloquial queries the engine was not written against (tests/data/search_queries.toml).

Every query runs against the demo catalogue through the engine the API uses (`SearchIndex.find`,
what GET /api/v1/services answers from). Printed: the top-3 hit rate (a right item among the first
three) and the zero-result rate, overall and per group, and each miss. Run with `-s` to see them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from models import catalogue
from models.search import SearchIndex

QUERIES = Path(__file__).parent / "data" / "search_queries.toml"
TOP = 3
TARGET_HIT_RATE = 0.98


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    demo = catalogue.read_demo()
    return SearchIndex.build(demo["items"], departments={d["code"]: d["name"] for d in demo["departments"]},
                             themes={t["code"]: t["name"] for t in demo["themes"]},
                             regions={r["code"]: r["name"] for r in demo["regions"]})


def test_the_query_set_is_broad() -> None:
    groups = tomllib.loads(QUERIES.read_text(encoding="utf-8"))
    known = {i["code"] for i in catalogue.read_demo()["items"]}
    departments = {i["department"] for i in catalogue.read_demo()["items"]}
    assert sum(len(g) for g in groups.values()) >= 200
    assert departments <= set(groups), departments - set(groups)  # every department with items has queries
    for group in groups.values():
        for query, expected in group.items():
            assert expected and set(expected) <= known, query
    for example in ("开奶茶店要办什么证", "交通罚款在哪交", "孩子出生了要办什么", "护照丢了怎么补", "退休了办什么"):
        assert any(example in group for group in groups.values()), example


def test_top3_hit_rate_and_no_empty_answer(index: SearchIndex) -> None:
    groups = tomllib.loads(QUERIES.read_text(encoding="utf-8"))
    total = hits = empty = related = 0
    misses = []
    print()
    for name, group in groups.items():
        group_hits = 0
        for query, expected in group.items():
            result = index.find(query, page_size=10)
            found = [item["code"] for item in result.items]
            total += 1
            empty += not found
            related += result.match == "related"
            if set(found[:TOP]) & set(expected):
                hits += 1
                group_hits += 1
            else:
                misses.append(f"  {query!r}: wanted {expected}, got {found[:TOP]} ({result.match})")
        print(f"{name:>12}: {group_hits}/{len(group)}")
    rate = hits / total
    print(f"top-{TOP} hit rate {rate:.3f} ({hits}/{total}); zero-result rate {empty / total:.3f} ({empty}); "
          f"related answers {related}")
    print("\n".join(misses))
    assert empty == 0
    assert rate >= TARGET_HIT_RATE, "\n".join(misses)
