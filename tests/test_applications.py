"""Applications end to end over HTTP: materials, submission, drafts, prefill, the state machine,
deadlines, public progress and the notifications each change sends."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import types
from typing import Any

import pytest
from bson import ObjectId

from models import notifications, outbox
from tests.clock_support import FakeClock

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 512
PDF = b"%PDF-1.7\n" + b"1 0 obj << >> endobj\n" * 40 + b"%%EOF\n"

GOOD_FORM = {"applicant": {"name": "张三", "phone": "13800138000", "id_number": "330106199001011234",
                           "address": "杭州市西湖区文三路 1 号"},
             "reason": "first", "copies": 1}


# Published before any test's today (tests/clock_support.py), whatever the real date is.
PUBLISHED_AT = datetime.datetime(2025, 1, 2, 2, 0, tzinfo=datetime.UTC)


def service_item(code: str = "GA-0001", **changes: Any) -> dict[str, Any]:
    """A published, fully online item in the shape of docs/service-item.md."""
    item = {
        "code": code, "name": {"zh-CN": "普通护照签发", "en": "Ordinary passport issuance"}, "aliases": ["办护照"],
        "department": "gongan", "region_code": "330100", "audience": ["personal"], "themes": ["travel"],
        "handling_depth": "whole_process_online", "status": "published",
        "guide": {
            "legal_basis": {"zh-CN": "《中华人民共和国护照法》第五条"}, "conditions": {"zh-CN": "中国公民"},
            "materials": [
                {"key": "id_card", "name": {"zh-CN": "居民身份证", "en": "Resident ID card"}, "original_or_copy": "copy",
                 "copies": 1, "medium": "electronic", "required": True,
                 "allowed_types": ["image/jpeg", "image/png", "application/pdf"], "max_bytes": 400_000},
                {"key": "photo", "name": {"zh-CN": "证件照片", "en": "ID photo"}, "original_or_copy": "original",
                 "copies": 1, "medium": "electronic", "required": True,
                 "allowed_types": ["image/jpeg", "image/png"], "max_bytes": 4096},
                {"key": "household", "name": {"zh-CN": "户口簿", "en": "Household register"}, "original_or_copy": "copy",
                 "copies": 1, "medium": "both", "required": False, "allowed_types": ["application/pdf", "application/ofd"],
                 "max_bytes": 400_000},
                {"key": "signed_form", "name": {"zh-CN": "申请表原件", "en": "Signed form"}, "original_or_copy": "original",
                 "copies": 1, "medium": "paper", "required": True},
            ],
            "process": [{"zh-CN": "网上提交申请"}], "legal_time_limit_days": 15, "promised_time_limit_days": 5,
            "fee": {"free": True}, "delivery": {"by_post": True},
        },
        "form_schema": {"type": "object", "required": ["applicant", "reason"], "properties": {
            "applicant": {"type": "object", "title": "申请人", "x-title-en": "Applicant",
                          "required": ["name", "phone", "id_number"], "properties": {
                              "name": {"type": "string", "title": "姓名", "x-title-en": "Name", "minLength": 2},
                              "phone": {"type": "string", "title": "手机号", "x-title-en": "Mobile phone",
                                        "pattern": "^1[3-9][0-9]{9}$"},
                              "id_number": {"type": "string", "title": "身份证号", "x-title-en": "ID number",
                                            "pattern": "^[0-9]{17}[0-9X]$"},
                              "address": {"type": "string", "title": "住址", "x-title-en": "Address"},
                              "birth_date": {"type": "string", "format": "date", "title": "出生日期",
                                             "x-title-en": "Date of birth"}}},
            "reason": {"type": "string", "enum": ["first", "renewal", "lost"], "title": "申请类型",
                       "x-title-en": "Application type"},
            "copies": {"type": "integer", "minimum": 1, "maximum": 3, "title": "份数", "x-title-en": "Copies"}}},
        "created_at": PUBLISHED_AT, "updated_at": PUBLISHED_AT, "published_at": PUBLISHED_AT,
    }
    item.update(changes)
    return item


@pytest.fixture
async def item(app) -> dict[str, Any]:
    document = service_item()
    await app.ctx.db.services.replace_one({"code": document["code"]}, dict(document), upsert=True)  # demo has one too
    return document


def multipart(content: bytes, filename: str, fields: dict[str, str] | None = None,
              boundary: str = "----CityGateTestBoundary7MA4YWxk") -> tuple[bytes, dict[str, str]]:
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in (fields or {}).items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f'Content-Type: application/octet-stream\r\n\r\n'.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def upload(fetch, token: str, content: bytes, filename: str = "scan.jpg", material: str | None = None,
                 service_code: str = "GA-0001", headers: dict[str, str] | None = None, in_form: bool = False):
    fields = {"service_code": service_code, "material": material} if material and in_form else None
    body, sent = multipart(content, filename, fields)
    query = f"?service_code={service_code}&material={material}" if material and not in_form else ""
    return await fetch("POST", "/api/v1/files" + query, body=body, token=token, headers={**sent, **(headers or {})})


async def materials_for(fetch, token: str) -> dict[str, list[str]]:
    id_card = (await upload(fetch, token, PDF, "id.pdf", "id_card")).json()["file_id"]
    photo = (await upload(fetch, token, JPEG[:2000], "me.jpg", "photo")).json()["file_id"]
    return {"id_card": [id_card], "photo": photo}


async def submit(fetch, token: str, **changes: Any):
    body = {"service_code": "GA-0001", "form": GOOD_FORM, "materials": await materials_for(fetch, token), **changes}
    return await fetch("POST", "/api/v1/applications", json=body, token=token)


async def act(fetch, token: str, no: str, action: str, **fields: Any):
    return await fetch("POST", f"/admin/v1/applications/{no}/actions", json={"action": action, **fields}, token=token)


@pytest.fixture
async def clerk(make_operator) -> str:
    return await make_operator("clerk-gongan", ["department_operator"], "gongan")


# ---- materials ---------------------------------------------------------------------------------------
async def test_upload_streams_into_gridfs_with_sha256_and_type_from_content(fetch, citizen, item) -> None:
    _, token = citizen
    big = b"%PDF-1.5\n" + bytes(range(256)) * 3000  # ~750 KB: several GridFS chunks, many body chunks
    response = await upload(fetch, token, big, "扫描件.jpg")  # the name lies; the content decides
    assert response.status == 201, response.text
    info = response.json()
    assert info["content_type"] == "application/pdf"
    assert (info["size"], info["sha256"], info["name"]) == (len(big), hashlib.sha256(big).hexdigest(), "扫描件.jpg")
    download = await fetch("GET", f"/api/v1/files/{info['file_id']}", token=token)
    assert download.status == 200
    assert download.body == big
    assert download.headers["Content-Type"] == "application/pdf"


async def test_upload_for_a_material_applies_its_types_and_size(fetch, citizen, item, app) -> None:
    _, token = citizen
    refused = await upload(fetch, token, b"MZ\x90\x00 this is an exe" * 10, "photo.jpg", "photo")
    assert refused.status == 415
    assert refused.json()["code"] == "file_type_not_allowed"
    assert refused.json()["detected_type"] is None
    pdf_as_photo = await upload(fetch, token, PDF, "photo.png", "photo", headers={"Accept-Language": "en"})
    assert pdf_as_photo.status == 415
    assert "PDF" in pdf_as_photo.json()["detail"] and "JPEG" in pdf_as_photo.json()["detail"]
    too_big = await upload(fetch, token, JPEG + b"\x00" * 5000, "photo.jpg", "photo")
    assert too_big.status == 413
    assert (too_big.json()["code"], too_big.json()["limit_bytes"]) == ("file_too_large", 4096)
    fields_first = await upload(fetch, token, JPEG + b"\x00" * 5000, "photo.jpg", "photo", in_form=True)
    assert fields_first.status == 413  # the rules also come from form fields sent before the file
    unknown = await upload(fetch, token, JPEG, "x.jpg", "passport_scan")
    assert unknown.status == 422
    # (find, not count_documents: nx-27017 keeps GridFS collections in tables that cannot count)
    assert await app.ctx.db["materials.files"].find().to_list() == []
    assert await app.ctx.db["materials.chunks"].find().to_list() == []  # refused uploads leave nothing


async def test_upload_needs_login_and_a_file(fetch, citizen, item) -> None:
    _, token = citizen
    body, headers = multipart(JPEG, "a.jpg")
    assert (await fetch("POST", "/api/v1/files", body=body, headers=headers)).status == 401
    empty = await fetch("POST", "/api/v1/files", body=b"--b--\r\n", token=token,
                        headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert (empty.status, empty.json()["code"]) == (400, "file_required")
    not_multipart = await fetch("POST", "/api/v1/files", body=JPEG, token=token, headers={"Content-Type": "image/jpeg"})
    assert not_multipart.status == 415
    truncated = await fetch("POST", "/api/v1/files", body=body[:-10], token=token, headers=headers)
    assert (truncated.status, truncated.json()["code"]) == (400, "malformed_multipart")


async def test_someone_elses_file_can_be_neither_read_nor_attached(fetch, make_citizen, item) -> None:
    _, owner = await make_citizen(name="甲")
    _, other = await make_citizen(name="乙")
    file_id = (await upload(fetch, owner, PDF, "id.pdf", "id_card")).json()["file_id"]
    assert (await fetch("GET", f"/api/v1/files/{file_id}", token=other)).status == 404
    assert (await fetch("GET", "/api/v1/files/not-an-id", token=other)).status == 404
    mine = await materials_for(fetch, other)
    response = await fetch("POST", "/api/v1/applications", token=other, json={
        "service_code": "GA-0001", "form": GOOD_FORM, "materials": {**mine, "id_card": [file_id]}})
    assert response.status == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("materials.id_card[0]", "file_not_found")]


# ---- submission ----------------------------------------------------------------------------------------
@pytest.mark.todays  # the number holds the Shanghai date: at 16:00 UTC it is already tomorrow's
async def test_submit_answers_readable_number_and_query_code(fetch, citizen, item, app, clock) -> None:
    _, token = citizen
    response = await submit(fetch, token)
    assert response.status == 201, response.text
    body = response.json()
    today = clock.today.strftime("%Y%m%d")
    assert body["application_no"] == f"330100-{today}-000001"
    assert len(body["query_code"]) == 8
    assert (body["status"], body["status_label"]) == ("submitted", "已提交")
    assert body["materials"]["id_card"][0]["content_type"] == "application/pdf"
    assert [e["action"] for e in body["timeline"]] == ["submit"]
    second = (await submit(fetch, token)).json()
    assert second["application_no"] == f"330100-{today}-000002"


@pytest.mark.parametrize("language", ["zh-CN", "en"])
async def test_schema_errors_report_every_field_path_in_the_callers_language(fetch, citizen, item, language) -> None:
    _, token = citizen
    form = {"applicant": {"name": "张", "phone": "12345", "birth_date": "1990-02-30"}, "reason": "because", "copies": 0}
    response = await fetch("POST", "/api/v1/applications", token=token, headers={"Accept-Language": language},
                           json={"service_code": "GA-0001", "form": form, "materials": await materials_for(fetch, token)})
    assert response.status == 422
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert set(errors) == {"form.applicant.name", "form.applicant.phone", "form.applicant.id_number",
                           "form.applicant.birth_date", "form.reason", "form.copies"}
    messages = {field: e["message"] for field, e in errors.items()}
    if language == "en":
        assert messages["form.applicant.id_number"] == "ID number is required"
        assert messages["form.applicant.phone"] == "Mobile phone is not in the expected format"
        assert messages["form.reason"] == "Application type must be one of: first, renewal, lost"
        assert messages["form.copies"] == "Copies must be at least 1"
    else:
        assert messages["form.applicant.id_number"] == "「身份证号」为必填项"
        assert messages["form.applicant.name"] == "「姓名」至少 2 个字符"
        assert messages["form.applicant.birth_date"] == "「出生日期」不是有效的日期（YYYY-MM-DD）"
        assert messages["form.copies"] == "「份数」应不小于 1"


async def test_missing_required_materials_are_named(fetch, citizen, item) -> None:
    _, token = citizen
    photo = (await upload(fetch, token, PNG, "p.png", "photo")).json()["file_id"]
    response = await fetch("POST", "/api/v1/applications", token=token, headers={"Accept-Language": "en"},
                           json={"service_code": "GA-0001", "form": GOOD_FORM, "materials": {"photo": [photo]}})
    assert response.status == 422
    # the paper-only signed form is brought to the counter, so only the ID card is missing
    assert [(e["field"], e["code"], e["message"]) for e in response.json()["errors"]] == [
        ("materials.id_card", "material_required", "Please attach: Resident ID card")]
    wrong_type = await fetch("POST", "/api/v1/applications", token=token, json={
        "service_code": "GA-0001", "form": GOOD_FORM, "materials": {"photo": [photo], "household": [photo],
                                                                     "id_card": [photo]}})
    assert [(e["field"], e["code"]) for e in wrong_type.json()["errors"]] == [("materials.household[0]", "file_type_not_allowed")]


async def test_idempotent_submit(fetch, citizen, item, app) -> None:
    _, token = citizen
    body = {"service_code": "GA-0001", "form": GOOD_FORM, "materials": await materials_for(fetch, token)}
    key = {"Idempotency-Key": "submit-7f3a"}
    first = await fetch("POST", "/api/v1/applications", json=body, token=token, headers=key)
    again = await fetch("POST", "/api/v1/applications", json=body, token=token, headers=key)
    assert (first.status, again.status) == (201, 201)
    assert again.json() == first.json()
    assert await app.ctx.db.applications.count_documents({}) == 1
    other = await fetch("POST", "/api/v1/applications", json={**body, "form": {**GOOD_FORM, "copies": 2}},
                        token=token, headers=key)
    assert (other.status, other.json()["code"]) == (409, "idempotency_key_reused")
    assert await app.ctx.db.outbox.count_documents({}) == 1


async def test_only_online_items_take_applications(fetch, citizen, app) -> None:
    _, token = citizen
    await app.ctx.db.services.insert_many([service_item("GA-0002", status="draft"),
                                           service_item("GA-0003", handling_depth="info_only")])
    for code in ("GA-0002", "GA-0003"):
        response = await fetch("POST", "/api/v1/applications", token=token, json={"service_code": code, "form": {}})
        assert (response.status, response.json()["code"]) == (409, "not_online")
    unknown = await fetch("POST", "/api/v1/applications", token=token, json={"service_code": "NOPE", "form": {}})
    assert (unknown.status, unknown.json()["code"]) == (404, "service_not_found")
    missing = await fetch("POST", "/api/v1/applications", token=token, json={"form": {}})
    assert (missing.status, missing.json()["errors"][0]["field"]) == (422, "service_code")


async def test_drafts_are_saved_resumed_and_submitted(fetch, citizen, item, clerk, app) -> None:
    _, token = citizen
    draft = await fetch("POST", "/api/v1/applications", token=token,
                        json={"service_code": "GA-0001", "form": {"applicant": {"name": "张三"}}, "draft": True})
    assert draft.status == 201, draft.text
    no = draft.json()["application_no"]
    assert draft.json()["status"] == "draft"
    assert await app.ctx.db.outbox.count_documents({}) == 0  # nothing to tell anyone yet
    mine = (await fetch("GET", "/api/v1/applications?status=draft", token=token)).json()
    assert [a["application_no"] for a in mine["items"]] == [no]
    materials = await materials_for(fetch, token)
    saved = await fetch("PATCH", f"/api/v1/applications/{no}", token=token,
                        json={"form": {"applicant": {"name": "张三", "phone": "13800138000"}}, "materials": materials})
    assert saved.status == 200, saved.text
    resumed = (await fetch("GET", f"/api/v1/applications/{no}", token=token)).json()
    assert resumed["form"] == {"applicant": {"name": "张三", "phone": "138****8000"}}  # numbers masked
    assert set(resumed["materials"]) == {"id_card", "photo"}
    incomplete = await fetch("POST", f"/api/v1/applications/{no}/submit", token=token, json={})
    assert incomplete.status == 422
    assert {e["field"] for e in incomplete.json()["errors"]} == {"form.applicant.id_number", "form.reason"}
    # the resumed (masked) phone sent back keeps the number the draft holds
    completed = {"applicant": {**resumed["form"]["applicant"], "id_number": "330106199001011234"}, "reason": "first"}
    submitted = await fetch("POST", f"/api/v1/applications/{no}/submit", token=token, json={"form": completed})
    assert submitted.status == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    assert submitted.json()["materials"]["photo"][0]["content_type"] == "image/jpeg"
    stored = (await fetch("GET", f"/admin/v1/applications/{no}", token=clerk)).json()
    assert stored["form"]["applicant"]["phone"] == "13800138000"
    again = await fetch("POST", f"/api/v1/applications/{no}/submit", token=token, json={})
    assert (again.status, again.json()["code"]) == (409, "invalid_transition")
    no_edit = await fetch("PATCH", f"/api/v1/applications/{no}", token=token, json={"form": {}})
    assert no_edit.status == 409


async def test_prefill_from_profile_real_name_and_earlier_applications(fetch, make_citizen, item, clerk, app) -> None:
    citizen_id, token = await make_citizen(name="李四", phone="13900139000")
    await app.ctx.db.citizens.update_one({"_id": ObjectId(citizen_id)}, {"$set": {"realname": {
        "name": "李四", "id_cipher": app.ctx.cipher.encrypt("330106199001011234", "citizen.id_number"),
        "id_masked": "330***********1234", "birth_date": "1990-01-01"}}})
    offered = (await fetch("GET", "/api/v1/services/GA-0001/form", token=token)).json()
    # numbers come masked; everything else as given
    assert offered["values"] == {"applicant": {"name": "李四", "phone": "139****9000", "id_number": "330***********1234",
                                               "birth_date": "1990-01-01"}}
    assert offered["sources"] == {"applicant.name": "realname", "applicant.phone": "profile",
                                  "applicant.id_number": "realname", "applicant.birth_date": "realname"}
    assert offered["masked"] == ["applicant.id_number", "applicant.phone"]
    assert offered["form_schema"]["required"] == ["applicant", "reason"]
    assert "13900139000" not in json.dumps(offered) and "330106199001011234" not in json.dumps(offered)
    # sent back unchanged, the masked numbers become the real ones on the server
    form = {"applicant": {**offered["values"]["applicant"], "address": "杭州市西湖区文三路 1 号"}, "reason": "first"}
    created = await fetch("POST", "/api/v1/applications", token=token,
                          json={"service_code": "GA-0001", "form": form, "materials": await materials_for(fetch, token)})
    assert created.status == 201, created.text
    assert created.json()["form"]["applicant"]["id_number"] == "330***********1234"
    stored = (await fetch("GET", f"/admin/v1/applications/{created.json()['application_no']}", token=clerk)).json()
    assert stored["form"]["applicant"] == {**form["applicant"], "phone": "13900139000", "id_number": "330106199001011234"}
    # another item whose form names the same things differently
    other = service_item("MZ-0001", department="minzheng", form_schema={"type": "object", "properties": {
        "applicant_name": {"type": "string"}, "mobile": {"type": "string"},
        "home": {"type": "string", "x-meaning": "address"}, "id_card_no": {"type": "string"}}})
    await app.ctx.db.services.insert_one(other)
    prefill = (await fetch("GET", "/api/v1/services/MZ-0001/form", token=token)).json()
    assert prefill["values"] == {"applicant_name": "李四", "mobile": "139****9000", "home": "杭州市西湖区文三路 1 号",
                                 "id_card_no": "330***********1234"}
    assert prefill["sources"]["home"] == "application"


async def test_a_masked_number_that_is_not_ours_is_refused(fetch, citizen, item) -> None:
    _, token = citizen
    form = {**GOOD_FORM, "applicant": {**GOOD_FORM["applicant"], "id_number": "110***********0000"}}
    response = await fetch("POST", "/api/v1/applications", token=token, headers={"Accept-Language": "en"},
                           json={"service_code": "GA-0001", "form": form, "materials": await materials_for(fetch, token)})
    assert response.status == 422
    assert [(e["field"], e["code"], e["message"]) for e in response.json()["errors"]] == [
        ("form.applicant.id_number", "masked_value", "ID number: enter the full number")]


# ---- the state machine -----------------------------------------------------------------------------------
async def test_every_transition_through_to_completion(fetch, citizen, item, clerk, app) -> None:
    citizen_id, token = citizen
    created = (await submit(fetch, token, delivery={"method": "post", "recipient": "张三", "phone": "13800138000",
                                                      "address": "杭州市西湖区文三路 1 号"})).json()
    no = created["application_no"]
    assert created["allowed_actions"] == ["withdraw"]
    accepted = await act(fetch, clerk, no, "accept", note="材料齐全，予以受理")
    assert accepted.status == 200, accepted.text
    assert accepted.json()["deadline"]["promised_days"] == 5
    asked = await act(fetch, clerk, no, "request_supplement", missing_materials=["household"], note="请补充户口簿")
    assert asked.json()["status"] == "supplement_requested"
    assert asked.json()["deadline"]["paused"] is True
    mine = (await fetch("GET", f"/api/v1/applications/{no}", token=token)).json()
    assert mine["supplement"]["missing_materials"] == ["household"]
    assert mine["allowed_actions"] == ["supplement", "withdraw"]
    missing = await fetch("POST", f"/api/v1/applications/{no}/supplement", token=token, json={"materials": {}})
    assert [(e["field"], e["code"]) for e in missing.json()["errors"]] == [("materials.household", "material_required")]
    household = (await upload(fetch, token, PDF, "hukou.pdf", "household")).json()["file_id"]
    resubmitted = await fetch("POST", f"/api/v1/applications/{no}/supplement", token=token,
                              json={"materials": {"household": [household]}, "note": "已补充"})
    assert resubmitted.status == 200, resubmitted.text
    assert resubmitted.json()["status"] == "resubmitted"
    assert set(resubmitted.json()["materials"]) == {"id_card", "photo", "household"}
    assert (await act(fetch, clerk, no, "approve", note="符合条件")).json()["status"] == "approved"
    no_tracking = await act(fetch, clerk, no, "complete", result={"certificate_no": "E12345678"})
    assert [e["field"] for e in no_tracking.json()["errors"]] == ["delivery.tracking_no"]
    done = await act(fetch, clerk, no, "complete", result={"certificate_no": "E12345678"},
                     delivery={"carrier": "EMS", "tracking_no": "1180000000001"})
    assert done.status == 200, done.text
    final = (await fetch("GET", f"/api/v1/applications/{no}", token=token)).json()
    assert final["status"] == "completed"
    assert final["result"]["delivery"] == {"method": "post", "carrier": "EMS", "tracking_no": "1180000000001"}
    assert [(e["action"], e["status"], e["actor"]) for e in final["timeline"]] == [
        ("submit", "submitted", "citizen"), ("accept", "accepted", "operator"),
        ("request_supplement", "supplement_requested", "operator"), ("supplement", "resubmitted", "citizen"),
        ("approve", "approved", "operator"), ("complete", "completed", "operator")]
    assert final["timeline"][1]["note"] == "材料齐全，予以受理"
    assert final["timeline"][2]["missing_materials"] == ["household"]
    records = await app.ctx.db.outbox.find({"citizen_id": citizen_id}).sort("_id", 1).to_list()
    assert sorted(r["_id"] for r in records) == [f"application:{no}:{v}" for v in range(1, 7)]
    assert {r["event"] for r in records} == {f"application.{s}" for s in (
        "submitted", "accepted", "supplement_requested", "resubmitted", "approved", "completed")}
    # the operator can read the materials of the application; nobody else's
    file_id = final["materials"]["household"][0]["file_id"]
    assert (await fetch("GET", f"/admin/v1/applications/{no}/files/{file_id}", token=clerk)).body == PDF


async def test_reject_needs_a_reason_and_withdrawal_ends_before_a_decision(fetch, citizen, item, clerk) -> None:
    _, token = citizen
    first = (await submit(fetch, token)).json()["application_no"]
    await act(fetch, clerk, first, "accept")
    no_reason = await act(fetch, clerk, first, "reject")
    assert [e["field"] for e in no_reason.json()["errors"]] == ["reason"]
    rejected = await act(fetch, clerk, first, "reject", reason="不符合申请条件")
    assert rejected.json()["decision"]["reason"] == "不符合申请条件"
    late_withdrawal = await fetch("POST", f"/api/v1/applications/{first}/withdraw", token=token, json={})
    assert (late_withdrawal.status, late_withdrawal.json()["code"]) == (409, "invalid_transition")
    assert (await act(fetch, clerk, first, "complete", result="不予许可决定书")).json()["status"] == "completed"

    second = (await submit(fetch, token)).json()["application_no"]
    withdrawn = await fetch("POST", f"/api/v1/applications/{second}/withdraw", token=token, json={"reason": "不办了"})
    assert withdrawn.json()["status"] == "withdrawn"
    assert (await act(fetch, clerk, second, "accept")).status == 409


@pytest.mark.parametrize("steps, illegal", [
    ([], "approve"), ([], "request_supplement"), ([], "complete"), ([], "reject"),
    (["accept"], "accept"), (["accept"], "complete"),
    (["accept", "approve"], "request_supplement"), (["accept", "approve"], "reject"),
    (["accept", "approve", "complete"], "approve"),
])
async def test_illegal_operator_transitions_are_409(fetch, citizen, item, clerk, steps, illegal) -> None:
    _, token = citizen
    no = (await submit(fetch, token)).json()["application_no"]
    for step in steps:
        assert (await act(fetch, clerk, no, step)).status == 200
    response = await act(fetch, clerk, no, illegal, reason="x", missing_materials=["household"], result="x")
    assert (response.status, response.json()["code"]) == (409, "invalid_transition")


async def test_illegal_citizen_transitions_and_foreign_applications(fetch, make_citizen, item, clerk) -> None:
    _, token = await make_citizen(name="甲")
    _, stranger = await make_citizen(name="乙")
    no = (await submit(fetch, token)).json()["application_no"]
    response = await fetch("POST", f"/api/v1/applications/{no}/supplement", token=token, json={"materials": {}})
    assert (response.status, response.json()["code"]) == (409, "invalid_transition")
    for path in (f"/api/v1/applications/{no}", ):
        assert (await fetch("GET", path, token=stranger)).status == 404
    assert (await fetch("POST", f"/api/v1/applications/{no}/withdraw", token=stranger, json={})).status == 404
    unknown = await act(fetch, clerk, no, "archive")
    assert (unknown.status, unknown.json()["errors"][0]["field"]) == (422, "action")


async def test_two_operators_accepting_at_once_one_wins(fetch, citizen, item, make_operator, app) -> None:
    _, token = citizen
    first = await make_operator("clerk-a", ["department_operator"], "gongan")
    second = await make_operator("clerk-b", ["department_operator"], "gongan")
    for _ in range(3):
        no = (await submit(fetch, token)).json()["application_no"]
        results = await asyncio.gather(act(fetch, first, no, "accept"), act(fetch, second, no, "accept"))
        assert sorted(r.status for r in results) == [200, 409]
        loser = next(r for r in results if r.status == 409).json()
        assert loser["code"] in ("invalid_transition", "application_changed")
        events = await app.ctx.db.application_events.count_documents({"application_no": no, "action": "accept"})
        assert events == 1
        assert await app.ctx.db.outbox.count_documents({"_id": f"application:{no}:2"}) == 1


async def test_stale_expected_version_is_refused(fetch, citizen, item, clerk) -> None:
    _, token = citizen
    no = (await submit(fetch, token)).json()["application_no"]
    stale = await act(fetch, clerk, no, "accept", expected_version=7)
    assert (stale.status, stale.json()["code"]) == (409, "application_changed")
    assert (await act(fetch, clerk, no, "accept", expected_version=1)).status == 200


async def test_operators_see_their_department_and_filter(fetch, citizen, item, make_operator, operator_token, app) -> None:
    _, token = citizen
    await app.ctx.db.services.insert_one(service_item("MZ-0001", department="minzheng"))
    other_clerk = await make_operator("clerk-mz", ["department_operator"], "minzheng")
    clerk = await make_operator("clerk-ga", ["department_operator"], "gongan")
    outsider = await make_operator("cashier", ["hall_staff"], "gongan")
    no = (await submit(fetch, token)).json()["application_no"]
    draft = (await fetch("POST", "/api/v1/applications", token=token, json={"service_code": "GA-0001", "draft": True})).json()
    assert (await fetch("GET", f"/admin/v1/applications/{draft['application_no']}", token=clerk)).status == 404
    assert (await fetch("GET", "/admin/v1/applications?status=draft", token=clerk)).json()["total"] == 0
    assert (await fetch("GET", f"/admin/v1/applications/{no}", token=other_clerk)).status == 404
    assert (await act(fetch, other_clerk, no, "accept")).status == 404
    assert (await fetch("GET", "/admin/v1/applications", token=outsider)).status == 403
    listed = (await fetch("GET", "/admin/v1/applications?status=submitted", token=clerk)).json()
    assert [a["application_no"] for a in listed["items"]] == [no]
    assert (await fetch("GET", "/admin/v1/applications", token=other_clerk)).json()["total"] == 0
    everyone = (await fetch("GET", "/admin/v1/applications?department=gongan", token=operator_token)).json()
    assert everyone["total"] == 1
    detail = (await fetch("GET", f"/admin/v1/applications/{no}", token=clerk)).json()
    assert "query_code" not in detail and detail["allowed_actions"] == ["accept"]
    bad = await fetch("GET", "/admin/v1/applications?status=lost", token=clerk)
    assert bad.status == 422


# ---- deadlines -------------------------------------------------------------------------------------------
@pytest.mark.clock(2026, 9, 29, 10, 0)  # Tuesday before National Day
async def test_deadline_across_national_day_and_adjusted_working_days(fetch, citizen, item, clerk, clock) -> None:
    _, token = citizen
    no = (await submit(fetch, token)).json()["application_no"]
    assert no.startswith("330100-20260929-")
    accepted = (await act(fetch, clerk, no, "accept")).json()
    # 5 working days: Wed 30 Sep, (1–7 Oct holiday), Thu 8, Fri 9, Sat 10 (adjusted working day), Mon 12
    assert accepted["deadline"]["due_date"] == "2026-10-12"
    clock.set(2026, 10, 9, 9, 0)
    asked = (await act(fetch, clerk, no, "request_supplement", missing_materials=["household"])).json()
    assert asked["deadline"] == {"promised_days": 5, "due_date": None, "paused": True, "days_left": 2, "overdue": False}
    clock.set(2026, 10, 16, 15, 0)  # a week later: the deadline's clock stood still
    paused = (await fetch("GET", f"/api/v1/applications/{no}", token=token)).json()["deadline"]
    assert (paused["days_left"], paused["overdue"]) == (2, False)
    household = (await upload(fetch, token, PDF, "hukou.pdf", "household")).json()["file_id"]
    resumed = (await fetch("POST", f"/api/v1/applications/{no}/supplement", token=token,
                           json={"materials": {"household": household}})).json()
    assert resumed["deadline"]["due_date"] == "2026-10-20"  # Mon 19, Tue 20
    clock.set(2026, 10, 21, 9, 0)
    late = (await fetch("GET", f"/api/v1/applications/{no}", token=token)).json()["deadline"]
    assert (late["days_left"], late["overdue"]) == (-1, True)
    overdue = (await fetch("GET", "/admin/v1/applications?overdue=true", token=clerk)).json()
    assert [a["application_no"] for a in overdue["items"]] == [no]
    assert (await fetch("GET", "/admin/v1/applications?overdue=false", token=clerk)).json()["total"] == 0
    decided = (await act(fetch, clerk, no, "approve")).json()["deadline"]
    assert (decided["overdue"], decided["finished_on"]) == (True, "2026-10-21")


# ---- public progress -------------------------------------------------------------------------------------
async def test_public_progress_shows_states_but_nothing_personal(fetch, make_citizen, item, clerk, app) -> None:
    _, token = await make_citizen(name="王小明", phone="13700137000")
    form = {**GOOD_FORM, "applicant": {"name": "王小明", "phone": "13700137000", "id_number": "11010119900307001X",
                                       "address": "北京市东城区景山前街 4 号"}}
    created = (await fetch("POST", "/api/v1/applications", token=token, json={
        "service_code": "GA-0001", "form": form, "materials": await materials_for(fetch, token),
        "delivery": {"method": "post", "recipient": "王小明", "phone": "13700137000", "address": "北京市东城区景山前街 4 号"},
    })).json()
    no, code = created["application_no"], created["query_code"]
    await act(fetch, clerk, no, "accept", note="王小明的材料已核对")
    response = await fetch("GET", f"/api/v1/progress?application_no={no}&query_code={code.lower()}")
    assert response.status == 200, response.text
    body = response.json()
    assert body["status"] == "accepted"
    assert [e["status"] for e in body["timeline"]] == ["submitted", "accepted"]
    text = response.text
    for secret in ("王小明", "13700137000", "0307001X", "景山前街", "first", code, "材料已核对", "citizen_id"):
        assert secret not in text, secret
    wrong_code = await fetch("GET", f"/api/v1/progress?application_no={no}&query_code=AAAAAAAA")
    unknown_no = await fetch("GET", "/api/v1/progress?application_no=330100-20000101-000001&query_code=AAAAAAAA")
    assert wrong_code.status == unknown_no.status == 404
    strip = lambda r: {k: v for k, v in r.json().items() if k != "request_id"}  # noqa: E731
    assert strip(wrong_code) == strip(unknown_no)
    assert sorted(wrong_code.headers.get_list("Content-Length")) == sorted(unknown_no.headers.get_list("Content-Length"))


async def test_public_progress_is_rate_limited(fetch, citizen, item) -> None:
    statuses = [(await fetch("GET", f"/api/v1/progress?application_no=X-{i}&query_code=AAAA")).status for i in range(32)]
    assert statuses[:30] == [404] * 30
    assert statuses[30:] == [429, 429]


# ---- notifications -----------------------------------------------------------------------------------------
class FakeSender:
    """Stands in for models.notifications: records sends, can fail, deduplicates by message id."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_next = 0

    async def send_message(self, ctx, citizen, message) -> Any:  # noqa: ANN001
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("channel down")
        if all(m["id"] != message["id"] for m in self.received):
            self.received.append(message)
        return types.SimpleNamespace(outcome="sent", reason="")


