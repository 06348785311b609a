"""The Q&A library (问答库) end to end: publishing answered consultations stripped of personal data,
editing, scope, suggestions before asking (by item and by the words typed, zh-CN and en), the
deflection figure in the scorecard, and the demo library.

Time is the test clock, stopped at Monday 2025-09-22 10:00 and moved by the deflection tests.
"""

from __future__ import annotations

import pytest

from models.consultations import privacy, suggestions
from tests import consultation_support
from tests.test_localcache import eventually, other_worker  # noqa: F401 - fixture

pytestmark = pytest.mark.clock(*consultation_support.MONDAY_MORNING)
staff = consultation_support.staff
EN = {"Accept-Language": "en"}


@pytest.fixture
async def items(ctx) -> None:
    """Published items of two departments in two cities, and a draft."""
    await ctx.db.services.insert_many([
        {"code": "GA-0001", "name": {"zh-CN": "普通护照签发", "en": "Passport issuance"}, "department": "gongan",
         "region_code": "330100", "status": "published", "guide": {"materials": []}},
        {"code": "GA-0002", "name": {"zh-CN": "普通护照换发和补发", "en": "Passport renewal"}, "department": "gongan",
         "region_code": "330100", "status": "published", "guide": {"materials": []}},
        {"code": "MZ-0001", "name": {"zh-CN": "结婚登记"}, "department": "minzheng", "region_code": "330200",
         "status": "published", "guide": {"materials": []}},
        {"code": "GA-0099", "name": {"zh-CN": "草稿事项"}, "department": "gongan", "status": "draft"},
    ])


async def _answered(fetch, citizen_token: str, clerk: str, content: str, reply: str, code: str = "GA-0001") -> str:
    asked = await consultation_support.ask(fetch, citizen_token, code, content=content)
    replied = await fetch("POST", f"/admin/v1/consultations/{asked['id']}/reply", json={"content": reply}, token=clerk)
    assert replied.status == 201, replied.text
    return asked["id"]


async def _entry(fetch, token: str, question, answer, codes=("GA-0001",)) -> dict:
    created = await fetch("POST", "/admin/v1/qa", json={"question": question, "answer": answer,
                                                        "service_codes": list(codes)}, token=token)
    assert created.status == 201, created.text
    return created.json()


async def _suggest(fetch, query: str, headers=None) -> dict:
    response = await fetch("GET", "/api/v1/consultations/suggest?" + query, headers=headers)
    assert response.status == 200, response.text
    return response.json()


# ---- pure rules ---------------------------------------------------------------------------------------
def test_scrub_masks_what_is_personal_and_keeps_what_is_public() -> None:
    text, found = privacy.scrub("我叫王小明，手机13812345678，身份证号110101199003071234，住幸福路88号3幢2单元501室，"
                                "车牌浙A12345，邮箱wxm@example.com。")
    assert "王小明" not in text and "王**" in text
    assert "13812345678" not in text and "110101199003071234" not in text and "501室" not in text
    assert "A12345" not in text and "wxm@example.com" not in text
    assert "幸福路88号" in text  # a street number alone is how offices are named
    assert found == {"name": 1, "phone": 1, "id_number": 1, "address": 1, "plate": 1, "email": 1}
    public = "请到人民路100号示范市民中心2楼5号窗口办理，咨询电话0571-87280110或12345，费用120元，7个工作日办结。"
    assert privacy.scrub(public) == (public, {})
    assert privacy.scrub("张先生您好，我是外地人")[0] == "张先生您好，我是外地人"
    assert privacy.scrub("申请人：欧阳娜娜")[0] == "申请人：欧阳**"
    assert privacy.scrub("请拨 +86 138-1234-5678")[1] == {"phone": 1}
    assert privacy.scrub("住5栋602，孩子叫陈一一")[0] == "住*****，孩子叫陈**"


