"""Operators' console: the inspection scorecard and the audit log (channels: handlers.admin_channels).

Permissions (models.access): scorecard.read, audit.read. The scorecard and the audit log are
limited to the operator's scope.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import msgspec

from handlers.base import BaseHandler, requires
from handlers.contract import Answer, Page, PageQuery, Query, Raw, Timestamp, declare
from models import access, audit, scorecard
from models.core import csvfile, localized
from models.core.timezone import local
from models.errors import FieldError, ValidationFailed

# ---- the contract ---------------------------------------------------------------------------------
Localized = dict[str, str]  # {"zh-CN": ..., "en": ...}
CSV_EXPORT = "text/csv"


class ExportFormat(Query):
    format: str = "json"  # json, or csv for a spreadsheet (UTF-8 with BOM)


class ScorecardQuery(ExportFormat):
    department: str | None = None
    region: str | None = None


class Indicator(Answer):
    key: str
    name: Localized
    value: Any
    score: float | int | None
    weight: float | int
    informational: bool
    worst: list[dict[str, Any]]


class Dimension(Answer):
    key: str
    name: Localized
    score: float | int | None
    grade: str | None
    indicators: list[Indicator]
    worst: list[dict[str, Any]]


class Scorecard(Answer):
    """Five dimensions of the national inspection (findable, understandable, accurate, doable, fast)."""

    generated_at: Timestamp
    department: str | None
    region: str | None
    published_items: int
    score: float | int | None
    grade: str | None
    windows: dict[str, int]
    dimensions: list[Dimension]


class AuditQuery(PageQuery):
    format: str = "json"
    operator: str | None = None
    object: str | None = None
    action: str | None = None
    route: str | None = None
    from_: str | None = msgspec.field(default=None, name="from")
    to: str | None = None
    since: str | None = None
    until: str | None = None


class AuditEntry(Answer):
    id: str
    at: Timestamp
    operator_id: str
    operator_username: str
    department: str
    region_code: str
    client_ip: str
    method: str
    route: str
    action: str
    action_name: str
    path_params: dict[str, Any]
    objects: list[str]
    fields: list[str]
    status: int
    outcome: str
    request_id: str
    summary: str | None = None


def _csv(description: str) -> Raw:
    return Raw(CSV_EXPORT, {"type": "string"}, description)


class ScorecardHandler(BaseHandler):
    """The inspection scorecard: five dimensions with indicators, 0–100 scores and worst offenders (?department=&region=&format=csv)."""

    @requires(access.SCORECARD_READ)
    @declare(query=ScorecardQuery, answer=Scorecard, also=(_csv("with format=csv: a row per dimension and indicator"),))
    async def get(self) -> None:
        """JSON, or with `format=csv` one row per dimension and indicator; both limited to the caller's scope."""
        csv_wanted = _csv_wanted(self)
        card = await scorecard.scorecard(
            self.ctx, self.scope, department=self.get_query_argument("department", None) or None,
            region=self.get_query_argument("region", None) or None)
        if not csv_wanted:
            self.write_json(card)
            return
        _write_csv(self, f"scorecard-{_stamp(card['generated_at'])}.csv",
                   csvfile.encode(scorecard_csv_header(self.locale_code), scorecard_csv_rows(card, self.locale_code)))


