"""Consultations and complaints end to end: routing, turns, deadlines, overdue lists, statistics, abuse.

Time is the test clock, stopped at Monday 2025-09-22 10:00 and set by each test. Calendar facts (2025):
National Day holiday 1–8 October; adjusted working days Sunday 28 September and Saturday 11 October.
"""

from __future__ import annotations

import pytest
from bson import ObjectId

from models import consultations, usertext
from tests import consultation_support
from tests.consultation_support import ask

# Shared fixtures (pytest finds them by these module-level names).
items = consultation_support.items
staff = consultation_support.staff

pytestmark = pytest.mark.clock(*consultation_support.MONDAY_MORNING)


async def test_routed_to_the_items_department_only(fetch, clock, items, staff, citizen, operator_token) -> None:
    _, token = citizen
    created = await ask(fetch, token)
    assert (created["department"], created["status"], created["kind"]) == ("gongan", "open", "consultation")
    assert created["service_name"]["zh-CN"] == "普通护照签发"
    cid = created["id"]

    mine = (await fetch("GET", "/admin/v1/consultations", token=staff["gongan"])).json()
    assert [c["id"] for c in mine["items"]] == [cid] and mine["total"] == 1
    assert (await fetch("GET", "/admin/v1/consultations", token=operator_token)).json()["total"] == 1  # admin: all

    other = staff["minzheng"]
    assert (await fetch("GET", "/admin/v1/consultations", token=other)).json()["total"] == 0
    assert (await fetch("GET", f"/admin/v1/consultations/{cid}", token=other)).status == 404
    refused = await fetch("POST", f"/admin/v1/consultations/{cid}/reply", json={"content": "越权答复"}, token=other)
    assert (refused.status, refused.json()["code"]) == (404, "consultation_not_found")
    asked = await fetch("GET", "/admin/v1/consultations?department=gongan", token=other, headers={"Accept-Language": "en"})
    assert (asked.status, asked.json()["code"]) == (403, "department_forbidden")
    assert asked.json()["title"] == "You may not see another department's data"

    answered = await fetch("POST", f"/admin/v1/consultations/{cid}/reply", json={"content": "一般 7 个工作日。"},
                           token=staff["gongan"])
    assert answered.status == 201 and answered.json()["status"] == "answered"


async def test_only_the_asking_citizen_sees_it(fetch, clock, items, citizen, make_citizen) -> None:
    created = await ask(fetch, citizen[1])
    _, stranger = await make_citizen(name="别人")
    assert (await fetch("GET", f"/api/v1/consultations/{created['id']}", token=stranger)).status == 404
    assert (await fetch("GET", "/api/v1/consultations", token=stranger)).json()["total"] == 0
    follow = await fetch("POST", f"/api/v1/consultations/{created['id']}/messages", json={"content": "插话"}, token=stranger)
    assert follow.status == 404
    assert (await fetch("GET", "/api/v1/consultations/not-an-id", token=citizen[1])).status == 404
    assert (await fetch("GET", "/api/v1/consultations")).status == 401


