"""Appointments: halls and schedules, slots on working days, booking, cancelling, check-in, calling, no-shows.

Time is the test clock, stopped at Friday 2025-09-26 10:00 (Shanghai) and set by each test. The
calendar is 2025's: 2025-09-28 (a Sunday) is an adjusted working day before the National Day holiday of
1–8 October; 2025-09-27 is an ordinary Saturday.
"""

from __future__ import annotations

import asyncio
import datetime

import pytest

from models import appointments
from models.workdays import next_workday
from tests.clock_support import at

FRIDAY = datetime.date(2025, 9, 26)
MONDAY = datetime.date(2025, 9, 29)

pytestmark = pytest.mark.clock(2025, 9, 26, 10, 0)  # FRIDAY, 10:00


SLOTS = [{"start": "08:30", "end": "09:00", "quota": 6}, {"start": "09:00", "end": "09:30", "quota": 6},
         {"start": "14:00", "end": "14:30", "quota": 2}]


@pytest.fixture
def make_hall(fetch, operator_token, clock):
    async def create(quota_slots=None, **fields) -> str:
        body = {"name": {"zh-CN": "测试政务服务大厅", "en": "Test Service Hall"}, "address": "测试路 1 号",
                "hours": "工作日 8:30-17:00",
                "windows": [{"number": "1", "service_codes": ["GA-0001", "GA-0002"]},
                            {"number": "2", "service_codes": ["GA-0001"]},
                            {"number": "3", "service_codes": ["JJ-0001"], "queue_prefix": "J"}],
                "schedule": {"default": quota_slots if quota_slots is not None else SLOTS}}
        body.update(fields)
        response = await fetch("POST", "/admin/v1/halls", json=body, token=operator_token)
        assert response.status == 201, response.text
        return response.json()["id"]
    return create


def booking(hall_id: str, date: datetime.date, slot: str = "0830", service: str = "GA-0001") -> dict:
    return {"service_code": service, "hall_id": hall_id, "date": date.isoformat(), "slot_id": slot}


async def slots_of(fetch, hall_id: str, date: datetime.date, service: str = "GA-0001") -> dict:
    response = await fetch("GET", f"/api/v1/appointments/slots?service_code={service}&hall_id={hall_id}&date={date}")
    assert response.status == 200, response.text
    return response.json()["halls"][0]


# ---- halls and schedules -------------------------------------------------------------------------

async def test_operator_manages_a_hall_and_its_windows(fetch, operator_token, make_hall) -> None:
    hall_id = await make_hall()
    hall = (await fetch("GET", f"/admin/v1/halls/{hall_id}", token=operator_token)).json()
    assert [w["queue_prefix"] for w in hall["windows"]] == ["A", "B", "J"]
    assert hall["service_codes"] == ["GA-0001", "GA-0002", "JJ-0001"]
    changed = await fetch("PATCH", f"/admin/v1/halls/{hall_id}", token=operator_token,
                          json={"windows": [{"number": "9", "service_codes": ["MZ-0001"]}], "phone": "0571-88888888"})
    assert changed.status == 200, changed.text
    assert changed.json()["service_codes"] == ["MZ-0001"] and changed.json()["phone"] == "0571-88888888"
    listed = (await fetch("GET", "/admin/v1/halls", token=operator_token)).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == hall_id
    assert (await fetch("DELETE", f"/admin/v1/halls/{hall_id}", token=operator_token)).status == 204
    assert (await fetch("GET", f"/admin/v1/halls/{hall_id}", token=operator_token)).json()["code"] == "hall_not_found"


