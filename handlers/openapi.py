"""OpenAPI 3.1 built from the routing table and each route's contract, so the description cannot
drift from the code; and the interactive page at /docs that reads it."""

from __future__ import annotations

import inspect
import re
from typing import Any

import msgspec
import tornado.web

from handlers.contract import JSON, Contract, Raw, contract_of

METHODS = ("get", "post", "put", "patch", "delete")
SCHEMA_REF = "#/components/schemas/{name}"

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; `title`, `detail` and `message` follow Accept-Language (zh-CN default, en).",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "code": {"type": "string", "description": "stable machine code, e.g. `validation_failed`, `slot_full`"},
        "detail": {"type": "string"}, "request_id": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}}}},
    },
}
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}

# What each error status means when a route does not say more.
ERROR_MEANINGS = {
    400: "Malformed request: bad JSON, query argument or pagination",
    401: "Not logged in, or the token expired",
    403: "Logged in, but this account may not do this",
    404: "No such object (or not yours)",
    409: "Conflicts with the object's current state, or an Idempotency-Key reused with another body",
    413: "Body too large",
    415: "Unsupported media type",
    422: "The body is well-formed but its content is refused (field errors in `errors`)",
    429: "Too many requests (see Retry-After)",
    503: "A backing service is unavailable (see Retry-After)",
}


def implemented_methods(handler: type[tornado.web.RequestHandler]) -> list[str]:
    """HTTP methods a handler class really answers (overrides of RequestHandler's defaults)."""
    return [m for m in METHODS if getattr(handler, m) is not getattr(tornado.web.RequestHandler, m)]


def openapi_path(pattern: str, handler: type) -> tuple[str, list[str]]:
    """Turn a Tornado regex like r"/api/v1/services/([^/]+)" into "/api/v1/services/{code}"."""
    names = list(getattr(handler, "path_params", ()))
    params: list[str] = []

    def replace(_: re.Match[str]) -> str:
        name = names[len(params)] if len(params) < len(names) else f"param{len(params) + 1}"
        params.append(name)
        return "{" + name + "}"

    path = re.sub(r"\((?!\?:)[^)]*\)", replace, pattern.rstrip("$"))
    return path.replace("\\", ""), params


def is_vendor_route(path: str) -> bool:
    """Sandbox routes speak WeChat's and Alipay's protocols, not ours: listed, but not typed here."""
    return path.startswith("/sandbox/")


def _schema_types(contracts: list[Contract]) -> list[Any]:
    types: list[Any] = []
    for contract in contracts:
        for declared in (contract.body, contract.query, contract.answer):
            if declared is not None and not isinstance(declared, Raw) and declared not in types:
                types.append(declared)
    return types


def _error_statuses(method: Any, contract: Contract | None, params: list[str]) -> dict[int, str]:
    statuses: dict[int, str] = {}
    guard = getattr(method, "guard", None)
    if guard is not None:
        statuses[401] = ERROR_MEANINGS[401]
    if getattr(method, "permission", None) is not None:
        statuses[403] = ERROR_MEANINGS[403]
    if contract is not None:
        if contract.query is not None or contract.body is not None:
            statuses[400] = ERROR_MEANINGS[400]
        if contract.checks_body:
            statuses[413] = ERROR_MEANINGS[413]
            statuses[422] = ERROR_MEANINGS[422]
        if params:
            statuses[404] = ERROR_MEANINGS[404]
        statuses.update({status: meaning or ERROR_MEANINGS.get(status, "") for status, meaning in contract.errors.items()})
    return dict(sorted(statuses.items()))


def _content(declared: Any, schemas: dict[Any, Any], example: Any = None) -> dict[str, Any]:
    if isinstance(declared, Raw):
        media: dict[str, Any] = {"schema": dict(declared.schema)}
        return {declared.media_type: media}
    media = {"schema": schemas[declared]}
    if example is not None:
        media["example"] = example
    return {JSON: media}


