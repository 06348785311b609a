"""Operator accounts over HTTP (issue 15, accounts): CRUD within scope, the password policy, lockout
with back-off, TOTP with recovery codes, sessions, and forced logout when what an account may do changes."""

from __future__ import annotations

import asyncio
import hashlib
import os

import argon2
import pyotp
import pytest

from models.operators import passwords

STRONG = "Hangzhou-2026!"


async def _me(fetch, token: str) -> dict:  # noqa: ANN001
    response = await fetch("GET", "/admin/v1/me", token=token)
    assert response.status == 200, response.text
    return response.json()


async def _login(fetch, username: str, password: str, **extra: str):  # noqa: ANN001, ANN202
    headers = {"User-Agent": extra.pop("user_agent", "pytest")}
    return await fetch("POST", "/admin/v1/auth/login", json={"username": username, "password": password, **extra},
                       headers=headers)


async def _create(fetch, token: str, username: str, roles: list[str], region_code: str = "330100",  # noqa: ANN001
                  department: str = "", password: str = STRONG):
    return await fetch("POST", "/admin/v1/operators", token=token, json={
        "username": username, "password": password, "name": f"测试 {username}", "roles": roles,
        "region_code": region_code, "department": department})


def _secret_free(body: object) -> None:
    text = repr(body)
    for leak in ("password_hash", "argon2", "scrypt$", "totp_secret", "totp_pending", "recovery_codes'"):
        assert leak not in text, f"{leak} in {text}"


async def test_platform_admin_creates_reads_changes_and_disables_an_operator(fetch, operator_token) -> None:
    created = await _create(fetch, operator_token, "clerk-hz", ["department_operator"], "330102", "gongan")
    assert created.status == 201, created.text
    clerk = created.json()
    _secret_free(clerk)
    assert (clerk["username"], clerk["roles"], clerk["region_code"], clerk["department"], clerk["active"]) == (
        "clerk-hz", ["department_operator"], "330102", "gongan", True)
    assert (await _create(fetch, operator_token, "clerk-hz", ["auditor"])).json()["code"] == "operator_exists"

    login = await _login(fetch, "clerk-hz", STRONG)
    assert login.status == 200, login.text
    assert login.json()["operator"]["roles"] == ["department_operator"]
    _secret_free(login.json())

    listed = (await fetch("GET", "/admin/v1/operators?page_size=100", token=operator_token)).json()
    assert "clerk-hz" in {item["username"] for item in listed["items"]} and listed["page_size"] == 100
    _secret_free(listed)
    url = f"/admin/v1/operators/{clerk['id']}"
    assert (await fetch("GET", url, token=operator_token)).json()["name"] == "测试 clerk-hz"
    patched = await fetch("PATCH", url, token=operator_token, json={"name": "王小明"})
    assert patched.status == 200 and patched.json()["name"] == "王小明", patched.text
    assert (await fetch("PATCH", url, token=operator_token, json={"username": "other"})).status == 422
    assert (await fetch("GET", "/admin/v1/operators/000000000000000000000000", token=operator_token)).status == 404
    assert (await fetch("GET", "/admin/v1/operators/nope", token=operator_token)).status == 404

    disabled = await fetch("DELETE", url, token=operator_token)
    assert disabled.status == 200 and disabled.json()["active"] is False, disabled.text
    assert (await _login(fetch, "clerk-hz", STRONG)).status == 401
    again = await fetch("PATCH", url, token=operator_token, json={"active": True})
    assert again.status == 200 and again.json()["active"] is True
    assert (await _login(fetch, "clerk-hz", STRONG)).status == 200


