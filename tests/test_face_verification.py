"""刷脸 (face verification) over HTTP: the pension certification completed online through each sandbox,
one-time use, another citizen's verification, failed and expired checks, and rebinding a real name."""

from __future__ import annotations

import asyncio
import hashlib
import urllib.parse
from typing import Any

import pytest

from models import face
from models.catalogue.gate import guide_problems
from models.idcard import check_character
from models.ports import ChannelCallFailed, FaceSubject
from tests.identity_support import ALIPAY_APP, WECHAT_APP, alipay_login, wechat_fault, wechat_login

PENSION = "RS-0004"


def id_number(first17: str) -> str:
    return first17 + check_character(first17)


ELDER_ID = id_number("11010519450315003")
OTHER_ID = id_number("33010619520704002")


async def _login(fetch, channel: str, who: str) -> str:  # noqa: ANN001
    if channel == "wechat":
        return (await wechat_login(fetch, "o-" + who))["access_token"]
    return (await alipay_login(fetch, "2088" + str(int(hashlib.sha256(who.encode()).hexdigest(), 16) % 10**12).zfill(12)))[
        "access_token"]


async def _bind(fetch, token: str, name: str, number: str, **extra: Any) -> Any:  # noqa: ANN001
    return await fetch("POST", "/api/v1/me/realname", json={"name": name, "id_number": number, **extra}, token=token)


async def _start(fetch, token: str, channel: str, **body: Any) -> dict[str, Any]:  # noqa: ANN001
    payload = {"purpose": "service_application", "service_code": PENSION, "channel": channel,
               "app_id": WECHAT_APP if channel == "wechat" else ALIPAY_APP, **body}
    response = await fetch("POST", "/api/v1/me/face-verifications", json=payload, token=token)
    assert response.status == 201, response.text
    return response.json()


async def _perform(fetch, started: dict[str, Any], result: str = "pass") -> None:  # noqa: ANN001
    params = started["client"]["params"]
    if started["channel"] == "wechat":
        response = await fetch("POST", "/sandbox/wechat/test/face", json={"verify_id": params["verifyId"], "result": result})
    else:
        response = await fetch("POST", "/sandbox/alipay/test/face", json={"certify_id": params["certifyId"], "result": result})
    assert response.status == 200, response.text


async def _verified(fetch, token: str, channel: str, **body: Any) -> dict[str, Any]:  # noqa: ANN001
    started = await _start(fetch, token, channel, **body)
    await _perform(fetch, started)
    response = await fetch("POST", f"/api/v1/me/face-verifications/{started['id']}/confirm", token=token)
    assert response.status == 200, response.text
    assert response.json()["status"] == "verified"
    return response.json()


async def _certify(fetch, token: str, verification_id: str | None) -> Any:  # noqa: ANN001
    body: dict[str, Any] = {"service_code": PENSION, "form": {"applicant_name": "王秀兰", "id_number": ELDER_ID,
                                                              "relation": "本人"}}
    if verification_id is not None:
        body["face_verification_id"] = verification_id
    return await fetch("POST", "/api/v1/applications", json=body, token=token)


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
async def test_face_verification_completes_the_pension_certification_online(demo_app, fetch, channel: str) -> None:
    token = await _login(fetch, channel, "elder-" + channel)
    assert (await _bind(fetch, token, "王秀兰", ELDER_ID)).status == 200

    started = await _start(fetch, token, channel)
    assert started["status"] == "pending" and started["within_minutes"] == 10
    if channel == "wechat":
        assert started["client"]["call"] == "wx.requestFacialVerify" and started["client"]["params"]["verifyId"]
    else:
        assert started["client"]["call"] == "my.startAPVerify" and started["client"]["params"]["certifyId"]
        # The certification page is a signed gateway call the sandbox accepts (what my.startAPVerify opens).
        url = urllib.parse.urlsplit(started["client"]["params"]["url"])
        page = await fetch("GET", url.path + "?" + url.query)
        assert page.json()["alipay_user_certify_open_certify_response"]["code"] == "10000"
    assert ELDER_ID not in str(started) and "王秀兰" not in str(started)

    # Before the face check the channel has no result: nothing is verified.
    early = await fetch("POST", f"/api/v1/me/face-verifications/{started['id']}/confirm", token=token)
    if channel == "wechat":
        assert early.status == 409 and early.json()["code"] == "face_verification_pending"
        await _perform(fetch, started)
        confirmed = await fetch("POST", f"/api/v1/me/face-verifications/{started['id']}/confirm", token=token)
        assert confirmed.status == 200, confirmed.text
        assert confirmed.json()["status"] == "verified" and confirmed.json()["result_code"] == "10000"
        verification_id = started["id"]
    else:  # Alipay answers passed "F" until the check is done: that session failed, start another
        assert early.status == 409 and early.json()["code"] == "face_verification_failed"
        verification_id = (await _verified(fetch, token, channel))["id"]

    no_face = await _certify(fetch, token, None)
    assert no_face.status == 422 and no_face.json()["code"] == "face_verification_required"

    done = await _certify(fetch, token, verification_id)
    assert done.status == 201, done.text
    application = done.json()
    assert application["status"] == "completed"
    assert [step["action"] for step in application["timeline"]] == ["submit", "accept", "approve", "complete"]
    assert application["materials"] == {}  # nothing uploaded

    shown = await fetch("GET", f"/api/v1/me/face-verifications/{verification_id}", token=token)
    assert shown.json()["status"] == "consumed"
    record = await demo_app.ctx.db.face_verifications.find_one({"_id": verification_id})
    assert record["consumed_for"] == f"application:{application['application_no']}"
    assert ELDER_ID not in str(record) and "王秀兰" not in str(record)  # sealed, hashed: never in the clear


