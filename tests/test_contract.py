"""The route contract (handlers.contract): input refused as field errors, answers checked, the spec."""

from __future__ import annotations

import inspect
import re
from html.parser import HTMLParser
from typing import Annotated

import msgspec
import pytest

from handlers import contract as c
from handlers.openapi import build_spec, implemented_methods, is_vendor_route, openapi_path
from server.app import route_table


class Item(c.StrictBody):
    name: str
    grade: int = 3
    tags: list[str] = []


@pytest.mark.parametrize(("data", "field", "code", "zh", "en"), [
    ({}, "name", "required", "为必填项", "is required"),
    ({"name": 5}, "name", "type", "应为文本", "must be text"),
    ({"name": "a", "grade": "5"}, "grade", "type", "应为整数", "must be a whole number"),
    ({"name": "a", "tags": ["x", 1]}, "tags[1]", "type", "应为文本", "must be text"),
    ({"name": "a", "colour": "red"}, "colour", "unknown_field", "不是可接受的字段", "is not an accepted field"),
])
def test_refusals_become_field_errors_in_both_languages(data, field, code, zh, en) -> None:
    with pytest.raises(c.ValidationFailed) as caught:
        c.parse_body(Item, data)
    (error,) = caught.value.errors
    assert (error.field, error.code, error.zh, error.en) == (field, code, zh, en)


def test_constraint_messages_name_the_limit() -> None:
    assert c.field_error("Expected `int` >= 1 - at `$.grade`").en == "must be at least 1"
    assert c.field_error("Expected `int` <= 5 - at `$.grade`").zh == "应不大于 5"
    assert c.field_error("Expected `str` of length <= 20 - at `$.a.b`") == c.FieldError(
        "a.b", "too_long", "长度不能超过 20", "must be at most 20 long")
    assert c.field_error("Object missing required field `name` - at `$.applicant`").field == "applicant.name"
    assert c.field_error("Invalid enum value 'x' - at `$.kind`").code == "enum"


def test_query_text_is_coerced_and_refusals_are_400() -> None:
    class Listing(c.PageQuery):
        status: list[str] = []
    parsed = c.parse_query(Listing, {"page": [b"3"], "status": [b"a", b"b"]})
    assert (parsed.page, parsed.page_size, parsed.status) == (3, 20, ["a", "b"])
    with pytest.raises(c.BadRequest) as caught:
        c.parse_query(Listing, {"page_size": [b"101"]})
    assert caught.value.code == "invalid_pagination" and caught.value.status == 400
    with pytest.raises(c.BadRequest) as caught:
        c.parse_query(Listing, {"page": [b"\xff"]})
    assert caught.value.errors[0].code == "encoding"


class Filter(c.Query):
    overdue: c.Flag | None = None


@pytest.mark.parametrize(("text", "value"), [(b"true", True), (b" Yes", True), (b"1", True), (b"FALSE", False),
                                             (b"no", False), (b"0", False), (b"", None), (b"any", None)])
def test_flags_read_yes_and_no_words(text, value) -> None:
    assert c.parse_query(Filter, {"overdue": [text]}).overdue is value


def test_a_flag_that_is_no_yes_or_no_is_400_invalid_query() -> None:
    with pytest.raises(c.BadRequest) as caught:
        c.parse_query(Filter, {"overdue": [b"maybe"]})
    assert (caught.value.status, caught.value.code, caught.value.errors[0].field) == (400, "invalid_query", "overdue")


def test_an_answer_that_misses_a_declared_field_is_a_violation() -> None:
    declared = c.Contract(answer=c.Page[Item])
    assert c.answer_violation(declared, 200, b'{"items": [{"name": "a"}], "total": 1, "page": 1, "page_size": 20}') is None
    assert "total" in c.answer_violation(declared, 200, b'{"items": [], "page": 1, "page_size": 20}')
    assert "name" in c.answer_violation(declared, 200, b'{"items": [{}], "total": 1, "page": 1, "page_size": 20}')
    assert c.answer_violation(declared, 201, b"{}") is None  # another status is another answer


async def test_a_body_of_the_wrong_type_is_refused_before_the_handler_runs(fetch, citizen) -> None:
    response = await fetch("POST", "/api/v1/applications", json={"service_code": 7}, token=citizen[1],
                           headers={"Accept-Language": "en"})
    assert response.status == 422
    assert response.json()["errors"] == [{"field": "service_code", "code": "type", "message": "must be text"}]
    mine = await fetch("GET", "/api/v1/applications", token=citizen[1])
    assert mine.json()["total"] == 0  # nothing was created