async def test_hall_and_schedule_validation_names_each_field(fetch, operator_token, make_hall) -> None:
    response = await fetch("POST", "/admin/v1/halls", token=operator_token, headers={"Accept-Language": "en"},
                           json={"name": "", "windows": [{"number": "1", "service_codes": []}]})
    assert response.status == 422
    assert {e["field"] for e in response.json()["errors"]} == {"name", "address", "windows[0].service_codes"}
    hall_id = await make_hall()
    overlapping = await fetch("PUT", f"/admin/v1/halls/{hall_id}/schedules", token=operator_token, json={
        "default": [{"start": "08:30", "end": "09:30", "quota": 5}, {"start": "09:00", "end": "10:00", "quota": 5}],
        "weekdays": {"8": []}})
    assert overlapping.status == 422
    assert {(e["field"], e["code"]) for e in overlapping.json()["errors"]} == {
        ("default", "overlapping_slots"), ("weekdays", "invalid_weekdays")}
    bad_quota = await fetch("PUT", f"/admin/v1/halls/{hall_id}/schedules/2025-09-29", token=operator_token,
                            json={"slots": [{"start": "09:00", "end": "08:00", "quota": 1},
                                            {"start": "10:00", "end": "10:30", "quota": -1}]})
    assert {e["code"] for e in bad_quota.json()["errors"]} == {"end_before_start", "invalid_quota"}


async def test_only_hall_operators_manage_halls(fetch, make_operator, citizen, make_hall) -> None:
    hall_id = await make_hall()
    assert (await fetch("GET", "/admin/v1/halls", token=citizen[1])).status == 401
    clerk = await make_operator("clerk", ["hall_staff"])
    assert (await fetch("POST", "/admin/v1/halls", token=clerk, json={})).json()["code"] == "operator_forbidden"
    assert (await fetch("POST", f"/admin/v1/halls/{hall_id}/windows/1/call-next", token=clerk)).status == 404  # allowed, empty
    manager = await make_operator("manager", ["region_admin"])
    assert (await fetch("POST", "/admin/v1/halls", token=manager, json={})).status == 422  # allowed, invalid
    desk = await make_operator("desk", ["department_operator"])
    assert (await fetch("POST", f"/admin/v1/halls/{hall_id}/windows/1/call-next", token=desk)).status == 403


# ---- slots: quotas, exceptions, calendar, horizon ------------------------------------------------

async def test_slots_follow_default_weekday_quotas_and_single_day_exceptions(fetch, operator_token, make_hall) -> None:
    hall_id = await make_hall()
    friday_slots = [{"start": "13:30", "end": "14:00", "quota": 10}]
    assert (await fetch("PUT", f"/admin/v1/halls/{hall_id}/schedules", token=operator_token,
                        json={"default": SLOTS, "weekdays": {"5": friday_slots}})).status == 200
    monday = await slots_of(fetch, hall_id, MONDAY)
    assert [(s["slot_id"], s["quota"], s["remaining"], s["bookable"]) for s in monday["slots"]] == [
        ("0830", 6, 6, True), ("0900", 6, 6, True), ("1400", 2, 2, True)]
    next_friday = FRIDAY + datetime.timedelta(days=14)
    friday = await slots_of(fetch, hall_id, next_friday)
    assert [(s["start"], s["end"], s["quota"]) for s in friday["slots"]] == [("13:30", "14:00", 10)]

    tuesday = MONDAY + datetime.timedelta(days=1)
    exception = await fetch("PUT", f"/admin/v1/halls/{hall_id}/schedules/{tuesday}", token=operator_token,
                            json={"slots": [{"start": "10:00", "end": "11:00", "quota": 3}], "note": "系统升级，仅上午开放"})
    assert exception.status == 200, exception.text
    assert [(s["slot_id"], s["remaining"]) for s in (await slots_of(fetch, hall_id, tuesday))["slots"]] == [("1000", 3)]
    schedule = (await fetch("GET", f"/admin/v1/halls/{hall_id}/schedules", token=operator_token)).json()
    assert schedule["weekdays"]["5"][0]["quota"] == 10
    assert schedule["exceptions"] == [{"date": tuesday.isoformat(), "note": {"zh-CN": "系统升级，仅上午开放"},
                                       "slots": [{"id": "1000", "start": "10:00", "end": "11:00", "quota": 3}]}]
    # an empty exception closes the hall that day; removing it restores the weekly schedule
    await fetch("PUT", f"/admin/v1/halls/{hall_id}/schedules/{tuesday}", token=operator_token, json={"slots": []})
    closed = await slots_of(fetch, hall_id, tuesday)
    assert (closed["slots"], closed["bookable"], closed["closed_reason"]) == ([], False, "no_slots")
    assert (await fetch("DELETE", f"/admin/v1/halls/{hall_id}/schedules/{tuesday}", token=operator_token)).status == 200
    assert len((await slots_of(fetch, hall_id, tuesday))["slots"]) == 3


