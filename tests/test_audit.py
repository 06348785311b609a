"""The audit log (操作留痕) over HTTP: who (id and username), when, from where, what changed (field
names, never values), searchable by operator, object, action and time, exported as CSV, scoped."""

from __future__ import annotations

import asyncio
import csv
import datetime
import inspect
import io
import json

import pytest

from models import audit
from models.core import csvfile

SECRET = "s3cr3t-audit-value-9f8e7d"
WECHAT = {"kind": "wechat_miniprogram", "app_id": "wxaudit000000001", "name": "审计测试渠道",
          "api_base_url": "https://api.weixin.qq.com", "secrets": {"app_secret": SECRET},
          "templates": {"application_status": "tmpl-123"}}


async def entries(fetch, token: str, query: str = "", at_least: int = 1) -> list[dict]:
    """The audit entries matching `query`, waiting for the ones just written after their responses."""
    for _ in range(60):
        response = await fetch("GET", "/admin/v1/audit" + query, token=token)
        assert response.status == 200, response.text
        items = response.json()["items"]
        if len(items) >= at_least:
            return items
        await asyncio.sleep(0.05)
    return items


async def stored(app) -> list[dict]:
    for _ in range(60):
        docs = await app.ctx.db.audit_log.find({}).to_list(None)
        if docs:
            return docs
        await asyncio.sleep(0.05)
    return []


# ---- pure rules ----------------------------------------------------------------------------------------
def test_field_names_are_names_only() -> None:
    body = {"name": {"zh-CN": "x"}, "guide": {"fee": {"amount_fen": 1, "free": False}},
            "materials": [{"name": "身份证", "copies": 1}, {"name": "照片"}], "13800138000": "phone-as-key",
            "张三": 1, "secrets": {"app_secret": SECRET}}
    names = audit.field_names(body)
    assert names == ["name", "name.zh-CN", "guide", "guide.fee", "guide.fee.amount_fen", "guide.fee.free", "materials",
                     "materials[].name", "materials[].copies", "*", "secrets", "secrets.app_secret"]
    assert SECRET not in json.dumps(names) and "13800138000" not in json.dumps(names)
    assert len(audit.field_names({f"k{n}": n for n in range(1000)})) == audit.FIELDS_MAX
    deep: dict = {}
    cursor = deep
    for _ in range(50):
        cursor["a"] = {}
        cursor = cursor["a"]
    assert len(audit.field_names(deep)) == audit.FIELD_DEPTH_MAX + 1
    assert audit.field_names([1, 2]) == [] and audit.field_names("text") == []


def test_only_a_create_names_its_object_from_the_body() -> None:
    assert audit.object_ids("POST", "/admin/v1/services", {"code": "GA-9001", "name": "x"}) == ["GA-9001"]
    assert audit.object_ids("POST", "/admin/v1/channels", {"app_id": "wx1", "code": "GA-1"}) == ["wx1"]
    assert audit.object_ids("POST", "/admin/v1/services", {"code": "13800138000 张三"}) == []
    assert audit.object_ids("POST", "/admin/v1/me/totp/confirm", {"code": "123456"}) == []  # a one-time code
    assert audit.object_ids("PATCH", "/admin/v1/services", {"code": "GA-1"}) == []


def test_action_names() -> None:
    cases = [("POST", "/admin/v1/services", "services.create"), ("PATCH", "/admin/v1/services/{code}", "services.update"),
             ("DELETE", "/admin/v1/services/{code}", "services.delete"),
             ("POST", "/admin/v1/services/{code}/publish", "services.publish"),
             ("POST", "/admin/v1/halls/{id}/windows/{n}/call-next", "halls.windows.call-next")]
    for method, template, name in cases:
        assert audit.action_name(method, template) == name


def test_entries_hold_no_bodies_and_are_only_inserted() -> None:
    doc = audit.entry(at=datetime.datetime(2025, 9, 22, 2, 0, tzinfo=datetime.UTC), operator_id="op",
                      operator_username="alice", method="post", route=r"/admin/v1/channels/([^/]+)",
                      template="/admin/v1/channels/{app_id}",
                      path_params={"app_id": "wx1"}, status=409, request_id="r", summary="x" * 500,
                      fields=["secrets.app_secret"], objects=["wx1", "wx2"])
    assert doc["outcome"] == "refused" and len(doc["summary"]) == audit.SUMMARY_MAX
    assert doc["action"] == "POST /admin/v1/channels/{app_id}" and doc["action_name"] == "channels.create"
    assert doc["objects"] == ["wx1", "wx2"]
    assert "body" not in inspect.signature(audit.record).parameters
    source = inspect.getsource(audit)
    for verb in ("update_one", "update_many", "replace_one", "delete_one", "delete_many", "find_one_and"):
        assert verb not in source


