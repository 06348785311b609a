"""Localised texts (多语言文本) of catalogue documents: {"zh-CN": ..., "en": ...}, and picking one."""

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


def _pick(value: dict[str, Any], locale: str) -> Any:
    """The translation for `locale`, else for its language, else zh-CN, else any non-empty one."""
    for key in (locale, locale.split("-")[0], DEFAULT_LOCALE):
        candidate = value.get(key)
        if isinstance(candidate, str) and candidate.strip() or isinstance(candidate, list) and candidate:
            return candidate
    for candidate in value.values():  # last resort: any translation rather than nothing
        if isinstance(candidate, str) and candidate.strip() or isinstance(candidate, list) and candidate:
            return candidate
    return ""


def text(value: Any, locale: str = DEFAULT_LOCALE) -> str:
    """The text of a localised value in `locale`, falling back to its language, then zh-CN."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return str(value)
    picked = _pick(value, locale)
    return picked if isinstance(picked, str) else ""


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