# ---- operators -----------------------------------------------------------------------------------------
async def test_publish_an_answered_consultation_stripped_of_personal_data(fetch, items, staff, citizen) -> None:
    clerk = staff["gongan"]
    cid = await _answered(fetch, citizen[1], clerk,
                          "我叫李建国，电话13912345678，身份证330102198805061234，护照办理需要几个工作日？",
                          "李建国先生您好，普通护照受理后7个工作日内办结，办好后短信通知13912345678。")
    early = await consultation_support.ask(fetch, citizen[1], content="还没人答复的问题")
    refused = await fetch("POST", f"/admin/v1/consultations/{early['id']}/publish", json={}, token=clerk)
    assert (refused.status, refused.json()["code"]) == (409, "consultation_not_answered")

    published = await fetch("POST", f"/admin/v1/consultations/{cid}/publish", json={}, token=clerk)
    assert published.status == 201, published.text
    entry = published.json()
    question, answer = entry["question"]["zh-CN"], entry["answer"]["zh-CN"]
    for personal in ("李建国", "13912345678", "330102198805061234"):
        assert personal not in question and personal not in answer
    assert question.startswith("我叫李**") and "7个工作日内办结" in answer
    assert {r["kind"]: r["count"] for r in entry["redactions"]} == {"name": 2, "phone": 2, "id_number": 1}
    assert (entry["service_codes"], entry["department"], entry["region_code"], entry["status"],
            entry["source_consultation_id"]) == (["GA-0001"], "gongan", "330100", "published", cid)
    again = await fetch("POST", f"/admin/v1/consultations/{cid}/publish", json={}, token=clerk)
    assert (again.status, again.json()["code"]) == (409, "consultation_already_published")

    # The operator edits before (or after) publishing; their text is masked too.
    edited = await fetch("PATCH", f"/admin/v1/qa/{entry['id']}", token=clerk, json={
        "question": {"zh-CN": "办理普通护照需要几个工作日？", "en": "How long does a passport take?"},
        "answer": {"zh-CN": "7个工作日内办结。如有疑问请联系王芳女士 13600001111。", "en": "Within 7 working days."},
        "service_codes": ["GA-0001", "GA-0002"]})
    assert edited.status == 200, edited.text
    view = edited.json()
    assert view["question"] == {"zh-CN": "办理普通护照需要几个工作日？", "en": "How long does a passport take?"}
    assert "王芳" not in view["answer"]["zh-CN"] and "13600001111" not in view["answer"]["zh-CN"]
    assert view["service_codes"] == ["GA-0001", "GA-0002"]
    assert (await fetch("GET", f"/admin/v1/qa/{entry['id']}", token=clerk)).json() == view
    listed = (await fetch("GET", "/admin/v1/qa?service_code=GA-0002", token=clerk)).json()
    assert [e["id"] for e in listed["items"]] == [entry["id"]] and listed["total"] == 1

    bad = await fetch("PATCH", f"/admin/v1/qa/{entry['id']}", token=clerk, headers=EN,
                      json={"question": {"fr": "Combien de temps ?"}, "service_codes": []})
    assert bad.status == 422 and {e["field"] for e in bad.json()["errors"]} == {"question", "service_codes"}
    assert (await fetch("GET", "/admin/v1/qa/not-an-id", token=clerk)).json()["code"] == "qa_not_found"


async def test_a_department_cannot_publish_or_edit_another_departments(fetch, items, staff, citizen) -> None:
    cid = await _answered(fetch, citizen[1], staff["gongan"], "护照多久能拿到？", "7个工作日。")
    other = staff["minzheng"]
    refused = await fetch("POST", f"/admin/v1/consultations/{cid}/publish", json={}, token=other)
    assert (refused.status, refused.json()["code"]) == (404, "consultation_not_found")
    entry = (await fetch("POST", f"/admin/v1/consultations/{cid}/publish", json={}, token=staff["gongan"])).json()

    for method, body in (("GET", None), ("PATCH", {"answer": "改成别的"}), ("DELETE", None)):
        response = await fetch(method, f"/admin/v1/qa/{entry['id']}", json=body, token=other)
        assert (response.status, response.json()["code"]) == (403, "out_of_scope"), method
    moved = await fetch("PATCH", f"/admin/v1/qa/{entry['id']}", json={"service_codes": ["MZ-0001"]}, token=staff["gongan"])
    assert (moved.status, moved.json()["code"]) == (403, "out_of_scope")
    written = await fetch("POST", "/admin/v1/qa", json={"question": "q", "answer": "a", "service_codes": ["GA-0001"]},
                          token=other)
    assert (written.status, written.json()["code"]) == (403, "out_of_scope")
    assert (await fetch("GET", "/admin/v1/qa", token=other)).json()["total"] == 0
    assert (await fetch("GET", "/admin/v1/qa?department=gongan", token=other)).json()["code"] == "department_forbidden"

    # Reading is not publishing: an auditor of the department reads, and may not change.
    assert (await fetch("GET", f"/admin/v1/qa/{entry['id']}", token=staff["ga_supervisor"])).status == 200
    assert (await fetch("DELETE", f"/admin/v1/qa/{entry['id']}", token=staff["ga_supervisor"])).json()["code"] == \
        "operator_forbidden"
    # One entry, one department; only published items.
    mixed = await fetch("PATCH", f"/admin/v1/qa/{entry['id']}", json={"service_codes": ["GA-0001", "MZ-0001"]},
                        token=staff["supervisor"])
    assert mixed.json()["code"] == "operator_forbidden"
    draft = await fetch("POST", "/admin/v1/qa", json={"question": "q", "answer": "a", "service_codes": ["GA-0099"]},
                        token=staff["gongan"])
    assert (draft.status, draft.json()["code"]) == (404, "service_not_found")


