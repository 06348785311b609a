"""Ratings (好差评) end to end: once only, only after completion or closing, rectification of bad ones,
statistics per department and service."""

from __future__ import annotations

import pytest

from models import ratings
from tests import consultation_support
from tests.consultation_support import ask

# Shared fixtures (pytest finds them by these module-level names).
items = consultation_support.items
staff = consultation_support.staff

pytestmark = pytest.mark.clock(*consultation_support.MONDAY_MORNING)


async def application(ctx, citizen_id: str, no: str = "A330100202509220001", status: str = "completed",
                      service_code: str = "GA-0001", department: str = "gongan") -> str:
    """An application document as models/applications.py stores it (keyed by its number)."""
    await ctx.db.applications.insert_one({"_id": no, "citizen_id": citizen_id, "service_code": service_code,
                                          "department": department, "status": status})
    return no


async def rate(fetch, token: str, no: str, grade: int = 5, **extra):
    return await fetch("POST", f"/api/v1/applications/{no}/evaluation", json={"grade": grade, **extra}, token=token)


async def test_rating_an_application_once_after_completion(fetch, ctx, clock, items, citizen, make_citizen) -> None:
    citizen_id, token = citizen
    no = await application(ctx, citizen_id, status="approved")
    early = await rate(fetch, token, no)
    assert (early.status, early.json()["code"]) == (409, "application_not_completed")
    assert early.json()["title"] == "办件办结后才能评价"

    await ctx.db.applications.update_one({"_id": no}, {"$set": {"status": "completed"}})
    first = await rate(fetch, token, no, grade=4, comment="窗口人员很耐心", tags=["服务态度好", "办事效率高"])
    assert first.status == 201
    body = first.json()
    assert (body["grade"], body["grade_label"], body["grade_code"]) == (4, "满意", "satisfied")
    assert (body["department"], body["service_code"], body["rectification_id"]) == ("gongan", "GA-0001", None)
    assert body["tags"] == ["办事效率高", "服务态度好"]

    again = await fetch("POST", f"/api/v1/applications/{no}/evaluation", json={"grade": 1, "comment": "改主意了"},
                        token=token, headers={"Accept-Language": "en"})
    assert (again.status, again.json()["code"]) == (409, "already_rated")
    assert again.json()["title"] == "Already rated; each can be rated once"
    assert await ctx.db.ratings.count_documents({}) == 1
    assert (await fetch("GET", f"/api/v1/applications/{no}/evaluation", token=token)).json()["grade"] == 4

    _, stranger = await make_citizen()
    assert (await rate(fetch, stranger, no)).status == 404
    assert (await rate(fetch, token, "A-NO-SUCH-NUMBER")).status == 404
    assert (await fetch("GET", f"/api/v1/applications/{no}/evaluation", token=stranger)).status == 404
    assert (await rate(fetch, "", no)).status == 401


async def test_rating_through_the_real_application_lifecycle(fetch, ctx, citizen, make_operator) -> None:
    """The same rule against applications submitted and completed through their own API (issue 5)."""
    from tests.test_applications import act, service_item, submit

    await ctx.db.services.insert_one(service_item())
    token = citizen[1]
    clerk = await make_operator("clerk-gongan", ["department_operator"], "gongan")
    created = await submit(fetch, token)
    assert created.status == 201, created.text
    no = created.json()["application_no"]
    for action in ("accept", "approve"):
        assert (await act(fetch, clerk, no, action, note="同意")).status == 200
        assert (await rate(fetch, token, no)).json()["code"] == "application_not_completed"
    done = await act(fetch, clerk, no, "complete", result={"certificate_no": "E12345678"})
    assert done.status == 200, done.text
    rated = await rate(fetch, token, no, grade=1, comment="等了很久")
    assert rated.status == 201
    assert (rated.json()["department"], rated.json()["service_code"]) == ("gongan", "GA-0001")
    assert rated.json()["rectification_id"]


@pytest.mark.parametrize("grade", [0, 6, "5", 4.5, True, None])
async def test_grades_are_whole_numbers_from_1_to_5(fetch, ctx, clock, items, citizen, grade) -> None:
    no = await application(ctx, citizen[0])
    response = await fetch("POST", f"/api/v1/applications/{no}/evaluation", json={"grade": grade}, token=citizen[1],
                           headers={"Accept-Language": "en"})
    assert response.status == 422
    assert response.json()["errors"][0]["field"] == "grade"
    assert "from 1 to 5" in response.json()["errors"][0]["message"]