async def test_holidays_closed_and_adjusted_working_days_open(fetch, operator_token, make_hall, citizen) -> None:
    hall_id = await make_hall(closed_dates=["2025-09-30"])
    sunday_workday, saturday, national_day = datetime.date(2025, 9, 28), datetime.date(2025, 9, 27), datetime.date(2025, 10, 1)
    assert (await slots_of(fetch, hall_id, sunday_workday))["bookable"] is True
    for day, reason in ((saturday, "not_working_day"), (national_day, "not_working_day"),
                        (datetime.date(2025, 9, 30), "hall_closed")):
        shown = await slots_of(fetch, hall_id, day)
        assert (shown["slots"], shown["closed_reason"]) == ([], reason)
    refused = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, national_day), token=citizen[1])
    assert refused.status == 422
    assert refused.json()["errors"][0]["code"] == "not_working_day"
    refused = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, datetime.date(2025, 9, 30)), token=citizen[1])
    assert refused.json()["errors"][0]["code"] == "hall_closed"
    assert (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, sunday_workday), token=citizen[1])).status == 201


async def test_days_overview_covers_the_booking_horizon(fetch, make_hall) -> None:
    hall_id = await make_hall()
    response = await fetch("GET", f"/api/v1/appointments/slots?service_code=GA-0001&hall_id={hall_id}")
    days = response.json()["halls"][0]["days"]
    assert days[0]["date"] == "2025-09-26" and days[-1]["date"] == "2025-10-10"  # 14 days ahead
    by_date = {d["date"]: d for d in days}
    assert by_date["2025-09-26"]["remaining"] == 2  # 10:00 now: only the 14:00 slot is still ahead today
    assert by_date["2025-09-28"]["remaining"] == 14 and by_date["2025-10-03"]["closed_reason"] == "not_working_day"


@pytest.mark.settings(booking_horizon_days=7)
async def test_booking_only_within_the_horizon_and_before_the_slot(fetch, make_hall, citizen) -> None:
    hall_id = await make_hall()
    too_far = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, datetime.date(2025, 10, 9)), token=citizen[1])
    assert too_far.status == 422 and too_far.json()["errors"][0]["code"] == "outside_booking_horizon"
    shown = await slots_of(fetch, hall_id, datetime.date(2025, 10, 9))
    assert (shown["slots"], shown["closed_reason"]) == ([], "outside_booking_horizon")
    past = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, FRIDAY - datetime.timedelta(days=1)),
                       token=citizen[1])
    assert past.json()["errors"][0]["code"] == "outside_booking_horizon"
    started = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, FRIDAY, "0900"), token=citizen[1])
    assert (started.status, started.json()["code"]) == (409, "slot_started")
    unknown = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY, "1015"), token=citizen[1])
    assert unknown.json()["errors"][0]["code"] == "unknown_slot"
    elsewhere = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY, service="XX-0001"), token=citizen[1])
    assert elsewhere.json()["errors"][0]["code"] == "service_not_offered"


async def test_draft_catalogue_items_are_not_bookable(fetch, app, make_hall, citizen) -> None:
    hall_id = await make_hall()
    await app.ctx.db.services.insert_one({"code": "GA-0002", "status": "draft", "name": {"zh-CN": "草稿"}})
    await app.ctx.db.services.insert_one({"code": "GA-0001", "status": "published",
                                          "name": {"zh-CN": "普通护照签发", "en": "Ordinary passport issuance"}})
    refused = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY, service="GA-0002"), token=citizen[1])
    assert (refused.status, refused.json()["code"]) == (404, "service_not_found")
    booked = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY), token=citizen[1],
                         headers={"Accept-Language": "en"})
    assert booked.json()["service_name"] == "Ordinary passport issuance"


# ---- booking ---------------------------------------------------------------------------------------