async def test_entries_of_one_department_only(fetch, items, operator_token) -> None:
    mixed = await fetch("POST", "/admin/v1/qa", token=operator_token, json={
        "question": "q", "answer": "a", "service_codes": ["GA-0001", "MZ-0001"]})
    assert mixed.status == 422 and mixed.json()["errors"][0]["code"] == "several_departments"


# ---- citizens -------------------------------------------------------------------------------------------
async def test_suggestions_by_item_and_by_the_words_typed(fetch, items, staff, operator_token) -> None:
    clerk = staff["gongan"]
    lost = await _entry(fetch, clerk, {"zh-CN": "护照丢了怎么补办？", "en": "I lost my passport. What now?"},
                        {"zh-CN": "带身份证到出入境大厅申请补发。", "en": "Apply for a replacement at the exit-entry hall."},
                        ("GA-0002",))
    time = await _entry(fetch, clerk, {"zh-CN": "办理护照需要多长时间？", "en": "How long does a passport take?"},
                        {"zh-CN": "7个工作日内办结。", "en": "Within 7 working days."}, ("GA-0001", "GA-0002"))
    photo = await _entry(fetch, clerk, "办护照要带照片吗？", "不需要，大厅免费拍照。", ("GA-0001",))
    marriage = await _entry(fetch, operator_token, "结婚登记要带户口本吗？", "带身份证即可。", ("MZ-0001",))

    top = await _suggest(fetch, "service_code=GA-0001")
    assert top["match"] == "top" and {s["id"] for s in top["items"]} == {time["id"], photo["id"]}
    typed = await _suggest(fetch, "service_code=GA-0002&q=" + "护照丢了怎么办")
    assert typed["match"] == "relevant" and typed["items"][0]["id"] == lost["id"]
    assert typed["items"][0]["answer"] == "带身份证到出入境大厅申请补发。"
    anywhere = await _suggest(fetch, "q=" + "结婚要带什么")
    assert anywhere["items"][0]["id"] == marriage["id"]
    english = await _suggest(fetch, "service_code=GA-0002&q=lost+passport", headers=EN)
    assert english["items"][0] == {"id": lost["id"], "question": "I lost my passport. What now?",
                                   "answer": "Apply for a replacement at the exit-entry hall.",
                                   "service_codes": ["GA-0002"], "updated_at": lost["updated_at"]}
    fallback = {s["id"]: s["question"] for s in (await _suggest(fetch, "service_code=GA-0001", headers=EN))["items"]}
    assert fallback == {time["id"]: "How long does a passport take?",
                        photo["id"]: "办护照要带照片吗？"}  # no English: the Chinese rather than nothing
    assert (await _suggest(fetch, "service_code=GA-0001&q=" + "怎么办理"))["match"] == "top"  # filler words only
    assert (await _suggest(fetch, "q=" + "公积金"))["items"] == []
    assert (await _suggest(fetch, ""))["items"] == []
    assert (await _suggest(fetch, "service_code=NO-SUCH"))["items"] == []
    too_long = await fetch("GET", "/api/v1/consultations/suggest?q=" + "长" * 201)
    assert (too_long.status, too_long.json()["code"]) == (400, "invalid_query")

    # Unpublished at once (the cache is invalidated), published again with PATCH.
    assert (await fetch("DELETE", f"/admin/v1/qa/{photo['id']}", token=clerk)).status == 204
    assert [s["id"] for s in (await _suggest(fetch, "service_code=GA-0001"))["items"]] == [time["id"]]
    assert (await fetch("GET", "/admin/v1/qa?status=unpublished", token=clerk)).json()["total"] == 1
    opened = await fetch("POST", f"/api/v1/consultations/suggest/{photo['id']}/opened", json={})
    assert (opened.status, opened.json()["code"]) == (404, "qa_not_found")
    again = await fetch("PATCH", f"/admin/v1/qa/{photo['id']}", json={"status": "published"}, token=clerk)
    assert again.json()["status"] == "published"
    assert len((await _suggest(fetch, "service_code=GA-0001"))["items"]) == 2
    edited = await fetch("PATCH", f"/admin/v1/qa/{time['id']}", json={"answer": "5个工作日内办结。"}, token=clerk)
    assert edited.status == 200
    shown = {s["id"]: s for s in (await _suggest(fetch, "service_code=GA-0001"))["items"]}
    assert shown[time["id"]]["answer"] == "5个工作日内办结。"

    # The most opened answers lead an item's list.
    for _ in range(2):
        assert (await fetch("POST", f"/api/v1/consultations/suggest/{photo['id']}/opened", json={})).status == 201
    await fetch("PATCH", f"/admin/v1/qa/{lost['id']}", json={"status": "published"}, token=clerk)  # any change
    assert (await _suggest(fetch, "service_code=GA-0001"))["items"][0]["id"] == photo["id"]
    wrong_item = await fetch("POST", f"/api/v1/consultations/suggest/{photo['id']}/opened", json={"service_code": "MZ-0001"})
    assert (wrong_item.status, wrong_item.json()["errors"][0]["code"]) == (422, "not_attached")