def test_csv_cells_never_run_as_formulas() -> None:
    body = csvfile.encode(["a", "b"], [["=HYPERLINK(\"x\")", -3], ["+1", "中文"]], ["# end"])
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [["a", "b"], ["'=HYPERLINK(\"x\")", "-3"], ["'+1", "中文"], ["# end"]]


# ---- over HTTP -----------------------------------------------------------------------------------------
async def test_a_write_is_found_by_username_with_field_names_but_no_values(demo_app, fetch, make_operator) -> None:
    admin = await make_operator("zhang.wei", ["platform_admin"])
    created = await fetch("POST", "/admin/v1/channels", json=WECHAT, token=admin)
    assert created.status == 201, created.text
    found = await entries(fetch, admin, "?operator=zhang.wei")
    assert len(found) == 1
    entry = found[0]
    assert entry["operator_username"] == "zhang.wei" and entry["operator_id"]
    assert (entry["method"], entry["action"], entry["action_name"]) == ("POST", "POST /admin/v1/channels", "channels.create")
    assert entry["status"] == 201 and entry["outcome"] == "succeeded"
    assert {"kind", "app_id", "secrets", "secrets.app_secret", "templates.application_status"} <= set(entry["fields"])
    assert entry["objects"] == [WECHAT["app_id"]]  # the created object's id, searchable as object=
    assert entry["client_ip"] == "127.0.0.1"
    # The same entry by operator id; the stored document and the answer hold no value of the body.
    assert [e["id"] for e in await entries(fetch, admin, "?operator=" + entry["operator_id"])] == [entry["id"]]
    answer = (await fetch("GET", "/admin/v1/audit?operator=zhang.wei", token=admin)).text
    docs = await demo_app.ctx.db.audit_log.find({}).to_list(None)
    for text in (answer, repr(docs)):
        assert SECRET not in text and "tmpl-123" not in text and "审计测试渠道" not in text
    assert await entries(fetch, admin, "?operator=nobody", at_least=0) == []


async def test_refused_writes_are_audited_too_with_their_scope(demo_app, fetch, make_operator) -> None:
    clerk = await make_operator("ga-clerk", ["department_operator"], "gongan", "330100")
    refused = await fetch("PATCH", "/admin/v1/services/GA-0001", token=clerk,
                          json={"guide": {"fee": {"amount_fen": 99}, "legal_basis": {"zh-CN": "有关规定"}}})
    assert refused.status >= 400
    (doc,) = await stored(demo_app)
    assert (doc["operator_username"], doc["department"], doc["region_code"]) == ("ga-clerk", "gongan", "330100")
    assert doc["path_params"] == {"code": "GA-0001"} and doc["objects"] == ["GA-0001"]
    assert doc["outcome"] == "refused" and doc["status"] == refused.status
    assert doc["fields"] == ["guide", "guide.fee", "guide.fee.amount_fen", "guide.legal_basis", "guide.legal_basis.zh-CN"]
    assert "有关规定" not in repr(doc) and 99 not in doc.values()


async def test_a_one_time_code_is_neither_a_field_value_nor_an_object(demo_app, fetch, make_operator) -> None:
    admin = await make_operator("totp-admin", ["platform_admin"])
    await fetch("POST", "/admin/v1/me/totp/confirm", json={"code": "918273"}, token=admin)
    (entry,) = await entries(fetch, admin, "?operator=totp-admin")
    assert entry["fields"] == ["code"] and entry["objects"] == []
    assert "918273" not in repr(await demo_app.ctx.db.audit_log.find({}).to_list(None))


@pytest.mark.settings(trust_proxy_headers=True)
async def test_client_address_from_a_trusted_proxy(demo_app, fetch, make_operator) -> None:
    admin = await make_operator("proxy-admin", ["platform_admin"])
    await fetch("PATCH", "/admin/v1/channels/wxdemo0000000001", json={"name": "演示"}, token=admin,
                headers={"X-Real-IP": "10.20.30.40"})
    (entry,) = await entries(fetch, admin, "?operator=proxy-admin")
    assert entry["client_ip"] == "10.20.30.40"


