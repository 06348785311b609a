"""Search over real HTTP: exact or related answers with themes, never nothing; suggestions while typing."""

from __future__ import annotations

from urllib.parse import urlencode

from models.search import SearchIndex


def services(**params: object) -> str:
    return "/api/v1/services?" + urlencode(params)


def suggest(**params: object) -> str:
    return "/api/v1/services/suggest?" + urlencode(params)


def codes(body: dict) -> list[str]:
    return [item["code"] for item in body["items"]]


async def test_the_issues_questions_are_answered_exactly(demo_app, fetch) -> None:
    for query, expected in [("开奶茶店要办什么证", {"SC-0005", "SC-0002"}), ("交通罚款在哪交", {"JJ-0004"}),
                            ("护照丢了怎么补", {"GA-0002"}), ("退休了办什么", {"RS-0005", "RS-0004", "GJJ-0003"})]:
        body = (await fetch("GET", services(q=query))).json()
        assert body["match"] == "exact", (query, body)
        assert expected & set(codes(body)[:3]), (query, codes(body)[:5])


async def test_a_life_event_names_its_theme(demo_app, fetch) -> None:
    body = (await fetch("GET", services(q="孩子出生了要办什么"))).json()
    assert body["match"] == "exact"
    assert {"GA-0005", "WJ-0001"} <= set(codes(body)[:4])
    assert body["themes"][0] == {"code": "birth", "name": "生育收养"}
    english = (await fetch("GET", services(q="孩子出生了要办什么"), headers={"Accept-Language": "en"})).json()
    assert english["themes"][0] == {"code": "birth", "name": "Birth and adoption"}
    plain = (await fetch("GET", services(q="办护照"))).json()
    assert plain["match"] == "exact" and plain["themes"] == []


async def test_nothing_matched_answers_the_closest_items_and_themes(demo_app, fetch, operator_token) -> None:
    body = (await fetch("GET", services(q="量子纠缠证明"))).json()
    assert body["match"] == "related" and body["total"] > 0 and body["items"]
    assert body["themes"] and all(set(t) == {"code", "name"} for t in body["themes"])
    # the life event is named beside what it found
    funeral = (await fetch("GET", services(q="外婆去世了火星户口"))).json()
    assert funeral["match"] == "exact" and "GA-0011" in codes(funeral)[:3]
    assert "funeral" in [t["code"] for t in funeral["themes"]]
    # gibberish still gets something to click on, and the miss is logged for operators
    gibberish = (await fetch("GET", services(q="qqxzv"))).json()
    assert gibberish["match"] == "related" and gibberish["items"] and gibberish["themes"]
    misses = (await fetch("GET", "/admin/v1/search/misses", token=operator_token)).json()
    assert {m["query"] for m in misses["items"]} == {"量子纠缠证明", "qqxzv"}
    # a filter nobody matches stays honest: nothing there to relate to
    nowhere = (await fetch("GET", services(q="低保", region="340100"))).json()
    assert nowhere["items"] == [] and nowhere["total"] == 0


async def test_typos_and_mixed_scripts_are_recovered(demo_app, fetch) -> None:
    for query, expected in [("办户照", "GA-0001"), ("社宝卡丢了", "RS-0002"), ("huzaho", "GA-0001"),
                            ("补shenfenzheng", "GA-0008"), ("護照丟了怎麼補", "GA-0002"), ("异地就医被案", "YB-0002"),
                            ("juzhuzhen", "GA-0006")]:
        body = (await fetch("GET", services(q=query))).json()
        assert body["match"] == "exact" and expected in codes(body)[:3], (query, codes(body)[:5])


async def test_suggestions_by_prefix_pinyin_and_initials(demo_app, fetch) -> None:
    typed = (await fetch("GET", suggest(q="护照"))).json()["items"]
    assert typed[0] == {"text": "普通护照签发", "kind": "name", "code": "GA-0001", "name": "普通护照签发"}
    assert {"护照办理", "护照丢了"} <= {s["text"] for s in typed} and len(typed) <= 10
    assert all(s["text"].startswith("护照") or "护照" in s["text"] for s in typed)
    pinyin = (await fetch("GET", suggest(q="huz"))).json()["items"]
    assert pinyin and all("护照" in s["text"] for s in pinyin)
    initials = (await fetch("GET", suggest(q="sbk"))).json()["items"]
    assert initials[0]["text"] == "社保卡" and initials[0]["code"] == "RS-0001"
    traditional = (await fetch("GET", suggest(q="辦護"))).json()["items"]
    assert [s["text"] for s in traditional] == ["办护照"]


async def test_suggestions_in_english_empty_and_too_long(demo_app, fetch) -> None:
    english = (await fetch("GET", suggest(q="pass"), headers={"Accept-Language": "en"})).json()["items"]
    assert [s["code"] for s in english] == ["GA-0001", "GA-0002"]
    assert english[0]["name"] == "Ordinary passport issuance"
    alias_in_english = (await fetch("GET", suggest(q="办护"), headers={"Accept-Language": "en"})).json()["items"]
    assert alias_in_english[0]["text"] == "办护照" and alias_in_english[0]["name"] == "Ordinary passport issuance"
    for empty in ("", "   "):
        assert (await fetch("GET", suggest(q=empty))).json() == {"items": []}
    assert (await fetch("GET", "/api/v1/services/suggest")).json() == {"items": []}
    assert (await fetch("GET", suggest(q="zzzzqqq"))).json() == {"items": []}
    too_long = await fetch("GET", suggest(q="护" * 101), headers={"Accept-Language": "en"})
    assert too_long.status == 422 and too_long.json()["errors"][0]["field"] == "q"


async def test_suggest_is_not_taken_for_an_item_code(demo_app, fetch) -> None:
    answer = await fetch("GET", suggest(q="办"))
    assert answer.status == 200 and "items" in answer.json() and "guide" not in answer.json()
    item = await fetch("GET", "/api/v1/services/GA-0001")
    assert item.status == 200 and item.json()["code"] == "GA-0001"
    assert (await fetch("GET", "/api/v1/services/suggest/x")).status == 404


async def test_suggestions_follow_publishing(demo_app, fetch, operator_token) -> None:
    assert (await fetch("GET", suggest(q="良民"))).json()["items"][0]["code"] == "GA-0010"
    unpublished = await fetch("POST", "/admin/v1/services/GA-0010/unpublish", token=operator_token)
    assert unpublished.status in (200, 204), unpublished.text
    assert (await fetch("GET", suggest(q="良民"))).json() == {"items": []}


def test_the_suggester_answers_from_memory_in_code_order() -> None:
    items = [{"code": "B-1", "name": {"zh-CN": "护照签发"}, "aliases": ["办护照"]},
             {"code": "A-1", "name": {"zh-CN": "护照补发"}, "aliases": ["办护照", "补护照"]}]
    index = SearchIndex.build(items)
    found = index.suggest("办护", 5)
    assert [(entry.text, item["code"]) for entry, item in found] == [("办护照", "A-1")]  # shared: the first code
    assert [item["code"] for _, item in index.suggest("hz", 5, allowed=lambda item: item["code"] == "B-1")] == ["B-1"]
