"""Phone and real-name binding, profile edits, and linking two accounts only with proof from both."""

from __future__ import annotations

import pytest
from bson import ObjectId

from tests.identity_support import (
    ALIPAY_APP,
    WECHAT_APP,
    alipay_code,
    alipay_login,
    phone_code,
    wechat_code,
    wechat_login,
    with_demo_channels,
)

PHONE = "13812341234"
ID_NUMBER = "11010519491231002X"
OTHER_ID_NUMBER = "110101199003071233"


@pytest.fixture
async def channels_app(app):  # noqa: ANN001, ANN201
    return await with_demo_channels(app)


async def bind_realname(fetch, token: str, id_number: str = ID_NUMBER, name: str = "张三"):  # noqa: ANN001, ANN201
    return await fetch("POST", "/api/v1/me/realname", json={"name": name, "id_number": id_number}, token=token)


# ---- phone -------------------------------------------------------------------------------------------
async def test_bind_phone_with_a_getphonenumber_code(channels_app, fetch) -> None:
    session = await wechat_login(fetch, "o-phone")
    code = await phone_code(fetch, PHONE)
    response = await fetch("POST", "/api/v1/me/phone", json={"code": code}, token=session["access_token"])
    assert response.status == 200, response.text
    assert response.json()["phone"] == "138****1234"
    assert PHONE not in response.text
    me = await fetch("GET", "/api/v1/me", token=session["access_token"])
    assert me.json()["phone"] == "138****1234" and me.json()["phone_verified_at"]
    stored = await channels_app.ctx.db.citizens.find_one({})
    assert PHONE not in str(stored)
    assert channels_app.ctx.cipher.decrypt(stored["phone"]["cipher"], "citizen.phone") == PHONE
    again = await fetch("POST", "/api/v1/me/phone", json={"code": code}, token=session["access_token"])
    assert again.status == 422
    assert again.json()["errors"][0]["code"] == "wechat_phone_code_invalid"


async def test_bind_phone_with_encrypted_data_and_iv(channels_app, fetch) -> None:
    session = await wechat_login(fetch, "o-legacy")
    sealed = (await fetch("POST", "/sandbox/wechat/test/encrypted-data",
                          json={"app_id": WECHAT_APP, "openid": "o-legacy", "phone": PHONE})).json()
    response = await fetch("POST", "/api/v1/me/phone", token=session["access_token"],
                           json={"encrypted_data": sealed["encrypted_data"], "iv": sealed["iv"]})
    assert response.status == 200, response.text
    assert response.json()["phone"] == "138****1234"


async def test_encrypted_data_for_another_app_or_an_old_session_is_refused(channels_app, fetch) -> None:
    session = await wechat_login(fetch, "o-mixup")
    foreign = (await fetch("POST", "/sandbox/wechat/test/encrypted-data", json={
        "app_id": WECHAT_APP, "openid": "o-mixup", "phone": PHONE, "watermark_app_id": "wxsomeoneelse0001"})).json()
    response = await fetch("POST", "/api/v1/me/phone", token=session["access_token"],
                           json={"encrypted_data": foreign["encrypted_data"], "iv": foreign["iv"]})
    assert response.status == 422 and response.json()["errors"][0]["field"] == "encrypted_data"
    old = (await fetch("POST", "/sandbox/wechat/test/encrypted-data",
                       json={"app_id": WECHAT_APP, "openid": "o-mixup", "phone": PHONE})).json()
    await wechat_login(fetch, "o-mixup")  # a new login rotates the session key
    response = await fetch("POST", "/api/v1/me/phone", token=session["access_token"],
                           json={"encrypted_data": old["encrypted_data"], "iv": old["iv"]})
    assert response.status == 422 and response.json()["errors"][0]["code"] == "wechat_data_invalid"


async def test_changing_the_phone_frees_the_old_number(channels_app, fetch) -> None:
    first = await wechat_login(fetch, "o-changer")
    other = await wechat_login(fetch, "o-newowner")
    for number in (PHONE, "13900001111"):
        response = await fetch("POST", "/api/v1/me/phone", json={"code": await phone_code(fetch, number)},
                               token=first["access_token"])
        assert response.status == 200
    taken_over = await fetch("POST", "/api/v1/me/phone", json={"code": await phone_code(fetch, PHONE)},
                             token=other["access_token"])
    assert taken_over.status == 200 and taken_over.json()["phone"] == "138****1234"


