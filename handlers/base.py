"""The one base handler: JSON in and out, problem+json errors, request ids, logs, callers."""

from __future__ import annotations

import asyncio
import datetime
import functools
import http
import itertools
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import tornado.locale
import tornado.web
from bson import ObjectId
from pymongo.errors import ConnectionFailure, OperationFailure

from handlers import contract, jsonbody
from handlers.contract import Contract
from handlers.openapi import openapi_path
from models import access, audit, idempotency, tokens
from models.core.context import Context
from models.core.timezone import local_iso
from models.errors import BadRequest, DomainError, Forbidden, PayloadTooLarge, Unauthorized, Unavailable
from models.tokens import Principal

access_log = logging.getLogger("citygate.access")
app_log = logging.getLogger("citygate.app")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class _RequestIds:
    """Request ids for callers that bring none: 32 hex digits, a random prefix per process and a
    counter, unique across workers and restarts without a random draw per request."""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)  # pre-forked workers must not share a prefix

    def reseed(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


_request_ids = _RequestIds()

# Text for errors raised by Tornado itself (unknown method, bad request line...), by status.
_HTTP_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "请求有误", "Bad request"),
    403: ("forbidden", "无权进行此操作", "Forbidden"),
    404: ("route_not_found", "请求的地址不存在", "No such route"),
    405: ("method_not_allowed", "该地址不支持此请求方法", "Method not allowed on this route"),
    413: ("payload_too_large", "提交的内容过大", "Payload too large"),
    500: ("internal_error", "服务器内部错误，请稍后再试", "Internal server error"),
}

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

DATASTORE_UNAVAILABLE = Unavailable("datastore_unavailable", "数据服务暂不可用，请稍后重试",
                                    "The datastore is unavailable; retry shortly", retry_after=2)


def _datastore_unreachable(error: BaseException) -> bool:
    """A network failure or a failover ("not primary", "shutting down"), not a refused command."""
    if isinstance(error, ConnectionFailure):  # AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError
        return True
    return isinstance(error, OperationFailure) and (
        error.has_error_label("RetryableWriteError") or error.has_error_label("TransientTransactionError"))

# The languages the service answers in, one file each in handlers/locales ("zh" also takes zh-CN,
# zh-TW...; "en" also en-GB...): tornado.locale picks the caller's best by q-value, else Chinese.
DEFAULT_LANGUAGE = "zh"
tornado.locale.load_translations(str(Path(__file__).with_name("locales")))
tornado.locale.set_default_locale(DEFAULT_LANGUAGE)