async def test_multi_turn_conversation_with_notifications(fetch, ctx, clock, items, staff, citizen) -> None:
    citizen_id, token = citizen
    clerk = staff["gongan"]
    cid = (await ask(fetch, token))["id"]

    clock.set(2025, 9, 22, 11, 0)
    await fetch("POST", f"/admin/v1/consultations/{cid}/reply", json={"content": "一般 7 个工作日。"}, token=clerk)
    clock.set(2025, 9, 22, 16, 0)  # after the cut-off: the new question is due the next working day
    follow = await fetch("POST", f"/api/v1/consultations/{cid}/messages", json={"content": "加急可以吗？"}, token=token)
    assert follow.status == 201
    assert (follow.json()["status"], follow.json()["due_at"]) == ("open", "2025-09-23T17:30:00+08:00")
    clock.set(2025, 9, 23, 9, 30)
    second = await fetch("POST", f"/admin/v1/consultations/{cid}/reply", json={"content": "可以申请加急。"}, token=clerk)
    assert second.json()["messages"][-1]["answer_working_hours"] == 2.0  # 16:00–17:30 Monday, 09:00–09:30 Tuesday
    clock.set(2025, 9, 23, 10, 0)
    closed = await fetch("POST", f"/admin/v1/consultations/{cid}/close", json={}, token=clerk)
    assert closed.status == 200 and closed.json()["status"] == "closed"

    view = (await fetch("GET", f"/api/v1/consultations/{cid}", token=token)).json()
    assert [(m["seq"], m["author"]) for m in view["messages"]] == [
        (1, "citizen"), (2, "operator"), (3, "citizen"), (4, "operator")]
    assert view["messages"][3]["content"] == "可以申请加急。"
    assert "operator_id" not in view["messages"][1]  # citizens do not see which clerk answered
    assert view["first_answered_at"] == "2025-09-22T11:00:00+08:00"
    assert (view["status"], view["can_rate"]) == ("closed", True)

    events = sorted(r["event"] for r in await ctx.db.outbox.find({"citizen_id": citizen_id}).to_list(None))
    assert events == ["consultation.closed", "consultation.replied", "consultation.replied"]

    late = await fetch("POST", f"/api/v1/consultations/{cid}/messages", json={"content": "还有问题"}, token=token)
    assert (late.status, late.json()["code"]) == (409, "consultation_closed")
    again = await fetch("POST", f"/admin/v1/consultations/{cid}/reply", json={"content": "补充"}, token=clerk)
    assert again.status == 409


async def test_follow_up_while_waiting_keeps_the_first_deadline(fetch, clock, items, citizen) -> None:
    created = await ask(fetch, citizen[1])
    clock.set(2025, 9, 22, 16, 0)
    follow = (await fetch("POST", f"/api/v1/consultations/{created['id']}/messages", json={"content": "补充一下"},
                          token=citizen[1])).json()
    assert follow["due_at"] == created["due_at"] == "2025-09-22T17:30:00+08:00"
    assert follow["turns"] == 2


@pytest.mark.parametrize("received, kind, due", [
    ((2025, 9, 22, 14, 59), "consultation", "2025-09-22T17:30:00+08:00"),  # before 15:00: same day
    ((2025, 9, 22, 15, 0), "consultation", "2025-09-23T17:30:00+08:00"),   # at 15:00: next working day
    ((2025, 9, 19, 16, 0), "consultation", "2025-09-22T17:30:00+08:00"),   # Friday afternoon → Monday
    ((2025, 9, 20, 10, 0), "consultation", "2025-09-22T17:30:00+08:00"),   # Saturday → Monday
    ((2025, 9, 26, 16, 0), "consultation", "2025-09-28T17:30:00+08:00"),   # → the adjusted working Sunday
    ((2025, 9, 30, 15, 30), "consultation", "2025-10-09T17:30:00+08:00"),  # eve of National Day
    ((2025, 10, 2, 9, 0), "consultation", "2025-10-09T17:30:00+08:00"),    # inside the holiday
    ((2025, 10, 10, 16, 0), "consultation", "2025-10-11T17:30:00+08:00"),  # → the adjusted working Saturday
    ((2025, 9, 26, 10, 0), "complaint", "2025-10-10T17:30:00+08:00"),      # 5 working days across the holiday
    ((2025, 9, 19, 18, 0), "complaint", "2025-09-28T17:30:00+08:00"),      # after closing Friday: from Monday
])
async def test_answer_deadlines(fetch, clock, items, citizen, received, kind, due) -> None:
    clock.set(*received)
    assert (await ask(fetch, citizen[1], kind=kind))["due_at"] == due


@pytest.mark.settings(complaint_answer_workdays=2, consultation_cutoff_hour=12)
async def test_deadlines_are_configurable_per_kind(fetch, clock, items, citizen) -> None:
    clock.set(2025, 9, 22, 13, 0)
    assert (await ask(fetch, citizen[1]))["due_at"] == "2025-09-23T17:30:00+08:00"
    assert (await ask(fetch, citizen[1], kind="complaint"))["due_at"] == "2025-09-24T17:30:00+08:00"


