"""E-licences end to end over HTTP: an application completed into a licence in the wallet, reused by a
second service with consent, seen by the handling operator, logged for the holder; revoked, expired
and tampered licences; consent withdrawal; scope."""

from __future__ import annotations

import base64
import json

import pytest

from tests.licence_support import (
    HOLDER_ID,
    act,
    fresh_token,
    issued_licence,
    taxi_application,
    verified_citizen,
)


@pytest.fixture
async def gongan_clerk(make_operator) -> str:
    return await make_operator("clerk-gongan", ["department_operator"], "gongan")


@pytest.fixture
async def taxi_clerk(make_operator) -> str:
    return await make_operator("clerk-jiaotong", ["department_operator"], "jiaotong")


def _given(licence: dict) -> list[dict]:
    return [{"material": "no_crime", "licence_id": licence["licence_id"], "consent": True}]


async def test_completed_application_licence_reused_with_consent_seen_and_logged(
        demo_app, fetch, make_citizen, gongan_clerk, taxi_clerk, make_operator) -> None:
    citizen_id, token = await verified_citizen(fetch, make_citizen)
    licence = await issued_licence(fetch, token, gongan_clerk)
    assert licence["type"] == "no_criminal_record" and licence["state"] == "valid"
    assert licence["holder_name"] == "张**" and HOLDER_ID not in json.dumps(licence)
    assert licence["source_application_no"] and licence["issuing_department"] == "gongan"

    # The public check of its QR payload: valid, holder masked, nothing else.
    checked = (await fetch("GET", f"/api/v1/licences/verify?payload={licence['qr_payload']}")).json()
    assert checked["state"] == "valid" and checked["holder_name"] == "张**"
    assert set(checked) <= {"state", "state_label", "type", "type_name", "holder_name", "issuing_department",
                            "valid_from", "valid_until"}

    # The taxi licence form offers it for the certificate-of-no-criminal-record material.
    offered = (await fetch("GET", "/api/v1/services/JT-0001/form", token=token)).json()
    offer = next(o for o in offered["licence_offers"] if o["material"] == "no_crime")
    assert [x["licence_id"] for x in offer["licences"]] == [licence["licence_id"]]
    assert offer["recipient_department"] == "jiaotong" and "查看该证照" in offer["consent_text"]

    # Without explicit consent it is refused; with it, the application takes the licence, no upload.
    unconsented = await taxi_application(fetch, token, [{**_given(licence)[0], "consent": False}])
    assert unconsented.status == 422
    assert [e["code"] for e in unconsented.json()["errors"]] == ["consent_required"]
    submitted = await taxi_application(fetch, token, _given(licence))
    assert submitted.status == 201, submitted.text
    application = submitted.json()
    assert "no_crime" not in application["materials"]
    assert application["licences"]["no_crime"]["licence_id"] == licence["licence_id"]
    no = application["application_no"]

    consents = (await fetch("GET", "/api/v1/me/consents", token=token)).json()
    assert consents["total"] == 1
    receipt = consents["items"][0]
    assert (receipt["application_no"], receipt["material"], receipt["recipient_department"], receipt["status"]) == \
        (no, "no_crime", "jiaotong", "given")
    assert receipt["purpose"] == "出租汽车驾驶员从业资格证核发"

    # The transport clerk sees the licence through the application; the traffic police do not.
    seen = await fetch("GET", f"/admin/v1/applications/{no}/licences/no_crime", token=taxi_clerk)
    assert seen.status == 200, seen.text
    assert seen.json()["holder_name"] == "张三丰" and seen.json()["signature_valid"] is True
    assert seen.json()["number"] == licence["number"]
    police = await make_operator("clerk-jiaojing", ["department_operator"], "jiaojing")
    refused = await fetch("GET", f"/admin/v1/applications/{no}/licences/no_crime", token=police)
    assert refused.status == 404

    # 谁查看了我的证照: one access, the clerk masked, the department and application named.
    log = (await fetch("GET", f"/api/v1/me/licences/{licence['licence_id']}/accesses", token=token)).json()
    assert log["total"] == 1
    entry = log["items"][0]
    assert (entry["department"], entry["application_no"], entry["action"]) == ("jiaotong", no, "viewed")
    assert entry["operator"] == "c*************"  # clerk-jiaotong, masked
    # Someone else cannot read the log of my licence.
    _, stranger = await make_citizen()
    assert (await fetch("GET", f"/api/v1/me/licences/{licence['licence_id']}/accesses", token=stranger)).status == 404