async def test_region_admin_manages_only_operators_within_their_region(fetch, operator_token, make_operator) -> None:
    inside = (await _create(fetch, operator_token, "clerk-xihu", ["department_operator"], "330106", "gongan")).json()
    outside = (await _create(fetch, operator_token, "clerk-nb", ["department_operator"], "330200", "gongan")).json()
    hangzhou = await make_operator("ra-hangzhou", ["region_admin"], "", "330100")

    listed = (await fetch("GET", "/admin/v1/operators?page_size=100", token=hangzhou)).json()
    names = {item["username"] for item in listed["items"]}
    assert "clerk-xihu" in names and "ra-hangzhou" in names
    assert not names & {"clerk-nb", "test-admin"} and listed["total"] == len(names)

    for method, body in (("GET", None), ("PATCH", {"name": "越权"}), ("DELETE", None)):
        response = await fetch(method, f"/admin/v1/operators/{outside['id']}", token=hangzhou, json=body)
        assert response.status == 403 and response.json()["code"] == "out_of_scope", (method, response.text)
    assert (await fetch("GET", f"/admin/v1/operators/{outside['id']}/sessions", token=hangzhou)).status == 403
    assert (await fetch("GET", f"/admin/v1/operators/{outside['id']}", token=operator_token)).json()["name"] == "测试 clerk-nb"

    # Creating: only inside their region, only roles they could hold, never a platform role.
    assert (await _create(fetch, hangzhou, "clerk-nb2", ["department_operator"], "330200")).json()["code"] == "out_of_scope"
    assert (await _create(fetch, hangzhou, "clerk-all", ["department_operator"], "")).json()["code"] == "out_of_scope"
    for role in ("platform_admin", "channel_manager"):
        refused = await _create(fetch, hangzhou, "boss-hz", [role], "330100")
        assert refused.status == 403 and refused.json()["code"] == "role_not_grantable", refused.text
    unknown = await _create(fetch, hangzhou, "boss-hz", ["superuser"], "330100")
    assert unknown.status == 422 and unknown.json()["errors"][0]["field"] == "roles", unknown.text
    assert unknown.json()["errors"][0]["code"] == "unknown_role"
    made = await _create(fetch, hangzhou, "cashier-xihu", ["finance", "auditor"], "330106", "gongan")
    assert made.status == 201, made.text

    # Changing one of theirs: not into a platform role, not out of their region.
    url = f"/admin/v1/operators/{inside['id']}"
    promoted = await fetch("PATCH", url, token=hangzhou, json={"roles": ["platform_admin"]})
    assert promoted.status == 403 and promoted.json()["code"] == "role_not_grantable"
    moved = await fetch("PATCH", url, token=hangzhou, json={"region_code": "330200"})
    assert moved.status == 403 and moved.json()["code"] == "out_of_scope"
    changed = await fetch("PATCH", url, token=hangzhou, json={"roles": ["finance"], "region_code": "330105"})
    assert changed.status == 200 and changed.json()["roles"] == ["finance"], changed.text

    # An operator of their region holding a platform role is not theirs to change.
    channel_man = (await _create(fetch, operator_token, "chan-hz", ["channel_manager"], "330100")).json()
    refused = await fetch("DELETE", f"/admin/v1/operators/{channel_man['id']}", token=hangzhou)
    assert refused.status == 403 and refused.json()["code"] == "operator_not_manageable"

    # Without operators.read nothing is listed.
    clerk = await make_operator("clerk-plain", ["department_operator"], "gongan", "330100")
    assert (await fetch("GET", "/admin/v1/operators", token=clerk)).status == 403


async def test_nobody_changes_their_own_authority_and_the_demo_admin_stays(demo_app, fetch, operator_token) -> None:
    me = await _me(fetch, operator_token)
    for body in ({"active": False}, {"roles": ["auditor"]}, {"region_code": "330100"}):
        refused = await fetch("PATCH", f"/admin/v1/operators/{me['id']}", token=operator_token, json=body)
        assert refused.status == 409 and refused.json()["code"] == "operator_self_change", refused.text
    assert (await fetch("PATCH", f"/admin/v1/operators/{me['id']}", token=operator_token, json={"name": "管理员甲"})).status == 200

    listed = (await fetch("GET", "/admin/v1/operators?page_size=100", token=operator_token)).json()
    admin = next(item for item in listed["items"] if item["username"] == "admin")
    assert admin["demo"] is True
    refused = await fetch("DELETE", f"/admin/v1/operators/{admin['id']}", token=operator_token)
    assert refused.status == 409 and refused.json()["code"] == "operator_demo"
    assert (await _login(fetch, "admin", demo_app.ctx.settings.admin_password)).status == 200