class BaseHandler(tornado.web.RequestHandler):
    """Parses JSON, renders problem+json, tags requests with an id, logs once, resolves the caller."""

    # A handler that streams large bodies (uploads) raises this for its own route.
    max_body_bytes: int | None = None
    _streamed_bytes = 0
    _closing = False  # answered before the whole body came: the connection closes after the answer
    # Worked out on first use, per request (class-level None until then: Tornado asks for the
    # request id in its constructor, before `initialize` runs).
    _request_id: str | None = None
    _locale_code: str | None = None
    # Set by `handlers.contract.declare` before the method runs: the route's contract, and its input
    # decoded and validated as the declared types.
    contract: Contract | None = None
    body: Any = None
    query: Any = None
    _json_body: dict[str, Any] | None = None

    def initialize(self, route: str = "") -> None:
        self.route = route or self.request.path
        self.principal: Principal | None = None
        self._started = time.perf_counter()

    @property
    def ctx(self) -> Context:
        return self.application.settings["ctx"]

    def header(self, name: str) -> str:
        """The request header `name` ("" when absent; repeated headers joined by commas)."""
        # HTTPHeaders.get() finds an absent header by catching a KeyError, which costs more than
        # the rest of reading a header; every request asks for several that are usually absent.
        return ",".join(self.request.headers.get_list(name))

    @property
    def locale_code(self) -> str:
        """"en" when the caller prefers English to Chinese (Accept-Language with its q-values, read by
        tornado.locale), else "zh-CN" (the default, and for every language we do not speak)."""
        if self._locale_code is None:
            chosen = self.get_browser_locale(DEFAULT_LANGUAGE).code if self.header("Accept-Language") else DEFAULT_LANGUAGE
            self._locale_code = "en" if chosen == "en" else "zh-CN"
        return self._locale_code

    @property
    def request_id(self) -> str:
        """The caller's X-Request-ID when it is a sane one, else one of ours."""
        if self._request_id is None:
            offered = self.header("X-Request-ID")
            self._request_id = offered if offered and _REQUEST_ID.match(offered) else _request_ids.next()
        return self._request_id

    def set_default_headers(self) -> None:
        self.set_header("X-Request-ID", self.request_id)
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.clear_header("Server")  # Tornado's default names the framework and its version: no caller needs it

    def compute_etag(self) -> str | None:
        # Every answer is `Cache-Control: no-store`: no client keeps it to revalidate, so hashing each
        # body for an ETag would buy nothing. Handlers whose content is cacheable (file downloads)
        # set their own.
        return None

    def check_etag_header(self) -> bool:
        # Only a caller revalidating (If-None-Match) can be answered 304; asking Tornado to compare
        # for every other request costs two header lookups that fail.
        return bool(self.request.headers.get_list("If-None-Match")) and super().check_etag_header()

    async def prepare(self) -> None:
        self.application.settings["in_flight"].add(self)
        if self.max_body_bytes is not None:
            # A streamed body is still to come: judge it by the length it declares.
            declared = self.header("Content-Length")
            if declared.isascii() and declared.isdigit() and int(declared) > self.max_body_bytes:
                raise PayloadTooLarge(extra={"limit_bytes": self.max_body_bytes})
            # A chunked body declares nothing: `data_received` counts it and answers 413 itself once it
            # passes the limit, so Tornado's own check (a bare 400 at the server-wide limit) must not
            # come first, even for one chunk that declares more than the limit at once.
            self.request.connection.set_max_body_size(2 * self.max_body_bytes)
        elif len(self.request.body) > self.ctx.settings.max_body_bytes:  # read whole before prepare()
            raise PayloadTooLarge(extra={"limit_bytes": self.ctx.settings.max_body_bytes})
        auth = self.header("Authorization")
        if auth.startswith("Bearer "):
            token = auth[7:].strip()
            if token:
                self.principal = await tokens.resolve_access_token(self.ctx, token)
                self.access_token = token

    # ---- input -------------------------------------------------------------------------------
    async def data_received(self, chunk: bytes) -> None:
        """The next piece of a streamed body (`@stream_request_body` handlers only), counted against
        `max_body_bytes`: past it, 413 at once; else handed to `body_received`."""
        if self._finished:
            return  # answered already; the rest is dropped until the connection closes
        self._streamed_bytes += len(chunk)
        if self.max_body_bytes is not None and self._streamed_bytes > self.max_body_bytes:
            self.refuse_stream(PayloadTooLarge(extra={"limit_bytes": self.max_body_bytes}))
            return
        await self.body_received(chunk)

    async def body_received(self, chunk: bytes) -> None:
        """A streaming handler's use of the next piece of its body."""

    def refuse_stream(self, error: DomainError) -> None:
        """Answer `error` while the body is still arriving, then close the connection.

        Reading the rest first would keep the handler in flight for as long as the client cares to
        send; closing is the only way not to read it (Tornado closes after an answer given mid-body).
        """
        if not self._finished:
            self._closing = True
            self.send_error(error.status, exc_info=(type(error), error, error.__traceback__))

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object (parsed by `handlers.jsonbody`, once); 400 otherwise."""
        if self._json_body is None:
            raw = self.request.body
            data = jsonbody.parse(raw) if raw else {}
            if not isinstance(data, dict):
                raise BadRequest("json_object_expected", "请求体应为 JSON 对象", "Body must be a JSON object")
            self._json_body = data
        return self._json_body

    # ---- output ------------------------------------------------------------------------------
    async def write_once(self, operation: str, body: Any, create: Callable[[], Awaitable[Any]], *,
                         status: int | None = None, caller: str | None = None,
                         recover: idempotency.Recover | None = None) -> None:
        """Run a write once per Idempotency-Key, replaying its first answer to a retry, and send the answer.

        `create` returns (status, answer), as the models that choose their status do, or with
        `status` given, the answer alone. Keys are kept per `caller` and `operation` (the stored
        keys are "<caller>:<operation>:<key>"): by default the caller is the logged-in principal
        ("citizen:<id>", "operator:<id>"), so two callers choosing the same key never meet.
        `recover` finds what a create that failed mid-way committed (models.idempotency.run_once).
        """
        async def run() -> tuple[int, Any]:
            answer = await create()
            return answer if status is None else (status, answer)

        if caller is None:
            caller = f"{self.principal.kind}:{self.principal.subject_id}"
        answered, payload = await idempotency.run_once(self.ctx, f"{caller}:{operation}",
                                                       self.request.headers.get("Idempotency-Key"), body, run,
                                                       recover)
        self.write_json(payload, answered)

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.write_json_body(json.dumps(payload, ensure_ascii=False, default=_json_default).encode(), status)

    @staticmethod
    def encode_json(payload: Any) -> bytes:
        """`payload` as `write_json` would send it (for bodies kept and sent again as they are)."""
        return json.dumps(payload, ensure_ascii=False, default=_json_default).encode()

    def write_json_body(self, body: bytes, status: int = 200) -> None:
        """Send a body made by `encode_json`."""
        if self.contract is not None and self.application.settings.get("check_answers"):
            self._check_answer(status, body)
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(body)

    def _check_answer(self, status: int, body: bytes) -> None:
        """Record an answer that does not fit its declared type (the test suite turns these into failures)."""
        violation = contract.answer_violation(self.contract, status, body)
        if violation is not None:
            self.application.settings["answer_violations"].append(
                f"{self.request.method} {self.route} -> {status}: {violation}")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        locale = self.locale_code
        if isinstance(exc, DomainError):
            body: dict[str, Any] = {
                "type": f"https://citygate.dev/problems/{exc.code}",
                "title": exc.message(locale),
                "status": exc.status,
                "code": exc.code,
                "detail": exc.message(locale),
            }
            if exc.errors:
                body["errors"] = [{"field": e.field, "code": e.code, "message": e.message(locale)} for e in exc.errors]
            body.update(exc.extra)
            for name, value in exc.headers.items():
                self.set_header(name, value)
        else:
            code, zh, en = _HTTP_ERRORS.get(status_code) or (
                "http_" + str(status_code), http.HTTPStatus(status_code).phrase, http.HTTPStatus(status_code).phrase)
            body = {"type": f"https://citygate.dev/problems/{code}", "title": en if locale == "en" else zh,
                    "status": status_code, "code": code, "detail": en if locale == "en" else zh}
            if status_code == 405:
                self.set_header("Allow", ", ".join(m for m in self.SUPPORTED_METHODS if self._implements(m)))
        body["request_id"] = self.request_id
        if self._closing:
            self.set_header("Connection", "close")
        self.set_header("Content-Type", "application/problem+json; charset=utf-8")
        self.set_header("Content-Language", "en" if locale == "en" else "zh-CN")
        self.finish(json.dumps(body, ensure_ascii=False, default=_json_default))

    def _implements(self, method: str) -> bool:
        return getattr(type(self), method.lower()) is not getattr(tornado.web.RequestHandler, method.lower())

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, (ConnectionFailure, OperationFailure)) and _datastore_unreachable(e):
            # The datastore is restarting or failing over: what was written is either committed or not
            # (writes are acknowledged by a majority and retried once by the driver), so the client's
            # retry with the same Idempotency-Key is safe. A clear 503, never a 500.
            app_log.warning("datastore unavailable in %s %s (request %s): %s", self.request.method, self.route,
                            self.request_id, type(e).__name__)
            e = DATASTORE_UNAVAILABLE
        if isinstance(e, DomainError):
            if self._finished:
                return
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, (DomainError, tornado.web.HTTPError)):
            return  # expected outcomes; the access log line records them
        app_log.error("unhandled error in %s %s (request %s)", self.request.method, self.route,
                      self.request_id, exc_info=(typ, value, tb))

    def on_finish(self) -> None:
        if self._is_audited_write():
            self._audit_in_background()
        self.application.settings["in_flight"].discard(self)
        elapsed = time.perf_counter() - self._started
        status = self.get_status()
        self.ctx_metrics.observe_request(self.request.method or "", self.route, status, elapsed)
        if not access_log.isEnabledFor(logging.INFO):
            return
        access_log.info(json.dumps({
            "event": "request", "method": self.request.method, "route": self.route, "status": status,
            "latency_ms": round(elapsed * 1000, 2), "request_id": self.request_id,
        }))

    def _is_audited_write(self) -> bool:
        return (self.principal is not None and self.principal.kind == "operator"
                and self.request.method in audit.WRITE_METHODS and self.route.startswith("/admin/v1/"))

    def _audit_in_background(self) -> None:
        """Record who changed what; the shutdown waits for it like for a request in flight."""
        template, names = openapi_path(self.route, type(self))
        values = [*self.path_args, *self.path_kwargs.values()]
        params = {names[i] if i < len(names) else f"param{i + 1}": value for i, value in enumerate(values)}
        principal = self.principal
        task = asyncio.ensure_future(audit.record(
            self.ctx, operator_id=principal.subject_id, template=template,
            operator_username=getattr(principal, "username", None) or None,  # else looked up by id
            department=principal.department, region_code=principal.region_code,
            client_ip=self.request.remote_ip or "",  # X-Real-IP only when CITYGATE_TRUST_PROXY_HEADERS
            method=self.request.method or "", route=self.route, path_params=params, status=self.get_status(),
            request_id=self.request_id, **self._audited_body()))
        in_flight = self.application.settings["in_flight"]
        in_flight.add(task)
        task.add_done_callback(self._audit_done)

    def _audited_body(self) -> dict[str, list[str]]:
        """What the audit keeps of a JSON request body: the names (never the values) of its fields,
        and the identifiers of the object it creates (`code`, `app_id`...); nothing of other bodies."""
        raw = self.request.body
        if not raw or self.max_body_bytes is not None or len(raw) > self.ctx.settings.max_body_bytes:
            return {}  # streamed uploads keep no body; an oversized one was refused unread
        content_type = self.header("Content-Type").split(";")[0].strip().lower()
        if content_type and not content_type.endswith("json"):
            return {}
        try:
            body = jsonbody.parse(raw)
        except Exception:  # noqa: BLE001 - a body the handler refused has no names worth keeping
            return {}
        return {"fields": audit.field_names(body),
                "objects": audit.object_ids(self.request.method or "", self.route, body)}

    def _audit_done(self, task: asyncio.Future) -> None:
        self.application.settings["in_flight"].discard(task)
        if not task.cancelled() and task.exception() is not None:
            app_log.error("audit entry for request %s not written", self.request_id, exc_info=task.exception())

    def require_citizen(self) -> None:
        """401 unless the caller is a logged-in citizen: what `@citizen_required` checks, for a handler
        that must know before its method runs (a streamed upload, before its body arrives)."""
        if self.principal is None or self.principal.kind != "citizen":
            raise Unauthorized("unauthorized", "请先登录", "Please log in first")

    @property
    def scope(self) -> access.OperatorScope:
        """The calling operator's scope (region, department); only for methods guarded by `requires`."""
        principal = self.principal
        return access.OperatorScope(principal.subject_id, principal.department, region_code=principal.region_code)

    @property
    def ctx_metrics(self):  # noqa: ANN201 - server.metrics.Metrics
        return self.application.settings["metrics"]

    def on_connection_close(self) -> None:
        self.application.settings["in_flight"].discard(self)
        super().on_connection_close()  # ends a streamed request still waiting for its body