async def test_citizen_books_sees_and_lists(fetch, make_hall, citizen) -> None:
    hall_id = await make_hall()
    first = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY), token=citizen[1])
    assert first.status == 201, first.text
    body = first.json()
    assert (body["status"], body["date"], body["start"], body["end"]) == ("booked", "2025-09-29", "08:30", "09:00")
    assert body["hall_name"] == "测试政务服务大厅"
    assert body["starts_at"] == "2025-09-29T08:30:00+08:00"
    assert body["cancellable_until"] == "2025-09-29T07:30:00+08:00"
    assert (await slots_of(fetch, hall_id, MONDAY))["slots"][0]["remaining"] == 5
    mine = (await fetch("GET", "/api/v1/appointments", token=citizen[1])).json()
    assert mine["total"] == 1 and mine["items"][0]["id"] == body["id"]
    assert (await fetch("GET", "/api/v1/appointments?status=cancelled", token=citizen[1])).json()["total"] == 0
    assert (await fetch("GET", f"/api/v1/appointments/{body['id']}", token=citizen[1])).json()["id"] == body["id"]
    assert (await fetch("GET", "/api/v1/appointments/nonsense", token=citizen[1])).json()["code"] == "appointment_not_found"
    assert (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY))).status == 401


@pytest.mark.todays  # idempotency records expire through a TTL index on the datastore's real time
async def test_retried_booking_with_idempotency_key_books_once(fetch, clock, make_hall, citizen) -> None:
    day = next_workday(clock.today)
    hall_id = await make_hall()
    headers = {"Idempotency-Key": "book-1"}
    first = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, day), token=citizen[1], headers=headers)
    assert first.status == 201, first.text
    again = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, day), token=citizen[1], headers=headers)
    assert (again.status, again.json().get("id")) == (201, first.json()["id"]), again.text
    other = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, day, "0900"), token=citizen[1], headers=headers)
    assert other.json()["code"] == "idempotency_key_reused"
    assert (await slots_of(fetch, hall_id, day))["slots"][0]["remaining"] == 5


async def test_someone_elses_appointment_is_not_found(fetch, make_hall, citizen, make_citizen) -> None:
    hall_id = await make_hall()
    booked = (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY), token=citizen[1])).json()
    _, stranger = await make_citizen(name="路人")
    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/check-in")):
        response = await fetch(method, f"/api/v1/appointments/{booked['id']}{path}", token=stranger)
        assert (response.status, response.json()["code"]) == (404, "appointment_not_found")


async def test_one_booking_per_service_per_day(fetch, make_hall, citizen) -> None:
    hall_id = await make_hall()
    first = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY), token=citizen[1])
    assert first.status == 201
    duplicate = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY, "0900"), token=citizen[1])
    assert (duplicate.status, duplicate.json()["code"]) == (409, "duplicate_booking")
    # another service the same day, or the same service another day, is fine
    assert (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY, "0900", "GA-0002"),
                        token=citizen[1])).status == 201
    assert (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY + datetime.timedelta(days=1)),
                        token=citizen[1])).status == 201
    # after cancelling, the citizen may book that service that day again
    assert (await fetch("DELETE", f"/api/v1/appointments/{first.json()['id']}", token=citizen[1])).status == 200
    assert (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY, "0900"), token=citizen[1])).status == 201


async def test_concurrent_duplicates_from_one_citizen_hold_one_place(fetch, app, make_hall, citizen) -> None:
    hall_id = await make_hall()
    responses = await asyncio.gather(*(
        fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY, slot), token=citizen[1])
        for slot in ("0830", "0900", "0830", "0900", "0830", "0900")))
    assert sorted(r.status for r in responses) == [201] + [409] * 5
    assert {r.json()["code"] for r in responses if r.status == 409} == {"duplicate_booking"}
    slots = (await slots_of(fetch, hall_id, MONDAY))["slots"]
    assert slots[0]["remaining"] + slots[1]["remaining"] == 11  # the losers gave their places back
    assert await app.ctx.db.appointments.count_documents({"citizen_id": citizen[0]}) == 1


