"""An incremental multipart/form-data parser for streamed uploads (RFC 7578 over RFC 2046).

Tornado's own multipart parsing needs the whole body in memory. This parser is fed the body chunk by
chunk as it arrives and hands the file part's bytes on as they come, holding back at most one
delimiter's length, so an upload passes through memory once, a chunk at a time.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any, Protocol

from models.errors import BadRequest, DomainError

MAX_HEADER_BYTES = 16 * 1024
MAX_FIELD_BYTES = 4 * 1024
MAX_PREAMBLE_BYTES = 64 * 1024

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
    """Feed body bytes; get back events: ("part", headers), ("data", bytes), ("end", None), ("done", None)."""

    def __init__(self, boundary: bytes) -> None:
        self._first = b"--" + boundary
        self._delimiter = b"\r\n--" + boundary
        self._buffer = bytearray()
        self._state = "preamble"

    @property
    def done(self) -> bool:
        return self._state == "done"

    def feed(self, data: bytes) -> list[tuple[str, Any]]:
        self._buffer += data
        events: list[tuple[str, Any]] = []
        while True:
            if self._state == "preamble":
                if not self._preamble():
                    break
            elif self._state == "headers":
                headers = self._headers()
                if headers is None:
                    break
                events.append(("part", headers))
            elif self._state == "body":
                if not self._body(events):
                    break
            else:  # done: the epilogue is ignored
                self._buffer.clear()
                break
        return events

    def _preamble(self) -> bool:
        index = self._buffer.find(self._first)
        if index < 0:
            if len(self._buffer) > MAX_PREAMBLE_BYTES:
                raise _malformed("找不到分隔符", "no boundary found")
            return False
        after = index + len(self._first)
        if len(self._buffer) < after + 2:
            return False
        tail = bytes(self._buffer[after:after + 2])
        if tail == b"--":
            self._state = "done"
            return True
        if tail != b"\r\n":
            raise _malformed("分隔符后缺少换行", "boundary not followed by CRLF")
        del self._buffer[:after + 2]
        self._state = "headers"
        return True

    def _headers(self) -> dict[str, str] | None:
        index = self._buffer.find(b"\r\n\r\n")
        if index < 0:
            if len(self._buffer) > MAX_HEADER_BYTES:
                raise _malformed("部分头过长", "part headers too long")
            return None
        headers: dict[str, str] = {}
        for line in bytes(self._buffer[:index]).decode("utf-8", errors="replace").split("\r\n"):
            name, sep, value = line.partition(":")
            if not sep:
                raise _malformed("部分头格式错误", "bad part header line")
            headers[name.strip().lower()] = value.strip()
        del self._buffer[:index + 4]
        self._state = "body"
        return headers

    def _body(self, events: list[tuple[str, Any]]) -> bool:
        index = self._buffer.find(self._delimiter)
        if index < 0:
            # Everything except a possible partial delimiter at the end is part data.
            safe = len(self._buffer) - (len(self._delimiter) - 1)
            if safe > 0:
                events.append(("data", bytes(self._buffer[:safe])))
                del self._buffer[:safe]
            return False
        if index > 0:
            events.append(("data", bytes(self._buffer[:index])))
            del self._buffer[:index]
        after = len(self._delimiter)
        if len(self._buffer) < after + 2:
            return False
        tail = bytes(self._buffer[after:after + 2])
        if tail == b"--":
            events.append(("end", None))
            events.append(("done", None))
            self._state = "done"
            self._buffer.clear()
            return False
        if tail != b"\r\n":
            raise _malformed("分隔符后缺少换行", "boundary not followed by CRLF")
        events.append(("end", None))
        del self._buffer[:after + 2]
        self._state = "headers"
        return True


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
