"""The inspection scorecard: pure scoring rules, and GET /admin/v1/scorecard over the demo catalogue."""

from __future__ import annotations

import datetime

import pytest
from bson import ObjectId

from models import catalogue, scorecard, workdays
from models.errors import ValidationFailed


# ---- pure rules -------------------------------------------------------------------------------------
def test_ratio_and_penalty_scores() -> None:
    assert scorecard.ratio_score(3, 4) == 75.0
    assert scorecard.ratio_score(0, 0) is None
    assert scorecard.ratio_score(5, 4) == 100.0
    assert scorecard.penalty_score(3, 2.0) == 94.0
    assert scorecard.penalty_score(80, 2.0) == 0.0


def test_weighted_score_skips_unmeasured_and_informational_indicators() -> None:
    indicators = [{"score": 50.0, "weight": 1}, {"score": 100.0, "weight": 3}, {"score": None, "weight": 1},
                  {"score": 0.0, "weight": 0}]
    assert scorecard.weighted_score(indicators) == 87.5
    assert scorecard.weighted_score([{"score": None, "weight": 1}]) is None
    assert scorecard.mean_score([80.0, None, 60.0]) == 70.0


@pytest.mark.parametrize("score, band", [(95, "excellent"), (90, "excellent"), (85, "good"), (60, "fair"),
                                         (59.9, "poor"), (None, None)])
def test_grade_bands(score, band) -> None:
    assert scorecard.grade(score) == band


def test_worst_offenders_rank_things_failing_several_indicators_first() -> None:
    a = {"key": "a", "weight": 1, "worst": [{"kind": "service", "code": "X"}, {"kind": "service", "code": "Y"}]}
    b = {"key": "b", "weight": 1, "worst": [{"kind": "service", "code": "Y"}, {"kind": "department", "code": "Y"}]}
    info = {"key": "c", "weight": 0, "worst": [{"kind": "service", "code": "Z"}]}
    worst = scorecard.worst_offenders([a, b, info])
    assert [(w["kind"], w["code"], w["indicators"]) for w in worst] == [
        ("service", "Y", ["a", "b"]), ("service", "X", ["a"]), ("department", "Y", ["b"])]


def test_english_translation_check_and_filters() -> None:
    assert scorecard.has_english({"name": {"zh-CN": "护照", "en": "Passport"},
                                  "guide": {"conditions": {"zh-CN": "中国公民", "en": "Chinese citizens"}}})
    assert not scorecard.has_english({"name": {"zh-CN": "护照", "en": "Passport"}, "guide": {"conditions": "中国公民"}})
    assert scorecard.parse_filters("gongan", "330100") == ("gongan", "3301")
    with pytest.raises(ValidationFailed):
        scorecard.parse_filters(None, "33x")
    with pytest.raises(ValidationFailed):
        scorecard.parse_filters("../etc", None)


# ---- over HTTP -------------------------------------------------------------------------------------
def _dimension(card: dict, key: str) -> dict:
    return next(d for d in card["dimensions"] if d["key"] == key)


def _indicator(card: dict, dimension: str, key: str) -> dict:
    return next(i for i in _dimension(card, dimension)["indicators"] if i["key"] == key)


async def _card(fetch, token: str, query: str = "") -> dict:
    response = await fetch("GET", "/admin/v1/scorecard" + query, token=token)
    assert response.status == 200, response.text
    return response.json()


@pytest.fixture
async def supervisor(make_operator) -> str:
    return await make_operator("city-supervisor", ["auditor"])


