"""Form validation: every way a form breaks its item's JSON Schema, as field errors in zh-CN and en."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema

from models.core import localized
from models.errors import FieldError

_TYPE_WORDS = {"string": ("文本", "text"), "integer": ("整数", "a whole number"), "number": ("数字", "a number"),
               "boolean": ("是或否", "true or false"), "object": ("对象", "an object"), "array": ("列表", "a list"),
               "null": ("空值", "null")}
_FORMAT_WORDS = {"date": ("日期（YYYY-MM-DD）", "date (YYYY-MM-DD)"), "email": ("电子邮箱", "email address"),
                 "date-time": ("日期时间", "date-time"), "uri": ("网址", "URL")}


def field_titles(schema: Any, name: str) -> tuple[str, str]:
    """A field's (zh, en) title from its schema, else its name."""
    if not isinstance(schema, dict):
        return name, name
    title = schema.get("title")
    if isinstance(title, dict):
        return localized.text(title, "zh-CN") or name, localized.text(title, "en") or name
    return (title or name), (schema.get("x-title-en") or title or name)


def form_errors(schema: dict[str, Any], form: Any, prefix: str = "form") -> list[FieldError]:
    """Every way `form` breaks `schema`, each with its field path (`form.children[0].name`) and a zh/en message."""
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    found: list[FieldError] = []
    for error in validator.iter_errors(form):
        found.extend(_explain(error, prefix))
    unique = {(e.field, e.code): e for e in found}
    return sorted(unique.values(), key=lambda e: (e.field, e.code))


def _explain(error: jsonschema.ValidationError, prefix: str) -> Iterator[FieldError]:
    path = [str(p) for p in error.absolute_path]
    field = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    keyword, expected = error.validator, error.validator_value
    if keyword == "required":
        properties = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        present = error.instance if isinstance(error.instance, dict) else {}
        for name in expected:
            if name not in present:
                zh, en = field_titles(properties.get(name), name)
                yield FieldError(f"{field}.{name}", "required", f"「{zh}」为必填项", f"{en} is required")
        return
    if keyword == "additionalProperties":
        known = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
        for name in sorted(set(error.instance) - known if isinstance(error.instance, dict) else ()):
            yield FieldError(f"{field}.{name}", "unknown_field", f"不允许的字段「{name}」", f"Unknown field {name!r}")
        return
    zh, en = field_titles(error.schema, path[-1] if path else prefix)
    if keyword == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        yield FieldError(field, "type", f"「{zh}」应为{'或'.join(_TYPE_WORDS.get(k, (k, k))[0] for k in kinds)}",
                         f"{en} must be {' or '.join(_TYPE_WORDS.get(k, (k, k))[1] for k in kinds)}")
    elif keyword in ("enum", "const"):
        options = expected if keyword == "enum" else [expected]
        text = "、".join(str(o) for o in options)
        yield FieldError(field, "enum", f"「{zh}」应为以下之一：{text}",
                         f"{en} must be one of: {', '.join(str(o) for o in options)}")
    elif keyword == "pattern":
        yield FieldError(field, "pattern", f"「{zh}」格式不正确", f"{en} is not in the expected format")
    elif keyword == "format":
        words = _FORMAT_WORDS.get(expected, (expected, expected))
        yield FieldError(field, "format", f"「{zh}」不是有效的{words[0]}", f"{en} is not a valid {words[1]}")
    elif keyword in ("minLength", "maxLength"):
        yield FieldError(field, keyword, f"「{zh}」{'至少' if keyword == 'minLength' else '最多'} {expected} 个字符",
                         f"{en} must be {'at least' if keyword == 'minLength' else 'at most'} {expected} characters")
    elif keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        low = keyword.endswith("inimum")
        strict = keyword.startswith("exclusive")
        zh_rel = ("大于" if strict else "不小于") if low else ("小于" if strict else "不大于")
        en_rel = ("greater than" if strict else "at least") if low else ("less than" if strict else "at most")
        yield FieldError(field, keyword, f"「{zh}」应{zh_rel} {expected}", f"{en} must be {en_rel} {expected}")
    elif keyword in ("minItems", "maxItems"):
        yield FieldError(field, keyword, f"「{zh}」{'至少' if keyword == 'minItems' else '最多'} {expected} 项",
                         f"{en} must have {'at least' if keyword == 'minItems' else 'at most'} {expected} items")
    else:
        yield FieldError(field, keyword, f"「{zh}」的内容不符合要求", f"{en} is not valid")