async def test_a_phone_bound_to_another_citizen_is_not_linked_silently(channels_app, fetch) -> None:
    owner = await wechat_login(fetch, "o-owner")
    claimant = await wechat_login(fetch, "o-claimant")
    assert (await fetch("POST", "/api/v1/me/phone", json={"code": await phone_code(fetch, PHONE)},
                        token=owner["access_token"])).status == 200
    response = await fetch("POST", "/api/v1/me/phone", json={"code": await phone_code(fetch, PHONE)},
                           token=claimant["access_token"])
    assert (response.status, response.json()["code"]) == (409, "phone_linked_to_other_citizen")
    assert response.json()["link_with"] == "/api/v1/me/link"
    assert (await fetch("GET", "/api/v1/me", token=claimant["access_token"])).json()["phone"] is None


async def test_phone_needs_a_wechat_app(channels_app, fetch) -> None:
    session = await alipay_login(fetch, "2088000000000020")
    response = await fetch("POST", "/api/v1/me/phone", json={"code": "whatever"}, token=session["access_token"])
    assert response.status == 422 and response.json()["errors"][0]["field"] == "app_id"
    assert (await fetch("POST", "/api/v1/me/phone", json={"code": "x"})).status == 401


# ---- real name -----------------------------------------------------------------------------------------
async def test_realname_binding_is_validated_encrypted_and_masked(channels_app, fetch) -> None:
    session = await wechat_login(fetch, "o-realname")
    bad = await bind_realname(fetch, session["access_token"], "110105194912310021")
    assert bad.status == 422
    assert [(e["field"], e["code"]) for e in bad.json()["errors"]] == [("id_number", "id_number_check_digit")]
    english = await fetch("POST", "/api/v1/me/realname", token=session["access_token"],
                          json={"name": "张三", "id_number": "110105194912310021"}, headers={"Accept-Language": "en"})
    assert "check digit" in english.json()["errors"][0]["message"]
    both = await bind_realname(fetch, session["access_token"], "123", name="")
    assert {e["field"] for e in both.json()["errors"]} == {"name", "id_number"}

    good = await bind_realname(fetch, session["access_token"])
    assert good.status == 200, good.text
    assert good.json()["realname"]["id_number"] == "110***********002X"
    assert good.json()["realname"]["name"] == "张三"
    assert ID_NUMBER not in good.text
    me = await fetch("GET", "/api/v1/me", token=session["access_token"])
    assert me.json()["realname"]["id_number"] == "110***********002X" and ID_NUMBER not in me.text
    stored = await channels_app.ctx.db.citizens.find_one({})
    assert ID_NUMBER not in str(stored)
    assert stored["realname"]["index"] == channels_app.ctx.cipher.blind_index(ID_NUMBER, "id_number")
    # the same number again is fine (lower-case x too); another number is not
    assert (await bind_realname(fetch, session["access_token"], ID_NUMBER.lower())).status == 200
    change = await bind_realname(fetch, session["access_token"], OTHER_ID_NUMBER)
    assert (change.status, change.json()["code"]) == (409, "realname_already_bound")


async def test_an_id_number_bound_elsewhere_is_refused(channels_app, fetch) -> None:
    first = await wechat_login(fetch, "o-id-first")
    second = await alipay_login(fetch, "2088000000000021")
    assert (await bind_realname(fetch, first["access_token"])).status == 200
    response = await bind_realname(fetch, second["access_token"])
    assert (response.status, response.json()["code"]) == (409, "id_number_linked_to_other_citizen")


# ---- profile ------------------------------------------------------------------------------------------
# The same number in fullwidth (全角) and Arabic-Indic digits, region code left in ASCII as an IME
# switched mid-number leaves it.
FULLWIDTH_ID_NUMBER = "11" + "".join(chr(0xFF10 + int(c)) for c in ID_NUMBER[2:17]) + "X"
ARABIC_INDIC_ID_NUMBER = "11" + "".join(chr(0x0660 + int(c)) for c in ID_NUMBER[2:17]) + "x"