async def test_roles_and_department_scope(demo_app, fetch, make_operator, citizen) -> None:
    assert (await fetch("GET", "/admin/v1/scorecard")).status == 401
    assert (await fetch("GET", "/admin/v1/scorecard", token=citizen[1])).status == 401
    clerk = await make_operator("clerk", ["department_operator"], "gongan")
    assert (await fetch("GET", "/admin/v1/scorecard", token=clerk)).status == 403
    ga_supervisor = await make_operator("ga-supervisor", ["auditor"], "gongan")
    card = await _card(fetch, ga_supervisor)
    assert card["department"] == "gongan"
    published = await demo_app.ctx.db.services.count_documents({"status": "published", "department": "gongan"})
    assert card["published_items"] == published > 0
    # A department is not expected to serve every theme: shown, not scored.
    assert _indicator(card, "findable", "themes_with_items")["informational"] is True
    other = await fetch("GET", "/admin/v1/scorecard?department=shichang", token=ga_supervisor)
    assert other.status == 403 and other.json()["code"] == "department_forbidden"
    bad = await fetch("GET", "/admin/v1/scorecard?region=abc", token=ga_supervisor)
    assert bad.status == 422 and bad.json()["errors"][0]["field"] == "region"


async def test_demo_scorecard_has_five_scored_dimensions(demo_app, fetch, supervisor) -> None:
    card = await _card(fetch, supervisor)
    assert [d["key"] for d in card["dimensions"]] == ["findable", "understandable", "doable", "fast", "satisfied"]
    assert card["published_items"] == await demo_app.ctx.db.services.count_documents({"status": "published"})
    assert 0 <= card["score"] <= 100 and card["grade"]
    assert _indicator(card, "findable", "themes_with_items")["informational"] is False
    # Every published demo item passed the gate, and departments without items are named.
    assert _indicator(card, "understandable", "guides_complete")["score"] == 100.0
    empty = [d["code"] for d in await catalogue.list_departments(demo_app.ctx.db, include_empty=True)
             if not d["item_count"]]
    found = _indicator(card, "findable", "departments_with_items")
    assert [w["code"] for w in found["worst"]] == empty[:scorecard.WORST_LIMIT]
    assert found["value"]["with_items"] == found["value"]["total"] - len(empty)
    # The demo halls have places in the coming working days.
    halls = _indicator(card, "doable", "appointments_available")
    assert halls["value"]["halls"] == 2 and halls["score"] == 100.0 and halls["value"]["places"] > 0
    # A region with no items: nothing measured, no score invented.
    empty_region = await _card(fetch, supervisor, "?region=440300")
    assert empty_region["published_items"] == 0
    assert _indicator(empty_region, "doable", "online_items")["score"] is None


async def test_findable_names_zero_result_searches_and_misfiled_items(demo_app, fetch, supervisor) -> None:
    # Nothing in the catalogue is about it: the search answers the closest items ("related"), never
    # nothing, and the query still counts as one the catalogue could not answer.
    assert (await fetch("GET", "/api/v1/services?q=火星殖民地")).json()["match"] == "related"
    card = await _card(fetch, supervisor)
    misses = _indicator(card, "findable", "zero_result_searches")
    assert [w["code"] for w in misses["worst"]] == ["火星殖民地"] and misses["score"] == 98.0
    # Refile a passport item under the market regulator: the misfiling check catches it.
    await demo_app.ctx.db.services.update_one({"code": "GA-0001"}, {"$set": {"department": "shichang"}})
    card = await _card(fetch, supervisor)
    misfiled = _indicator(card, "findable", "misfiled_items")
    assert "GA-0001" in [w["code"] for w in misfiled["worst"]]
    assert misfiled["score"] < 100
    assert any(w["code"] == "GA-0001" for w in _dimension(card, "findable")["worst"])


async def test_confirmed_error_report_lowers_accuracy_until_fixed(demo_app, fetch, supervisor, make_operator) -> None:
    before = _indicator(await _card(fetch, supervisor), "understandable", "confirmed_error_reports")
    assert before["score"] == 100.0 and before["worst"] == []
    report = await fetch("POST", "/api/v1/feedback", json={
        "service_code": "GA-0001", "element": "guide.fee", "description": "指南写收费 120 元，窗口实际收 160 元。"})
    assert report.status == 201
    clerk = await make_operator("ga-clerk", ["department_operator"], "gongan")
    path = f"/admin/v1/feedback/{report.json()['id']}/resolution"
    pending = _indicator(await _card(fetch, supervisor), "understandable", "confirmed_error_reports")
    assert pending["score"] == 100.0 and pending["value"]["pending_reports"] == 1
    assert (await fetch("POST", path, json={"action": "confirm"}, token=clerk)).status == 200
    after = _indicator(await _card(fetch, supervisor), "understandable", "confirmed_error_reports")
    assert [(w["code"], w["confirmed_reports"]) for w in after["worst"]] == [("GA-0001", 1)]
    assert after["score"] < 100
    assert (await fetch("POST", path, json={"action": "fix", "note": "已更正收费标准"}, token=clerk)).status == 200
    assert _indicator(await _card(fetch, supervisor), "understandable", "confirmed_error_reports")["score"] == 100.0