async def test_password_policy_with_field_errors_in_both_languages(fetch, operator_token) -> None:
    cases = {
        "Short1!": "password_too_short",
        "alllowercase123": "password_too_weak",  # two classes of four
        "Zhang.San-2026": "password_contains_username",
    }
    for password, code in cases.items():
        refused = await _create(fetch, operator_token, "zhang.san", ["auditor"], password=password)
        assert refused.status == 422, refused.text
        assert {(e["field"], e["code"]) for e in refused.json()["errors"]} == {("password", code)}
        assert any("密码" in e["message"] for e in refused.json()["errors"])
    english = await fetch("POST", "/admin/v1/operators", token=operator_token, headers={"Accept-Language": "en"},
                          json={"username": "zhang.san", "password": "short", "roles": ["auditor"]})
    assert english.json()["errors"][0]["message"] == "The password needs at least 10 characters"
    created = await _create(fetch, operator_token, "zhang.san", ["auditor"], password="浙江-Zheshi-2026")
    assert created.status == 201, created.text
    weak_reset = await fetch("PATCH", f"/admin/v1/operators/{created.json()['id']}", token=operator_token,
                             json={"password": "abcdefghijk"})
    assert weak_reset.status == 422 and weak_reset.json()["errors"][0]["code"] == "password_too_weak"


@pytest.mark.clock(2026, 3, 2, 9, 0)
async def test_lockout_backs_off_and_releases_after_the_time(fetch, make_operator, clock) -> None:
    await make_operator("desk-7", ["hall_staff"], "", "330100")
    for _ in range(4):
        wrong = await _login(fetch, "desk-7", "not-the-password")
        assert wrong.status == 401 and wrong.json()["code"] == "operator_login_failed"
    locked = await _login(fetch, "desk-7", "not-the-password")
    assert locked.status == 429 and locked.json()["code"] == "operator_locked", locked.text
    assert locked.headers["Retry-After"] == "60" and locked.headers["Content-Type"].startswith("application/problem+json")
    # Locked: even the right password is refused, and the wait is what is left of it.
    clock.advance(seconds=20)
    refused = await _login(fetch, "desk-7", "pw-desk-7")
    assert refused.status == 429 and refused.headers["Retry-After"] == "40"
    # After the lock, one more failure locks again, for twice as long.
    clock.advance(seconds=41)
    relocked = await _login(fetch, "desk-7", "still-wrong")
    assert relocked.status == 429 and relocked.headers["Retry-After"] == "120", relocked.text
    clock.advance(seconds=119)
    assert (await _login(fetch, "desk-7", "pw-desk-7")).status == 429
    clock.advance(seconds=2)
    assert (await _login(fetch, "desk-7", "pw-desk-7")).status == 200
    # A success forgets the failures: one wrong password is just wrong again.
    assert (await _login(fetch, "desk-7", "wrong-once")).status == 401


@pytest.mark.clock(2026, 3, 2, 9, 0)
async def test_concurrent_failures_lock_once(fetch, make_operator, clock) -> None:
    await make_operator("desk-8", ["hall_staff"], "", "330100")
    for _ in range(4):
        assert (await _login(fetch, "desk-8", "not-the-password")).status == 401
    answers = await asyncio.gather(*(_login(fetch, "desk-8", "not-the-password") for _ in range(4)))
    assert {a.status for a in answers} == {429} and {a.headers["Retry-After"] for a in answers} <= {"60", "59"}
    clock.advance(seconds=61)
    assert (await _login(fetch, "desk-8", "pw-desk-8")).status == 200


@pytest.mark.clock(2026, 3, 2, 9, 0)
async def test_unknown_usernames_lock_like_real_ones(fetch, clock) -> None:
    answers = [(await _login(fetch, "nobody-here", "whatever-1")).status for _ in range(5)]
    assert answers == [401, 401, 401, 401, 429]


