"""Importing licences issued elsewhere over HTTP: all or nothing, a per-row report, the department's
own types only, and imported licences in their holders' wallets."""

from __future__ import annotations

import datetime

import pytest

from tests.licence_support import HOLDER_ID, OTHER_ID, verified_citizen


@pytest.fixture
async def gongan_clerk(make_operator) -> str:
    return await make_operator("clerk-gongan", ["department_operator"], "gongan")


def _row(number: str, **changes: str) -> dict[str, str]:
    return {"type": "no_criminal_record", "number": number, "holder_name": "张三丰", "holder_id_number": HOLDER_ID,
            "valid_from": "2026-01-05", "valid_until": "2099-07-03", **changes}


async def test_a_batch_with_bad_rows_reports_each_and_imports_nothing(demo_app, app, fetch, gongan_clerk) -> None:
    rows = [_row("WF-0001"), _row("WF-0002", holder_id_number="110105194912310021"),
            _row("WF-0003", type="no_such_type"), _row("WF-0001"),
            _row("WF-0004", type="driving_licence"), _row("WF-0005", valid_from="2026-02-30", valid_until="2025-01-01"),
            _row("WF-0006")]
    refused = await fetch("POST", "/admin/v1/licences/imports", token=gongan_clerk, json={"rows": rows})
    assert refused.status == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "import_rejected"
    assert {(e["field"], e["code"]) for e in problem["errors"]} == {
        ("rows[1].holder_id_number", "id_number_check_digit"), ("rows[2].type", "licence_type_not_found"),
        ("rows[3].number", "duplicate_in_batch"), ("rows[4].type", "out_of_scope"),
        ("rows[5].valid_from", "invalid_date")}
    assert await app.ctx.db.licences.count_documents({}) == 0
    report = await fetch("GET", f"/admin/v1/licences/imports/{problem['import_id']}", token=gongan_clerk)
    assert report.status == 200
    assert (report.json()["status"], report.json()["total"], report.json()["processed"], report.json()["imported"]) == \
        ("rejected", 7, 7, 0)
    assert len(report.json()["errors"]) == 5


async def test_a_clean_csv_batch_lands_whole_in_the_holders_wallet(demo_app, app, fetch, make_citizen,
                                                                    gongan_clerk, make_operator) -> None:
    csv = ("\ufefftype,number,holder_name,holder_id_number,valid_from,valid_until\n"
           f"no_criminal_record,WF-1001,张三丰,{HOLDER_ID},2026-01-05,2099-07-03\n"
           f"resident_id_card,330100-ID-01,张三丰,{HOLDER_ID},2020-01-01,\n"
           f"no_criminal_record,WF-1002,李四,{OTHER_ID},2026-01-05,2099-07-03\n")
    imported = await fetch("POST", "/admin/v1/licences/imports", token=gongan_clerk, json={"csv": csv})
    assert imported.status == 201, imported.text
    assert (imported.json()["status"], imported.json()["imported"], imported.json()["errors"]) == ("completed", 3, [])

    # The holder binds their real name later: the imported licences are theirs.
    _, token = await verified_citizen(fetch, make_citizen)
    wallet = (await fetch("GET", "/api/v1/me/licences", token=token)).json()
    assert sorted(x["number"] for x in wallet["items"]) == ["330100-ID-01", "WF-1001"]
    long_term = next(x for x in wallet["items"] if x["type"] == "resident_id_card")
    assert long_term["valid_until"] is None and long_term["state"] == "valid"
    checked = (await fetch("GET", f"/api/v1/licences/verify?payload={long_term['qr_payload']}")).json()
    assert checked["state"] == "valid" and checked["holder_name"] == "张**"

    # The same numbers again: refused, nothing added.
    again = await fetch("POST", "/admin/v1/licences/imports", token=gongan_clerk, json={"csv": csv})
    assert again.status == 422 and {e["code"] for e in again.json()["errors"]} == {"licence_exists"}
    assert await app.ctx.db.licences.count_documents({}) == 3

    # Operators list their own department's licences only, holders masked.
    listed = (await fetch("GET", "/admin/v1/licences", token=gongan_clerk)).json()
    assert listed["total"] == 3 and all("*" in x["holder_id_number"] for x in listed["items"])
    taxi = await make_operator("clerk-jiaotong", ["department_operator"], "jiaotong")
    assert (await fetch("GET", "/admin/v1/licences", token=taxi)).json()["total"] == 0
    assert (await fetch("GET", f"/admin/v1/licences/imports/{imported.json()['import_id']}", token=taxi)).status == 404
    hall = await make_operator("hall-1", ["hall_staff"])
    assert (await fetch("POST", "/admin/v1/licences/imports", token=hall, json={"csv": csv})).status == 403