async def test_a_verification_is_used_once(demo_app, fetch) -> None:
    token = await _login(fetch, "wechat", "elder-replay")
    await _bind(fetch, token, "王秀兰", ELDER_ID)
    verification = await _verified(fetch, token, "wechat")
    assert (await _certify(fetch, token, verification["id"])).status == 201

    replay = await _certify(fetch, token, verification["id"])
    assert replay.status == 409 and replay.json()["code"] == "face_verification_used"
    again = await fetch("POST", f"/api/v1/me/face-verifications/{verification['id']}/confirm", token=token)
    assert again.json()["status"] == "consumed"  # confirming again verifies nothing anew
    assert (await _certify(fetch, token, verification["id"])).json()["code"] == "face_verification_used"


async def test_another_citizens_verification_is_refused(demo_app, fetch) -> None:
    elder = await _login(fetch, "wechat", "elder-a")
    await _bind(fetch, elder, "王秀兰", ELDER_ID)
    verification = await _verified(fetch, elder, "wechat")
    stranger = await _login(fetch, "wechat", "stranger-b")
    await _bind(fetch, stranger, "李建国", OTHER_ID)

    foreign = await _certify(fetch, stranger, verification["id"])
    assert foreign.status == 403 and foreign.json()["code"] == "face_verification_foreign"
    peek = await fetch("POST", f"/api/v1/me/face-verifications/{verification['id']}/confirm", token=stranger)
    assert peek.status == 404 and peek.json()["code"] == "face_verification_not_found"
    # Still the elder's to use.
    assert (await _certify(fetch, elder, verification["id"])).status == 201


@pytest.mark.parametrize("channel, code", [("wechat", "10004"), ("alipay", "F")])
async def test_a_failed_face_check_is_refused(demo_app, fetch, channel: str, code: str) -> None:
    token = await _login(fetch, channel, "elder-fail-" + channel)
    await _bind(fetch, token, "王秀兰", ELDER_ID)
    started = await _start(fetch, token, channel)
    await _perform(fetch, started, "fail")
    failed = await fetch("POST", f"/api/v1/me/face-verifications/{started['id']}/confirm", token=token)
    assert failed.status == 409 and failed.json()["code"] == "face_verification_failed"
    assert failed.json()["result_code"] == code
    refused = await _certify(fetch, token, started["id"])
    assert refused.status == 409 and refused.json()["code"] == "face_verification_failed"
    # The camera cannot be replayed for the same session either.
    again = await fetch("POST", "/sandbox/wechat/test/face" if channel == "wechat" else "/sandbox/alipay/test/face",
                        json={"verify_id": started["client"]["params"].get("verifyId"),
                              "certify_id": started["client"]["params"].get("certifyId"), "result": "pass"})
    assert again.status == 422


async def test_a_verification_older_than_the_item_allows_is_refused(demo_app, fetch, clock) -> None:
    token = await _login(fetch, "wechat", "elder-late")
    await _bind(fetch, token, "王秀兰", ELDER_ID)
    verification = await _verified(fetch, token, "wechat")
    clock.advance(minutes=11)
    late = await _certify(fetch, token, verification["id"])
    assert late.status == 409 and late.json()["code"] == "face_verification_expired"
    assert (await _certify(fetch, token, (await _verified(fetch, token, "wechat"))["id"])).status == 201