async def test_revoked_licence_is_refused_and_verifies_as_revoked(
        demo_app, fetch, make_citizen, gongan_clerk, taxi_clerk) -> None:
    _, token = await verified_citizen(fetch, make_citizen)
    licence = await issued_licence(fetch, token, gongan_clerk)
    # Only the issuing department revokes, with a reason.
    other = await fetch("POST", f"/admin/v1/licences/{licence['licence_id']}/revocation", token=taxi_clerk,
                        json={"reason": "错误"})
    assert other.status == 403
    no_reason = await fetch("POST", f"/admin/v1/licences/{licence['licence_id']}/revocation", token=gongan_clerk,
                            json={"reason": " "})
    assert no_reason.status == 422
    revoked = await fetch("POST", f"/admin/v1/licences/{licence['licence_id']}/revocation", token=gongan_clerk,
                          json={"reason": "查询有误，重新出具"})
    assert revoked.status == 201 and revoked.json()["state"] == "revoked"
    again = await fetch("POST", f"/admin/v1/licences/{licence['licence_id']}/revocation", token=gongan_clerk,
                        json={"reason": "再次"})
    assert again.status == 409

    wallet = (await fetch("GET", "/api/v1/me/licences", token=token)).json()["items"][0]
    assert wallet["state"] == "revoked" and wallet["revoked_reason"] == "查询有误，重新出具"
    assert (await fetch("GET", f"/api/v1/licences/verify?payload={licence['qr_payload']}")).json()["state"] == "revoked"

    refused = await taxi_application(fetch, token, _given(licence), headers=None)
    assert refused.status == 422
    [problem] = refused.json()["errors"]
    assert problem["code"] == "licence_revoked" and "请上传「无犯罪记录证明」" in problem["message"]
    english = await fetch("POST", "/api/v1/applications", token=token, headers={"Accept-Language": "en"},
                          json={"service_code": "JT-0001", "licences": _given(licence), "draft": True})
    assert english.status == 422 and "please attach: Certificate of no criminal record" in english.json()["errors"][0]["message"]


@pytest.mark.todays
async def test_expired_licence_is_refused_and_verifies_as_expired(
        demo_app, app, fetch, make_citizen, gongan_clerk, make_operator, clock) -> None:
    citizen_id, token = await verified_citizen(fetch, make_citizen)
    licence = await issued_licence(fetch, token, gongan_clerk)
    assert licence["valid_from"] == clock.today.isoformat()
    # 180 days of validity: the last valid day is valid_from + 179.
    clock.advance(days=179)
    token = await fresh_token(app, citizen_id)
    assert (await fetch("GET", f"/api/v1/licences/verify?payload={licence['qr_payload']}")).json()["state"] == "valid"
    clock.advance(days=1)
    token = await fresh_token(app, citizen_id)
    assert (await fetch("GET", f"/api/v1/licences/verify?payload={licence['qr_payload']}")).json()["state"] == "expired"
    assert (await fetch("GET", "/api/v1/me/licences", token=token)).json()["items"][0]["state"] == "expired"
    offered = (await fetch("GET", "/api/v1/services/JT-0001/form", token=token)).json()
    assert offered["licence_offers"] == []  # an expired licence is not offered
    refused = await fetch("POST", "/api/v1/applications", token=token,
                          json={"service_code": "JT-0001", "licences": _given(licence), "draft": True})
    assert refused.status == 422
    assert refused.json()["errors"][0]["code"] == "licence_expired"
    assert "请上传「无犯罪记录证明」" in refused.json()["errors"][0]["message"]