async def test_overdue_listing_for_supervisors(fetch, clock, items, staff, citizen) -> None:
    token = citizen[1]
    clock.set(2025, 9, 30, 10, 0)  # Tuesday before National Day
    question = await ask(fetch, token)                        # due 30 Sep 17:30
    complaint = await ask(fetch, token, kind="complaint")     # due 14 Oct (5 working days after the holiday)
    other = await ask(fetch, token, code="MZ-0001")           # minzheng, due 30 Sep
    assert complaint["due_at"] == "2025-10-14T17:30:00+08:00"

    clock.set(2025, 10, 5, 12, 0)  # during the holiday: two consultations are past their deadline
    everyone = (await fetch("GET", "/admin/v1/consultations?overdue=true", token=staff["supervisor"])).json()
    assert {c["id"] for c in everyone["items"]} == {question["id"], other["id"]}
    assert all(c["overdue"] for c in everyone["items"])
    gongan = (await fetch("GET", "/admin/v1/consultations?overdue=true", token=staff["ga_supervisor"])).json()
    assert [c["id"] for c in gongan["items"]] == [question["id"]]
    waiting = (await fetch("GET", "/admin/v1/consultations?unanswered=true&department=gongan",
                           token=staff["supervisor"])).json()
    assert [c["id"] for c in waiting["items"]] == [question["id"], complaint["id"]]  # earliest deadline first

    clock.set(2025, 10, 9, 9, 0)
    await fetch("POST", f"/admin/v1/consultations/{question['id']}/reply", json={"content": "答复"}, token=staff["gongan"])
    after = (await fetch("GET", "/admin/v1/consultations?overdue=true&department=gongan", token=staff["supervisor"])).json()
    assert after["total"] == 0
    detail = (await fetch("GET", f"/admin/v1/consultations/{question['id']}", token=staff["gongan"])).json()
    assert detail["answered_late"] is True
    assert detail["first_answer_working_hours"] == 6.0  # 30 Sep 10:00–17:30 less lunch; nothing until 9 Oct 09:00

    bad = await fetch("GET", "/admin/v1/consultations?overdue=maybe", token=staff["supervisor"])
    assert (bad.status, bad.json()["code"]) == (400, "invalid_query")


async def test_answer_time_statistics_in_working_hours(fetch, clock, items, staff, citizen) -> None:
    token = citizen[1]
    # (asked, answered) → working hours: 1, 2, 3 on a Monday; Friday 16:30 → Monday 15:30 = 1 + 5 = 6
    gongan = [((2025, 9, 22, 9, 0), (2025, 9, 22, 10, 0)),
              ((2025, 9, 22, 9, 0), (2025, 9, 22, 11, 0)),
              ((2025, 9, 22, 10, 0), (2025, 9, 22, 14, 30)),
              ((2025, 9, 19, 16, 30), (2025, 9, 22, 15, 30))]
    # minzheng: 30 Sep 09:00 → 17 Oct 09:00 across National Day = 7 + 7·7 (9, 10, 11, 13–16 Oct) = 56 h
    minzheng = [((2025, 9, 30, 9, 0), (2025, 10, 17, 9, 0))]
    for code, pairs, clerk in (("GA-0001", gongan, staff["gongan"]), ("MZ-0001", minzheng, staff["minzheng"])):
        for asked, answered in pairs:
            clock.set(*asked)
            cid = (await ask(fetch, token, code=code))["id"]
            clock.set(*answered)
            assert (await fetch("POST", f"/admin/v1/consultations/{cid}/reply", json={"content": "答复"},
                                token=clerk)).status == 201
    clock.set(2025, 10, 17, 10, 0)
    waiting = await ask(fetch, token)  # still unanswered: counted apart
    assert waiting["status"] == "open"

    stats = (await fetch("GET", "/admin/v1/consultations/stats", token=staff["supervisor"])).json()
    by_department = {row["department"]: row for row in stats["items"]}
    assert by_department["gongan"]["answered"] == 4
    assert by_department["gongan"]["median_working_hours"] == 2.5
    assert by_department["gongan"]["p90_working_hours"] == pytest.approx(3 + 3 * 0.7, abs=0.01)
    assert by_department["gongan"]["unanswered"] == 1
    assert by_department["minzheng"]["median_working_hours"] == 56.0
    assert by_department["minzheng"]["over_5_working_days"] == 1
    assert by_department["minzheng"]["answered_late"] == 1
    assert stats["working_hours_per_day"] == 7.0

    own = (await fetch("GET", "/admin/v1/consultations/stats", token=staff["gongan"])).json()
    assert [row["department"] for row in own["items"]] == ["gongan"]
    ranged = (await fetch("GET", "/admin/v1/consultations/stats?from=2025-09-22&to=2025-09-22",
                          token=staff["supervisor"])).json()
    assert [(r["department"], r["answered"]) for r in ranged["items"]] == [("gongan", 3)]


