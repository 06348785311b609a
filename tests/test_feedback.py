"""Error reports (我为政府网站找错) end to end: anyone reports, the department confirms and fixes or
explains, the reporter is answered."""

from __future__ import annotations

import pytest

from models import feedback
from tests import consultation_support

# Shared fixtures (pytest finds them by these module-level names).
items = consultation_support.items
staff = consultation_support.staff

pytestmark = pytest.mark.clock(*consultation_support.MONDAY_MORNING)

REPORT = {"service_code": "GA-0001", "element": "guide.fee", "description": "指南写收费 120 元，窗口实际收 160 元。",
          "suggestion": "请核实收费标准"}


async def report(fetch, token: str | None = None, **changes):
    return await fetch("POST", "/api/v1/feedback", json={**REPORT, **changes}, token=token)


async def test_anyone_may_report_and_follow_it_with_the_query_code(fetch, clock, items) -> None:
    created = await report(fetch)
    assert created.status == 201
    body = created.json()
    assert (body["status"], body["element"], body["service_code"]) == ("pending", "guide.fee", "GA-0001")
    code = body["query_code"]
    assert (await fetch("GET", f"/api/v1/feedback/{body['id']}")).status == 404
    assert (await fetch("GET", f"/api/v1/feedback/{body['id']}?query_code=wrong")).status == 404
    seen = await fetch("GET", f"/api/v1/feedback/{body['id']}?query_code={code}")
    assert seen.status == 200 and "query_code" not in seen.json()


async def test_logged_in_reporter_sees_it_without_the_code(fetch, clock, items, citizen, make_citizen) -> None:
    created = (await report(fetch, token=citizen[1])).json()
    assert (await fetch("GET", f"/api/v1/feedback/{created['id']}", token=citizen[1])).status == 200
    _, stranger = await make_citizen()
    assert (await fetch("GET", f"/api/v1/feedback/{created['id']}", token=stranger)).status == 404


@pytest.mark.parametrize("changes, field, code", [
    ({"element": "the fee"}, "element", "invalid_element"),
    ({"element": None}, "element", "invalid_element"),
    ({"description": "短"}, "description", "too_short"),
    ({"description": "长" * 1001}, "description", "too_long"),
    ({"service_code": None}, "service_code", "required"),
    ({"element": "guide.materials.passport_photo"}, "element", "unknown_material"),
])
async def test_reports_are_validated(fetch, clock, items, changes, field, code) -> None:
    response = await report(fetch, **changes)
    assert response.status == 422
    assert (response.json()["errors"][0]["field"], response.json()["errors"][0]["code"]) == (field, code)


async def test_a_material_may_be_named_and_unpublished_items_are_refused(fetch, clock, items) -> None:
    assert (await report(fetch, element="guide.materials.id_card")).status == 201
    for code in ("GA-0099", "XX-0000"):
        refused = await report(fetch, service_code=code)
        assert (refused.status, refused.json()["code"]) == (404, "service_not_found")


async def test_department_confirms_and_fixes_and_the_reporter_is_answered(fetch, ctx, clock, items, staff,
                                                                         citizen) -> None:
    citizen_id, token = citizen
    created = (await report(fetch, token=token)).json()
    fid = created["id"]
    listed = (await fetch("GET", "/admin/v1/feedback?status=pending", token=staff["gongan"])).json()
    assert [f["id"] for f in listed["items"]] == [fid] and listed["items"][0]["citizen_id"] == citizen_id
    assert (await fetch("GET", "/admin/v1/feedback", token=staff["minzheng"])).json()["total"] == 0
    path = f"/admin/v1/feedback/{fid}/resolution"
    assert (await fetch("POST", path, json={"action": "confirm"}, token=staff["minzheng"])).status == 404

    confirmed = await fetch("POST", path, json={"action": "confirm"}, token=staff["gongan"])
    assert confirmed.status == 200 and confirmed.json()["status"] == "confirmed"
    no_note = await fetch("POST", path, json={"action": "fix"}, token=staff["gongan"], headers={"Accept-Language": "en"})
    assert no_note.status == 422 and no_note.json()["errors"][0]["message"] == "note is required"
    explain_now = await fetch("POST", path, json={"action": "explain", "note": "其实内容没有错"}, token=staff["gongan"])
    assert (explain_now.status, explain_now.json()["code"]) == (409, "feedback_invalid_transition")
    fixed = await fetch("POST", path, json={"action": "fix", "note": "收费标准已更正为 160 元，感谢指正。"},
                        token=staff["gongan"])
    assert fixed.status == 200 and fixed.json()["status"] == "fixed"

    seen = (await fetch("GET", f"/api/v1/feedback/{fid}", token=token)).json()
    assert (seen["status"], seen["answer"]) == ("fixed", "收费标准已更正为 160 元，感谢指正。")
    notices = await ctx.db.outbox.find({"citizen_id": citizen_id}).to_list(None)
    assert [(n["event"], n["data"]["outcome"]) for n in notices] == [("feedback.answered", "fixed")]


async def test_department_explains(fetch, clock, items, staff) -> None:
    created = (await report(fetch, element="guide.process", description="流程里少了一步现场核验。")).json()
    path = f"/admin/v1/feedback/{created['id']}/resolution"
    explained = await fetch("POST", path, json={"action": "explain", "note": "现场核验已并入受理环节，无需单独前往。"},
                            token=staff["gongan"])
    assert explained.json()["status"] == "explained"
    assert (await fetch("POST", path, json={"action": "fix", "note": "改主意了改主意"}, token=staff["gongan"])).status == 409
    seen = (await fetch("GET", f"/api/v1/feedback/{created['id']}?query_code={created['query_code']}")).json()
    assert seen["answer"] == "现场核验已并入受理环节，无需单独前往。"
    invalid = await fetch("POST", path, json={"action": "ignore"}, token=staff["gongan"])
    assert invalid.status == 422 and invalid.json()["errors"][0]["field"] == "action"
    assert (await fetch("POST", path, json={"action": "fix", "note": "xxxxx"}, token=staff["supervisor"])).status == 403


async def test_reports_are_escaped(fetch, ctx, clock, items) -> None:
    created = await report(fetch, description="电话写错了 <img src=x onerror=alert(1)> 应为 12345 & 转 1")
    assert created.json()["description"] == "电话写错了  应为 12345 &amp; 转 1"
    assert "<img" not in created.text


async def test_rate_limits_anonymous_and_per_citizen(fetch, clock, items, citizen, monkeypatch) -> None:
    monkeypatch.setitem(feedback.RATE_LIMITS, "anonymous", (2, 3600))
    monkeypatch.setitem(feedback.RATE_LIMITS, "citizen", (1, 3600))
    assert (await report(fetch)).status == 201
    assert (await report(fetch)).status == 201
    limited = await report(fetch)
    assert (limited.status, limited.json()["code"]) == (429, "too_many_submissions")
    assert limited.json()["title"] == "提交过于频繁，请稍后再试"
    # a logged-in citizen has their own budget
    assert (await report(fetch, token=citizen[1])).status == 201
    assert (await report(fetch, token=citizen[1])).status == 429
