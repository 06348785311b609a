"""HTTP conventions every route shares: problem+json errors in zh/en, request ids, limits, docs."""

from __future__ import annotations

import json
import logging

import pytest

from handlers.openapi import implemented_methods, openapi_path
from server.app import READ_CHUNK_BYTES, route_table


async def test_unknown_route_is_problem_json_in_chinese_by_default(fetch) -> None:
    response = await fetch("GET", "/no/such/place")
    assert response.status == 404
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "route_not_found"
    assert body["status"] == 404
    assert body["title"] == "请求的地址不存在"
    assert body["request_id"] == response.headers["X-Request-ID"]


async def test_unknown_route_in_english(fetch) -> None:
    response = await fetch("GET", "/no/such/place", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.json()["title"] == "No such route"
    assert response.headers["Content-Language"] == "en"


@pytest.mark.parametrize("language, title", [("zh-CN", "该地址不支持此请求方法"), ("en", "Method not allowed on this route")])
async def test_wrong_method_is_405_with_allow(fetch, language: str, title: str) -> None:
    response = await fetch("DELETE", "/healthz", headers={"Accept-Language": language})
    assert response.status == 405
    body = response.json()
    assert (body["code"], body["title"]) == ("method_not_allowed", title)
    assert response.headers["Allow"] == "GET"


@pytest.mark.settings(max_body_bytes=2048)
@pytest.mark.parametrize("language, title", [("zh-CN", "提交的内容过大"), ("en", "Payload too large")])
async def test_body_over_limit_is_413(fetch, language: str, title: str) -> None:
    response = await fetch("POST", "/admin/v1/auth/login", body=b"{" + b" " * 4096 + b"}",
                           headers={"Accept-Language": language, "Content-Type": "application/json"})
    assert response.status == 413
    body = response.json()
    assert (body["code"], body["title"], body["limit_bytes"]) == ("payload_too_large", title, 2048)


@pytest.mark.parametrize("language, fragment", [("zh-CN", "第 1 行第 14 列"), ("en", "line 1 column 14")])
async def test_malformed_json_is_400_with_position(fetch, language: str, fragment: str) -> None:
    response = await fetch("POST", "/admin/v1/auth/login", body='{"username": }',
                           headers={"Accept-Language": language, "Content-Type": "application/json"})
    assert response.status == 400
    body = response.json()
    assert body["code"] == "malformed_json"
    assert fragment in body["detail"]
    assert (body["line"], body["column"]) == (1, 14)


async def test_validation_errors_name_each_field(fetch) -> None:
    response = await fetch("POST", "/admin/v1/auth/login", json={"username": ""}, headers={"Accept-Language": "en"})
    assert response.status == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert {e["field"] for e in body["errors"]} == {"username", "password"}
    assert all(e["message"].endswith("is required") for e in body["errors"])


async def test_request_id_is_echoed_or_generated(fetch) -> None:
    given = await fetch("GET", "/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    generated = await fetch("GET", "/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["X-Request-ID"] not in ("", "bad id with spaces")
    assert len(generated.headers["X-Request-ID"]) == 32


async def test_requests_longer_than_one_read_arrive_whole(fetch) -> None:
    # The server reads connections READ_CHUNK_BYTES at a time: a header block and a body that span
    # several reads must still arrive complete (the id after the padding, the error at the body's end).
    padding = "x" * (3 * READ_CHUNK_BYTES)
    response = await fetch("GET", "/healthz", headers={"X-Padding": padding, "X-Request-ID": "after-the-padding"})
    assert response.status == 200 and response.headers["X-Request-ID"] == "after-the-padding"
    body = '{"username": "' + padding + '",}'
    response = await fetch("POST", "/admin/v1/auth/login", body=body, headers={"Content-Type": "application/json"})
    assert response.status == 400 and response.json()["position"] == len(body) - 1


@pytest.mark.parametrize("path", ["/healthz", "/no/such/place"])
async def test_every_answer_carries_the_security_headers_and_no_server_banner(fetch, path: str) -> None:
    response = await fetch("GET", path)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Server" not in response.headers and "Etag" not in response.headers


async def test_one_json_access_log_line_per_request_without_secrets(fetch, caplog) -> None:
    caplog.set_level(logging.INFO, logger="citygate.access")
    await fetch("POST", "/admin/v1/auth/login", json={"username": "nobody", "password": "secret-pass-123"},
                headers={"X-Request-ID": "log-check-1", "Authorization": "Bearer at_sometoken"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "citygate.access"]
    mine = [line for line in lines if line["request_id"] == "log-check-1"]
    assert len(mine) == 1
    assert mine[0]["route"] == "/admin/v1/auth/login" and mine[0]["status"] == 401
    assert set(mine[0]) >= {"method", "route", "status", "latency_ms", "request_id"}
    assert "secret-pass-123" not in caplog.text and "at_sometoken" not in caplog.text


async def test_health_and_readiness(fetch) -> None:
    assert (await fetch("GET", "/healthz")).json() == {"status": "ok"}
    ready = await fetch("GET", "/readyz")
    assert ready.status == 200
    assert ready.json()["checks"] == {"mongodb": "ok", "redis": "ok"}


async def test_metrics_count_requests_by_route_and_status(fetch) -> None:
    await fetch("GET", "/healthz")
    await fetch("GET", "/healthz")
    await fetch("GET", "/does-not-exist-1")
    await fetch("GET", "/does-not-exist-2")
    text = (await fetch("GET", "/metrics")).text
    assert 'citygate_http_requests_total{method="GET",route="/healthz",status="200"} 2' in text
    # unknown paths share one label, so a scanner cannot blow up the metric's cardinality
    assert 'route="(unmatched)",status="404"} 2' in text
    assert 'citygate_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"} 2' in text


async def test_openapi_describes_exactly_the_routing_table(fetch, settings) -> None:
    spec = (await fetch("GET", "/openapi.json")).json()
    assert spec["openapi"] == "3.1.0"
    expected = {}
    for pattern, handler in route_table(settings.sandbox_enabled):
        path, _ = openapi_path(pattern, handler)
        expected[path] = sorted(implemented_methods(handler))
    described = {path: sorted(item) for path, item in spec["paths"].items()}
    assert described == expected
    assert all(op["summary"] for item in spec["paths"].values() for op in item.values())


async def test_docs_page_is_browsable(fetch) -> None:
    response = await fetch("GET", "/docs")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "/openapi.json" in response.text


@pytest.mark.settings(sandbox_enabled=False)
async def test_sandbox_routes_absent_when_disabled(fetch) -> None:
    spec = (await fetch("GET", "/openapi.json")).json()
    assert not [p for p in spec["paths"] if p.startswith("/sandbox")]
    assert (await fetch("GET", "/sandbox/keys")).status == 404


async def test_client_address_headers_are_ignored_unless_trusted(fetch, app) -> None:
    # Not behind a trusted proxy: a forged X-Real-IP must not move the caller to a fresh budget.
    for number in range(10):
        await fetch("POST", "/admin/v1/auth/login", json={"username": "x", "password": "y"},
                    headers={"X-Real-IP": f"10.9.9.{number}"})
    blocked = await fetch("POST", "/admin/v1/auth/login", json={"username": "x", "password": "y"},
                          headers={"X-Real-IP": "10.9.9.99"})
    assert blocked.status == 429
    assert await app.ctx.redis.exists("cg:rl:op-login:127.0.0.1")


@pytest.mark.parametrize(("accept", "language"), [
    ("en", "en"), ("en-GB,en;q=0.9", "en"), ("zh-CN;q=0.4, en;q=0.8", "en"), ("fr, en;q=0.5", "en"),
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"), ("zh-TW, en;q=0.1", "zh-CN"), ("fr", "zh-CN"), ("en;q=0", "zh-CN"),
    ("en;q=bogus, zh", "zh-CN"), ("", "zh-CN"),
])
async def test_the_answer_language_follows_accept_language_with_q_values(fetch, accept, language) -> None:
    response = await fetch("GET", "/no-such-route", headers={"Accept-Language": accept} if accept else {})
    assert response.headers["Content-Language"] == language
    assert response.json()["title"] == ("No such route" if language == "en" else "请求的地址不存在")