@pytest.mark.parametrize("raw, stored", [
    ("a < b & c", "a &lt; b &amp; c"),
    ("<b>粗体</b>", "粗体"),
    ("<!-- x -->注释", "注释"),
    ('"引号" \'单引号\'', "&quot;引号&quot; &#x27;单引号&#x27;"),
    ("零宽\u200b字符\x00和控制符", "零宽字符和控制符"),
    ("  两端空白\n ", "两端空白"),
])
def test_user_text_is_cleaned_then_escaped(raw: str, stored: str) -> None:
    assert usertext.clean(raw) == stored


def test_percentile() -> None:
    assert consultations.percentile([1.0, 2.0, 3.0, 6.0], 50) == 2.5
    assert consultations.percentile([1.0, 2.0, 3.0, 6.0], 90) == pytest.approx(5.1)
    assert consultations.percentile([4.0], 90) == 4.0


async def test_closing_an_unanswered_consultation_needs_a_note(fetch, clock, items, staff, citizen) -> None:
    cid = (await ask(fetch, citizen[1]))["id"]
    bare = await fetch("POST", f"/admin/v1/consultations/{cid}/close", json={}, token=staff["gongan"])
    assert bare.status == 422 and bare.json()["errors"][0]["field"] == "note"
    noted = await fetch("POST", f"/admin/v1/consultations/{cid}/close", json={"note": "已电话答复。"}, token=staff["gongan"])
    assert noted.status == 200
    assert [m["author"] for m in noted.json()["messages"]] == ["citizen", "operator"]
    assert noted.json()["first_answer_working_hours"] == 0.0


async def test_operator_roles(fetch, clock, items, staff, citizen) -> None:
    cid = (await ask(fetch, citizen[1]))["id"]
    assert (await fetch("GET", "/admin/v1/consultations", token=staff["nobody"])).status == 403
    assert (await fetch("GET", "/admin/v1/consultations")).status == 401
    assert (await fetch("GET", "/admin/v1/consultations", token=citizen[1])).status == 401
    # supervisors read but do not answer
    assert (await fetch("GET", f"/admin/v1/consultations/{cid}", token=staff["supervisor"])).status == 200
    assert (await fetch("POST", f"/admin/v1/consultations/{cid}/reply", json={"content": "x"},
                        token=staff["supervisor"])).status == 403


@pytest.mark.parametrize("language, message", [("zh-CN", "content 不能超过 2000 个字"),
                                               ("en", "content must be at most 2000 characters")])
async def test_validation_errors_in_both_languages(fetch, clock, items, citizen, language, message) -> None:
    response = await fetch("POST", "/api/v1/consultations", token=citizen[1], headers={"Accept-Language": language},
                           json={"service_code": "GA-0001", "subject": "", "content": "长" * 2001, "kind": "praise"})
    assert response.status == 422
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert set(errors) == {"subject", "content", "kind"}
    assert errors["content"]["message"] == message


async def test_unknown_or_unpublished_items_are_refused(fetch, clock, items, citizen) -> None:
    for code in ("XX-0000", "GA-0099"):
        response = await fetch("POST", "/api/v1/consultations", token=citizen[1],
                               json={"service_code": code, "subject": "问", "content": "问题"})
        assert (response.status, response.json()["code"]) == (404, "service_not_found")


async def test_html_is_stripped_and_escaped(fetch, ctx, clock, items, staff, citizen) -> None:
    created = await ask(fetch, citizen[1], subject="<b>护照</b><script>alert(1)</script>",
                        content='费用 < 200 & "加急" <img src=x onerror=alert(1)>')
    assert created["subject"] == "护照alert(1)"
    stored = await ctx.db.consultations.find_one({"_id": ObjectId(created["id"])})
    assert stored["content"] == "费用 &lt; 200 &amp; &quot;加急&quot;"
    reply = await fetch("POST", f"/admin/v1/consultations/{created['id']}/reply",
                        json={"content": "<a href='javascript:x'>点此</a>办理"}, token=staff["gongan"])
    assert reply.json()["messages"][-1]["content"] == "点此办理"
    assert "<" not in reply.text