def test_grade_labels() -> None:
    assert [ratings.GRADES[g][0] for g in (5, 4, 3, 2, 1)] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]


async def test_comment_and_tags_are_limited_and_escaped(fetch, ctx, clock, items, citizen) -> None:
    no = await application(ctx, citizen[0])
    long = await rate(fetch, citizen[1], no, comment="长" * 501)
    assert long.status == 422 and long.json()["errors"][0]["code"] == "too_long"
    tags = await rate(fetch, citizen[1], no, tags=["<b>x</b>"])
    assert tags.status == 422 and tags.json()["errors"][0]["field"] == "tags"
    ok = await rate(fetch, citizen[1], no, comment="<script>alert(1)</script>很好 & 快")
    assert ok.json()["comment"] == "alert(1)很好 &amp; 快"


async def test_rating_a_consultation_after_it_closes(fetch, ctx, clock, items, staff, citizen) -> None:
    token = citizen[1]
    cid = (await ask(fetch, token))["id"]
    path = f"/api/v1/consultations/{cid}/evaluation"
    early = await fetch("POST", path, json={"grade": 5}, token=token)
    assert (early.status, early.json()["code"]) == (409, "consultation_not_closed")
    await fetch("POST", f"/admin/v1/consultations/{cid}/reply", json={"content": "答复"}, token=staff["gongan"])
    await fetch("POST", f"/admin/v1/consultations/{cid}/close", json={}, token=staff["gongan"])
    rated = await fetch("POST", path, json={"grade": 5, "comment": "解答清楚"}, token=token)
    assert rated.status == 201 and rated.json()["target_type"] == "consultation"
    assert (await fetch("POST", path, json={"grade": 3}, token=token)).status == 409
    view = (await fetch("GET", f"/api/v1/consultations/{cid}", token=token)).json()
    assert (view["rated"], view["can_rate"]) == (True, False)
    assert (await fetch("GET", path, token=token)).json()["grade"] == 5


async def test_rectification_flow(fetch, ctx, clock, items, staff, citizen) -> None:
    citizen_id, token = citizen
    clock.set(2025, 9, 22, 10, 0)
    no = await application(ctx, citizen_id)
    unexplained = await rate(fetch, token, no, grade=2)
    assert unexplained.status == 422 and unexplained.json()["errors"][0]["field"] == "comment"
    bad = await rate(fetch, token, no, grade=2, comment="跑了三次才办成")
    assert bad.status == 201 and bad.json()["grade_label"] == "不满意"
    case_id = bad.json()["rectification_id"]
    assert case_id

    listed = (await fetch("GET", "/admin/v1/rectifications?status=open", token=staff["gongan"])).json()
    assert [c["id"] for c in listed["items"]] == [case_id]
    case = listed["items"][0]
    # 15 working days: 23–26, 28 (Sun), 29, 30 Sep, 9, 10, 11 (Sat), 13–17 Oct
    assert case["due_at"] == "2025-10-17T17:30:00+08:00"
    assert (case["comment"], case["follow_up"]["question"]) == ("跑了三次才办成", None)
    assert (await fetch("GET", "/admin/v1/rectifications", token=staff["minzheng"])).json()["total"] == 0
    assert (await fetch("GET", f"/admin/v1/rectifications/{case_id}", token=staff["minzheng"])).status == 404

    early_follow_up = await fetch("POST", f"/api/v1/rectifications/{case_id}/follow-up", json={"satisfied": True},
                                  token=token)
    assert (early_follow_up.status, early_follow_up.json()["code"]) == (409, "follow_up_not_open")

    clock.set(2025, 10, 20, 9, 0)  # past the deadline: listed as overdue
    overdue = (await fetch("GET", "/admin/v1/rectifications?overdue=true", token=staff["supervisor"])).json()
    assert [c["id"] for c in overdue["items"]] == [case_id] and overdue["items"][0]["overdue"] is True

    path = f"/admin/v1/rectifications/{case_id}/response"
    short = await fetch("POST", path, json={"response": "已整改"}, token=staff["gongan"])
    assert short.status == 422 and short.json()["errors"][0]["code"] == "too_short"
    assert (await fetch("POST", path, json={"response": "x" * 20}, token=staff["minzheng"])).status == 404
    assert (await fetch("POST", path, json={"response": "x" * 20}, token=staff["supervisor"])).status == 403
    responded = await fetch("POST", path, json={"response": "已约谈窗口负责人，材料一次告知清单已更新。"},
                            token=staff["gongan"])
    assert responded.status == 200
    assert (responded.json()["status"], responded.json()["responded_late"]) == ("responded", True)
    assert (await fetch("POST", path, json={"response": "再次答复的内容足够长"}, token=staff["gongan"])).status == 409

    notices = await ctx.db.outbox.find({"citizen_id": citizen_id, "event": "rectification.follow_up"}).to_list(None)
    assert len(notices) == 1 and notices[0]["data"]["rectification_id"] == case_id

    mine = (await fetch("GET", f"/api/v1/rectifications/{case_id}", token=token)).json()
    assert mine["follow_up"]["question"]["zh-CN"] == ratings.FOLLOW_UP_QUESTION["zh-CN"]
    assert mine["response"] == "已约谈窗口负责人，材料一次告知清单已更新。"
    answer = await fetch("POST", f"/api/v1/rectifications/{case_id}/follow-up",
                         json={"satisfied": False, "comment": "还是要跑两次"}, token=token)
    assert answer.status == 200
    assert (answer.json()["status"], answer.json()["follow_up"]["satisfied"]) == ("closed", False)
    again = await fetch("POST", f"/api/v1/rectifications/{case_id}/follow-up", json={"satisfied": True}, token=token)
    assert again.status == 409
    closed = (await fetch("GET", f"/admin/v1/rectifications/{case_id}", token=staff["supervisor"])).json()
    assert (closed["status"], closed["follow_up"]["comment"]) == ("closed", "还是要跑两次")


