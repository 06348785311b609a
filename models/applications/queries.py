"""Reading applications: one for its owner, its handling department or the public lookup, and the
lists of them."""

from __future__ import annotations

import secrets
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from models import workdays
from models.access import OperatorScope
from models.applications.caches import read_model
from models.applications.numbering import QUERY_CODE_LENGTH
from models.applications.states import RUNNING, STATUS_LABELS
from models.applications.views import SUMMARY_FIELDS, citizen_view, operator_view, public_view, summary_view
from models.core.context import Context
from models.core.pagination import page_of
from models.errors import FieldError, NotFound, ValidationFailed


async def get_for_citizen(ctx: Context, citizen_id: str, no: str, locale: str) -> dict[str, Any]:
    """The citizen's own application as they see it; 404 for an unknown number or someone else's."""
    found = await read_model(ctx, no)
    if found is None or found[0]["citizen_id"] != citizen_id:
        raise NotFound("application_not_found", "未找到该办件", "Application not found")
    return citizen_view(*found, ctx.clock(), locale)


async def list_for_citizen(ctx: Context, citizen_id: str, status: str | None, page: int, page_size: int,
                           locale: str) -> dict[str, Any]:
    """A page of the citizen's applications, newest first (`status`: comma-separated states)."""
    query: dict[str, Any] = {"citizen_id": citizen_id}
    if status:
        query["status"] = {"$in": _statuses(status)}
    now = ctx.clock()
    return await page_of(ctx.db.applications, query, [("created_at", DESCENDING)], page, page_size,
                         lambda application: summary_view(application, now, locale), SUMMARY_FIELDS)


def _statuses(raw: str) -> list[str]:
    wanted = [s.strip() for s in raw.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STATUS_LABELS]
    if unknown:
        raise ValidationFailed(errors=[FieldError("status", "enum", f"未知状态：{'、'.join(unknown)}",
                                                  f"Unknown status: {', '.join(unknown)}")])
    return wanted


def _handled_by(application: dict[str, Any] | None, scope: OperatorScope) -> bool:
    """A submitted application within the operator's department and region (a draft is the citizen's own)."""
    return (application is not None and application["status"] != "draft"
            and scope.allows(application.get("department"), application.get("region_code")))


async def get_for_operator(db: AsyncDatabase, no: str, scope: OperatorScope) -> dict[str, Any]:
    """An application within the operator's scope; 404 otherwise (its existence is not theirs to know)."""
    application = await db.applications.find_one({"_id": no})
    if not _handled_by(application, scope):
        raise NotFound("application_not_found", "未找到该办件", "Application not found")
    return application


async def operator_detail(ctx: Context, no: str, scope: OperatorScope, locale: str) -> dict[str, Any]:
    """An application within the operator's scope as the department sees it; 404 otherwise."""
    found = await read_model(ctx, no)
    if found is None or not _handled_by(found[0], scope):
        raise NotFound("application_not_found", "未找到该办件", "Application not found")
    return operator_view(*found, ctx.clock(), locale)


async def list_for_operators(ctx: Context, scope: OperatorScope, department: str | None = None, *,
                             status: str | None = None, service_code: str | None = None,
                             overdue: bool | None = None, page: int = 1, page_size: int = 20,
                             locale: str = "zh-CN") -> dict[str, Any]:
    """Applications within the operator's scope (or the department asked for), newest first; `overdue`
    selects those past their promised date."""
    # Drafts are the citizen's own until submitted: never listed to operators.
    query: dict[str, Any] = {"status": {"$in": [s for s in _statuses(status) if s != "draft"]} if status else {"$ne": "draft"}}
    query.update(scope.filter(department))
    if service_code:
        query["service_code"] = service_code
    now = ctx.clock()
    if overdue is not None:
        # Due dates are the last working day; past it means due_date < today (local).
        today = workdays.local_date(now).isoformat()
        late = {"$or": [{"status": {"$in": list(RUNNING)}, "deadline.due_date": {"$lt": today}},
                        {"deadline.late": True}]}
        query = {"$and": [query, late]} if overdue else {"$and": [query, {"$nor": late["$or"]}]}
    return await page_of(ctx.db.applications, query, [("created_at", DESCENDING)], page, page_size,
                         lambda application: summary_view(application, now, locale, operator=True), SUMMARY_FIELDS)


async def progress(ctx: Context, no: str, query_code: str, locale: str) -> dict[str, Any]:
    """Status and timeline for whoever holds the number and query code; nothing personal.

    An unknown number and a wrong code give the same answer, so numbers cannot be probed.
    """
    found = await read_model(ctx, no)
    application = found[0] if found else None
    stored = application.get("query_code", "") if application else "-" * QUERY_CODE_LENGTH
    matches = secrets.compare_digest(stored.encode(), (query_code or "").strip().upper().encode())
    if found is None or not matches or application["status"] == "draft":
        raise NotFound("progress_not_found", "办件编号或查询码不正确", "Application number or query code is wrong")
    return public_view(*found, ctx.clock(), locale)