def _tampered(payload: str) -> str:
    prefix, form, signature = payload.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(form + "=" * (-len(form) % 4)))
    decoded["valid_until"] = "2099-12-31"
    forged = base64.urlsafe_b64encode(json.dumps(decoded, ensure_ascii=False).encode()).rstrip(b"=").decode()
    return f"{prefix}.{forged}.{signature}"


async def test_tampered_or_forged_payload_is_invalid_and_rotation_keeps_old_signatures(
        demo_app, fetch, make_citizen, gongan_clerk, operator_token) -> None:
    _, token = await verified_citizen(fetch, make_citizen)
    licence = await issued_licence(fetch, token, gongan_clerk)
    payload = licence["qr_payload"]
    for bad in (_tampered(payload), payload[:-3] + ("AAA" if not payload.endswith("AAA") else "BBB"),
                "CGL1.e30.AAAA", "not a payload", payload.replace("CGL1", "CGL2", 1)):
        answer = await fetch("GET", "/api/v1/licences/verify?payload=" + bad.replace(" ", "%20"))
        assert answer.status == 200
        assert answer.json() == {"state": "invalid", "state_label": "签名无效"}
    assert (await fetch("GET", "/api/v1/licences/verify")).status == 400

    # A department clerk may not rotate the signing key; the platform may, and old licences still verify.
    assert (await fetch("POST", "/admin/v1/licences/keys/rotations", token=gongan_clerk)).status == 403
    before = (await fetch("GET", "/api/v1/licences/keys")).json()["items"]
    rotated = await fetch("POST", "/admin/v1/licences/keys/rotations", token=operator_token)
    assert rotated.status == 201 and rotated.json()["current"] is True
    keys = (await fetch("GET", "/api/v1/licences/keys")).json()["items"]
    assert [k["kid"] for k in keys] == [rotated.json()["kid"]] + [k["kid"] for k in before]
    assert (await fetch("GET", f"/api/v1/licences/verify?payload={payload}")).json()["state"] == "valid"


async def test_consent_withdrawn_before_acceptance_not_after(
        demo_app, fetch, make_citizen, gongan_clerk, taxi_clerk) -> None:
    _, token = await verified_citizen(fetch, make_citizen)
    licence = await issued_licence(fetch, token, gongan_clerk)
    first = (await taxi_application(fetch, token, _given(licence))).json()["application_no"]
    second = (await taxi_application(fetch, token, _given(licence))).json()["application_no"]
    consents = {c["application_no"]: c for c in (await fetch("GET", "/api/v1/me/consents", token=token)).json()["items"]}

    withdrawn = await fetch("POST", f"/api/v1/me/consents/{consents[first]['consent_id']}/withdraw", token=token)
    assert withdrawn.status == 200 and withdrawn.json()["status"] == "withdrawn"
    assert (await fetch("GET", f"/api/v1/applications/{first}", token=token)).json()["licences"] == {}
    assert (await fetch("GET", f"/admin/v1/applications/{first}/licences/no_crime", token=taxi_clerk)).status == 404
    again = await fetch("POST", f"/api/v1/me/consents/{consents[first]['consent_id']}/withdraw", token=token)
    assert again.status == 409 and again.json()["code"] == "consent_already_withdrawn"

    assert (await act(fetch, taxi_clerk, second, "accept")).status == 200
    locked = await fetch("POST", f"/api/v1/me/consents/{consents[second]['consent_id']}/withdraw", token=token)
    assert locked.status == 409 and locked.json()["code"] == "consent_locked"
    assert (await fetch("GET", f"/admin/v1/applications/{second}/licences/no_crime", token=taxi_clerk)).status == 200

    _, stranger = await make_citizen()
    foreign = await fetch("POST", f"/api/v1/me/consents/{consents[second]['consent_id']}/withdraw", token=stranger)
    assert foreign.status == 404