async def test_only_bad_grades_open_rectification(fetch, ctx, clock, items, citizen) -> None:
    for number, grade in enumerate((5, 4, 3, 2, 1)):
        no = await application(ctx, citizen[0], no=f"A33010020250922{number:04d}")
        response = await rate(fetch, citizen[1], no, grade=grade, comment="评价")
        assert (response.json()["rectification_id"] is not None) is (grade <= 2)
    assert await ctx.db.rectification_cases.count_documents({}) == 2


async def test_rating_statistics_per_department_and_service(fetch, ctx, clock, items, staff, make_citizen) -> None:
    plan = [("GA-0001", "gongan", 5), ("GA-0001", "gongan", 4), ("GA-0001", "gongan", 1),
            ("GA-0002", "gongan", 3), ("MZ-0001", "minzheng", 2)]
    for number, (code, department, grade) in enumerate(plan):
        citizen_id, token = await make_citizen()
        no = await application(ctx, citizen_id, no=f"A33010020250922{number:04d}", service_code=code,
                               department=department)
        assert (await rate(fetch, token, no, grade=grade, comment="评价")).status == 201

    stats = (await fetch("GET", "/admin/v1/ratings/stats", token=staff["supervisor"])).json()
    departments = {row["department"]: row for row in stats["by_department"]}
    gongan = departments["gongan"]
    assert gongan["total"] == 4
    assert gongan["grades"] == {"5": 1, "4": 1, "3": 1, "2": 0, "1": 1}
    assert gongan["average_grade"] == 3.25
    assert gongan["satisfaction_rate"] == 0.75
    assert gongan["rectifications_open"] == 1
    assert departments["minzheng"]["satisfaction_rate"] == 0.0
    services = {(row["department"], row["service_code"]): row["total"] for row in stats["by_service"]}
    assert services == {("gongan", "GA-0001"): 3, ("gongan", "GA-0002"): 1, ("minzheng", "MZ-0001"): 1}

    own = (await fetch("GET", "/admin/v1/ratings/stats?service_code=GA-0001", token=staff["gongan"])).json()
    assert [row["department"] for row in own["by_department"]] == ["gongan"]
    assert own["by_department"][0]["total"] == 3
    refused = await fetch("GET", "/admin/v1/ratings/stats?department=gongan", token=staff["minzheng"])
    assert refused.status == 403


async def test_rating_rate_limit(fetch, ctx, clock, items, citizen, monkeypatch) -> None:
    monkeypatch.setitem(ratings.RATE_LIMITS, "rate", (1, 3600))
    no = await application(ctx, citizen[0])
    assert (await rate(fetch, citizen[1], no)).status == 201
    assert (await rate(fetch, citizen[1], no)).status == 429
