"""The catalogue over real HTTP: citizens browse and search, operators draft, publish and check."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlencode

from models import catalogue

DEMO = catalogue.read_demo()


def demo_item(code: str) -> dict[str, Any]:
    item = copy.deepcopy(next(i for i in DEMO["items"] if i["code"] == code))
    return item


def services(**params: Any) -> str:
    return "/api/v1/services?" + urlencode(params)


async def test_citizens_find_what_they_type(demo_app, fetch) -> None:
    for query, expected in [("办护照", "GA-0001"), ("換駕照", "JJ-0001"), ("上户口", "GA-0005"), ("暂住证", "GA-0006"),
                            ("huzhao", "GA-0001"), ("领证", "MZ-0001")]:
        response = await fetch("GET", services(q=query))
        assert response.status == 200, response.text
        body = response.json()
        assert body["items"][0]["code"] == expected, (query, body["items"][:3])
        assert body["page"] == 1 and body["page_size"] == 20 and body["total"] >= 1 and body["total_exact"]
    first = (await fetch("GET", services(q="办护照"))).json()["items"][0]
    assert first == {"code": "GA-0001", "name": "普通护照签发", "department": "gongan", "region_code": "330100",
                     "audience": ["personal"], "themes": ["travel"], "handling_depth": "at_most_one_visit",
                     "promised_time_limit_days": 7, "free": False}


async def test_one_item_in_the_callers_language_with_fallback(demo_app, fetch) -> None:
    chinese = (await fetch("GET", "/api/v1/services/GA-0001")).json()
    assert chinese["name"] == "普通护照签发" and chinese["locale"] == "zh-CN"
    assert chinese["guide"]["fee"] == {"free": False, "amount_fen": 12000, "basis": chinese["guide"]["fee"]["basis"]}
    assert "《中华人民共和国护照法》" in chinese["guide"]["legal_basis"]
    assert chinese["form_schema"]["properties"]["purpose"]["title"] == "出境事由"
    english = (await fetch("GET", "/api/v1/services/GA-0001", headers={"Accept-Language": "en-US,en;q=0.9"})).json()
    assert english["locale"] == "en"
    assert english["name"] == "Ordinary passport issuance"
    assert english["guide"]["locations"][0]["name"] == "Exit-Entry Reception Hall, Shifan Public Security Bureau"
    assert english["form_schema"]["properties"]["purpose"]["title"] == "Purpose of travel"
    # GA-0006 has no English guide text: the Chinese stands in, field by field
    fallback = (await fetch("GET", "/api/v1/services/GA-0006", headers={"Accept-Language": "en"})).json()
    assert fallback["name"] == "Residence permit application"
    assert fallback["guide"]["conditions"].startswith("离开常住户口所在地")
    listed = (await fetch("GET", services(q="passport"), headers={"Accept-Language": "en"})).json()
    assert listed["items"][0]["name"] == "Ordinary passport issuance"
    missing = await fetch("GET", "/api/v1/services/NOPE-0001", headers={"Accept-Language": "en"})
    assert missing.status == 404
    assert missing.json()["code"] == "service_not_found" and missing.json()["title"] == "Service item not found"


async def test_navigation_hides_empty_columns(demo_app, fetch, operator_token) -> None:
    departments = (await fetch("GET", "/api/v1/departments")).json()["items"]
    codes = [d["code"] for d in departments]
    assert len(codes) == 17 and "minzong" not in codes  # 民族宗教事务局 has only a draft
    assert all(d["item_count"] > 0 for d in departments)
    assert "keywords" not in departments[0]
    gongan = next(d for d in departments if d["code"] == "gongan")
    assert gongan["name"] == "示范市公安局" and gongan["item_count"] == 11
    themes = [t["code"] for t in (await fetch("GET", "/api/v1/themes")).json()["items"]]
    assert "military" not in themes and "travel" in themes
    english = (await fetch("GET", "/api/v1/themes", headers={"Accept-Language": "en"})).json()["items"]
    assert next(t for t in english if t["code"] == "travel")["name"] == "Travel abroad"

    # Publishing one complete item under the empty department shows its column
    item = demo_item("MZ-0007")
    item.update(code="MZ-9002", department="minzong", name={"zh-CN": "少数民族社会团体成立登记"})
    created = await fetch("POST", "/admin/v1/services", json=item, token=operator_token)
    assert created.status == 201, created.text
    assert (await fetch("POST", "/admin/v1/services/MZ-9002/publish", token=operator_token)).status == 200
    codes = [d["code"] for d in (await fetch("GET", "/api/v1/departments")).json()["items"]]
    assert "minzong" in codes

    regions = (await fetch("GET", "/api/v1/regions")).json()["items"]
    assert regions[0]["code"] == "330000"
    city = regions[0]["children"][0]
    assert city["code"] == "330100" and len(city["children"]) >= 3
    assert {c["code"] for c in city["children"]} >= {"330102", "330106", "330122"}


async def test_publish_gate_lists_every_missing_element(demo_app, fetch, operator_token) -> None:
    draft = {"code": "GA-9001", "name": {"zh-CN": "临时居民身份证核发"}, "department": "gongan",
             "region_code": "330100", "audience": ["personal"], "themes": ["household"],
             "handling_depth": "at_most_one_visit",
             "guide": {"legal_basis": {"zh-CN": "相关法规"},
                       "materials": [{"key": "form", "name": {"zh-CN": "相关表格"}, "original_or_copy": "original",
                                      "copies": 1, "medium": "paper", "required": True}],
                       "process": [{"zh-CN": "申请-审核-核准-发照"}]}}
    created = await fetch("POST", "/admin/v1/services", json=draft, token=operator_token)
    assert created.status == 201, created.text
    assert created.json()["status"] == "draft" and created.json()["publishable"] is False

    refused = await fetch("POST", "/admin/v1/services/GA-9001/publish", token=operator_token,
                          headers={"Accept-Language": "en"})
    assert refused.status == 422
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["code"] == "guide_incomplete" and problem["title"] == "The service guide is incomplete"
    errors = {(e["field"], e["code"]) for e in problem["errors"]}
    assert errors == {
        ("guide.legal_basis", "vague_legal_basis"), ("guide.conditions", "required"),
        ("guide.materials[0].name", "vague_material"), ("guide.process", "generic_process"),
        ("guide.legal_time_limit_days", "required"), ("guide.promised_time_limit_days", "required"),
        ("guide.fee", "required"), ("guide.locations", "required"), ("guide.consultation_phone", "required"),
        ("guide.supervision_phone", "required"), ("guide.result", "required"), ("guide.delivery.by_post", "required"),
    }
    messages = {e["field"]: e["message"] for e in problem["errors"]}
    assert messages["guide.fee"] == "Missing: Fee statement (free or not)"
    assert messages["guide.process"].startswith("Process only lists generic stages")
    chinese = (await fetch("POST", "/admin/v1/services/GA-9001/publish", token=operator_token)).json()
    assert any("设定依据" in e["message"] for e in chinese["errors"])

    # not visible to citizens while a draft
    assert (await fetch("GET", "/api/v1/services/GA-9001")).status == 404
    assert "GA-9001" not in [i["code"] for i in (await fetch("GET", services(q="临时居民身份证"))).json()["items"]]

    # complete the guide, publish: findable at once
    complete = demo_item("GA-0008")["guide"]
    complete["fee"] = {"free": False, "amount_fen": 1000,
                       "basis": {"zh-CN": "《国家发展改革委 财政部关于居民身份证收费标准及有关问题的通知》（发改价格〔2003〕2322号）"}}
    complete["process"] = [{"zh-CN": "申领居民身份证期间急需使用的，在受理窗口同时申请临时居民身份证。"},
                           {"zh-CN": "缴纳工本费10元后当场制作并发放临时居民身份证，有效期三个月。"}]
    patched = await fetch("PATCH", "/admin/v1/services/GA-9001", json={"guide": complete,
                                                                       "aliases": ["临时身份证", "办临时身份证"]},
                          token=operator_token)
    assert patched.status == 200, patched.text
    assert patched.json()["publishable"] is True
    published = await fetch("POST", "/admin/v1/services/GA-9001/publish", token=operator_token)
    assert published.status == 200 and published.json()["status"] == "published"
    assert published.json()["published_at"]
    found = (await fetch("GET", services(q="临时身份证"))).json()["items"]
    assert found[0]["code"] == "GA-9001"
    assert (await fetch("GET", "/api/v1/services/GA-9001")).json()["guide"]["fee"]["amount_fen"] == 1000
    assert await demo_app.ctx.redis.get("catalogue:version") is not None  # other processes are told


async def test_a_published_item_stays_complete(demo_app, fetch, operator_token) -> None:
    broken = await fetch("PATCH", "/admin/v1/services/GA-0001", json={"guide": {"legal_basis": {"zh-CN": "有关规定"}}},
                         token=operator_token)
    assert broken.status == 422
    assert [(e["field"], e["code"]) for e in broken.json()["errors"]] == [("guide.legal_basis", "vague_legal_basis")]
    item = (await fetch("GET", "/api/v1/services/GA-0001")).json()
    assert "《中华人民共和国护照法》" in item["guide"]["legal_basis"]
    assert (await fetch("DELETE", "/admin/v1/services/GA-0001", token=operator_token)).status == 409

    # unpublish: gone from search and from the department's count; then it can be deleted
    before = next(d for d in (await fetch("GET", "/api/v1/departments")).json()["items"] if d["code"] == "gongan")
    assert (await fetch("POST", "/admin/v1/services/GA-0001/unpublish", token=operator_token)).status == 200
    assert "GA-0001" not in [i["code"] for i in (await fetch("GET", services(q="办护照"))).json()["items"]]
    after = next(d for d in (await fetch("GET", "/api/v1/departments")).json()["items"] if d["code"] == "gongan")
    assert after["item_count"] == before["item_count"] - 1
    assert (await fetch("DELETE", "/admin/v1/services/GA-0001", token=operator_token)).status == 204
    assert (await fetch("GET", "/admin/v1/services/GA-0001", token=operator_token)).status == 404


async def test_operator_routes_need_an_operator(demo_app, fetch, citizen, make_operator) -> None:
    assert (await fetch("GET", "/admin/v1/services")).status == 401
    assert (await fetch("GET", "/admin/v1/services", token=citizen[1])).status == 401
    clerk = await make_operator("hall-clerk", ["hall_staff"])
    assert (await fetch("GET", "/admin/v1/catalogue/misfiled", token=clerk)).status == 403
    editor = await make_operator("editor", ["department_operator"])
    listing = (await fetch("GET", "/admin/v1/services?status=draft", token=editor)).json()
    assert [i["code"] for i in listing["items"]] == ["MZ-9001"] and listing["total"] == 1
    duplicate = await fetch("POST", "/admin/v1/services", json={"code": "GA-0001", "name": {"zh-CN": "重复"}},
                            token=editor)
    assert duplicate.status == 409 and duplicate.json()["code"] == "service_exists"
    invalid = await fetch("POST", "/admin/v1/services", json={"code": "bad code", "colour": "red"}, token=editor)
    assert invalid.status == 422
    assert {e["field"] for e in invalid.json()["errors"]} == {"code", "name", "colour"}


async def test_filters_and_pagination(demo_app, fetch) -> None:
    gongan = (await fetch("GET", services(department="gongan", page_size=5))).json()
    assert gongan["total"] == 11 and len(gongan["items"]) == 5
    seen = []
    for page in (1, 2, 3):
        body = (await fetch("GET", services(department="gongan", page=page, page_size=5))).json()
        seen += [i["code"] for i in body["items"]]
    assert len(seen) == len(set(seen)) == 11 and all(c.startswith("GA-") for c in seen)
    enterprise = (await fetch("GET", services(q="许可", audience="enterprise", page_size=100))).json()
    assert enterprise["total"] > 5 and all("enterprise" in i["audience"] for i in enterprise["items"])
    housing = (await fetch("GET", services(theme="housing", page_size=100))).json()
    assert all("housing" in i["themes"] for i in housing["items"]) and housing["total"] >= 10
    qingxi = (await fetch("GET", services(q="低保", region="330122"))).json()
    assert [i["code"] for i in qingxi["items"]][:1] == ["MZ-0204"]
    assert "MZ-0104" not in [i["code"] for i in qingxi["items"]]
    bad = await fetch("GET", services(audience="aliens", region="33x"))
    assert bad.status == 422 and {e["field"] for e in bad.json()["errors"]} == {"audience", "region"}
    assert (await fetch("GET", services(page_size=500))).status == 400


async def test_searches_that_find_nothing_are_logged(demo_app, fetch, operator_token) -> None:
    for query in ("量子纠缠证明", "量子纠缠证明", "火星移民登记", "办护照"):
        await fetch("GET", services(q=query))
    misses = await fetch("GET", "/admin/v1/search/misses", token=operator_token)
    assert misses.status == 200
    body = misses.json()
    assert [(m["query"], m["count"]) for m in body["items"]] == [("量子纠缠证明", 2), ("火星移民登记", 1)]
    assert body["total"] == 2 and body["items"][0]["last_at"]
    assert (await fetch("GET", "/admin/v1/search/misses")).status == 401


async def test_misfiling_report(demo_app, fetch, operator_token) -> None:
    clean = (await fetch("GET", "/admin/v1/catalogue/misfiled", token=operator_token)).json()
    assert clean == {"items": [], "total": 0}  # the demo catalogue is filed correctly
    wrong = demo_item("JT-0003")  # 机动车驾驶员培训经营备案 under "environment", as the seeds found it
    wrong.update(code="JT-9003", department="shengtai", themes=["environment"])
    assert (await fetch("POST", "/admin/v1/services", json=wrong, token=operator_token)).status == 201
    emission = demo_item("ST-0001")  # 排污许可证核发 under ethnic affairs
    emission.update(code="ST-9001", department="minzong")
    assert (await fetch("POST", "/admin/v1/services", json=emission, token=operator_token)).status == 201
    report = (await fetch("GET", "/admin/v1/catalogue/misfiled", token=operator_token)).json()
    assert report["total"] == 2
    by_code = {r["code"]: r for r in report["items"]}
    assert by_code["JT-9003"]["problems"] == [
        {"field": "department", "value": "shengtai", "reason": "keywords_mismatch"},
        {"field": "themes", "value": "environment", "reason": "keywords_mismatch"}]
    assert by_code["ST-9001"]["problems"] == [{"field": "department", "value": "minzong", "reason": "keywords_mismatch"}]


async def test_demo_load_is_idempotent_and_other_modules_read_items(demo_app) -> None:
    db = demo_app.ctx.db
    again = await catalogue.load_demo(demo_app.ctx)
    assert again["published"] == len(DEMO["items"]) and list(again["drafts"]) == ["MZ-9001"]
    assert await db.services.count_documents({}) == len(DEMO["items"]) + 1
    assert await db.services.count_documents({"status": "published"}) == len(DEMO["items"])
    item = await catalogue.get_published_item(db, "GA-0001")
    assert item["guide"]["promised_time_limit_days"] == 7 and "_id" not in item
    assert (await catalogue.get_item(db, "MZ-9001"))["status"] == "draft"