async def test_someone_elses_licence_cannot_be_given(demo_app, fetch, make_citizen, gongan_clerk) -> None:
    _, token = await verified_citizen(fetch, make_citizen)
    licence = await issued_licence(fetch, token, gongan_clerk)
    _, other = await make_citizen()
    refused = await fetch("POST", "/api/v1/applications", token=other,
                          json={"service_code": "JT-0001", "licences": _given(licence), "draft": True})
    assert refused.status == 422 and refused.json()["errors"][0]["code"] == "licence_not_found"
    wrong_material = await fetch("POST", "/api/v1/applications", token=token, json={
        "service_code": "JT-0001", "draft": True,
        "licences": [{"material": "id_card", "licence_id": licence["licence_id"], "consent": True}]})
    assert wrong_material.status == 422 and wrong_material.json()["errors"][0]["code"] == "licence_not_accepted"


def test_the_publish_gate_checks_the_shape_of_licence_types() -> None:
    from models.catalogue.demo import read_demo
    from models.catalogue.gate import guide_problems, licence_types_named

    item = next(i for i in read_demo()["items"] if i["code"] == "JT-0001")
    assert guide_problems(item) == []
    assert licence_types_named(item) == {"no_criminal_record", "driving_licence"}
    broken = json.loads(json.dumps(item))
    broken["guide"]["materials"][2]["licence_types"] = ["No Such", 3]
    broken["guide"]["result"]["licence_type"] = ""
    assert {(p.field, p.code) for p in guide_problems(broken)} == {
        ("guide.materials[2].licence_types", "invalid"), ("guide.result.licence_type", "invalid")}


async def test_publishing_an_item_naming_an_unknown_licence_type_is_refused(demo_app, fetch, operator_token) -> None:
    edited = await fetch("PATCH", "/admin/v1/services/JT-0001", token=operator_token, json={"guide": {
        "result": {"name": {"zh-CN": "出租汽车驾驶员从业资格证"}, "licence_type": "no_such_licence"}}})
    assert edited.status == 200, edited.text
    await fetch("POST", "/admin/v1/services/JT-0001/unpublish", token=operator_token)
    refused = await fetch("POST", "/admin/v1/services/JT-0001/publish", token=operator_token)
    assert refused.status == 422
    assert ("guide", "not_found") in {(e["field"], e["code"]) for e in refused.json()["errors"]}


async def test_no_licence_without_a_real_name_or_after_a_rejection(demo_app, app, fetch, make_citizen,
                                                                    gongan_clerk) -> None:
    from tests.licence_support import upload

    form = {"applicant_name": "李四", "id_number": "110101199003074258", "phone": "13800138000", "purpose": "就业"}

    async def apply(token: str) -> str:
        made = await fetch("POST", "/api/v1/applications", token=token, json={
            "service_code": "GA-0010", "form": form, "materials": {"id_card": [await upload(fetch, token, "GA-0010", "id_card")]}})
        assert made.status == 201, made.text
        return made.json()["application_no"]

    _, anonymous = await make_citizen()  # no real name bound: nobody to bind a licence to
    no = await apply(anonymous)
    for step, extra in (("accept", {}), ("approve", {}), ("complete", {"result": "已出具"})):
        assert (await act(fetch, gongan_clerk, no, step, **extra)).status == 200
    done = (await fetch("GET", f"/api/v1/applications/{no}", token=anonymous)).json()
    assert done["status"] == "completed" and "licence_id" not in done["result"]

    _, token = await verified_citizen(fetch, make_citizen)
    rejected = await apply(token)
    for step, extra in (("accept", {}), ("reject", {"reason": "有犯罪记录，不予出具"}), ("complete", {})):
        assert (await act(fetch, gongan_clerk, rejected, step, **extra)).status == 200
    assert (await fetch("GET", "/api/v1/me/licences", token=token)).json()["total"] == 0
    assert await app.ctx.db.licences.count_documents({}) == 0