async def test_a_change_reaches_another_workers_suggestions_through_pubsub(app, other_worker, items, staff,  # noqa: ANN001
                                                                         monkeypatch) -> None:
    # A lifetime far beyond the test: only the invalidation can end the cached library.
    monkeypatch.setattr(suggestions, "CACHE_SECONDS", 600)
    clerk = staff["gongan"]
    entry = await _entry(app.fetch, clerk, "护照多久办好？", "7个工作日。")
    for worker in (app, other_worker):
        assert [s["answer"] for s in (await _suggest(worker.fetch, "service_code=GA-0001"))["items"]] == ["7个工作日。"]
    cache = other_worker.ctx.caches.cache(suggestions.CACHE_NAME, 4, suggestions.CACHE_SECONDS)
    assert cache.get(suggestions.CACHE_KEY) is not None  # served from the worker's memory

    assert (await app.fetch("PATCH", f"/admin/v1/qa/{entry['id']}", json={"answer": "5个工作日。"}, token=clerk)).status == 200

    async def changed_elsewhere() -> bool:
        shown = await _suggest(other_worker.fetch, "service_code=GA-0001")
        return [s["answer"] for s in shown["items"]] == ["5个工作日。"]

    assert await eventually(changed_elsewhere, within=1.0) < 1.0
    assert (await app.fetch("DELETE", f"/admin/v1/qa/{entry['id']}", token=clerk)).status == 204

    async def gone_elsewhere() -> bool:
        return (await _suggest(other_worker.fetch, "service_code=GA-0001"))["items"] == []

    assert await eventually(gone_elsewhere, within=1.0) < 1.0


# ---- deflection -------------------------------------------------------------------------------------------
def _deflection(card: dict) -> dict:
    fast = next(d for d in card["dimensions"] if d["key"] == "fast")
    return next(i for i in fast["indicators"] if i["key"] == "consultations_deflected")


async def _open(fetch, qa_id: str, token: str | None = None, code: str | None = None) -> str:
    body = {"service_code": code} if code else {}
    opened = await fetch("POST", f"/api/v1/consultations/suggest/{qa_id}/opened", json=body, token=token)
    assert opened.status == 201, opened.text
    return opened.json()["suggestion_token"]