async def test_a_verification_needs_a_bound_real_name_and_an_item_that_asks_for_one(demo_app, fetch) -> None:
    token = await _login(fetch, "wechat", "elder-unbound")
    response = await fetch("POST", "/api/v1/me/face-verifications", token=token, json={
        "purpose": "service_application", "service_code": PENSION, "channel": "wechat", "app_id": WECHAT_APP})
    assert response.status == 409 and response.json()["code"] == "realname_required"
    await _bind(fetch, token, "王秀兰", ELDER_ID)
    response = await fetch("POST", "/api/v1/me/face-verifications", token=token, json={
        "purpose": "service_application", "service_code": "RS-0001", "channel": "wechat", "app_id": WECHAT_APP})
    assert response.status == 409 and response.json()["code"] == "face_verification_not_required"
    response = await fetch("POST", "/api/v1/me/face-verifications", token=token, json={
        "purpose": "anything", "channel": "wechat", "app_id": WECHAT_APP})
    assert response.status == 422 and response.json()["errors"][0]["field"] == "purpose"
    # Alipay's account cannot run WeChat's face call: a WeChat verification needs a login in that app.
    alipay_token = await _login(fetch, "alipay", "elder-alipay-only")
    await _bind(fetch, alipay_token, "李建国", OTHER_ID)
    response = await fetch("POST", "/api/v1/me/face-verifications", token=alipay_token, json={
        "purpose": "service_application", "service_code": PENSION, "channel": "wechat", "app_id": WECHAT_APP})
    assert response.status == 409 and response.json()["code"] == "wechat_login_required"


async def test_rebinding_a_real_name_after_a_phone_change(demo_app, fetch) -> None:
    old_account = await _login(fetch, "wechat", "elder-old-phone")
    assert (await _bind(fetch, old_account, "王秀兰", ELDER_ID)).status == 200
    new_account = await _login(fetch, "alipay", "elder-new-phone")

    # Without a face verification the number stays with the old account.
    refused = await _bind(fetch, new_account, "王秀兰", ELDER_ID)
    assert refused.status == 409 and refused.json()["code"] == "id_number_linked_to_other_citizen"

    # A verification of someone else does not open it either.
    other = await _verified(fetch, new_account, "alipay", purpose="rebind_realname", name="李建国", id_number=OTHER_ID)
    mismatch = await _bind(fetch, new_account, "王秀兰", ELDER_ID, face_verification_id=other["id"])
    assert mismatch.status == 409 and mismatch.json()["code"] == "face_verification_subject_mismatch"

    proof = await _verified(fetch, new_account, "alipay", purpose="rebind_realname", name="王秀兰", id_number=ELDER_ID)
    moved = await _bind(fetch, new_account, "王秀兰", ELDER_ID, face_verification_id=proof["id"])
    assert moved.status == 200, moved.text
    assert moved.json()["realname"]["id_number"].startswith("110") and ELDER_ID not in moved.text
    assert (await fetch("GET", "/api/v1/me", token=old_account)).json()["realname"] is None
    replay = await _bind(fetch, new_account, "王秀兰", ELDER_ID, face_verification_id=proof["id"])
    assert replay.status == 409 and replay.json()["code"] == "face_verification_used"

    # The same account replacing its own binding: refused without, allowed with a verification.
    changed = await _bind(fetch, new_account, "李建国", OTHER_ID)
    assert changed.status == 409 and changed.json()["code"] == "realname_already_bound"
    proof = await _verified(fetch, new_account, "alipay", purpose="rebind_realname", name="李建国", id_number=OTHER_ID)
    assert (await _bind(fetch, new_account, "李建国", OTHER_ID, face_verification_id=proof["id"])).status == 200
    # The old number is free again for whoever proves it.
    assert (await _bind(fetch, old_account, "王秀兰", ELDER_ID)).status == 200


async def test_sandboxes_answer_unknown_sessions_in_their_vendors_terms(demo_app) -> None:
    from models import channels
    ctx = demo_app.ctx
    subject = FaceSubject("王秀兰", ELDER_ID, openid="o-nobody")
    for app_id, kind in ((WECHAT_APP, channels.WECHAT_MINIPROGRAM), (ALIPAY_APP, channels.ALIPAY_MINIPROGRAM)):
        channel = await channels.get_enabled(ctx, app_id, kind)
        with pytest.raises(ChannelCallFailed) as failed:
            await ctx.face_verifiers[kind].query(channel, subject, "fv-unknown", "no-such-session")
        assert "40097" in failed.value.detail or "OPEN_CERTIFY_BILL_NOT_EXIST" in failed.value.detail \
            or "40004" in failed.value.detail
    channel = await channels.get_enabled(ctx, WECHAT_APP, channels.WECHAT_MINIPROGRAM)
    with pytest.raises(ChannelCallFailed):  # not an ID number: getverifyid refuses the certificate
        await ctx.face_verifiers[channels.WECHAT_MINIPROGRAM].start(channel, FaceSubject("王秀兰", "123", openid="o-x"),
                                                                   "fv-bad-cert")