async def test_an_id_number_in_other_digits_is_the_same_number(channels_app, fetch) -> None:
    first = await wechat_login(fetch, "o-id-ascii")
    second = await alipay_login(fetch, "2088000000000031")
    third = await wechat_login(fetch, "o-id-arabic")
    assert (await bind_realname(fetch, first["access_token"])).status == 200
    for session, written in ((second, FULLWIDTH_ID_NUMBER), (third, ARABIC_INDIC_ID_NUMBER)):
        response = await bind_realname(fetch, session["access_token"], written)
        assert (response.status, response.json()["code"]) == (409, "id_number_linked_to_other_citizen"), response.text
    again = await bind_realname(fetch, first["access_token"], FULLWIDTH_ID_NUMBER)  # the owner's own number
    assert again.status == 200 and again.json()["realname"]["id_number"] == "110***********002X"
    index = channels_app.ctx.cipher.blind_index(ID_NUMBER, "id_number")
    assert await channels_app.ctx.db.identities.count_documents({"kind": "id_number"}) == 1
    assert await channels_app.ctx.db.identities.find_one({"_id": f"idno:{index}"})
    stored = await channels_app.ctx.db.citizens.find_one({"_id": ObjectId(first["citizen"]["id"])})
    assert stored["realname"]["index"] == index
    assert channels_app.ctx.cipher.decrypt(stored["realname"]["id_cipher"], "citizen.id_number") == ID_NUMBER


async def test_an_id_number_in_mixed_digit_scripts_is_a_field_error(channels_app, fetch) -> None:
    session = await wechat_login(fetch, "o-id-garbage")
    garbage = "11" + "".join(chr(0x0660 + int(c)) for c in ID_NUMBER[2:9]) + \
        "".join(chr(0x0966 + int(c)) for c in ID_NUMBER[9:17]) + "X"
    response = await fetch("POST", "/api/v1/me/realname", token=session["access_token"],
                           json={"name": "张三", "id_number": garbage}, headers={"Accept-Language": "en"})
    assert response.status == 422 and response.headers["Content-Type"].startswith("application/problem+json")
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("id_number", "id_number_format")]
    assert response.json()["errors"][0]["message"].startswith("An ID number")
    assert await channels_app.ctx.db.identities.count_documents({"kind": "id_number"}) == 0


@pytest.mark.settings(realname_attempts_per_hour=3)
async def test_realname_attempts_are_rate_limited_per_citizen(channels_app, fetch) -> None:
    guesser = await wechat_login(fetch, "o-id-guesser")
    for last in "123":  # wrong check digits: each one an attempt
        response = await bind_realname(fetch, guesser["access_token"], ID_NUMBER[:17] + last)
        assert response.status == 422
    blocked = await bind_realname(fetch, guesser["access_token"])  # even the right number now waits
    assert (blocked.status, blocked.json()["code"]) == (429, "realname_rate_limited")
    assert 1 <= int(blocked.headers["Retry-After"]) <= 3600
    assert (await fetch("GET", "/api/v1/me", token=guesser["access_token"])).json()["realname"] is None
    other = await alipay_login(fetch, "2088000000000032")
    assert (await bind_realname(fetch, other["access_token"])).status == 200


async def test_patch_profile(channels_app, fetch) -> None:
    session = await wechat_login(fetch, "o-profile")
    token = session["access_token"]
    response = await fetch("PATCH", "/api/v1/me", json={"nickname": " 小张 ", "language": "en"}, token=token)
    assert response.status == 200 and response.json()["profile"] == {"nickname": "小张", "language": "en"}
    invalid = await fetch("PATCH", "/api/v1/me", json={"nickname": "", "avatar_url": "ftp://x", "phone": "1",
                                                       "language": "fr"}, token=token)
    assert invalid.status == 422
    assert {(e["field"], e["code"]) for e in invalid.json()["errors"]} == {
        ("nickname", "invalid"), ("avatar_url", "invalid"), ("phone", "unknown_field"), ("language", "invalid")}
    cleared = await fetch("PATCH", "/api/v1/me", json={"language": None}, token=token)
    assert cleared.json()["profile"] == {"nickname": "小张"}