async def test_a_forged_address_is_not_recorded_without_a_trusted_proxy(demo_app, fetch, make_operator) -> None:
    admin = await make_operator("direct-admin", ["platform_admin"])
    await fetch("PATCH", "/admin/v1/channels/wxdemo0000000001", json={"name": "演示"}, token=admin,
                headers={"X-Real-IP": "10.20.30.40"})
    (entry,) = await entries(fetch, admin, "?operator=direct-admin")
    assert entry["client_ip"] == "127.0.0.1"


async def test_filters_by_object_action_and_time(demo_app, fetch, make_operator, clock) -> None:
    admin = await make_operator("filter-admin", ["platform_admin"])
    writes = [("PATCH", "/admin/v1/services/GA-0001", {"name": {"zh-CN": "普通护照签发"}}),
              ("POST", "/admin/v1/services/GA-0001/publish", None),
              ("POST", "/admin/v1/services/GA-0002/publish", None),
              ("PATCH", "/admin/v1/channels/wxdemo0000000001", {"enabled": True})]
    base = datetime.datetime(2026, 3, 2, 2, 0, tzinfo=datetime.UTC)  # 10:00 in Shanghai, a day apart each
    for n, (method, path, body) in enumerate(writes):
        clock.set(base + datetime.timedelta(days=n))
        await fetch(method, path, json=body, token=admin)
        await entries(fetch, admin, "", at_least=n + 1)  # each entry lands on its own day

    async def paths(query: str) -> list[str]:
        return [e["action"] + " " + ",".join(e["objects"]) for e in await entries(fetch, admin, query, at_least=0)]

    assert await paths("?object=GA-0001") == ["POST /admin/v1/services/{code}/publish GA-0001",
                                              "PATCH /admin/v1/services/{code} GA-0001"]
    assert await paths("?action=POST%20/admin/v1/services/%7Bcode%7D/publish") == [
        "POST /admin/v1/services/{code}/publish GA-0002", "POST /admin/v1/services/{code}/publish GA-0001"]
    assert await paths("?action=services.publish&object=GA-0002") == ["POST /admin/v1/services/{code}/publish GA-0002"]
    assert await paths("?action=channels.update") == ["PATCH /admin/v1/channels/{app_id} wxdemo0000000001"]
    assert await paths("?from=2026-03-03&to=2026-03-04") == ["POST /admin/v1/services/{code}/publish GA-0002",
                                                             "POST /admin/v1/services/{code}/publish GA-0001"]
    assert await paths("?from=2026-03-03T10:00:00%2B08:00&to=2026-03-04T09:00:00%2B08:00&operator=filter-admin") == [
        "POST /admin/v1/services/{code}/publish GA-0001"]
    assert await paths("?to=2026-03-02&object=GA-0001&action=services.update&operator=filter-admin") == [
        "PATCH /admin/v1/services/{code} GA-0001"]
    page = (await fetch("GET", "/admin/v1/audit?page=2&page_size=3", token=admin)).json()
    assert page["total"] == 4 and len(page["items"]) == 1 and page["items"][0]["objects"] == ["GA-0001"]
    bad = await fetch("GET", "/admin/v1/audit?from=yesterday", token=admin)
    assert bad.status == 422 and bad.json()["errors"][0]["field"] == "from"
    backwards = await fetch("GET", "/admin/v1/audit?from=2026-03-05&to=2026-03-01", token=admin)
    assert backwards.status == 422 and backwards.json()["errors"][0]["field"] == "to"
    assert (await fetch("GET", "/admin/v1/audit?format=xml", token=admin)).status == 422