@pytest.mark.todays  # "the last 30 days" and "the next three weeks" are the clock's
async def test_doable_counts_online_items_applications_and_closed_halls(demo_app, fetch, supervisor, operator_token,
                                                                        clock) -> None:
    db = demo_app.ctx.db
    now = clock.now
    card = await _card(fetch, supervisor, "?department=gongan")
    online = _indicator(card, "doable", "online_items")
    gongan = await db.services.find({"status": "published", "department": "gongan"}).to_list(None)
    online_count = sum(1 for i in gongan if i["handling_depth"] != "info_only")
    assert online["value"] == {"online": online_count, "published": len(gongan)}
    rate = _indicator(card, "doable", "online_application_rate")
    assert rate["value"]["applications"] == 0 and rate["score"] == 0.0

    await db.applications.insert_many([
        _application("GA-0001", "submitted", submitted_at=now - datetime.timedelta(days=2)),
        _application("GA-0001", "submitted", submitted_at=now - datetime.timedelta(days=3)),
        _application("GA-0002", "submitted", submitted_at=now - datetime.timedelta(days=45)),  # too old
    ])
    rate = _indicator(await _card(fetch, supervisor, "?department=gongan"), "doable", "online_application_rate")
    assert rate["value"]["applications"] == 2 and rate["value"]["items_used"] == 1
    assert rate["score"] == scorecard.ratio_score(1, online_count)
    assert "GA-0001" not in [w["code"] for w in rate["worst"]] and "GA-0002" in [w["code"] for w in rate["worst"]]

    # Close one hall for the next three weeks through the halls API: it has no places left.
    today = workdays.local_date(now)
    closed = [(today + datetime.timedelta(days=n)).isoformat() for n in range(21)]
    patched = await fetch("PATCH", "/admin/v1/halls/hall-demo-exit-entry", json={"closed_dates": closed}, token=operator_token)
    assert patched.status == 200, patched.text
    halls = _indicator(await _card(fetch, supervisor), "doable", "appointments_available")
    assert halls["score"] == 50.0 and [w["code"] for w in halls["worst"]] == ["hall-demo-exit-entry"]


