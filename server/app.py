"""The one app factory, used by the server process and by the tests."""

from __future__ import annotations

import tornado.httpserver
import tornado.web

from config.settings import Settings
from handlers.base import NotFoundHandler
from server.context import AppContext
from server.metrics import Metrics
from server.registry import HANDLER_MODULES, SANDBOX_MODULES, collect_routes
from server.routing import IndexedApplication

# How much Tornado reads from a connection at a time. For every read it allocates a zero-filled
# buffer of this size, and a kept-alive request takes two reads (the request, then the read that
# finds nothing more): at Tornado's default of 64 KiB, zero-filling 128 KiB was about a tenth of the
# instructions of a small GET. 16 KiB still holds a whole ordinary request (headers are a few hundred
# bytes) and reads an upload in 16 KiB pieces; larger header blocks just take more reads.
READ_CHUNK_BYTES = 16 * 1024
# Room for the multipart framing around the largest upload.
UPLOAD_FRAMING_BYTES = 64 * 1024


def route_table(sandbox: bool) -> list[tuple[str, type]]:
    """Every (pattern, handler) the service answers; the map of the API."""
    return collect_routes(HANDLER_MODULES + (SANDBOX_MODULES if sandbox else []))


def make_app(ctx: AppContext, metrics: Metrics | None = None, *, check_answers: bool = False) -> tornado.web.Application:
    """The application for `ctx`. With `check_answers` (the test suite), every JSON answer a route
    sends is checked against its declared type and each misfit recorded in `answer_violations`."""
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
        check_answers=check_answers,
        answer_violations=[],
        compress_response=False,
        log_function=lambda handler: None,  # BaseHandler.on_finish writes the one access-log line
    )


def make_http_server(app: tornado.web.Application, settings: Settings) -> tornado.httpserver.HTTPServer:
    """The HTTP server around `app`, as the server process and the tests run it."""
    return tornado.httpserver.HTTPServer(app, xheaders=settings.trust_proxy_headers,
                                         max_body_size=settings.max_upload_bytes + UPLOAD_FRAMING_BYTES,
                                         chunk_size=READ_CHUNK_BYTES)