async def test_csv_export_has_the_same_rows(demo_app, fetch, make_operator) -> None:
    admin = await make_operator("csv-admin", ["platform_admin"])
    for path in ("/admin/v1/services/GA-0001/publish", "/admin/v1/services/GA-0002/publish"):
        await fetch("POST", path, token=admin)
    await fetch("PATCH", "/admin/v1/channels/wxdemo0000000001", json={"name": "=cmd|' /C calc'!A0"}, token=admin)
    listed = await entries(fetch, admin, "?operator=csv-admin", at_least=3)
    response = await fetch("GET", "/admin/v1/audit?operator=csv-admin&format=csv", token=admin)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv") and "charset=utf-8" in response.headers["Content-Type"]
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["X-Export-Truncated"] == "false" and response.headers["X-Export-Total"] == "3"
    assert response.body.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese header as UTF-8
    rows = list(csv.DictReader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert [r["请求编号"] for r in rows] == [e["request_id"] for e in listed]
    assert [r["操作人账号"] for r in rows] == ["csv-admin"] * 3
    assert [r["请求"] for r in rows] == [e["action"] for e in listed]
    assert rows[0]["改动字段"] == "name" and "calc" not in response.text
    english = await fetch("GET", "/admin/v1/audit?operator=csv-admin&format=csv", token=admin,
                          headers={"Accept-Language": "en"})
    assert next(csv.reader(io.StringIO(english.body.decode("utf-8-sig"))))[:2] == ["Time", "Username"]


async def test_csv_export_says_when_it_is_cut(demo_app, fetch, make_operator, monkeypatch) -> None:
    admin = await make_operator("many-admin", ["platform_admin"])
    for n in range(3):
        await audit.record(demo_app.ctx, operator_id="op-x", operator_username="bulk", method="POST",
                           route="/admin/v1/services", path_params={}, status=201, request_id=f"bulk-{n}")
    monkeypatch.setattr(audit, "CSV_MAX_ROWS", 2)
    response = await fetch("GET", "/admin/v1/audit?operator=bulk&format=csv", token=admin)
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert response.headers["X-Export-Truncated"] == "true" and response.headers["X-Export-Rows"] == "2"
    assert [r[-1] for r in rows[1:3]] == ["bulk-2", "bulk-1"]
    assert rows[-1][0].startswith("# ") and "3" in rows[-1][0]


async def test_region_admins_see_only_operators_of_their_region(demo_app, fetch, make_operator) -> None:
    hangzhou = await make_operator("hz-admin", ["region_admin"], "", "330100")
    ningbo = await make_operator("nb-admin", ["region_admin"], "", "330200")
    xihu = await make_operator("xihu-clerk", ["department_operator"], "gongan", "330106")
    auditor = await make_operator("hz-auditor", ["auditor"], "", "330100")
    platform = await make_operator("platform", ["platform_admin"])
    for token in (ningbo, xihu, platform):
        await fetch("PATCH", "/admin/v1/services/GA-0001", json={"name": {"zh-CN": "普通护照签发"}}, token=token)
    everything = await entries(fetch, platform, "", at_least=3)
    assert {e["operator_username"] for e in everything} == {"nb-admin", "xihu-clerk", "platform"}
    for token in (hangzhou, auditor):
        seen = await entries(fetch, token, "", at_least=1)
        assert {e["operator_username"] for e in seen} == {"xihu-clerk"}
        assert await entries(fetch, token, "?operator=nb-admin", at_least=0) == []
        exported = await fetch("GET", "/admin/v1/audit?format=csv", token=token)
        assert "nb-admin" not in exported.text and "xihu-clerk" in exported.text
    assert {e["operator_username"] for e in await entries(fetch, ningbo, "")} == {"nb-admin"}
    clerk_of_other_department = await make_operator("sb-auditor", ["auditor"], "shebao", "330100")
    assert await entries(fetch, clerk_of_other_department, "", at_least=0) == []
    assert (await fetch("GET", "/admin/v1/audit", token=xihu)).status == 403  # no audit.read


async def test_legacy_arguments_route_since_until_and_clipped_params(app, fetch, make_operator, clock) -> None:
    """`route=` (a pattern or its beginning), `since=`/`until=` (as `from=`/`to=`) still answer."""
    ctx = app.ctx
    supervisor = await make_operator("sup", ["auditor"])
    base = datetime.datetime(2025, 9, 22, 2, 0, tzinfo=datetime.UTC)  # 10:00 in Shanghai
    for n, (operator_id, route) in enumerate([("op-1", "/admin/v1/channels"), ("op-2", "/admin/v1/halls/([^/]+)"),
                                              ("op-1", "/admin/v1/channels/([^/]+)")]):
        clock.set(base + datetime.timedelta(days=n))
        await audit.record(ctx, operator_id=operator_id, operator_username=f"name-{operator_id}", method="patch",
                           route=route, path_params={"app_id": "wx" + "x" * 300} if n == 2 else {}, status=200 + n,
                           request_id=f"req-{n}", summary="改了渠道")
    everything = (await fetch("GET", "/admin/v1/audit", token=supervisor)).json()
    assert everything["total"] == 3 and [e["request_id"] for e in everything["items"]] == ["req-2", "req-1", "req-0"]
    newest = everything["items"][0]
    assert (newest["operator_id"], newest["method"], newest["status"], newest["outcome"]) == ("op-1", "PATCH", 202, "succeeded")
    assert len(newest["path_params"]["app_id"]) == audit.PARAM_MAX
    assert newest["at"].startswith("2025-09-24T10:00:00+08:00")

    async def ids(query: str) -> list[str]:
        response = await fetch("GET", "/admin/v1/audit" + query, token=supervisor)
        assert response.status == 200, response.text
        return [e["request_id"] for e in response.json()["items"]]

    assert await ids("?operator=op-1") == ["req-2", "req-0"]
    assert await ids("?operator=name-op-2") == ["req-1"]
    assert await ids("?route=/admin/v1/channels") == ["req-2", "req-0"]
    assert await ids("?since=2025-09-23") == ["req-2", "req-1"]
    assert await ids("?until=2025-09-23") == ["req-1", "req-0"]
    assert await ids("?since=2025-09-23T10:00:00%2B08:00&until=2025-09-24T09:59:59%2B08:00") == ["req-1"]
    assert await ids("?page=2&page_size=2") == ["req-0"]
    bad = await fetch("GET", "/admin/v1/audit?since=yesterday", token=supervisor)
    assert bad.status == 422 and bad.json()["errors"][0]["field"] == "since"


async def test_writes_are_audited_reads_are_not(demo_app, fetch, make_operator) -> None:
    admin = await make_operator("auditor-admin", ["platform_admin"])
    assert (await fetch("POST", "/admin/v1/channels", json=WECHAT, token=admin)).status == 201
    assert (await fetch("PATCH", f"/admin/v1/channels/{WECHAT['app_id']}", json={"name": "改名"},
                        token=admin)).status == 200
    assert (await fetch("DELETE", "/admin/v1/channels/wxdemo0000000001", token=admin)).status == 409
    await fetch("GET", "/admin/v1/channels", token=admin)  # reads are not audited
    found = await entries(fetch, admin, "?route=/admin/v1/channels", at_least=3)
    assert [(e["method"], e["status"], e["action_name"]) for e in found] == [
        ("DELETE", 409, "channels.delete"), ("PATCH", 200, "channels.update"), ("POST", 201, "channels.create")]
    assert found[1]["path_params"] == {"app_id": WECHAT["app_id"]} and found[1]["fields"] == ["name"]
    assert await entries(fetch, admin, "?action=GET%20/admin/v1/channels", at_least=0) == []


# ---- scorecard CSV ------------------------------------------------------------------------------------
async def test_scorecard_csv(demo_app, fetch, make_operator) -> None:
    supervisor = await make_operator("card-auditor", ["auditor"])
    card = (await fetch("GET", "/admin/v1/scorecard", token=supervisor)).json()
    response = await fetch("GET", "/admin/v1/scorecard?format=csv", token=supervisor)
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert response.body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert rows[0]["维度"] == "总分" and float(rows[0]["得分"]) == card["score"]
    indicators = [(d["key"], i["key"]) for d in card["dimensions"] for i in d["indicators"]]
    assert [r["指标代码"] for r in rows if r["指标代码"]] == [key for _, key in indicators]
    findable = next(d for d in card["dimensions"] if d["key"] == "findable")
    dimension_row = next(r for r in rows if r["维度"] == findable["name"]["zh-CN"] and not r["指标代码"])
    assert float(dimension_row["维度得分"]) == findable["score"]
    for row in rows:
        assert set(row) == {"维度", "维度得分", "指标", "指标代码", "数值", "得分", "权重", "最差对象"}
    english = await fetch("GET", "/admin/v1/scorecard?format=csv", token=supervisor, headers={"Accept-Language": "en"})
    assert next(csv.reader(io.StringIO(english.body.decode("utf-8-sig"))))[0] == "Dimension"


async def test_scorecard_is_limited_to_the_callers_region(demo_app, fetch, make_operator) -> None:
    ningbo = await make_operator("nb-auditor", ["auditor"], "", "330200")
    assert (await fetch("GET", "/admin/v1/scorecard?region=330100", token=ningbo)).status == 403
    assert (await fetch("GET", "/admin/v1/scorecard?region=330100&format=csv", token=ningbo)).status == 403
    own = await fetch("GET", "/admin/v1/scorecard", token=ningbo)
    assert own.status == 200
    assert (await fetch("GET", "/admin/v1/scorecard?format=csv", token=ningbo)).status == 200