async def test_deflection_counted_and_shown_in_the_scorecard(fetch, clock, items, staff, operator_token,
                                                             make_citizen) -> None:
    clerk = staff["gongan"]
    entry = await _entry(fetch, clerk, "护照多久办好？", "7个工作日。", ("GA-0001", "GA-0002"))
    marriage = await _entry(fetch, operator_token, "结婚登记要带什么？", "带身份证。", ("MZ-0001",))
    _, reader = await make_citizen(name="看了就懂")
    _, asker = await make_citizen(name="看了还问")
    _, later = await make_citizen(name="过后才问")

    await _open(fetch, entry["id"], reader)                       # read it and did not ask: deflected
    await _open(fetch, entry["id"], asker, "GA-0002")             # read it and asked anyway about that item
    await _open(fetch, entry["id"], later)                        # asked, but only after the window
    token = await _open(fetch, entry["id"])                       # anonymous, then logged in and asked
    await _open(fetch, marriage["id"], reader)                    # another department, another city
    clock.advance(minutes=10)
    await consultation_support.ask(fetch, asker, "GA-0002")
    await consultation_support.ask(fetch, reader, "GA-0002")      # another item than the one it was opened for
    await consultation_support.ask(fetch, (await make_citizen(name="匿名"))[1], "GA-0001", suggestion_token=token)
    clock.advance(minutes=15)
    pending = _deflection((await fetch("GET", "/admin/v1/scorecard", token=operator_token)).json())
    assert pending["value"]["pending"] == 3 and pending["value"]["asked"] == 2 and pending["value"]["deflected"] == 0

    clock.advance(minutes=10)  # 35 minutes after opening: the window has passed
    await consultation_support.ask(fetch, later, "GA-0001")
    await _open(fetch, entry["id"], reader)                       # a new open, still inside its window
    card = (await fetch("GET", "/admin/v1/scorecard", token=operator_token)).json()
    figure = _deflection(card)
    assert figure["value"] == {"opened": 6, "asked": 2, "deflected": 3, "pending": 1, "settled": 5, "rate": 0.6,
                               "window_minutes": 30}
    assert figure["score"] == 60.0 and figure["weight"] == 0 and figure["informational"] is True
    assert [(w["code"], w["asked"]) for w in figure["worst"]] == [("GA-0001", 1), ("GA-0002", 1)]

    # Per department and per region, as the other figures.
    gongan = _deflection((await fetch("GET", "/admin/v1/scorecard?department=gongan", token=operator_token)).json())["value"]
    assert (gongan["opened"], gongan["deflected"], gongan["asked"]) == (5, 2, 2)
    city = _deflection((await fetch("GET", "/admin/v1/scorecard?region=330200", token=operator_token)).json())["value"]
    assert (city["opened"], city["deflected"], city["rate"]) == (1, 1, 1.0)
    english = (await fetch("GET", "/admin/v1/scorecard", token=operator_token, headers=EN)).json()
    assert "deflection" in _deflection(english)["name"]["en"]

    bad = await fetch("POST", "/api/v1/consultations", token=reader, json={
        "service_code": "GA-0001", "subject": "s", "content": "c", "suggestion_token": "not-a-token"})
    assert bad.status == 422 and bad.json()["errors"][0]["field"] == "suggestion_token"


# ---- the demo library ---------------------------------------------------------------------------------------
async def test_demo_library_is_loaded_on_the_demo_catalogue(demo_app, fetch, operator_token) -> None:
    library = (await fetch("GET", "/admin/v1/qa?page_size=100", token=operator_token)).json()
    assert library["total"] >= 30
    assert all(e["status"] == "published" and e["question"]["en"] for e in library["items"])
    guide = await _suggest(fetch, "service_code=GA-0001")
    assert len(guide["items"]) >= 3 and guide["items"][0]["question"] == "办理普通护照需要多长时间？"
    assert (await _suggest(fetch, "q=" + "开奶茶店要办什么证"))["items"][0]["service_codes"] == ["SC-0005"]
    assert (await _suggest(fetch, "service_code=GA-0002&q=" + "护照丢了怎么补"))["items"][0]["question"] == "护照丢了怎么补办？"
    assert (await _suggest(fetch, "q=" + "交通罚款在哪交"))["items"][0]["service_codes"] == ["JJ-0004"]
    english = await _suggest(fetch, "service_code=YB-0002&q=another+city", headers=EN)
    assert english["items"][0]["question"] == "How do I register for medical treatment in another city?"