def _query_parameters(query_type: type, components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = components[query_type.__name__]
    required = set(schema.get("required", ()))
    return [{"name": name, "in": "query", "required": name in required, "schema": field_schema,
             **({"description": field_schema["description"]} if "description" in field_schema else {})}
            for name, field_schema in schema.get("properties", {}).items()]


def _operation(handler: type, method_name: str, path: str, params: list[str],
               schemas: dict[Any, Any], components: dict[str, Any], *, shared: bool) -> dict[str, Any]:
    method = getattr(handler, method_name)
    contract = contract_of(method)
    doc = inspect.getdoc(method) or inspect.getdoc(handler) or handler.__name__
    operation: dict[str, Any] = {
        # Ids are unique: qualified by the handler's module, and by its path where a handler serves several.
        "operationId": f"{handler.__module__.removeprefix('handlers.')}.{handler.__name__}.{method_name}"
                       + (f"@{path}" if shared else ""),
        "summary": doc.splitlines()[0],
        "tags": [path.split("/")[1] if path.count("/") > 1 else "service"],
    }
    if len(doc.splitlines()) > 1:
        operation["description"] = doc
    parameters = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params]
    responses: dict[str, Any] = {}
    if contract is None:
        operation["x-vendor-protocol" if is_vendor_route(path) else "x-undeclared"] = True
        responses["200"] = {"description": "Success"}
    else:
        if contract.query is not None:
            parameters += _query_parameters(contract.query, components)
        if contract.body is not None:
            operation["requestBody"] = {"required": contract.body_required,
                                        "content": _content(contract.body, schemas, contract.example)}
        answer: dict[str, Any] = {"description": (contract.answer.description if isinstance(contract.answer, Raw)
                                                  else "") or "Success"}
        if contract.answer is not None:
            answer["content"] = _content(contract.answer, schemas, contract.answer_example)
            for other in contract.also:
                answer["content"].update(_content(other, schemas))
        if 300 <= contract.status < 400:  # a browser redirect (the H5 logins)
            answer["headers"] = {"Location": {"description": "where the browser goes next", "schema": {"type": "string"}}}
        responses[str(contract.status)] = answer
    for status, meaning in _error_statuses(method, contract, params).items():
        responses[str(status)] = {"description": meaning, "content": PROBLEM}
    responses["default"] = {"description": "Problem", "content": PROBLEM}
    operation["responses"] = responses
    if parameters:
        operation["parameters"] = parameters
    if getattr(method, "guard", None) is not None:
        operation["security"] = [{"bearer": []}]
    if getattr(method, "permission", None) is not None:
        operation["x-permission"] = method.permission
    return operation


def build_spec(route_table: list[tuple[str, type]]) -> dict[str, Any]:
    operations = [(pattern, handler, name) for pattern, handler in route_table for name in implemented_methods(handler)]
    contracts = [c for _, handler, name in operations if (c := contract_of(getattr(handler, name))) is not None]
    types = _schema_types(contracts)
    refs, components = msgspec.json.schema_components(types, ref_template=SCHEMA_REF)
    schemas = dict(zip(types, refs, strict=True))
    handlers = [handler for _, handler in route_table]
    paths: dict[str, Any] = {}
    for pattern, handler in route_table:
        path, params = openapi_path(pattern, handler)
        paths[path] = {name: _operation(handler, name, path, params, schemas, components,
                                        shared=handlers.count(handler) > 1)
                       for name in implemented_methods(handler)}
    return {
        "openapi": "3.1.0",
        "info": {"title": "CityGate API", "version": "1.0.0",
                 "description": "Internet + government services backend for WeChat and Alipay mini-programs. "
                                "Errors are `application/problem+json`; send `Accept-Language: en` for English."},
        "paths": paths,
        "components": {
            "schemas": {**components, "Problem": PROBLEM_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A citizen's token from /api/v1/auth/*, or an "
                                                          "operator's from /admin/v1/auth/login"}},
        },
    }
