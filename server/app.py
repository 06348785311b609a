"""The one app factory, used by the server process and by the tests."""

from __future__ import annotations

import tornado.web

from handlers.base import NotFoundHandler
from server.context import AppContext
from server.metrics import Metrics
from server.registry import HANDLER_MODULES, SANDBOX_MODULES, collect_routes
from server.routing import IndexedApplication


def route_table(sandbox: bool) -> list[tuple[str, type]]:
    """Every (pattern, handler) the service answers; the map of the API."""
    return collect_routes(HANDLER_MODULES + (SANDBOX_MODULES if sandbox else []))


def make_app(ctx: AppContext, metrics: Metrics | None = None) -> tornado.web.Application:
    table = route_table(ctx.settings.sandbox_enabled)
    patterns = [p for p, _ in table]
    duplicates = {p for p in patterns if patterns.count(p) > 1}
    if duplicates:
        raise RuntimeError(f"routes registered twice: {sorted(duplicates)}")
    rules = [tornado.web.url(pattern + "$" if not pattern.endswith("$") else pattern, handler, {"route": pattern})
             for pattern, handler in table]
    return IndexedApplication(
        rules,
        default_handler_class=NotFoundHandler,
        ctx=ctx,
        metrics=metrics or Metrics(),
        route_table=table,
        in_flight=set(),
        compress_response=False,
        log_function=lambda handler: None,  # BaseHandler.on_finish writes the one access-log line
    )