async def test_full_slot_is_409_slot_full_and_cancellation_returns_the_place(fetch, make_hall, make_citizen) -> None:
    hall_id = await make_hall()
    tokens = [(await make_citizen(name=f"市民{i}"))[1] for i in range(3)]
    made = [await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY, "1400"), token=t) for t in tokens]
    assert [r.status for r in made] == [201, 201, 409]
    full = made[2].json()
    assert (full["code"], full["title"]) == ("slot_full", "该时段号源已约满，请选择其他时段")
    assert (await slots_of(fetch, hall_id, MONDAY))["slots"][2] | {"quota": 2} == {
        "slot_id": "1400", "start": "14:00", "end": "14:30", "quota": 2, "remaining": 0, "bookable": False}
    cancelled = await fetch("DELETE", f"/api/v1/appointments/{made[0].json()['id']}", token=tokens[0])
    assert (cancelled.status, cancelled.json()["status"]) == (200, "cancelled")
    assert (await slots_of(fetch, hall_id, MONDAY))["slots"][2]["remaining"] == 1
    assert (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY, "1400"), token=tokens[2])).status == 201
    again = await fetch("DELETE", f"/api/v1/appointments/{made[0].json()['id']}", token=tokens[0])
    assert (again.status, again.json()["code"]) == (409, "appointment_not_cancellable")
    assert (await slots_of(fetch, hall_id, MONDAY))["slots"][2]["remaining"] == 0  # no place given back twice


async def test_race_in_one_process_never_overbooks(fetch, app, make_hall, make_citizen) -> None:
    hall_id = await make_hall([{"start": "09:00", "end": "09:30", "quota": 7}])
    tokens = [(await make_citizen(name=f"市民{i}"))[1] for i in range(40)]
    responses = await asyncio.gather(*(
        fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY, "0900"), token=t) for t in tokens))
    assert sorted(r.status for r in responses) == [201] * 7 + [409] * 33
    assert await app.ctx.db.appointments.count_documents({"status": "booked"}) == 7


async def test_cancel_only_before_the_cut_off(fetch, clock, make_hall, citizen) -> None:
    hall_id = await make_hall()
    booked = (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY), token=citizen[1])).json()
    clock.now = at(MONDAY, "07:31")  # the slot starts at 08:30, the cut-off is 60 minutes before
    late = await fetch("DELETE", f"/api/v1/appointments/{booked['id']}", token=citizen[1], headers={"Accept-Language": "en"})
    assert (late.status, late.json()["code"]) == (409, "cancel_cutoff_passed")
    assert "60 minutes" in late.json()["detail"]
    clock.now = at(MONDAY, "07:29")
    assert (await fetch("DELETE", f"/api/v1/appointments/{booked['id']}", token=citizen[1])).status == 200


async def test_quota_changes_adjust_booked_slots(fetch, operator_token, make_hall, make_citizen) -> None:
    hall_id = await make_hall()
    for i in range(3):
        token = (await make_citizen(name=f"市民{i}"))[1]
        assert (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY), token=token)).status == 201
    fewer = [{"start": "08:30", "end": "09:00", "quota": 2}]
    changed = await fetch("PUT", f"/admin/v1/halls/{hall_id}/schedules", token=operator_token, json={"default": fewer})
    assert changed.json()["overbooked"] == [{"date": "2025-09-29", "slot_id": "0830", "capacity": 2, "booked": 3}]
    assert (await slots_of(fetch, hall_id, MONDAY))["slots"][0]["remaining"] == 0
    more = [{"start": "08:30", "end": "09:00", "quota": 10}]
    await fetch("PUT", f"/admin/v1/halls/{hall_id}/schedules/{MONDAY}", token=operator_token, json={"slots": more})
    assert (await slots_of(fetch, hall_id, MONDAY))["slots"][0]["remaining"] == 7
    assert (await fetch("DELETE", f"/admin/v1/halls/{hall_id}", token=operator_token)).json()["code"] == "hall_has_bookings"


# ---- on the day ------------------------------------------------------------------------------------

