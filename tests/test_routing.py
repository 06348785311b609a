"""The route index finds, for every path, the handler Tornado's own in-order lookup would find."""

from __future__ import annotations

import multiprocessing
import re

import pytest
import tornado.httputil
import tornado.routing
import tornado.web

from handlers.base import NotFoundHandler, _request_ids
from server.app import route_table
from server.routing import IndexedApplication, literal_key, path_key


def sample_paths(pattern: str) -> list[str]:
    """Paths the pattern matches (each group filled in), and near misses that it must not match."""
    filled = re.sub(r"\(\[\^/\]\+\)", "x-1", pattern).replace("\\.", ".")
    return [filled, filled + "/", filled + "/extra", filled.rstrip("/") + "x", filled.upper()]


def get(path: str) -> tornado.httputil.HTTPServerRequest:
    return tornado.httputil.HTTPServerRequest(start_line=tornado.httputil.RequestStartLine("GET", path, "HTTP/1.1"),
                                             headers=tornado.httputil.HTTPHeaders({"Host": "citygate.test"}))


def rules() -> list[tornado.web.URLSpec]:
    return [tornado.web.url(pattern + "$", handler, {"route": pattern}) for pattern, handler in route_table(True)]


def plain_lookup(table: list[tornado.web.URLSpec], path: str) -> tuple[type, list, dict] | None:
    """What trying every rule in order, as Tornado does, finds."""
    request = get(path)
    for rule in table:
        params = rule.matcher.match(request)
        if params is not None:
            return rule.target, params.get("path_args", []), params.get("path_kwargs", {})
    return None


def indexed_lookup(app: IndexedApplication, path: str) -> tuple[type, list, dict] | None:
    request = get(path)
    delegate = app.find_handler(request)
    if delegate.handler_class is NotFoundHandler:
        return None
    return delegate.handler_class, delegate.path_args, delegate.path_kwargs


def test_every_route_and_its_near_misses_resolve_as_tornado_resolves_them() -> None:
    table = rules()
    app = IndexedApplication(table, default_handler_class=NotFoundHandler)
    paths = [path for pattern, _ in route_table(True) for path in sample_paths(pattern)]
    paths += ["/", "", "/api", "/api/v1", "/api/v1/", "//api/v1/applications", "/no/such/place",
              "/api/v1/applications/a%2Fb", "/sandbox/alipay/gatewayXdo"]
    assert len(paths) > 400
    found = 0
    for path in paths:
        expected = plain_lookup(table, path)
        assert indexed_lookup(app, path) == expected, path
        found += expected is not None
    assert found >= len(route_table(True))  # each route was reached at least once


def test_a_rule_whose_first_segments_are_not_literal_is_tried_for_every_path_in_table_order() -> None:
    class First(tornado.web.RequestHandler):
        pass

    class Second(tornado.web.RequestHandler):
        pass

    table = [tornado.web.url(r"/api/v1/items/special$", First), tornado.web.url(r"/api/(\w+)/items/([^/]+)$", Second),
             tornado.web.url(r"/api/v1/items/([^/]+)$", First)]
    app = IndexedApplication(table, default_handler_class=NotFoundHandler)
    assert indexed_lookup(app, "/api/v1/items/special") == (First, [], {})
    assert indexed_lookup(app, "/api/v1/items/other") == (Second, [b"v1", b"other"], {})  # before the third rule
    assert indexed_lookup(app, "/api/v2/items/other") == (Second, [b"v2", b"other"], {})
    assert indexed_lookup(app, "/nothing") is None


@pytest.mark.parametrize("pattern, key", [
    ("/healthz$", "healthz"),
    ("/api/v1/me$", "api/v1/me"),
    ("/api/v1/me/phone$", "api/v1/me"),
    ("/api/v1/applications/([^/]+)/submit$", "api/v1/applications"),
    ("/notify/wechatpay/([^/]+)$", None),  # only two literal segments
    ("/sandbox/alipay/gateway\\.do$", None),  # the third segment is not all literal
    ("/openapi.json$", None),
])
def test_literal_keys(pattern: str, key: str | None) -> None:
    assert literal_key(pattern) == key
    if key is not None:
        assert path_key(re.sub(r"\(\[\^/\]\+\)", "x", pattern.removesuffix("$"))) == key


def _child_request_id(pipe) -> None:  # noqa: ANN001
    pipe.send(_request_ids.next())


def test_generated_request_ids_are_unique_here_and_in_forked_workers() -> None:
    here = {_request_ids.next() for _ in range(1000)}
    assert len(here) == 1000 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in here)
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    children = [context.Process(target=_child_request_id, args=(send,)) for _ in range(2)]
    for child in children:
        child.start()
    forked = {receive.recv() for _ in children}
    for child in children:
        child.join(10)
    # Each worker draws its own prefix after the fork, so their first ids differ from each other and ours.
    assert len(forked) == 2 and {i[:16] for i in forked}.isdisjoint({i[:16] for i in here})