@pytest.mark.clock(2026, 3, 2, 9, 0)
async def test_totp_login_with_and_without_a_code_and_recovery_codes_work_once(fetch, make_operator, operator_token,
                                                                               clock) -> None:
    token = await make_operator("auditor-1", ["auditor"], "", "330000")
    enrol = await fetch("POST", "/admin/v1/me/totp", token=token)
    assert enrol.status == 201, enrol.text
    secret = enrol.json()["secret"]
    assert enrol.json()["otpauth_uri"].startswith("otpauth://totp/CityGate:auditor-1?secret=" + secret)
    app = pyotp.TOTP(secret)

    # Not on until confirmed: login still needs no code.
    assert (await _login(fetch, "auditor-1", "pw-auditor-1")).status == 200
    wrong = await fetch("POST", "/admin/v1/me/totp/confirm", token=token, json={"code": "000000"})
    assert wrong.status == 422 and wrong.json()["errors"][0]["field"] == "code"
    confirmed = await fetch("POST", "/admin/v1/me/totp/confirm", token=token, json={"code": app.at(clock())})
    assert confirmed.status == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert (await fetch("POST", "/admin/v1/me/totp", token=token)).json()["code"] == "totp_enabled"

    missing = await _login(fetch, "auditor-1", "pw-auditor-1")
    assert missing.status == 401 and missing.json()["code"] == "totp_required" and missing.json()["totp_required"] is True
    assert (await _login(fetch, "auditor-1", "pw-auditor-1", totp="123456")).json()["code"] == "totp_invalid"
    clock.advance(seconds=30)  # the confirming code's step is used up
    code = app.at(clock())
    with_code = await _login(fetch, "auditor-1", "pw-auditor-1", totp=code)
    assert with_code.status == 200 and with_code.json()["operator"]["second_factor"] == "totp", with_code.text
    assert (await _login(fetch, "auditor-1", "pw-auditor-1", totp=code)).status == 401  # a code works once

    recovered = await _login(fetch, "auditor-1", "pw-auditor-1", recovery_code=codes[0].upper())
    assert recovered.status == 200 and recovered.json()["operator"]["second_factor"] == "recovery_code"
    assert (await _login(fetch, "auditor-1", "pw-auditor-1", recovery_code=codes[0])).status == 401
    me = await _me(fetch, token)
    assert me["totp_enabled"] is True and me["recovery_codes_left"] == 9
    _secret_free(me)
    _secret_free((await fetch("GET", f"/admin/v1/operators/{me['id']}", token=operator_token)).json())

    clock.advance(seconds=30)
    assert (await fetch("DELETE", "/admin/v1/me/totp", token=token, json={"code": "999999"})).status == 422
    assert (await fetch("DELETE", "/admin/v1/me/totp", token=token, json={"code": app.at(clock())})).status == 204
    assert (await _login(fetch, "auditor-1", "pw-auditor-1")).status == 200


async def test_sessions_are_listed_and_revocable(fetch, make_operator, operator_token) -> None:
    await make_operator("hall-1", ["hall_staff"], "", "330100")
    first = (await _login(fetch, "hall-1", "pw-hall-1", user_agent="Console/1.0 (desk)")).json()
    second = (await _login(fetch, "hall-1", "pw-hall-1", user_agent="Console/1.0 (tablet)")).json()
    mine = (await fetch("GET", "/admin/v1/me/sessions", token=first["access_token"])).json()
    assert [s["user_agent"] for s in mine["items"][:2]] == ["Console/1.0 (tablet)", "Console/1.0 (desk)"]
    assert all(s["ip"] == "127.0.0.1" and s["started_at"] for s in mine["items"][:2])
    assert [s["id"] for s in mine["items"] if s["current"]] == [first["session_id"]]

    operator_id = first["operator"]["id"]
    seen = (await fetch("GET", f"/admin/v1/operators/{operator_id}/sessions", token=operator_token)).json()
    assert {first["session_id"], second["session_id"]} <= {s["id"] for s in seen["items"]}

    # The owner ends one session: that token stops at once, the other goes on.
    ended = await fetch("DELETE", f"/admin/v1/me/sessions/{second['session_id']}", token=first["access_token"])
    assert ended.status == 204
    assert (await fetch("GET", "/admin/v1/me", token=second["access_token"])).status == 401
    assert (await fetch("GET", "/admin/v1/me", token=first["access_token"])).status == 200
    # A manager ends the other.
    url = f"/admin/v1/operators/{operator_id}/sessions/{first['session_id']}"
    assert (await fetch("DELETE", url, token=operator_token)).status == 204
    assert (await fetch("GET", "/admin/v1/me", token=first["access_token"])).status == 401
    assert (await fetch("DELETE", url, token=operator_token)).status == 404
    # Logging out is ending the session one calls from.
    third = (await _login(fetch, "hall-1", "pw-hall-1")).json()
    logout = await fetch("DELETE", f"/admin/v1/me/sessions/{third['session_id']}", token=third["access_token"])
    assert logout.status == 204
    assert (await fetch("GET", "/admin/v1/halls", token=third["access_token"])).status == 401