async def test_the_spec_carries_request_and_answer_schemas(fetch) -> None:
    spec = (await fetch("GET", "/openapi.json")).json()
    create = spec["paths"]["/api/v1/applications"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/NewApplication"}
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApplicationView"}
    assert {"401", "409", "422", "default"} <= set(create["responses"])
    assert create["security"] == [{"bearer": []}]
    schemas = spec["components"]["schemas"]
    assert "service_code" in schemas["NewApplication"]["required"]
    assert {"application_no", "status", "timeline"} <= set(schemas["ApplicationView"]["required"])
    listing = spec["paths"]["/api/v1/applications"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"page", "page_size", "status"}


def test_schema_names_are_unique_across_the_api() -> None:
    """Two types of one name would share one component: the client would get the wrong shape."""
    spec = build_spec(route_table(sandbox=False))
    seen: dict[str, object] = {}
    for _, handler in route_table(sandbox=False):
        for method in ("get", "post", "put", "patch", "delete"):
            declared = c.contract_of(getattr(handler, method, None))
            for kind in (declared.body, declared.query, declared.answer) if declared else ():
                if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
                    assert seen.setdefault(kind.__name__, kind) is kind, f"two types named {kind.__name__}"
    assert spec["components"]["schemas"]


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


async def test_docs_load_nothing_from_outside(fetch) -> None:
    page = await fetch("GET", "/docs")
    parser = _Assets()
    parser.feed(page.text)
    assert len(parser.urls) >= 3
    for url in parser.urls:
        assert url.startswith("/docs/assets/"), url
        asset = await fetch("GET", url)
        assert asset.status == 200, url
    init = (await fetch("GET", "/docs/assets/init.js")).text
    assert "validatorUrl: null" in init  # else Swagger UI posts the spec to validator.swagger.io
    bundle = await fetch("GET", "/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["Content-Type"].split(";")[0] in ("text/javascript", "application/javascript")
    again = await fetch("GET", "/docs/assets/swagger-ui-bundle.js", headers={"If-None-Match": bundle.headers["ETag"]})
    assert again.status == 304
    assert (await fetch("GET", "/docs/assets/..%2Fsecrets")).status == 404


def test_vendor_routes_are_only_the_sandbox() -> None:
    assert is_vendor_route("/sandbox/wechat/sns/jscode2session")
    assert not is_vendor_route("/api/v1/applications")
    assert not re.match(r"^/sandbox", "/admin/v1/channels")


class Rotation(c.Body):
    secret: Annotated[str, c.BY_DOMAIN]
    overlap_seconds: Annotated[int, c.BY_DOMAIN] | None = None
    note: str | None = None


def test_fields_the_domain_checks_are_documented_but_left_to_it() -> None:
    """The domain names every bad field of a body at once; the contract must not stop at the first."""
    validated = c._as_validated(Rotation)
    assert c.parse_body(validated, {"overlap_seconds": "soon"}).overlap_seconds == "soon"
    with pytest.raises(c.ValidationFailed):  # a field without the mark is still checked here
        c.parse_body(validated, {"note": 5})
    schema = msgspec.json.schema(Rotation)["$defs"]["Rotation"]
    assert schema["required"] == ["secret"]
    assert schema["properties"]["secret"] == {"type": "string"}


def test_every_operation_documents_its_request_and_answer() -> None:
    """The issue's bar: every route of ours declares its 2xx answer, and its body when it reads one."""
    spec = build_spec(route_table(sandbox=False))
    missing = []
    for pattern, handler in route_table(sandbox=False):
        path, _ = openapi_path(pattern, handler)
        for method in implemented_methods(handler):
            operation = spec["paths"][path][method]
            declared = c.contract_of(getattr(handler, method))
            # A browser redirect (the H5 logins, /m) answers a 3xx with its Location and no body.
            success = [s for s in operation["responses"] if s.startswith(("2", "3"))]
            if declared is None or not success:
                missing.append(f"{method.upper()} {path}: no contract")
                continue
            if success[0].startswith("3") and "Location" not in operation["responses"][success[0]].get("headers", {}):
                missing.append(f"{method.upper()} {path}: a redirect without its Location")
            if success[0] != "204" and not success[0].startswith("3") and "content" not in operation["responses"][success[0]]:
                missing.append(f"{method.upper()} {path}: answer without a schema")
            reads_body = re.search(r"self\.json_body\(|self\.body\b|self\.request\.body", inspect.getsource(getattr(handler, method)))
            if reads_body and "requestBody" not in operation:
                missing.append(f"{method.upper()} {path}: reads a body it does not declare")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("text", ["1e2", "5.0", "-1", "+5", " 5", "¹", "9" * 5000])
def test_a_whole_number_in_a_query_is_ascii_digits(text) -> None:
    with pytest.raises(c.BadRequest) as caught:
        c.parse_query(c.PageQuery, {"page": [text.encode()]})
    assert caught.value.code == "invalid_pagination"
    assert caught.value.en == "page must be a whole number from 1 to 10000"


def test_leading_zeros_are_still_a_number() -> None:
    assert c.parse_query(c.PageQuery, {"page": [b"0005"]}).page == 5
