"""The one parser for JSON request bodies: whatever it returns can be stored, logged and sent back.

`json.loads` alone accepts more than the rest of the service can hold: nesting deep enough to exhaust
the recursion limit, integers past Python's 4,300-digit conversion limit or BSON's int64, `NaN` and
`Infinity` (and `1e400`, which overflows to infinity), and `\\ud800`-style escapes that decode to a lone
surrogate, which UTF-8 (BSON, logs, answers) cannot encode, and object keys holding NUL (`\\u0000`),
which no BSON document can hold. Each is refused here with a 400, so no field of any route has to
check for them.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from models.errors import BadRequest

MAX_DEPTH = 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INT64_DIGITS = 19
# An escape of a UTF-16 surrogate half (a string holding one may hold a lone surrogate once decoded)
# or of NUL (which a key may then hold): only bodies with one need their strings looked at.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F]|0000)")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _too_deep() -> BadRequest:
    return BadRequest("json_too_deep", f"JSON 嵌套层数超过上限（{MAX_DEPTH} 层）",
                      f"JSON nests deeper than {MAX_DEPTH} levels", extra={"max_depth": MAX_DEPTH})


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) <= _INT64_DIGITS:
        value = int(text)
        if INT64_MIN <= value <= INT64_MAX:
            return value
    raise BadRequest("json_number_out_of_range", "JSON 中的整数超出允许范围（-2^63 到 2^63-1）",
                     "A JSON integer is out of range (-2^63 to 2^63-1)",
                     extra={"min": INT64_MIN, "max": INT64_MAX})


def _not_finite() -> BadRequest:
    return BadRequest("json_number_not_finite", "JSON 中的数字应为有限数（不接受 NaN、Infinity 或溢出的数）",
                      "JSON numbers must be finite (no NaN, Infinity or numbers that overflow)")


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _not_finite()
    return value


def _parse_constant(name: str) -> Any:
    raise _not_finite()


_decoder = json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)


def parse(raw: bytes) -> Any:
    """`raw` as JSON; 400 for malformed JSON or a value the service could not hold."""
    try:
        text = raw.decode("utf-8-sig")  # strict: UTF-8-encoded surrogates are refused here too
    except UnicodeDecodeError:
        raise BadRequest("malformed_json", "请求体不是有效的 UTF-8 JSON", "Body is not valid UTF-8 JSON") from None
    try:
        data = _decoder.decode(text)
    except RecursionError:
        raise _too_deep() from None
    except json.JSONDecodeError as exc:
        raise BadRequest(
            "malformed_json",
            f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列（位置 {exc.pos}）：{exc.msg}",
            f"Malformed JSON at line {exc.lineno} column {exc.colno} (char {exc.pos}): {exc.msg}",
            extra={"line": exc.lineno, "column": exc.colno, "position": exc.pos},
        ) from None
    # Walk the value only when it could be too deep, hold a lone surrogate or a NUL key: most cannot.
    if text.count("[") + text.count("{") > MAX_DEPTH or _SUSPECT_ESCAPE.search(text):
        _check(data)
    return data


def _check(data: Any) -> None:
    """Refuse nesting past MAX_DEPTH, strings (keys too) holding a lone surrogate, keys holding NUL."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise _too_deep()
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_text(key)
                    if "\x00" in key:
                        raise BadRequest("json_key_invalid", "JSON 对象的键不能含有空字符（\\u0000）",
                                         "JSON object keys must not hold the NUL character (\\u0000)")
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)


def _check_text(value: str) -> None:
    if _SURROGATE.search(value):
        raise BadRequest("json_lone_surrogate", "JSON 字符串含有不成对的代理字符（如 \\ud800），无法按 UTF-8 保存",
                         "A JSON string holds a lone surrogate (such as \\ud800), which UTF-8 cannot encode")