async def test_a_disabled_account_stops_working_at_once(fetch, make_operator, operator_token) -> None:
    token = await make_operator("ra-ningbo", ["region_admin"], "", "330200")
    session = (await _login(fetch, "ra-ningbo", "pw-ra-ningbo")).json()
    assert (await fetch("GET", "/admin/v1/operators", token=token)).status == 200
    disabled = await fetch("DELETE", f"/admin/v1/operators/{session['operator']['id']}", token=operator_token)
    assert disabled.status == 200, disabled.text
    for bearer in (token, session["access_token"]):
        assert (await fetch("GET", "/admin/v1/operators", token=bearer)).status == 401
        assert (await fetch("GET", "/admin/v1/me", token=bearer)).status == 401
    assert (await _login(fetch, "ra-ningbo", "pw-ra-ningbo")).status == 401


async def test_a_change_of_roles_or_scope_logs_the_operator_out(fetch, make_operator, operator_token) -> None:
    token = await make_operator("ra-wenzhou", ["region_admin"], "", "330300")
    operator_id = (await _me(fetch, token))["id"]
    changed = await fetch("PATCH", f"/admin/v1/operators/{operator_id}", token=operator_token, json={"roles": ["auditor"]})
    assert changed.status == 200, changed.text
    assert (await fetch("GET", "/admin/v1/me", token=token)).status == 401
    fresh = (await _login(fetch, "ra-wenzhou", "pw-ra-wenzhou")).json()
    assert fresh["operator"]["roles"] == ["auditor"]
    assert (await fetch("POST", "/admin/v1/operators", token=fresh["access_token"], json={})).status == 403
    # A name change is no change of authority: the session survives.
    await fetch("PATCH", f"/admin/v1/operators/{operator_id}", token=operator_token, json={"name": "温州审计"})
    assert (await fetch("GET", "/admin/v1/me", token=fresh["access_token"])).status == 200
    await fetch("PATCH", f"/admin/v1/operators/{operator_id}", token=operator_token, json={"region_code": "330302"})
    assert (await fetch("GET", "/admin/v1/me", token=fresh["access_token"])).status == 401


async def test_own_password_change_keeps_this_session_and_ends_the_others(fetch, make_operator) -> None:
    await make_operator("fin-1", ["finance"], "gongan", "330100")
    here = (await _login(fetch, "fin-1", "pw-fin-1")).json()["access_token"]
    there = (await _login(fetch, "fin-1", "pw-fin-1")).json()["access_token"]
    url = "/admin/v1/me/password"
    wrong = await fetch("POST", url, token=here, json={"current_password": "nope", "new_password": STRONG})
    assert wrong.status == 422 and wrong.json()["errors"][0]["field"] == "current_password"
    weak = await fetch("POST", url, token=here, json={"current_password": "pw-fin-1", "new_password": "fin-1-Password"})
    assert weak.status == 422 and weak.json()["errors"][0]["code"] == "password_contains_username"
    assert (await fetch("POST", url, token=here, json={"current_password": "pw-fin-1", "new_password": STRONG})).status == 204
    assert (await fetch("GET", "/admin/v1/me", token=here)).status == 200
    assert (await fetch("GET", "/admin/v1/me", token=there)).status == 401
    assert (await _login(fetch, "fin-1", "pw-fin-1")).status == 401
    assert (await _login(fetch, "fin-1", STRONG)).status == 200