# ---- linking ------------------------------------------------------------------------------------------
async def test_linking_needs_proof_from_the_other_side(channels_app, fetch) -> None:
    wechat = await wechat_login(fetch, "o-link-a")
    alipay = await alipay_login(fetch, "2088000000000030")
    assert (await bind_realname(fetch, wechat["access_token"])).status == 200
    conflict = await bind_realname(fetch, alipay["access_token"])
    assert conflict.json()["code"] == "id_number_linked_to_other_citizen"

    no_proof = await fetch("POST", "/api/v1/me/link", json={}, token=alipay["access_token"])
    assert no_proof.status == 422
    false_proof = await fetch("POST", "/api/v1/me/link", token=alipay["access_token"],
                              json={"channel": "wechat", "app_id": WECHAT_APP, "code": "0" * 32})
    assert (false_proof.status, false_proof.json()["code"]) == (401, "wechat_code_invalid")
    assert (await fetch("POST", "/api/v1/me/link", json={"channel": "wechat"})).status == 401
    assert await channels_app.ctx.db.citizens.count_documents({"status": "active"}) == 2

    proof = await wechat_code(fetch, "o-link-a")
    linked = await fetch("POST", "/api/v1/me/link", token=alipay["access_token"],
                         json={"channel": "wechat", "app_id": WECHAT_APP, "code": proof})
    assert linked.status == 200, linked.text
    body = linked.json()
    assert body["status"] == "merged" and body["citizen"]["id"] == alipay["citizen"]["id"]
    assert {i["kind"] for i in body["citizen"]["identities"]} == {"alipay_user_id", "alipay_open_id", "wechat_openid"}
    assert body["citizen"]["realname"]["id_number"] == "110***********002X"
    # the merged account's sessions are over; logging in through WeChat now reaches the survivor
    assert (await fetch("GET", "/api/v1/me", token=wechat["access_token"])).status == 401
    assert (await wechat_login(fetch, "o-link-a"))["citizen"]["id"] == alipay["citizen"]["id"]
    link = await channels_app.ctx.db.citizen_links.find_one({})
    assert (link["kept"], link["merged"]) == (alipay["citizen"]["id"], wechat["citizen"]["id"])
    again = await fetch("POST", "/api/v1/me/link", token=alipay["access_token"],
                        json={"channel": "wechat", "app_id": WECHAT_APP, "code": await wechat_code(fetch, "o-link-a")})
    assert again.json()["status"] == "already_linked", again.text


async def test_linking_a_new_channel_account_attaches_it(channels_app, fetch) -> None:
    wechat = await wechat_login(fetch, "o-attach")
    response = await fetch("POST", "/api/v1/me/link", token=wechat["access_token"], json={
        "channel": "alipay", "app_id": ALIPAY_APP, "auth_code": await alipay_code(fetch, "2088000000000031")})
    assert response.status == 200 and response.json()["status"] == "linked"
    assert (await alipay_login(fetch, "2088000000000031"))["citizen"]["id"] == wechat["citizen"]["id"]
    assert await channels_app.ctx.db.citizens.count_documents({}) == 1


async def test_accounts_with_different_id_numbers_cannot_be_linked(channels_app, fetch) -> None:
    wechat = await wechat_login(fetch, "o-diff")
    alipay = await alipay_login(fetch, "2088000000000032")
    await bind_realname(fetch, wechat["access_token"])
    await bind_realname(fetch, alipay["access_token"], OTHER_ID_NUMBER, name="李四")
    response = await fetch("POST", "/api/v1/me/link", token=alipay["access_token"],
                           json={"channel": "wechat", "app_id": WECHAT_APP, "code": await wechat_code(fetch, "o-diff")})
    assert (response.status, response.json()["code"]) == (409, "realname_conflict")
    assert (await fetch("GET", "/api/v1/me", token=wechat["access_token"])).status == 200


async def test_merging_keeps_the_callers_phone_and_frees_the_other(channels_app, fetch) -> None:
    caller = await wechat_login(fetch, "o-keeps")
    other = await wechat_login(fetch, "o-merged")
    third = await alipay_login(fetch, "2088000000000033")
    for session, number in ((caller, "13900000001"), (other, "13900000002")):
        response = await fetch("POST", "/api/v1/me/phone", json={"code": await phone_code(fetch, number)},
                               token=session["access_token"])
        assert response.status == 200
    linked = await fetch("POST", "/api/v1/me/link", token=caller["access_token"],
                         json={"channel": "wechat", "app_id": WECHAT_APP, "code": await wechat_code(fetch, "o-merged")})
    assert linked.json()["status"] == "merged" and linked.json()["citizen"]["phone"] == "139****0001"
    # the merged account's number is free again: someone else may bind it
    freed = await fetch("POST", "/api/v1/me/phone", token=third["access_token"], json={
        "code": await phone_code(fetch, "13900000002"), "app_id": WECHAT_APP})
    assert freed.status == 200 and freed.json()["phone"] == "139****0002"
