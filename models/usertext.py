"""Free text from citizens and operators: validated, length-limited, and never stored as HTML.

Mini-programs render text with their own components, but operators read the same text in a web
console, so markup is stripped and what remains is HTML-escaped before it is stored: whatever
later echoes the value (API, console, exports) cannot emit live HTML.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

from models.errors import FieldError

# A markup tag starts with a letter, "/", "!" or "?" right after "<"; "a < b" is text and stays.
_TAG = re.compile(r"<[A-Za-z/!?][^>]*>")
# C0/C1 control characters except tab, newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2066-\u2069]")
_FILE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def clean(value: str) -> str:
    """Normalise, drop control characters and markup tags, trim, then HTML-escape."""
    return html.escape(_strip(value), quote=True)


def _strip(value: str) -> str:
    text = unicodedata.normalize("NFC", value)
    text = _CONTROL.sub("", text)
    text = _TAG.sub("", text)
    return text.strip()


def text_field(body: dict[str, Any], name: str, errors: list[FieldError], *, max_length: int,
               required: bool = True, min_length: int = 1) -> str | None:
    """The cleaned text of `body[name]`, or None; problems are appended to `errors`.

    Lengths count characters of the text as written (after markup is removed, before escaping).
    """
    raw = body.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors.append(FieldError(name, "required", f"{name} 为必填项", f"{name} is required"))
        return None
    if not isinstance(raw, str):
        errors.append(FieldError(name, "not_text", f"{name} 应为文本", f"{name} must be text"))
        return None
    stripped = _strip(raw)
    if len(stripped) > max_length:
        errors.append(FieldError(name, "too_long", f"{name} 不能超过 {max_length} 个字",
                                 f"{name} must be at most {max_length} characters"))
        return None
    if len(stripped) < min_length:
        code = "required" if not stripped else "too_short"
        errors.append(FieldError(name, code, f"{name} 至少需要 {min_length} 个字",
                                 f"{name} must be at least {min_length} characters"))
        return None
    return html.escape(stripped, quote=True)


def file_ids(body: dict[str, Any], name: str, errors: list[FieldError], *, max_count: int) -> list[str]:
    """A list of distinct upload ids (from POST /api/v1/files) in `body[name]`; [] when absent."""
    raw = body.get(name)
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, str) and _FILE_ID.match(item) for item in raw):
        errors.append(FieldError(name, "invalid_file_ids", f"{name} 应为文件编号列表",
                                 f"{name} must be a list of file ids"))
        return []
    if len(raw) > max_count:
        errors.append(FieldError(name, "too_many_files", f"{name} 最多 {max_count} 个文件",
                                 f"{name} allows at most {max_count} files"))
        return []
    if len(set(raw)) != len(raw):
        errors.append(FieldError(name, "duplicate_file_ids", f"{name} 中有重复的文件", f"{name} lists a file twice"))
        return []
    return list(raw)