async def test_check_in_window_queue_numbers_and_calling(fetch, clock, make_hall, make_citizen, make_operator) -> None:
    hall_id = await make_hall()
    people = [await make_citizen(name=f"市民{i}") for i in range(4)]
    services = ["GA-0001", "GA-0001", "GA-0002", "JJ-0001"]
    ids = []
    for (_, token), service in zip(people, services, strict=True):
        response = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY, "0900", service), token=token)
        ids.append(response.json()["id"])
    clock.now = at(MONDAY, "07:59")
    early = await fetch("POST", f"/api/v1/appointments/{ids[0]}/check-in", token=people[0][1])
    assert (early.status, early.json()["code"]) == (409, "check_in_not_open")
    clock.now = at(MONDAY, "08:05")
    tickets = []
    for (_, token), appointment_id in zip(people, ids, strict=True):
        response = await fetch("POST", f"/api/v1/appointments/{appointment_id}/check-in", token=token)
        assert response.status == 200, response.text
        tickets.append((response.json()["window"], response.json()["queue_number"]))
    # GA-0001 goes to the shorter of windows 1 and 2; GA-0002 only to window 1; JJ-0001 to window 3
    assert tickets == [("1", "A001"), ("2", "B001"), ("1", "A002"), ("3", "J001")]
    repeat = await fetch("POST", f"/api/v1/appointments/{ids[0]}/check-in", token=people[0][1])
    assert repeat.json()["queue_number"] == "A001"

    clerk = await make_operator("window-clerk", ["hall_staff"])
    called = await fetch("POST", f"/admin/v1/halls/{hall_id}/windows/1/call-next", token=clerk)
    assert called.status == 200, called.text
    assert (called.json()["queue_number"], called.json()["waiting"]) == ("A001", 1)
    assert (await fetch("POST", f"/admin/v1/halls/{hall_id}/windows/1/call-next", token=clerk)).json()["queue_number"] == "A002"
    empty = await fetch("POST", f"/admin/v1/halls/{hall_id}/windows/1/call-next", token=clerk)
    assert (empty.status, empty.json()["code"]) == (404, "queue_empty")
    missing = await fetch("POST", f"/admin/v1/halls/{hall_id}/windows/77/call-next", token=clerk)
    assert missing.json()["code"] == "window_not_found"
    day = (await fetch("GET", f"/admin/v1/halls/{hall_id}/appointments?status=checked_in", token=clerk)).json()
    assert sorted(item["queue_number"] for item in day["items"]) == ["B001", "J001"]
    mine = (await fetch("GET", f"/api/v1/appointments/{ids[0]}", token=people[0][1])).json()
    assert mine["status"] == "called"
    cancel = await fetch("DELETE", f"/api/v1/appointments/{ids[1]}", token=people[1][1])
    assert cancel.json()["code"] == "appointment_not_cancellable"


async def test_concurrent_calls_never_call_one_number_twice(fetch, app, clock, make_hall, make_citizen, operator_token) -> None:
    hall_id = await make_hall(windows=[{"number": "1", "service_codes": ["GA-0001"]}])
    people = [await make_citizen(name=f"市民{i}") for i in range(6)]
    ids = [(await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY, "0900"), token=t)).json()["id"]
           for _, t in people]
    clock.now = at(MONDAY, "08:30")
    await asyncio.gather(*(fetch("POST", f"/api/v1/appointments/{i}/check-in", token=t)
                           for i, (_, t) in zip(ids, people, strict=True)))
    calls = await asyncio.gather(*(fetch("POST", f"/admin/v1/halls/{hall_id}/windows/1/call-next", token=operator_token)
                                   for _ in range(8)))
    numbers = sorted(c.json()["queue_number"] for c in calls if c.status == 200)
    assert numbers == [f"A{n:03d}" for n in range(1, 7)]
    assert sorted(c.status for c in calls) == [200] * 6 + [404] * 2


async def test_check_in_closes_after_the_slot_and_needs_presence_when_the_hall_has_a_location(
        fetch, clock, make_hall, citizen, make_citizen) -> None:
    hall_id = await make_hall(geo={"latitude": 30.2741, "longitude": 120.1551, "radius_m": 300})
    booked = (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY), token=citizen[1])).json()
    _, other = await make_citizen(name="迟到者")
    late = (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY, "0900"), token=other)).json()
    clock.now = at(MONDAY, "08:20")
    nowhere = await fetch("POST", f"/api/v1/appointments/{booked['id']}/check-in", token=citizen[1], json={})
    assert nowhere.json()["errors"][0]["code"] == "location_required"
    far = await fetch("POST", f"/api/v1/appointments/{booked['id']}/check-in", token=citizen[1],
                      json={"latitude": 30.2900, "longitude": 120.1551})  # about 1.8 km north
    assert (far.status, far.json()["code"]) == (409, "not_at_hall")
    near = await fetch("POST", f"/api/v1/appointments/{booked['id']}/check-in", token=citizen[1],
                       json={"latitude": 30.2750, "longitude": 120.1555})
    assert near.status == 200 and near.json()["queue_number"] == "A001"
    clock.now = at(MONDAY, "09:31")
    closed = await fetch("POST", f"/api/v1/appointments/{late['id']}/check-in", token=other,
                         json={"latitude": 30.2741, "longitude": 120.1551})
    assert (closed.status, closed.json()["code"]) == (409, "check_in_closed")