def test_the_publish_gate_checks_an_items_face_requirement() -> None:
    def problems(rule: Any) -> list[str]:
        return [p.field for p in guide_problems({"face_verification": rule}) if p.field.startswith("face_verification")]

    assert problems({"within_minutes": 10, "auto_complete": True}) == []
    assert problems(None) == []
    assert problems({"within_minutes": 0}) == ["face_verification.within_minutes"]
    assert problems({"within_minutes": 10, "auto_complete": "yes"}) == ["face_verification.auto_complete"]
    assert problems({"within_minutes": 10, "photo": True}) == ["face_verification.photo"]
    assert problems("10 minutes") == ["face_verification"]
    assert face.requirement({"face_verification": {"within_minutes": 5}}) == {"within_minutes": 5}


async def test_operators_set_an_items_face_requirement_through_the_gate(demo_app, fetch, operator_token) -> None:
    bad = await fetch("PATCH", "/admin/v1/services/RS-0001", token=operator_token,
                      json={"face_verification": {"within_minutes": 0}})
    assert bad.status == 422 and bad.json()["code"] == "guide_incomplete"
    assert [e["field"] for e in bad.json()["errors"]] == ["face_verification.within_minutes"]
    good = await fetch("PATCH", "/admin/v1/services/RS-0001", token=operator_token,
                       json={"face_verification": {"within_minutes": 5}})
    assert good.status == 200, good.text
    shown = await fetch("GET", "/api/v1/services/RS-0001")
    assert shown.json()["face_verification"] == {"within_minutes": 5}
    removed = await fetch("PATCH", "/admin/v1/services/RS-0001", token=operator_token, json={"face_verification": None})
    assert removed.status == 200
    assert (await fetch("GET", "/api/v1/services/RS-0001")).json().get("face_verification") is None


async def test_a_draft_submitted_with_a_verification_completes_and_two_racing_submissions_get_one(demo_app, fetch) -> None:
    token = await _login(fetch, "wechat", "elder-draft")
    await _bind(fetch, token, "王秀兰", ELDER_ID)
    draft = await fetch("POST", "/api/v1/applications", token=token, json={
        "service_code": PENSION, "draft": True, "form": {"applicant_name": "王秀兰", "relation": "本人"}})
    assert draft.status == 201, draft.text  # a draft needs no verification yet
    no = draft.json()["application_no"]
    bare = await fetch("POST", f"/api/v1/applications/{no}/submit", token=token, json={"form": {
        "applicant_name": "王秀兰", "id_number": ELDER_ID, "relation": "本人"}})
    assert bare.status == 422 and bare.json()["code"] == "face_verification_required"
    verification = await _verified(fetch, token, "wechat")
    submitted = await fetch("POST", f"/api/v1/applications/{no}/submit", token=token, json={"form": {
        "applicant_name": "王秀兰", "id_number": ELDER_ID, "relation": "本人"}, "face_verification_id": verification["id"]})
    assert submitted.status == 200, submitted.text
    assert submitted.json()["status"] == "completed"

    verification = await _verified(fetch, token, "wechat")
    results = await asyncio.gather(*(_certify(fetch, token, verification["id"]) for _ in range(3)))
    assert sorted(r.status for r in results) == [201, 409, 409]
    assert await demo_app.ctx.db.applications.count_documents({"service_code": PENSION}) == 2


async def test_a_busy_channel_is_a_retry_not_a_verdict(demo_app, fetch) -> None:
    token = await _login(fetch, "wechat", "elder-busy")
    await _bind(fetch, token, "王秀兰", ELDER_ID)
    started = await _start(fetch, token, "wechat")
    await _perform(fetch, started)
    await wechat_fault(fetch, "face_queryverifyinfo", errcode=-1)
    busy = await fetch("POST", f"/api/v1/me/face-verifications/{started['id']}/confirm", token=token)
    assert busy.status == 503 and busy.json()["code"] == "channel_unavailable"
    confirmed = await fetch("POST", f"/api/v1/me/face-verifications/{started['id']}/confirm", token=token)
    assert confirmed.status == 200 and confirmed.json()["status"] == "verified"