async def test_outbox_sends_each_transition_once_with_retries(fetch, citizen, item, clerk, app, clock,
                                                             monkeypatch) -> None:
    sender = FakeSender()
    monkeypatch.setattr(notifications, "send_message", sender.send_message)
    _, token = citizen
    no = (await submit(fetch, token)).json()["application_no"]
    await act(fetch, clerk, no, "accept")
    sender.fail_next = 1
    assert await outbox.deliver_due(app.ctx) == 2
    assert len(sender.received) == 1  # one failed and waits for its retry
    assert await outbox.deliver_due(app.ctx) == 0  # not due yet
    clock.advance(minutes=5)
    assert await outbox.deliver_due(app.ctx) == 1
    assert sorted(m["id"] for m in sender.received) == [f"application:{no}:1", f"application:{no}:2"]
    assert {m["data"]["status"] for m in sender.received} == {"submitted", "accepted"}
    assert await outbox.deliver_due(app.ctx) == 0
    assert {r["status"] for r in await app.ctx.db.outbox.find().to_list()} == {"sent"}


async def test_notifications_delivered_once_after_a_worker_restart(fetch, demo_app, item, clerk, backing_urls,
                                                                   clock) -> None:
    from models import notifications as messages
    from server.context import AppContext
    from tests.identity_support import WECHAT_APP, wechat_login

    token = (await wechat_login(fetch, "o-applicant-1"))["access_token"]
    refuser = (await wechat_login(fetch, "o-refuser-1"))["access_token"]
    assert (await fetch("POST", "/sandbox/wechat/test/refuse-messages",
                        json={"app_id": WECHAT_APP, "openid": "o-refuser-1"})).status == 200
    no = (await submit(fetch, token)).json()["application_no"]
    await act(fetch, clerk, no, "accept")
    refused_no = (await submit(fetch, refuser)).json()["application_no"]

    # A worker claims the first notice, WeChat accepts it, and the worker dies before recording that.
    ctx = demo_app.ctx
    record = await outbox.claim_next(ctx)
    assert record["_id"] == f"application:{no}:1"
    citizen = await ctx.db.citizens.find_one({"_id": ObjectId(record["citizen_id"])})
    sent = await messages.send_message(ctx, citizen, {"id": record["_id"], "event": record["event"],
                                                      "template": record["template"], "data": record["data"]})
    assert sent.outcome == "sent"

    # The restarted worker: new connections, and a clock past the dead worker's lease.
    mongodb_url, redis_url = backing_urls
    restarted = AppContext.connect(ctx.settings, mongodb_url, redis_url, db_name=ctx.settings.mongodb_db)
    restarted.clock = FakeClock(clock.now + datetime.timedelta(minutes=1))
    try:
        assert await outbox.deliver_due(restarted) == 3
        assert await outbox.deliver_due(restarted) == 0
    finally:
        await restarted.close()

    received = (await fetch("GET", "/sandbox/wechat/test/messages?touser=o-applicant-1")).json()["items"]
    assert sorted(m["client_msg_id"] for m in received) == [f"application:{no}:1", f"application:{no}:2"]
    first = next(m for m in received if m["client_msg_id"] == f"application:{no}:1")
    assert first["duplicates"] == 1  # sent again after the crash, shown to the citizen once
    accepted = next(m for m in received if m["client_msg_id"] == f"application:{no}:2")
    assert accepted["message"]["data"]["status_label"] == {"value": "已受理"}
    assert (await fetch("GET", "/sandbox/wechat/test/messages?touser=o-refuser-1")).json()["total"] == 0
    outcomes = {r["_id"]: r["status"] for r in await ctx.db.outbox.find().to_list()}
    assert outcomes == {f"application:{no}:1": "sent", f"application:{no}:2": "sent",
                        f"application:{refused_no}:1": "skipped"}


