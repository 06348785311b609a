"""Hostile input (issue 13, F6): every odd body, number, string or query argument is a 4xx problem+json
in the caller's language, never a 500 and never a write error, and nothing is stored."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from tests import consultation_support
from tests.identity_support import WECHAT_APP
from tests.payments_support import pending_order, sandbox_pay
from tests.test_applications import item, multipart  # noqa: F401 - the `item` fixture

# Shared fixtures (pytest finds them by these module-level names).
items = consultation_support.items
staff = consultation_support.staff

LOGIN = "/admin/v1/auth/login"  # any JSON route: the body is parsed before anything else happens


async def _post_raw(fetch, path: str, body: str | bytes, language: str = "zh-CN", token: str | None = None):  # noqa: ANN001, ANN202
    return await fetch("POST", path, body=body, token=token,
                       headers={"Content-Type": "application/json", "Accept-Language": language})


def _problem(response, status: int, code: str) -> dict:  # noqa: ANN001
    assert response.headers["Content-Type"].startswith("application/problem+json"), response.text
    body = response.json()
    assert (response.status, body["code"]) == (status, code), response.text
    return body


# ---- the one JSON parser -------------------------------------------------------------------------------

@pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 50_000, "[" * 65 + "]" * 65,
                                  '{"a":' * 70 + "1" + "}" * 70])
@pytest.mark.parametrize("language, fragment", [("zh-CN", "嵌套"), ("en", "nest")])
async def test_deeply_nested_json_is_400(fetch, body: str, language: str, fragment: str) -> None:
    response = await _post_raw(fetch, LOGIN, body, language)
    problem = _problem(response, 400, "json_too_deep")
    assert fragment in problem["detail"] and problem["max_depth"] == 64


async def test_nesting_up_to_the_limit_is_parsed(fetch) -> None:
    body = '{"username": "admin", "deep": ' + "[" * 63 + "]" * 63 + "}"
    response = await _post_raw(fetch, LOGIN, body)
    assert response.json()["code"] != "json_too_deep"


@pytest.mark.parametrize("literal", ["9" * 4_301, "-" + "9" * 5_000, "9" * 4_000, str(2**63), str(-(2**63) - 1)])
@pytest.mark.parametrize("language, fragment", [("zh-CN", "整数"), ("en", "integer")])
async def test_integers_outside_int64_are_400(fetch, literal: str, language: str, fragment: str) -> None:
    response = await _post_raw(fetch, LOGIN, '{"username": "admin", "password": ' + literal + "}", language)
    assert fragment in _problem(response, 400, "json_number_out_of_range")["detail"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
@pytest.mark.parametrize("language, fragment", [("zh-CN", "有限"), ("en", "finite")])
async def test_non_finite_numbers_are_400(fetch, literal: str, language: str, fragment: str) -> None:
    response = await _post_raw(fetch, LOGIN, '{"username": "admin", "password": ' + literal + "}", language)
    assert fragment in _problem(response, 400, "json_number_not_finite")["detail"]


@pytest.mark.parametrize("text", [r'"\ud800abc"', r'"abc\udfff"', r'"\udc00\ud800"'])
@pytest.mark.parametrize("language, fragment", [("zh-CN", "代理"), ("en", "surrogate")])
async def test_lone_surrogates_are_400(fetch, text: str, language: str, fragment: str) -> None:
    for body in ('{"username": ' + text + "}", "{" + text + ': "x"}', '{"x": [1, {"y": ' + text + "}]}"):
        response = await _post_raw(fetch, LOGIN, body, language)
        assert fragment in _problem(response, 400, "json_lone_surrogate")["detail"]


async def test_surrogate_pairs_and_big_finite_numbers_still_parse(fetch) -> None:
    body = r'{"username": "\ud83d\ude00", "password": "x", "n": 9223372036854775807, "m": -9223372036854775808, "f": 1e308}'
    response = await _post_raw(fetch, LOGIN, body)
    assert response.status == 401, response.text  # parsed; the login itself fails


# ---- what the parser keeps out of the datastore --------------------------------------------------------

@pytest.mark.parametrize("key", [r"a\u0000b", r"\u0000"])
@pytest.mark.parametrize("language, fragment", [("zh-CN", "空字符"), ("en", "NUL")])
async def test_object_keys_holding_nul_are_400_and_nothing_is_written(fetch, app, citizen, item, key, language,  # noqa: F811
                                                                      fragment) -> None:
    body = '{"service_code": "GA-0001", "draft": true, "form": {"applicant": {"' + key + '": "张三"}}}'
    response = await _post_raw(fetch, "/api/v1/applications", body, language, token=citizen[1])
    assert fragment in _problem(response, 400, "json_key_invalid")["detail"]
    assert await app.ctx.db.applications.count_documents({}) == 0
    value_only = '{"username": "a\\u0000b", "password": "x"}'  # NUL in a value is stored fine: not refused
    assert (await _post_raw(fetch, LOGIN, value_only)).status == 401


@pytest.mark.parametrize("value", ["NaN", "1e400", "7" * 4_000, "-Infinity"])
async def test_form_values_that_cannot_be_stored_are_400_and_nothing_is_written(fetch, app, citizen, item, value) -> None:  # noqa: F811
    _, token = citizen
    body = '{"service_code": "GA-0001", "draft": true, "form": {"applicant": {"name": "张三"}, "copies": ' + value + "}}"
    response = await _post_raw(fetch, "/api/v1/applications", body, token=token)
    assert response.status == 400, response.text
    assert await app.ctx.db.applications.count_documents({}) == 0


async def test_consultation_subject_with_a_lone_surrogate_is_400(fetch, app, clock, items, citizen) -> None:
    body = r'{"service_code": "GA-0001", "kind": "consultation", "subject": "\ud800abc", "content": "请问办理普通护照需要几个工作日？"}'
    response = await _post_raw(fetch, "/api/v1/consultations", body, "en", token=citizen[1])
    _problem(response, 400, "json_lone_surrogate")
    assert await app.ctx.db.consultations.count_documents({}) == 0


@pytest.mark.parametrize("amount", [10**40, 2**63, -(10**40)])
async def test_refund_of_an_impossible_amount_is_4xx_and_changes_nothing(demo_app, fetch, operator_token, amount) -> None:
    order = await pending_order(demo_app, fetch, "wechat")
    await sandbox_pay(fetch, "wechat", order["order_no"])
    before = await demo_app.ctx.db.payment_orders.find_one({"_id": order["order_no"]})
    response = await _post_raw(fetch, f"/admin/v1/payments/{order['order_no']}/refunds",
                               json.dumps({"amount_fen": amount, "reason": "多收费用退还"}), token=operator_token)
    assert 400 <= response.status < 500 and response.json()["code"], response.text
    after = await demo_app.ctx.db.payment_orders.find_one({"_id": order["order_no"]})
    assert (after["refundable_fen"], after["refunded_fen"]) == (before["refundable_fen"], before["refunded_fen"])
    assert await demo_app.ctx.db.payment_refunds.count_documents({}) == 0


async def test_refund_of_the_largest_int64_is_refused_as_more_than_was_paid(demo_app, fetch, operator_token) -> None:
    order = await pending_order(demo_app, fetch, "wechat")
    await sandbox_pay(fetch, "wechat", order["order_no"])
    response = await fetch("POST", f"/admin/v1/payments/{order['order_no']}/refunds", token=operator_token,
                           json={"amount_fen": 2**63 - 1, "reason": "多收费用退还"})
    _problem(response, 409, "refund_exceeds_paid")


# ---- a dict or list where a string is expected ---------------------------------------------------------

@pytest.mark.parametrize("channel", [{"$ne": None}, ["wechat"], 1, True])
@pytest.mark.parametrize("language", ["zh-CN", "en"])
async def test_payment_channel_must_be_a_name(demo_app, fetch, channel, language) -> None:
    order = await pending_order(demo_app, fetch, "wechat")
    response = await fetch("POST", f"/api/v1/applications/{order['application_no']}/payments", token=order["token"],
                           json={"channel": channel, "app_id": WECHAT_APP}, headers={"Accept-Language": language})
    problem = _problem(response, 422, "validation_failed")
    assert [e["field"] for e in problem["errors"]] == ["channel"]
    assert ("wechat" in problem["errors"][0]["message"]) and (("应为" in problem["errors"][0]["message"]) == (language == "zh-CN"))


@pytest.mark.parametrize("action", [{}, ["fix"], {"$ne": None}, 3])
async def test_feedback_resolution_action_must_be_a_name(fetch, clock, items, staff, action) -> None:
    created = (await fetch("POST", "/api/v1/feedback", json={
        "service_code": "GA-0001", "element": "guide.fee", "description": "指南写收费 120 元，窗口实际收 160 元。"})).json()
    response = await fetch("POST", f"/admin/v1/feedback/{created['id']}/resolution", token=staff["gongan"],
                           json={"action": action, "note": "收费标准已更正为 160 元，感谢指正。"})
    problem = _problem(response, 422, "validation_failed")
    assert problem["errors"][0]["field"] == "action"


# ---- query arguments ------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["page_size=%C2%B9", "page=%C2%B2", "page_size=%D9%A1%D9%A0",
                                   "page_size=%EF%BC%91", "page=" + "9" * 5000])
@pytest.mark.parametrize("language, fragment", [("zh-CN", "整数"), ("en", "whole number")])
async def test_page_arguments_are_ascii_digits(fetch, query: str, language: str, fragment: str) -> None:
    response = await fetch("GET", "/api/v1/services?" + query, headers={"Accept-Language": language})
    assert fragment in _problem(response, 400, "invalid_pagination")["detail"]


# ---- streamed uploads -------------------------------------------------------------------------------------

LIMIT = 64 * 1024


@pytest.mark.settings(max_upload_bytes=LIMIT)
async def test_chunked_upload_over_the_limit_is_answered_413_while_the_client_still_sends(app, citizen) -> None:
    """A chunked body declares no length: the 413 must come once the limit is passed, not after the body."""
    body, headers = multipart(b"\xff\xd8\xff\xe0" + b"\x00" * (LIMIT * 40), "big.jpg")
    loop = asyncio.get_running_loop()
    sock = socket.create_connection(("127.0.0.1", app.port))
    sock.setblocking(False)
    head = (f"POST /api/v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {citizen[1]}\r\n"
            f"Content-Type: {headers['Content-Type']}\r\nAccept-Language: en\r\nTransfer-Encoding: chunked\r\n\r\n")
    answer = bytearray()
    sent = 0
    try:
        await loop.sock_sendall(sock, head.encode())
        piece = 8 * 1024
        # Send slowly, a piece at a time, reading whatever has come back: the answer must arrive
        # before the body is done (well before: three times the limit).
        while sent < 3 * LIMIT and b"\r\n\r\n" not in answer:
            chunk = body[sent:sent + piece]
            try:
                await loop.sock_sendall(sock, b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
            try:
                answer += await asyncio.wait_for(loop.sock_recv(sock, 65536), 0.05)
            except TimeoutError:
                pass
        while b"\r\n\r\n" not in answer:  # bounded: the server must answer and close, not wait for more
            data = await asyncio.wait_for(loop.sock_recv(sock, 65536), 10)
            if not data:
                break
            answer += data
        head_text, _, rest = bytes(answer).partition(b"\r\n\r\n")
        assert head_text.startswith(b"HTTP/1.1 413"), bytes(answer[:300])
        assert sent < 3 * LIMIT
        assert b"connection: close" in head_text.lower()
        length = int(next(line.split(b":")[1] for line in head_text.split(b"\r\n") if line.lower().startswith(b"content-length")))
        while len(rest) < length:
            data = await asyncio.wait_for(loop.sock_recv(sock, 65536), 10)
            if not data:
                break
            rest += data
        problem = json.loads(rest[:length])
        assert (problem["code"], problem["limit_bytes"]) == ("file_too_large", LIMIT)
        # ...and the server closes the connection rather than reading the rest.
        while True:
            try:
                data = await asyncio.wait_for(loop.sock_recv(sock, 65536), 10)
            except ConnectionResetError:
                break
            if not data:
                break
    finally:
        sock.close()
    await asyncio.sleep(0.1)
    assert not [h for h in app.app.settings["in_flight"] if type(h).__name__ == "FilesHandler"]
    assert await app.ctx.db["materials.chunks"].find().to_list() == []


@pytest.mark.parametrize("query", [
    "/admin/v1/audit?until=9999-12-31", "/admin/v1/audit?since=0001-01-01T00:00:00%2B08:00",
    "/admin/v1/audit?until=9999-12-31T23:59:59-14:00", "/admin/v1/consultations/stats?to=9999-12-31",
    "/admin/v1/consultations/stats?from=0001-01-01", "/admin/v1/ratings/stats?to=9999-12-31",
])
async def test_dates_at_either_end_of_the_calendar_are_4xx(fetch, operator_token, query: str) -> None:
    response = await fetch("GET", query, token=operator_token, headers={"Accept-Language": "en"})
    assert response.status in (400, 422), response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize("field, value", [("audience", [{}]), ("audience", [["personal"]]), ("aliases", [{"$ne": None}]),
                                          ("themes", [[]])])
async def test_catalogue_list_fields_hold_names_only(demo_app, fetch, operator_token, field: str, value: list) -> None:
    code = (await fetch("GET", "/api/v1/services")).json()["items"][0]["code"]
    before = await demo_app.ctx.db.services.find_one({"code": code})
    response = await fetch("PATCH", f"/admin/v1/services/{code}", json={field: value}, token=operator_token)
    problem = _problem(response, 422, "validation_failed")
    assert [e["field"] for e in problem["errors"]] == [field]
    assert (await demo_app.ctx.db.services.find_one({"code": code}))[field] == before[field]


@pytest.mark.parametrize("query", ["region=%EF%BC%93%EF%BC%93", "region=%D9%A3%D9%A3%D9%A0%D9%A1"])
async def test_region_filters_are_ascii_digits(fetch, query: str) -> None:
    response = await fetch("GET", "/api/v1/services?" + query, headers={"Accept-Language": "en"})
    assert [e["field"] for e in _problem(response, 422, "validation_failed")["errors"]] == ["region"]


@pytest.mark.parametrize("start, end", [("0٨:30", "0٩:00"), ("08:30", "0９:00"), ("08:30\n", "09:00")])
async def test_hall_slot_times_are_ascii(fetch, operator_token, start: str, end: str) -> None:
    response = await fetch("POST", "/admin/v1/halls", token=operator_token, json={
        "name": {"zh-CN": "测试政务服务大厅"}, "address": "测试路 1 号", "hours": "工作日 8:30-17:00",
        "windows": [{"number": "1", "service_codes": ["GA-0001"]}],
        "schedule": {"default": [{"start": start, "end": end, "quota": 6}]}})
    assert response.status == 422, response.text