async def test_attachments_must_be_the_citizens_own_uploads(fetch, ctx, clock, items, citizen, make_citizen) -> None:
    citizen_id, token = citizen
    other_id, _ = await make_citizen(name="别人")
    mine, theirs = ObjectId(), ObjectId()
    await ctx.db["materials.files"].insert_many([
        {"_id": mine, "filename": "a.jpg", "length": 3, "metadata": {"owner_id": citizen_id}},
        {"_id": theirs, "filename": "b.jpg", "length": 3, "metadata": {"owner_id": other_id}},
    ])
    ok = await ask(fetch, token, attachments=[str(mine)])
    assert ok["id"]
    refused = await fetch("POST", "/api/v1/consultations", token=token, json={
        "service_code": "GA-0001", "subject": "问", "content": "问题", "attachments": [str(mine), str(theirs)]})
    assert refused.status == 422 and refused.json()["file_ids"] == [str(theirs)]
    malformed = await fetch("POST", "/api/v1/consultations", token=token, json={
        "service_code": "GA-0001", "subject": "问", "content": "问题", "attachments": ["../../etc/passwd"]})
    assert malformed.json()["errors"][0]["code"] == "invalid_file_ids"
    too_many = await fetch("POST", "/api/v1/consultations", token=token, json={
        "service_code": "GA-0001", "subject": "问", "content": "问题", "attachments": [str(ObjectId()) for _ in range(6)]})
    assert too_many.json()["errors"][0]["code"] == "too_many_files"


async def test_complaint_about_my_application(fetch, ctx, clock, items, citizen, make_citizen) -> None:
    citizen_id, token = citizen
    await ctx.db.applications.insert_one({"_id": "A20250922000001", "citizen_id": citizen_id,
                                          "service_code": "MZ-0001", "status": "processing"})
    created = await fetch("POST", "/api/v1/consultations", token=token, json={
        "kind": "complaint", "application_no": "A20250922000001", "subject": "办理太慢", "content": "超过承诺时限仍未办结"})
    assert created.status == 201
    assert (created.json()["department"], created.json()["service_code"]) == ("minzheng", "MZ-0001")
    _, stranger = await make_citizen()
    refused = await fetch("POST", "/api/v1/consultations", token=stranger, json={
        "kind": "complaint", "application_no": "A20250922000001", "subject": "办理太慢", "content": "冒充"})
    assert refused.status == 404


async def test_rate_limit_per_citizen(fetch, clock, items, citizen, make_citizen, monkeypatch) -> None:
    monkeypatch.setitem(consultations.RATE_LIMITS, "create", (2, 3600))
    await ask(fetch, citizen[1])
    await ask(fetch, citizen[1])
    limited = await fetch("POST", "/api/v1/consultations", token=citizen[1], headers={"Accept-Language": "en"},
                          json={"service_code": "GA-0001", "subject": "问", "content": "问题"})
    assert (limited.status, limited.json()["code"]) == (429, "too_many_submissions")
    assert limited.json()["title"] == "Too many submissions, please retry later"
    assert int(limited.headers["Retry-After"]) > 0
    _, other = await make_citizen()
    assert (await ask(fetch, other))["id"]  # the limit is per citizen


@pytest.mark.todays  # idempotency records expire (TTL index, on the datastore's real time) 24 h after ctx.clock()
async def test_idempotent_create(fetch, ctx, clock, items, citizen) -> None:
    body = {"service_code": "GA-0001", "subject": "问", "content": "问题"}
    first = await fetch("POST", "/api/v1/consultations", json=body, token=citizen[1], headers={"Idempotency-Key": "k-1"})
    again = await fetch("POST", "/api/v1/consultations", json=body, token=citizen[1], headers={"Idempotency-Key": "k-1"})
    assert first.status == again.status == 201
    assert first.json() == again.json()
    assert await ctx.db.consultations.count_documents({}) == 1
    changed = await fetch("POST", "/api/v1/consultations", json={**body, "content": "别的"}, token=citizen[1],
                          headers={"Idempotency-Key": "k-1"})
    assert changed.status == 409