@pytest.mark.todays
async def test_an_imported_expired_licence_is_refused_as_a_material(demo_app, fetch, make_citizen, gongan_clerk,
                                                                     clock) -> None:
    today = clock.today
    rows = [_row("WF-2001", valid_from=(today - datetime.timedelta(days=200)).isoformat(),
                 valid_until=(today - datetime.timedelta(days=1)).isoformat()),
            _row("WF-2002", valid_from=(today - datetime.timedelta(days=10)).isoformat(), valid_until=today.isoformat())]
    assert (await fetch("POST", "/admin/v1/licences/imports", token=gongan_clerk, json={"rows": rows})).status == 201
    _, token = await verified_citizen(fetch, make_citizen)
    wallet = {x["number"]: x for x in (await fetch("GET", "/api/v1/me/licences", token=token)).json()["items"]}
    assert (wallet["WF-2001"]["state"], wallet["WF-2002"]["state"]) == ("expired", "valid")
    for number, expected in (("WF-2001", 422), ("WF-2002", 201)):
        answer = await fetch("POST", "/api/v1/applications", token=token, json={
            "service_code": "JT-0001", "draft": True,
            "licences": [{"material": "no_crime", "licence_id": wallet[number]["licence_id"], "consent": True}]})
        assert answer.status == expected, answer.text
    assert answer.json()["licences"]["no_crime"]["number"] == "WF-2002"


async def test_bad_batches_are_refused_before_any_row(demo_app, fetch, gongan_clerk) -> None:
    for body, field in (({}, "rows"), ({"rows": [], "csv": ""}, "rows"), ({"rows": []}, "rows"),
                        ({"csv": "type,number\nx,y\n"}, "csv"), ({"rows": "x"}, "rows")):
        answer = await fetch("POST", "/admin/v1/licences/imports", token=gongan_clerk, json=body)
        assert answer.status == 422, body
        assert answer.json()["errors"][0]["field"] == field


async def test_a_failure_midway_leaves_nothing_behind(demo_app, app, fetch, gongan_clerk, monkeypatch) -> None:
    """Someone takes a number between the check and the insert: the transaction drops every row."""
    from models.licences import imports

    signed = imports.store.signed
    calls = []

    async def racing(ctx, licence):
        calls.append(licence["number"])
        if len(calls) == 2:  # another import lands the third row's number meanwhile
            await app.ctx.db.licences.insert_one({"_id": "intruder", "number_key": "no_criminal_record:WF-3003",
                                                  "source_key": "elsewhere", "holder": {"index": "-"}})
        return await signed(ctx, licence)

    monkeypatch.setattr(imports.store, "signed", racing)
    rows = [_row("WF-3001"), _row("WF-3002"), _row("WF-3003"), _row("WF-3004")]
    failed = await fetch("POST", "/admin/v1/licences/imports", token=gongan_clerk, json={"rows": rows})
    assert failed.status == 422 and failed.json()["code"] == "import_failed"
    assert [doc["_id"] async for doc in app.ctx.db.licences.find({})] == ["intruder"]
    report = (await fetch("GET", f"/admin/v1/licences/imports/{failed.json()['import_id']}", token=gongan_clerk)).json()
    assert (report["status"], report["imported"]) == ("failed", 0)


async def test_encryption_key_rotation_re_encrypts_holders_and_signing_keys(demo_app, app, fetch, make_citizen,
                                                                            gongan_clerk) -> None:
    import base64

    from config.settings import DEFAULT_ENCRYPTION_KEY
    from models.crypto import FieldCipher
    from models.licences import store

    assert (await fetch("POST", "/admin/v1/licences/imports", token=gongan_clerk,
                        json={"rows": [_row("WF-4001")]})).status == 201
    ctx = app.ctx
    old_kid = ctx.cipher.current_kid
    ctx.cipher = FieldCipher([("k2", b"rotated-key-for-tests-32-bytes!!"),
                              (old_kid, base64.b64decode(DEFAULT_ENCRYPTION_KEY))])
    keys = await ctx.db.licence_keys.count_documents({})
    assert await store.rotate_licence_secrets(ctx) == 2 + keys
    assert await store.rotate_licence_secrets(ctx) == 0
    licence = await ctx.db.licences.find_one({})
    assert licence["holder"]["id_cipher"].startswith("k2.") and licence["holder"]["name_cipher"].startswith("k2.")
    # Blind indexes stay: the holder's wallet finds it; the rotated signing key still signs.
    _, token = await verified_citizen(fetch, make_citizen)
    [held] = (await fetch("GET", "/api/v1/me/licences", token=token)).json()["items"]
    assert (await fetch("GET", f"/api/v1/licences/verify?payload={held['qr_payload']}")).json()["state"] == "valid"
    again = await fetch("POST", "/admin/v1/licences/imports", token=gongan_clerk, json={"rows": [_row("WF-4002")]})
    assert again.status == 201