@pytest.mark.todays("sunday", "shanghai-midnight", "in-two-years")  # overdue: a due date before Shanghai's today
async def test_fast_measures_deadlines_and_consultation_answers(demo_app, fetch, supervisor, clock) -> None:
    db = demo_app.ctx.db
    now = clock.now
    today = workdays.local_date(now)
    past = (today - datetime.timedelta(days=10)).isoformat()
    future = (today + datetime.timedelta(days=30)).isoformat()
    await db.applications.insert_many([
        _application("GA-0001", "approved", decided_at=now - datetime.timedelta(days=1), deadline={"late": False}),
        _application("GA-0001", "rejected", decided_at=now - datetime.timedelta(days=1), deadline={"late": True}),
        _application("SC-0001", "completed", decided_at=now - datetime.timedelta(days=5), deadline={"late": False},
                     department="shichang"),
        _application("GA-0002", "accepted", deadline={"due_date": past}),
        _application("GA-0003", "resubmitted", deadline={"due_date": future}),
    ])
    hour = datetime.timedelta(hours=1)
    await db.consultations.insert_many([
        _consultation("gongan", "closed", now, first_answer_hours=2.0, answered_late=False, due_at=now + hour),
        _consultation("gongan", "answered", now, first_answer_hours=10.0, answered_late=True, due_at=now - hour),
        _consultation("shichang", "open", now, due_at=now - hour),
        _consultation("shichang", "open", now, due_at=now + hour),
    ])
    card = await _card(fetch, supervisor)
    on_time = _indicator(card, "fast", "decided_on_time")
    assert on_time["value"] == {"decided": 3, "late": 1} and on_time["score"] == 66.7
    assert [w["code"] for w in on_time["worst"]] == ["GA-0001"]
    overdue = _indicator(card, "fast", "overdue_applications")
    assert overdue["value"] == {"overdue": 1, "running": 2} and overdue["score"] == 50.0
    assert [(w["service_code"], w["due_date"]) for w in overdue["worst"]] == [("GA-0002", past)]
    answers = _indicator(card, "fast", "consultations_answered_on_time")
    assert (answers["value"]["answered"], answers["value"]["answered_late"]) == (2, 1)
    assert answers["value"]["median_working_hours"] == 6.0 and answers["score"] == 50.0
    waiting = _indicator(card, "fast", "consultations_overdue")
    assert waiting["value"] == {"waiting": 2, "overdue": 1}
    assert [w["code"] for w in waiting["worst"]] == ["shichang"]
    # Scoped to one department, the other's numbers are gone.
    gongan = await _card(fetch, supervisor, "?department=gongan")
    assert _indicator(gongan, "fast", "decided_on_time")["value"] == {"decided": 2, "late": 1}
    assert _indicator(gongan, "fast", "consultations_overdue")["score"] is None


async def test_satisfied_shows_distribution_and_overdue_rectifications(demo_app, fetch, supervisor, clock) -> None:
    db = demo_app.ctx.db
    now = clock.now
    grades = [5, 5, 4, 3, 1]
    rating_ids = [ObjectId() for _ in grades]
    await db.ratings.insert_many([
        {"_id": rid, "target_type": "application", "target_id": f"no-{n}", "citizen_id": "c", "department": "gongan",
         "service_code": "GA-0001" if g > 1 else "GA-0005", "grade": g, "grade_label": "", "comment": "", "tags": [],
         "created_at": now - datetime.timedelta(days=1)} for n, (rid, g) in enumerate(zip(rating_ids, grades, strict=True))])
    await db.rectification_cases.insert_one({
        "_id": ObjectId(), "rating_id": str(rating_ids[-1]), "target_type": "application", "target_id": "no-4",
        "citizen_id": "c", "department": "gongan", "service_code": "GA-0005", "grade": 1, "comment": "", "tags": [],
        "status": "open", "created_at": now - datetime.timedelta(days=30), "due_at": now - datetime.timedelta(days=2),
        "follow_up_question": {}})
    card = await _card(fetch, supervisor)
    rated = _indicator(card, "satisfied", "ratings")
    assert rated["value"]["distribution"] == {"5": 2, "4": 1, "3": 1, "2": 0, "1": 1}
    assert rated["value"]["bad_share"] == 0.2 and rated["score"] == 80.0
    assert [w["code"] for w in rated["worst"]] == ["GA-0005"]
    cases = _indicator(card, "satisfied", "rectifications")
    assert cases["value"] == {"open": 1, "overdue": 1} and cases["score"] == 0.0
    assert _dimension(card, "satisfied")["worst"][0]["code"] == "GA-0005"


def _application(code: str, status: str, *, department: str = "gongan", **fields) -> dict:
    deadline = fields.pop("deadline", None)
    return {"_id": f"330100-test-{ObjectId()}", "service_code": code, "department": department,
            "region_code": "330100", "status": status, "version": 2, "citizen_id": "c",
            "deadline": {"promised_days": 10, "used_days": 0, **deadline} if deadline else None,
            "submitted_at": fields.pop("submitted_at", None), "decided_at": fields.pop("decided_at", None), **fields}


def _consultation(department: str, status: str, now: datetime.datetime, **fields) -> dict:
    return {"_id": ObjectId(), "kind": "consultation", "department": department, "service_code": "GA-0001",
            "citizen_id": "c", "subject": "s", "content": "c", "status": status, "turns": 1,
            "created_at": now - datetime.timedelta(days=1), **fields}
