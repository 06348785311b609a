"""The base of the sandbox's handlers: a vendor stand-in served by our process, not part of our API.

Vendor endpoints answer in their vendor's own protocol (errcodes, gateway error nodes, APIv3 error
bodies), each module renders those itself. What is left here: the app context, JSON in and out for
the test helpers, their input errors as problem+json (`models.errors`, as the helpers raise them),
and the bookkeeping every request of the process shares (requests in flight for a graceful
shutdown, request metrics).
"""

from __future__ import annotations

import datetime
import json
import logging
import secrets
import time
from typing import Any

import tornado.web

from models.core.timezone import local_iso
from models.errors import BadRequest, DomainError

log = logging.getLogger("citygate.sandbox")


class SandboxHandler(tornado.web.RequestHandler):
    """JSON in and out, problem+json for test helpers' input errors, a request id per answer."""

    def initialize(self, route: str = "") -> None:
        self.route = route or self.request.path
        self.request_id = secrets.token_hex(16)
        self._started = time.perf_counter()

    def set_default_headers(self) -> None:
        self.clear_header("Server")  # as our own answers: no caller needs the framework's name and version

    @property
    def ctx(self) -> Any:
        """The app context (server.context.AppContext)."""
        return self.application.settings["ctx"]

    async def prepare(self) -> None:
        self.application.settings["in_flight"].add(self)

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object ({} when empty); 400 otherwise."""
        if not self.request.body:
            return {}
        try:
            data = json.loads(self.request.body)
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("json_invalid", "请求体不是有效的 JSON", "Body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("json_object_expected", "请求体应为 JSON 对象", "Body must be a JSON object")
        return data

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(payload, ensure_ascii=False, default=_json_default))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        english = self.request.headers.get("Accept-Language", "").lower().startswith("en")
        if isinstance(exc, DomainError):
            message = exc.message("en" if english else "zh-CN")
            body: dict[str, Any] = {"title": message, "status": exc.status, "code": exc.code, "detail": message}
            if exc.errors:
                body["errors"] = [{"field": e.field, "code": e.code, "message": e.message("en" if english else "zh-CN")}
                                  for e in exc.errors]
        else:
            body = {"title": self._reason, "status": status_code, "code": f"http_{status_code}", "detail": self._reason}
        body["request_id"] = self.request_id
        self.set_header("Content-Type", "application/problem+json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, DomainError):
            if not self._finished:
                self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, (DomainError, tornado.web.HTTPError)):
            return  # an expected answer to a bad request
        log.error("unhandled error in sandbox %s %s", self.request.method, self.route, exc_info=(typ, value, tb))

    def on_finish(self) -> None:
        self.application.settings["in_flight"].discard(self)
        elapsed = time.perf_counter() - self._started
        self.application.settings["metrics"].observe_request(self.request.method or "", self.route,
                                                             self.get_status(), elapsed)

    def on_connection_close(self) -> None:
        self.application.settings["in_flight"].discard(self)
        super().on_connection_close()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return local_iso(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
