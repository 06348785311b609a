"""Streamed multipart/form-data uploads (RFC 7578): python-multipart's parser, fed chunk by chunk.

Tornado's own multipart parsing needs the whole body in memory. python-multipart is fed the body as
it arrives and hands the file part's bytes on as they come, so an upload passes through memory once,
a chunk at a time. Part headers are split here (`header_params`): python-multipart's own
`parse_options_header` drops the RFC 5987 `filename*` that some clients send for non-ASCII names.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from typing import Any, Protocol

import python_multipart
from python_multipart.exceptions import MultipartParseError

from models.errors import BadRequest, DomainError

MAX_HEADER_BYTES = 16 * 1024  # one part header line
MAX_FIELD_BYTES = 4 * 1024

# python-multipart logs each malformed body at WARNING: the access log already records the 400, and
# a client sending garbage must not be able to fill the log with it.
logging.getLogger("python_multipart").setLevel(logging.ERROR)

_PARAM = re.compile(r';\s*([A-Za-z0-9_*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _malformed(detail_zh: str, detail_en: str) -> BadRequest:
    return BadRequest("malformed_multipart", f"multipart 请求体格式错误：{detail_zh}", f"Malformed multipart body: {detail_en}")


def header_params(value: str) -> tuple[str, dict[str, str]]:
    """Split `form-data; name="file"; filename="a.pdf"` into ("form-data", {...}); handles filename*."""
    main = value.split(";", 1)[0].strip().lower()
    params: dict[str, str] = {}
    for name, raw in _PARAM.findall(value):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        name = name.lower()
        if name.endswith("*"):  # RFC 5987: charset'language'percent-encoded
            charset, _, rest = raw.partition("'")
            _, _, encoded = rest.partition("'")
            try:
                params[name[:-1]] = urllib.parse.unquote(encoded, encoding=charset or "utf-8", errors="strict")
            except (LookupError, UnicodeDecodeError):
                continue
        else:
            params.setdefault(name, raw)
    return main, params


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a multipart/form-data Content-Type; 400 (or 415 for another type) otherwise."""
    from models.errors import UnsupportedMediaType

    kind, params = header_params(content_type or "")
    if kind != "multipart/form-data":
        raise UnsupportedMediaType("multipart_expected", "请以 multipart/form-data 上传文件",
                                   "Upload the file as multipart/form-data")
    boundary = params.get("boundary", "")
    if not 1 <= len(boundary) <= 70:
        raise _malformed("缺少 boundary 参数", "missing boundary parameter")
    return boundary.encode("latin-1", errors="replace")


class MultipartParser:
    """Feed body bytes; get back events: ("part", headers), ("data", bytes), ("end", None), ("done", None).

    python-multipart finds the boundaries (its parser keeps no more than a partial delimiter between
    chunks); its callbacks are collected as events, because what follows them (writing to GridFS) is
    asynchronous and a callback cannot await.
    """

    def __init__(self, boundary: bytes) -> None:
        self._events: list[tuple[str, Any]] = []
        self._headers: dict[str, str] = {}
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._done = False
        self._parser = python_multipart.MultipartParser(boundary, callbacks={
            "on_header_field": lambda data, start, end: self._header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": lambda data, start, end: self._events.append(("data", data[start:end])),
            "on_part_end": lambda: self._events.append(("end", None)),
            "on_end": self._end,
        }, max_header_size=MAX_HEADER_BYTES)

    @property
    def done(self) -> bool:
        return self._done

    def feed(self, data: bytes) -> list[tuple[str, Any]]:
        try:
            self._parser.write(data)
        except MultipartParseError:
            raise _malformed("分隔符或部分头格式错误", "bad boundary or part headers") from None
        events, self._events = self._events, []
        return events

    def _header_end(self) -> None:
        name = self._header_name.decode("utf-8", errors="replace").strip().lower()
        self._headers[name] = self._header_value.decode("utf-8", errors="replace").strip()
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        self._events.append(("part", self._headers))
        self._headers = {}

    def _end(self) -> None:
        self._events.append(("done", None))
        self._done = True


class FileSink(Protocol):
    async def begin(self, filename: str, fields: dict[str, str]) -> None: ...
    async def write(self, data: bytes) -> None: ...


class StreamedForm:
    """Routes a streamed multipart body: the one file part into `sink`, small text fields into `fields`.

    Text fields sent before the file part reach `sink.begin`, so they can choose the upload's rules.

    Errors found while streaming are kept and raised by `finish()`, because a handler's
    `data_received` cannot answer the request itself.
    """

    def __init__(self, content_type: str | None, sink: FileSink) -> None:
        self.parser = MultipartParser(boundary_of(content_type))
        self.sink = sink
        self.fields: dict[str, str] = {}
        self.files = 0
        self.error: BaseException | None = None
        self._current: str | None = None  # "file", a field name, or "skip"
        self._field_value = bytearray()

    async def feed(self, chunk: bytes) -> None:
        if self.error is not None:
            return
        try:
            for kind, value in self.parser.feed(chunk):
                await self._event(kind, value)
        except DomainError as exc:
            self.error = exc
        except Exception as exc:  # noqa: BLE001 - kept and re-raised by finish() inside the request
            self.error = exc

    async def _event(self, kind: str, value: Any) -> None:
        if kind == "part":
            _, params = header_params(value.get("content-disposition", ""))
            if "filename" in params:
                self.files += 1
                if self.files > 1:
                    raise BadRequest("one_file_only", "每次只能上传一个文件", "Upload one file per request")
                self._current = "file"
                await self.sink.begin(params["filename"], dict(self.fields))
            else:
                self._current = params.get("name") or "skip"
                self._field_value = bytearray()
        elif kind == "data":
            if self._current == "file":
                await self.sink.write(value)
            elif self._current not in (None, "skip"):
                self._field_value += value
                if len(self._field_value) > MAX_FIELD_BYTES:
                    raise _malformed("表单字段过长", "form field too long")
        elif kind == "end":
            if self._current not in (None, "skip", "file"):
                self.fields[self._current] = self._field_value.decode("utf-8", errors="replace")
            self._current = None

    def finish(self) -> None:
        """Raise the first error met while streaming, or 400 when the body ended early or had no file."""
        if self.error is not None:
            raise self.error
        if not self.parser.done:
            raise _malformed("请求体不完整", "body ended before the closing boundary")
        if self.files == 0:
            raise BadRequest("file_required", "请选择要上传的文件", "No file in the upload")