class AuditHandler(BaseHandler):
    """Who changed what: operators' writes, newest first (?operator=&object=&action=&from=&to=&page=&page_size=&format=csv).

    `operator` is an operator id or username, `object` an id named by the write (service code,
    application or order number, app_id...), `action` a request (`POST /admin/v1/services/{code}/publish`)
    or a short action name (`services.publish`), `from`/`to` a date (Shanghai) or ISO time (`to` of a
    date includes that day). `format=csv` exports the same entries (at most 10,000: `X-Export-Truncated`
    says when more matched). Only entries of operators within the caller's region and department.
    """

    @requires(access.AUDIT_READ)
    @declare(query=AuditQuery, answer=Page[AuditEntry],
             also=(_csv("with format=csv: every matching entry, at most 10,000 (see X-Export-Truncated)"),))
    async def get(self) -> None:
        """A page of entries, or with `format=csv` all of them (up to the export limit)."""
        csv_wanted = _csv_wanted(self)
        arg = self.get_query_argument
        since_field = "from" if arg("from", None) else "since"
        until_field = "to" if arg("to", None) else "until"
        found = audit.query(
            operator=arg("operator", None) or None, object_id=arg("object", None) or None,
            action=arg("action", None) or None, route=arg("route", None) or None,
            since=arg(since_field, None) or None, until=arg(until_field, None) or None,
            since_field=since_field, until_field=until_field, scope_filter=self.scope.filter())
        if not csv_wanted:
            self.write_json(await audit.search(self.ctx, found, page=self.query.page, page_size=self.query.page_size))
            return
        total = await self.ctx.db.audit_log.count_documents(found)
        rows = [audit.csv_row(doc) async for doc in audit.export_rows(self.ctx, found)]
        truncated = total > len(rows)
        trailer = None
        if truncated:
            trailer = ([f"# 仅导出最新的 {len(rows)} 条，共 {total} 条；请缩小时间范围"] if self.locale_code != "en" else
                       [f"# truncated: the newest {len(rows)} of {total} entries; narrow the time range"])
        self.set_header("X-Export-Total", str(total))
        self.set_header("X-Export-Rows", str(len(rows)))
        self.set_header("X-Export-Truncated", "true" if truncated else "false")
        _write_csv(self, f"audit-{_stamp(self.ctx.clock())}.csv",
                   csvfile.encode(audit.csv_header(self.locale_code), rows, trailer))


# ---- CSV exports ---------------------------------------------------------------------------------------
def _csv_wanted(handler: BaseHandler) -> bool:
    wanted = handler.get_query_argument("format", None) or "json"
    if wanted not in ("json", "csv"):
        raise ValidationFailed(errors=[FieldError("format", "invalid", "format 应为 json 或 csv",
                                                  "format must be json or csv")])
    return wanted == "csv"


def _stamp(moment: datetime.datetime) -> str:
    return local(moment).strftime("%Y%m%d-%H%M%S")


def _write_csv(handler: BaseHandler, filename: str, body: bytes) -> None:
    handler.set_header("Content-Type", csvfile.MEDIA_TYPE)
    handler.set_header("Content-Disposition", f'attachment; filename="{filename}"')
    handler.finish(body)


SCORECARD_CSV_COLUMNS = (
    ("维度", "Dimension"), ("维度得分", "Dimension score"), ("指标", "Indicator"), ("指标代码", "Indicator key"),
    ("数值", "Value"), ("得分", "Score"), ("权重", "Weight"), ("最差对象", "Worst offenders"),
)


def scorecard_csv_header(locale: str) -> list[str]:
    return [en if locale == "en" else zh for zh, en in SCORECARD_CSV_COLUMNS]


def scorecard_csv_rows(card: dict[str, Any], locale: str) -> list[list[Any]]:
    """The overall score, then per dimension one row of its own and one per indicator."""
    def name(value: Any) -> str:
        return localized.text(value, locale) if isinstance(value, dict) else str(value or "")

    def offenders(worst: list[dict[str, Any]]) -> str:
        return "; ".join(" ".join(str(part) for part in (w.get("code"), name(w.get("name"))) if part) for w in worst)

    def shown(value: Any) -> Any:
        if value is None or isinstance(value, str | int | float):
            return value
        return json.dumps(value, ensure_ascii=False, default=str)

    rows: list[list[Any]] = [["总分" if locale != "en" else "Overall", card.get("score"), "", "", "", card.get("score"),
                              "", ""]]
    for dim in card.get("dimensions", []):
        rows.append([name(dim["name"]), dim.get("score"), "", "", "", dim.get("score"), "", offenders(dim.get("worst", []))])
        for ind in dim.get("indicators", []):
            rows.append([name(dim["name"]), dim.get("score"), name(ind.get("name")), ind.get("key"), shown(ind.get("value")),
                         ind.get("score"), ind.get("weight"), offenders(ind.get("worst", []))])
    return rows


routes = [
    (r"/admin/v1/scorecard", ScorecardHandler),
    (r"/admin/v1/audit", AuditHandler),
]