@pytest.mark.parametrize("where", [
    {"latitude": float("nan"), "longitude": float("nan")}, {"latitude": "nan", "longitude": "nan"},
    {"latitude": "inf", "longitude": "-inf"}, {"latitude": 30.2741, "longitude": "NaN"}, {"latitude": 91, "longitude": 120.1551},
    {"latitude": 30.2741, "longitude": -180.5}, {"latitude": True, "longitude": True}, {"latitude": [30.2741], "longitude": {}},
])
@pytest.mark.parametrize("language", ["zh-CN", "en"])
async def test_check_in_location_must_be_finite_coordinates(fetch, app, clock, make_hall, citizen, where, language) -> None:
    """NaN is never farther than any radius: it, infinities and out-of-range numbers are field errors (F7)."""
    hall_id = await make_hall(geo={"latitude": 30.2741, "longitude": 120.1551, "radius_m": 300})
    booked = (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, MONDAY), token=citizen[1])).json()
    clock.now = at(MONDAY, "08:20")
    response = await fetch("POST", f"/api/v1/appointments/{booked['id']}/check-in", token=citizen[1], json=where,
                           headers={"Accept-Language": language})
    assert response.status in (400, 422), response.text
    if response.status == 422:  # NaN itself is refused by the JSON parser (400), the rest per field
        errors = response.json()["errors"]
        assert {e["code"] for e in errors} == {"invalid_location"}
        assert {e["field"] for e in errors} <= {"latitude", "longitude"}
        assert ("纬度" in errors[0]["message"] or "经度" in errors[0]["message"]) == (language == "zh-CN")
    stored = (await fetch("GET", f"/api/v1/appointments/{booked['id']}", token=citizen[1])).json()
    assert stored["status"] == "booked" and not stored.get("queue_number")


# ---- no-shows --------------------------------------------------------------------------------------

async def test_repeated_no_shows_suspend_online_booking(fetch, app, clock, make_hall, citizen, operator_token) -> None:
    hall_id = await make_hall()
    days = [datetime.date(2025, 9, 29), datetime.date(2025, 9, 30), datetime.date(2025, 10, 9)]
    ids = []
    for day in days:
        response = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, day), token=citizen[1])
        assert response.status == 201, response.text
        ids.append(response.json()["id"])
    clock.now = at(days[0], "08:45")  # during the slot: too early to call it a no-show
    early = await fetch("POST", f"/admin/v1/appointments/{ids[0]}/no-show", token=operator_token)
    assert (early.status, early.json()["code"]) == (409, "check_in_still_open")
    clock.now = at(days[0], "09:01")
    marked = await fetch("POST", f"/admin/v1/appointments/{ids[0]}/no-show", token=operator_token)
    assert (marked.status, marked.json()["status"]) == (200, "no_show")
    assert (await fetch("POST", f"/admin/v1/appointments/{ids[0]}/no-show", token=operator_token)).status == 409
    # the periodic job marks the next two (and nothing that is still ahead)
    clock.now = at(days[2], "12:00")
    assert await appointments.mark_no_shows(app.ctx) == 2
    assert await appointments.mark_no_shows(app.ctx) == 0
    clock.now = at(datetime.date(2025, 10, 10), "10:00")
    refused = await fetch("POST", "/api/v1/appointments", json=booking(hall_id, datetime.date(2025, 10, 13)),
                          token=citizen[1], headers={"Accept-Language": "en"})
    assert (refused.status, refused.json()["code"]) == (403, "booking_suspended")
    assert refused.json()["suspended_until"].startswith("2025-11-08")  # 30 days after the third no-show
    clock.now = at(datetime.date(2025, 11, 10), "10:00")
    assert (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, datetime.date(2025, 11, 11)),
                        token=citizen[1])).status == 201