class NotFoundHandler(BaseHandler):
    """Every unknown route: 404 problem+json."""

    def prepare(self) -> None:  # type: ignore[override]
        self.application.settings["in_flight"].add(self)
        self.route = "(unmatched)"  # one metrics label for all unknown paths, not one per path
        raise tornado.web.HTTPError(404)


# The guards below check, then hand back the handler method's coroutine for Tornado to await: a
# plain function, not a coroutine of its own around it, because every authenticated request runs one.
def citizen_required(method: F) -> F:
    """Only a logged-in citizen may call this; `self.principal` is theirs."""
    @functools.wraps(method)
    def wrapper(self: BaseHandler, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        self.require_citizen()
        return method(self, *args, **kwargs)
    wrapper.guard = "citizen"  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def requires(permission: str) -> Callable[[F], F]:
    """Only an operator whose roles grant `permission` (models.access) may call this.

    The one declaration of what an operator route needs: the method keeps it as `.permission`, and
    tests/test_console_access.py walks the route table to find every /admin/v1 method without one.
    What the operator may touch within that permission is their scope (`self.scope`).
    """
    if permission not in access.PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: BaseHandler, *args: Any, **kwargs: Any) -> Awaitable[Any]:
            if self.principal is None or self.principal.kind != "operator":
                raise Unauthorized("operator_unauthorized", "请先以工作人员身份登录", "Operator login required")
            if not access.permits(self.principal.roles, permission):
                raise Forbidden("operator_forbidden", "当前账号无此权限", "This operator lacks the required role")
            return method(self, *args, **kwargs)
        wrapper.permission = permission  # type: ignore[attr-defined]
        wrapper.guard = "operator"  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]
    return decorate


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return local_iso(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")

