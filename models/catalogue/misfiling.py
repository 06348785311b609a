"""Misfiling (归类错误): items whose department or themes do not match their names."""

from __future__ import annotations

import unicodedata
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from models.access import OperatorScope
from models.core.localized import text


def _fold(value: str) -> str:
    return unicodedata.normalize("NFKC", value).lower()


def misfiling_problems(item: dict[str, Any], departments: dict[str, dict[str, Any]],
                       themes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Where `item` looks filed in the wrong department or theme: its name and aliases match none
    of that department's (theme's) keywords, or the department (theme) does not exist."""
    names = [_fold(text(item.get("name")))] + [_fold(a) for a in item.get("aliases", []) if isinstance(a, str)]
    names = [n for n in names if n]

    def matches(entry: dict[str, Any]) -> bool:
        keywords = [_fold(k) for k in entry.get("keywords", []) if isinstance(k, str) and k]
        return any(k in n for k in keywords for n in names)

    found: list[dict[str, Any]] = []
    dept_code = item.get("department")
    dept = departments.get(dept_code or "")
    if dept is None:
        found.append({"field": "department", "value": dept_code, "reason": "unknown_department"})
    elif not matches(dept):
        found.append({"field": "department", "value": dept_code, "reason": "keywords_mismatch"})
    for theme_code in item.get("themes", []) or []:
        theme = themes.get(theme_code)
        if theme is None:
            found.append({"field": "themes", "value": theme_code, "reason": "unknown_theme"})
        elif not matches(theme):
            found.append({"field": "themes", "value": theme_code, "reason": "keywords_mismatch"})
    return found


async def misfiled_items(db: AsyncDatabase, scope: OperatorScope) -> list[dict[str, Any]]:
    """Items (any status) in the operator's scope whose department or themes do not match their name."""
    departments = {d["code"]: d for d in await db.departments.find({}, {"_id": 0}).to_list(None)}
    themes = {t["code"]: t for t in await db.themes.find({}, {"_id": 0}).to_list(None)}
    report = []
    cursor = db.services.find(scope.filter(), {"_id": 0, "code": 1, "name": 1, "aliases": 1, "department": 1, "themes": 1,
                                   "status": 1}).sort("code", ASCENDING)
    async for item in cursor:
        problems = misfiling_problems(item, departments, themes)
        if problems:
            report.append({"code": item["code"], "name": item.get("name"), "status": item.get("status"),
                           "department": item.get("department"), "themes": item.get("themes", []),
                           "problems": problems})
    return report