@pytest.mark.settings(no_show_limit=2, no_show_window_days=30)
async def test_no_shows_outside_the_window_do_not_count(fetch, app, clock, make_hall, citizen) -> None:
    hall_id = await make_hall()
    first = datetime.date(2025, 9, 29)
    assert (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, first), token=citizen[1])).status == 201
    clock.now = at(first, "12:00")
    assert await appointments.mark_no_shows(app.ctx) == 1
    clock.now = at(datetime.date(2025, 11, 3), "10:00")
    second = datetime.date(2025, 11, 4)
    assert (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, second), token=citizen[1])).status == 201
    clock.now = at(second, "12:00")
    assert await appointments.mark_no_shows(app.ctx) == 1
    assert (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, datetime.date(2025, 11, 5)),
                        token=citizen[1])).status == 201  # 36 days apart: only one in the window


# ---- reminders -------------------------------------------------------------------------------------

async def test_reminders_go_through_the_outbox_once_the_day_before(fetch, app, clock, make_hall, citizen, make_citizen) -> None:
    hall_id = await make_hall()
    tomorrow = datetime.date(2025, 9, 30)
    kept = (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, tomorrow), token=citizen[1])).json()
    _, other = await make_citizen(name="取消者")
    dropped = (await fetch("POST", "/api/v1/appointments", json=booking(hall_id, tomorrow, "0900"), token=other)).json()
    await fetch("DELETE", f"/api/v1/appointments/{dropped['id']}", token=other)
    await fetch("POST", "/api/v1/appointments", json=booking(hall_id, tomorrow + datetime.timedelta(days=9)), token=citizen[1])
    clock.now = at(MONDAY, "07:00")
    assert await appointments.enqueue_reminders(app.ctx) == 0  # not at dawn
    clock.now = at(MONDAY, "09:05")
    assert await appointments.enqueue_reminders(app.ctx) == 1
    assert await appointments.enqueue_reminders(app.ctx) == 0
    records = await app.ctx.db.outbox.find({}).to_list()
    assert [r["_id"] for r in records] == [f"appointment:{kept['id']}:reminder"]
    assert records[0]["citizen_id"] == citizen[0] and records[0]["template"] == "appointment_reminder"
    assert records[0]["data"] | {"appointment_id": "x"} == {
        "appointment_id": "x", "service_code": "GA-0001", "service_name": "", "hall_name": "测试政务服务大厅",
        "hall_address": "测试路 1 号", "date": "2025-09-30", "start": "08:30", "end": "09:00"}


# ---- demo ------------------------------------------------------------------------------------------

async def test_demo_halls_offer_demo_catalogue_services(app, fetch, clock) -> None:
    await appointments.load_demo(app.ctx)
    response = await fetch("GET", f"/api/v1/appointments/slots?service_code=GA-0001&date={MONDAY}")
    halls = response.json()["halls"]
    assert {h["hall_id"] for h in halls} == {"hall-demo-exit-entry", "hall-demo-citizen-center"}
    assert all(h["bookable"] and h["slots"][0]["quota"] in (4, 6) for h in halls)
    await app.ctx.db.halls.update_one({"_id": "hall-demo-exit-entry"}, {"$set": {"phone": "0571-00000000"}})
    await appointments.load_demo(app.ctx)  # idempotent, and keeps an operator's edits
    assert await app.ctx.db.halls.count_documents({}) == 2
    assert (await app.ctx.db.halls.find_one({"_id": "hall-demo-exit-entry"}))["phone"] == "0571-00000000"


async def test_demo_catalogue_items_are_bookable_at_the_demo_halls(demo_app, fetch, clock, citizen) -> None:
    booked = await fetch("POST", "/api/v1/appointments", token=citizen[1], headers={"Accept-Language": "en"},
                         json=booking("hall-demo-citizen-center", MONDAY, "0900", "GA-0007"))
    assert booked.status == 201, booked.text
    assert (booked.json()["service_name"], booked.json()["hall_name"]) == (
        "Renewal of the resident identity card", "Shifan Citizen Service Center")
