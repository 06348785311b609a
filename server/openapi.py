"""OpenAPI 3.1 built from the routing table itself, so the description cannot drift from the code."""

from __future__ import annotations

import inspect
import re
from typing import Any

import tornado.web

METHODS = ("get", "post", "put", "patch", "delete")

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "code": {"type": "string"}, "detail": {"type": "string"}, "request_id": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}}}},
    },
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


def build_spec(route_table: list[tuple[str, type]]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for pattern, handler in route_table:
        path, params = openapi_path(pattern, handler)
        doc = inspect.getdoc(handler) or handler.__name__
        item: dict[str, Any] = {}
        for method in implemented_methods(handler):
            method_doc = inspect.getdoc(getattr(handler, method))
            operation: dict[str, Any] = {
                "operationId": f"{handler.__name__}.{method}",
                "summary": (method_doc or doc).splitlines()[0],
                "tags": [path.split("/")[1] if path.count("/") > 1 else "service"],
                "responses": {
                    "200": {"description": "Success"},
                    "default": {"description": "Problem", "content": {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
                },
            }
            if params:
                operation["parameters"] = [
                    {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params
                ]
            item[method] = operation
        paths[path] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "CityGate API", "version": "1.0.0",
                 "description": "Internet + government services backend for WeChat and Alipay mini-programs."},
        "paths": paths,
        "components": {
            "schemas": {"Problem": PROBLEM_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


DOCS_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>CityGate API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ddd;margin-top:2rem}.op{margin:.3rem 0}.m{display:inline-block;width:4.5rem;
font-weight:bold;text-transform:uppercase}.get{color:#0a7}.post{color:#06c}.patch,.put{color:#a60}.delete{color:#c33}
code{background:#f4f4f4;padding:0 .3rem}</style></head>
<body><h1>CityGate API</h1><p>Machine-readable description: <a href="/openapi.json">/openapi.json</a>.
Errors are <code>application/problem+json</code>; send <code>Accept-Language: en</code> for English.</p>
<div id="ops">Loading…</div>
<script>
fetch('/openapi.json').then(r => r.json()).then(spec => {
  const groups = {};
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      (groups[op.tags[0]] = groups[op.tags[0]] || []).push([method, path, op.summary]);
    }
  }
  const root = document.getElementById('ops'); root.textContent = '';
  for (const [tag, ops] of Object.entries(groups).sort()) {
    const h = document.createElement('h2'); h.textContent = '/' + tag; root.appendChild(h);
    for (const [method, path, summary] of ops) {
      const div = document.createElement('div'); div.className = 'op';
      const m = document.createElement('span'); m.className = 'm ' + method; m.textContent = method;
      const c = document.createElement('code'); c.textContent = path;
      div.append(m, c, document.createTextNode(' — ' + summary)); root.appendChild(div);
    }
  }
});
</script></body></html>
"""
