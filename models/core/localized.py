"""Localised texts (多语言文本): {"zh-CN": ..., "en": ...} values, and picking the caller's language.

Every document that holds text in several languages (catalogue items, halls, applications' copies of
a service name, form titles) is read through `text`: the caller's locale, then its language, then
zh-CN, then any translation rather than nothing.
"""

from __future__ import annotations

import re
from typing import Any

DEFAULT_LOCALE = "zh-CN"
SUPPORTED_LOCALES = ("zh-CN", "en")
LOCALE_KEY = re.compile(r"^[a-z]{2}(-[A-Za-z]{2,4})?$")

Localized = dict[str, str]


def resolve_locale(requested: str | None) -> str:
    """A supported locale for `requested` ("en-GB" → "en"), or zh-CN."""
    if not requested:
        return DEFAULT_LOCALE
    if requested in SUPPORTED_LOCALES:
        return requested
    lang = requested.split("-")[0].lower()
    for locale in SUPPORTED_LOCALES:
        if locale.split("-")[0].lower() == lang:
            return locale
    return DEFAULT_LOCALE


def is_localized(value: Any) -> bool:
    """A localised text: a non-empty dict keyed by locale codes only, holding texts (or lists)."""
    return isinstance(value, dict) and bool(value) and all(
        isinstance(k, str) and LOCALE_KEY.match(k) and isinstance(v, (str, list)) for k, v in value.items())


def _present(candidate: Any) -> bool:
    return isinstance(candidate, str) and bool(candidate.strip()) or isinstance(candidate, list) and bool(candidate)


def _pick(value: dict[str, Any], locale: str, fallback: bool = True) -> Any:
    """The translation for `locale`, else for its language, else zh-CN, else any non-empty one
    (only `locale`'s own when not `fallback`)."""
    if not fallback:
        candidate = value.get(locale)
        return candidate if _present(candidate) else ""
    for key in (locale, locale.split("-")[0], DEFAULT_LOCALE):
        candidate = value.get(key)
        if _present(candidate):
            return candidate
    # last resort: any translation rather than nothing
    return next((candidate for candidate in value.values() if _present(candidate)), "")


def text(value: Any, locale: str = DEFAULT_LOCALE, *, fallback: bool = True) -> str:
    """The text of a localised value in `locale`, falling back to its language, then zh-CN, then any.

    A plain string is its own text. With `fallback=False` only `locale`'s own translation counts
    (the publish gate judges the Chinese text, not whatever stands in for it).
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return str(value)
    picked = _pick(value, locale, fallback)
    return picked if isinstance(picked, str) else ""


def translations(value: Any) -> list[str]:
    """Every translation of a localised value (or the string itself), e.g. to index all of them."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, str)]
    return []


def localize(value: Any, locale: str = DEFAULT_LOCALE) -> Any:
    """A copy of a document with every localised text replaced by its text in `locale`.

    JSON Schema property titles follow too: with locale "en", `title` becomes `x-title-en`.
    """
    if is_localized(value):
        return _pick(value, locale)
    if isinstance(value, dict):
        out = {k: localize(v, locale) for k, v in value.items() if k != "_id"}
        if locale != DEFAULT_LOCALE:
            translated = value.get(f"x-title-{locale.split('-')[0]}")
            if isinstance(translated, str) and translated and "title" in value:
                out["title"] = translated
        return out
    if isinstance(value, list):
        return [localize(v, locale) for v in value]
    return value