async def test_cached_read_model_only_moves_forward(fetch, citizen, item, clerk, app) -> None:
    from models import applications
    from models.applications import caches

    _, token = citizen
    no = (await submit(fetch, token)).json()["application_no"]
    assert (await fetch("GET", f"/api/v1/applications/{no}", token=token)).json()["status"] == "submitted"
    before = await app.ctx.db.applications.find_one({"_id": no})
    await act(fetch, clerk, no, "accept")
    await caches.remember(app.ctx, before, [], "")  # a slow reader trying to put version 1 back
    shown = (await fetch("GET", f"/api/v1/applications/{no}", token=token)).json()
    assert (shown["status"], [e["action"] for e in shown["timeline"]]) == ("accepted", ["submit", "accept"])
    # A change made elsewhere (payments) without a new version: forget() refuses fills read before it.
    generation = await caches.cache_generation(app.ctx, no)
    stale = await app.ctx.db.applications.find_one({"_id": no})
    await app.ctx.db.applications.update_one({"_id": no}, {"$set": {"payment": {"status": "paid", "amount_fen": 2000}}})
    await applications.forget(app.ctx, no)
    await caches.remember(app.ctx, stale, [], generation)
    shown = (await fetch("GET", f"/api/v1/applications/{no}", token=token)).json()
    assert shown["payment"] == {"status": "paid", "amount_fen": 2000}