async def test_scrypt_hashes_still_verify_and_are_upgraded_and_rehashed_when_parameters_change(
        app, fetch, monkeypatch) -> None:
    salt = os.urandom(16)
    digest = hashlib.scrypt(b"Old-Scrypt-Pass1", salt=salt, n=2**14, r=8, p=1, dklen=32)
    await app.ctx.db.operators.insert_one({
        "username": "veteran", "password_hash": f"scrypt${salt.hex()}${digest.hex()}", "roles": ["auditor"],
        "department": "", "region_code": "", "name": "老账号", "active": True, "version": 1})
    assert (await _login(fetch, "veteran", "Old-Scrypt-Pass2")).status == 401
    assert (await _login(fetch, "veteran", "Old-Scrypt-Pass1")).status == 200
    stored = (await app.ctx.db.operators.find_one({"username": "veteran"}))["password_hash"]
    assert stored.startswith("$argon2id$") and not passwords.HASHER.check_needs_rehash(stored)

    stronger = argon2.PasswordHasher(time_cost=passwords.HASHER.time_cost + 1, memory_cost=passwords.HASHER.memory_cost,
                                     parallelism=passwords.HASHER.parallelism)
    monkeypatch.setattr(passwords, "HASHER", stronger)
    assert (await _login(fetch, "veteran", "Old-Scrypt-Pass1")).status == 200
    rehashed = (await app.ctx.db.operators.find_one({"username": "veteran"}))["password_hash"]
    assert rehashed != stored and f"t={stronger.time_cost}," in rehashed
    assert (await _login(fetch, "veteran", "Old-Scrypt-Pass1")).status == 200


# ---- the pure rules, without a server ------------------------------------------------------------

def test_grantable_roles_stay_within_the_granters_own_permissions() -> None:
    from models import access
    from models.operators.accounts import grantable_roles

    assert grantable_roles(["platform_admin"]) == frozenset(access.ROLES)
    region = grantable_roles(["region_admin"])
    assert not region & access.PLATFORM_ROLES
    assert region == {"region_admin", "department_operator", "finance", "hall_staff", "auditor"}
    assert grantable_roles(["finance"]) == {"finance"}
    assert grantable_roles(["auditor"]) == {"auditor"}  # every read; but without operators.manage it grants nothing
    assert grantable_roles([]) == frozenset()


def test_password_policy_rules() -> None:
    ok = passwords.policy_errors
    assert ok("Correct-Horse-7", "clerk") == []
    assert ok("正确马电池订书钉Ab1", "clerk") == []  # Chinese characters count as symbols
    assert [e.code for e in ok("Aa1!", "x")] == ["password_too_short"]
    assert [e.code for e in ok("a" * 129 + "A1!", "x")] == ["password_too_long"]
    assert [e.code for e in ok("ABCDEFGH1234", "x")] == ["password_too_weak"]
    assert [e.code for e in ok("My-CLERK-pass1", "clerk")] == ["password_contains_username"]
    assert [e.code for e in ok(None, "x")] == ["required"]
    assert [e.code for e in ok("１２３４５６７８９０Aa", "x")] == []  # fullwidth digits are symbols here: still 3 classes


def test_totp_codes_match_this_step_or_one_either_side() -> None:
    from models.operators import totp

    secret = pyotp.random_base32()
    now = 1_772_413_200.0
    app = pyotp.TOTP(secret)
    step = int(now // 30)
    assert totp.matching_step(secret, app.at(now), now) == step
    assert totp.matching_step(secret, app.at(now - 30), now) == step - 1
    assert totp.matching_step(secret, app.at(now + 30), now) == step + 1
    assert totp.matching_step(secret, app.at(now - 90), now) is None
    assert totp.matching_step(secret, "１２３４５６", now) is None
    assert totp.matching_step(secret, {"$ne": None}, now) is None
