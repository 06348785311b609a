"""The inspection scorecard (政务服务“好差评”与网上政务服务能力检查): where the platform falls short.

The national inspection of online government services judges five things; each is a dimension
here, made of measured indicators, each with a value, a 0–100 score and its worst offenders:

- findable (可找到): departments and themes with published items (no empty columns), zero-result
  searches, items filed in the wrong department or theme;
- understandable (看得懂/准确): guides that pass the publish gate, items with confirmed but unfixed
  error reports, items without an English translation (informational, weight 0);
- doable (办得成): items offered online, items that actually receive online applications, halls
  with bookable places in the next working days;
- fast (办得快): decisions within the promised time limit, overdue open applications, consultation
  answers on time and consultations waiting past their deadline, and (informational) how often a
  published answer spared a question (deflection, models.consultations.deflection);
- satisfied (好差评): the rating distribution and share of bad ratings, open and overdue
  rectifications of bad ratings.

Scoring rules are the pure functions below; the numbers come from the feature modules' own
functions (catalogue, consultations, ratings, appointments) wherever one exists. An indicator with
nothing to measure (no ratings yet...) has score None and does not count; a dimension's score is
the weighted mean of its indicators' scores, the overall score the mean of the dimensions'.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable
from typing import Any

from models import access, appointments, catalogue, consultations, ratings, search, workdays
from models.access import OperatorScope
from models.applications import RUNNING
from models.core.context import Context
from models.core.timezone import as_utc
from models.errors import FieldError, Forbidden, ValidationFailed

WORST_LIMIT = 10
ONLINE_WINDOW_DAYS = 30      # online applications counted over this many days
RECENT_WINDOW_DAYS = 90      # decisions, consultations and ratings counted over this many days
APPOINTMENT_WORKDAYS = 7     # halls should offer places within this many working days
SEARCH_MISS_WINDOW_DAYS = 30
SEARCH_MISS_PENALTY = 2.0    # points per distinct zero-result query in the window
DECIDED = ("approved", "rejected", "completed")

DIMENSIONS: dict[str, tuple[str, str]] = {
    "findable": ("可找到", "Findable"),
    "understandable": ("看得懂、准确", "Understandable and accurate"),
    "doable": ("办得成", "Doable online"),
    "fast": ("办得快", "Fast"),
    "satisfied": ("好差评", "Satisfied"),
}


# ---- pure scoring rules --------------------------------------------------------------------------
def ratio_score(good: int, total: int) -> float | None:
    """100 × good / total, None when there is nothing to measure."""
    if total <= 0:
        return None
    return round(100.0 * max(0, min(good, total)) / total, 1)


def penalty_score(count: int, points_each: float) -> float:
    """100 minus `points_each` per occurrence, never below 0."""
    return round(max(0.0, 100.0 - points_each * max(0, count)), 1)


def weighted_score(indicators: Iterable[dict[str, Any]]) -> float | None:
    """The weighted mean of the indicators' scores; those without a score or weight do not count."""
    total = weight_sum = 0.0
    for indicator in indicators:
        if indicator.get("score") is None or not indicator.get("weight"):
            continue
        total += indicator["score"] * indicator["weight"]
        weight_sum += indicator["weight"]
    return round(total / weight_sum, 1) if weight_sum else None


def mean_score(scores: Iterable[float | None]) -> float | None:
    present = [s for s in scores if s is not None]
    return round(sum(present) / len(present), 1) if present else None


def grade(score: float | None) -> str | None:
    """The inspection's bands: 优 ≥ 90, 良 ≥ 80, 中 ≥ 60, 差 below."""
    if score is None:
        return None
    return "excellent" if score >= 90 else "good" if score >= 80 else "fair" if score >= 60 else "poor"


def worst_offenders(indicators: Iterable[dict[str, Any]], limit: int = WORST_LIMIT) -> list[dict[str, Any]]:
    """The things (items, departments, halls...) named most often among the indicators' offenders."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    order: list[tuple[str, str]] = []
    for indicator in indicators:
        if not indicator.get("weight"):
            continue  # informational indicators do not make anyone an offender
        for entry in indicator.get("worst", []):
            key = (entry["kind"], entry["code"])
            if key not in found:
                found[key] = {"kind": entry["kind"], "code": entry["code"], "name": entry.get("name"),
                              "indicators": []}
                order.append(key)
            if indicator["key"] not in found[key]["indicators"]:
                found[key]["indicators"].append(indicator["key"])
    ranked = sorted(order, key=lambda k: (-len(found[k]["indicators"]), order.index(k)))
    return [found[k] for k in ranked[:limit]]


def indicator(key: str, zh: str, en: str, *, value: Any, score: float | None, weight: float = 1.0,
              worst: list[dict[str, Any]] | None = None, **details: Any) -> dict[str, Any]:
    """One measured indicator, as the scorecard shows it."""
    return {"key": key, "name": {"zh-CN": zh, "en": en}, "value": value, "score": score, "weight": weight,
            "informational": not weight, "worst": (worst or [])[:WORST_LIMIT], **details}


def dimension(key: str, indicators: list[dict[str, Any]]) -> dict[str, Any]:
    zh, en = DIMENSIONS[key]
    score = weighted_score(indicators)
    return {"key": key, "name": {"zh-CN": zh, "en": en}, "score": score, "grade": grade(score),
            "indicators": indicators, "worst": worst_offenders(indicators)}


def in_region(region_code: Any, prefix: str | None) -> bool:
    return not prefix or (isinstance(region_code, str) and region_code.startswith(prefix))


def has_english(item: dict[str, Any]) -> bool:
    """The item's name and acceptance conditions have English text (what a foreign user needs first)."""
    guide = item.get("guide") or {}
    for value in (item.get("name"), guide.get("conditions")):
        if not isinstance(value, dict) or not isinstance(value.get("en"), str) or not value["en"].strip():
            return False
    return True


def _item_entry(item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"kind": "service", "code": item["code"], "name": catalogue.text(item.get("name")),
            "department": item.get("department"), **extra}


# ---- input -------------------------------------------------------------------------------------
def parse_filters(department: str | None, region: str | None) -> tuple[str | None, str | None]:
    """Validated `department` code and `region` code (2–6 digits) → (department, region prefix)."""
    errors = []
    if department is not None and (len(department) > 40 or not department.replace("-", "").replace("_", "").isalnum()):
        errors.append(FieldError("department", "invalid", "department 格式不正确", "department is not a valid code"))
    if region is not None and not (region.isascii() and region.isdigit() and 2 <= len(region) <= 6):
        errors.append(FieldError("region", "invalid", "行政区划代码应为2至6位数字",
                                 "region must be a region code of 2 to 6 digits"))
    if errors:
        raise ValidationFailed(errors=errors)
    return department or None, search.region_scope(region)[0] if region else None


# ---- the scorecard -------------------------------------------------------------------------------
async def scorecard(ctx: Context, operator: OperatorScope, *, department: str | None = None,
                    region: str | None = None) -> dict[str, Any]:
    """The five dimensions for the operator's scope (their department, or the one asked for)."""
    department, prefix = parse_filters(department, region)
    if department and operator.department and department != operator.department:
        raise Forbidden("department_forbidden", "无权查看其他部门的数据", "You may not see another department's data")
    if operator.region_code:  # a regional operator sees their region, or a part of it
        own = access.region_prefix(operator.region_code)
        if prefix and not prefix.startswith(own):
            raise Forbidden("region_forbidden", "无权查看其他地区的数据", "You may not see another region's data")
        prefix = prefix or own
    department = department or operator.department or None
    now = ctx.clock()
    query: dict[str, Any] = {"status": "published"}
    if department:
        query["department"] = department
    items = [i for i in await ctx.db.services.find(query, {"_id": 0}).sort("code", 1).to_list(None)
             if in_region(i.get("region_code"), prefix)]
    codes = {i["code"] for i in items}
    dimensions = [
        await _findable(ctx, items, department, prefix, now),
        await _understandable(ctx, items, codes),
        await _doable(ctx, items, department, prefix, now),
        await _fast(ctx, operator, items, codes, department, prefix, now),
        await _satisfied(ctx, operator, items, codes, department, prefix, now),
    ]
    overall = mean_score(d["score"] for d in dimensions)
    return {"generated_at": now, "department": department, "region": region or None,
            "published_items": len(items), "score": overall, "grade": grade(overall),
            "windows": {"online_applications_days": ONLINE_WINDOW_DAYS, "recent_days": RECENT_WINDOW_DAYS,
                        "appointment_workdays": APPOINTMENT_WORKDAYS},
            "dimensions": dimensions}


async def _findable(ctx: Context, items: list[dict[str, Any]], department: str | None, prefix: str | None,
                    now: datetime.datetime) -> dict[str, Any]:
    by_department = Counter(i.get("department") for i in items)
    by_theme = Counter(t for i in items for t in i.get("themes") or [])
    departments = await catalogue.list_departments(ctx.db, include_empty=True)
    if department:
        departments = [d for d in departments if d["code"] == department]
    themes = await catalogue.list_themes(ctx.db, include_empty=True)
    empty_departments = [d for d in departments if not by_department.get(d["code"])]
    empty_themes = [t for t in themes if not by_theme.get(t["code"])]

    since = now - datetime.timedelta(days=SEARCH_MISS_WINDOW_DAYS)
    misses = await catalogue.list_search_misses(ctx.db, page=1, page_size=100)
    recent = [m for m in misses["items"] if m.get("last_at") and _instant(m["last_at"]) >= since]

    codes = {i["code"] for i in items}
    misfiled = [m for m in await catalogue.misfiled_items(ctx.db, OperatorScope("scorecard")) if m["code"] in codes]
    return dimension("findable", [
        indicator("departments_with_items", "有已发布事项的部门占比", "Departments with published items",
                  value={"with_items": len(departments) - len(empty_departments), "total": len(departments)},
                  score=ratio_score(len(departments) - len(empty_departments), len(departments)),
                  worst=[{"kind": "department", "code": d["code"], "name": catalogue.text(d.get("name"))}
                         for d in empty_departments]),
        indicator("themes_with_items", "有已发布事项的主题占比（无空栏目）", "Themes with published items (no empty columns)",
                  value={"with_items": len(themes) - len(empty_themes), "total": len(themes)},
                  score=ratio_score(len(themes) - len(empty_themes), len(themes)),
                  # one department need not serve every life event: scored for the whole platform only
                  weight=0 if department else 1, worst=[{"kind": "theme", "code": t["code"], "name": catalogue.text(t.get("name"))}
                         for t in empty_themes]),
        # Searches are platform-wide: with a department or region filter this is shown, not scored.
        indicator("zero_result_searches", f"近{SEARCH_MISS_WINDOW_DAYS}天零结果搜索词",
                  f"Zero-result searches in the last {SEARCH_MISS_WINDOW_DAYS} days",
                  value={"distinct_queries": len(recent), "searches": sum(int(m.get("count", 0)) for m in recent)},
                  score=penalty_score(len(recent), SEARCH_MISS_PENALTY), weight=0 if department or prefix else 1,
                  worst=[{"kind": "query", "code": m["query"], "name": m["query"], "count": m.get("count", 0),
                          "last_at": m.get("last_at")} for m in recent]),
        indicator("misfiled_items", "归类有误的事项", "Items filed under the wrong department or theme",
                  value={"misfiled": len(misfiled), "published": len(items)},
                  score=ratio_score(len(items) - len(misfiled), len(items)),
                  worst=[{"kind": "service", "code": m["code"], "name": catalogue.text(m.get("name")),
                          "department": m.get("department"), "problems": m["problems"]} for m in misfiled]),
    ])


async def _understandable(ctx: Context, items: list[dict[str, Any]], codes: set[str]) -> dict[str, Any]:
    incomplete = []
    for item in items:
        problems = catalogue.guide_problems(item)
        if problems:
            incomplete.append(_item_entry(item, problems=sorted({f"{p.field}:{p.code}" for p in problems})))
    incomplete.sort(key=lambda e: -len(e["problems"]))

    confirmed: Counter[str] = Counter()
    pending: Counter[str] = Counter()
    async for report in ctx.db.feedback.find({"status": {"$in": ["pending", "confirmed"]}},
                                             {"service_code": 1, "status": 1}):
        if report.get("service_code") in codes:
            (confirmed if report["status"] == "confirmed" else pending)[report["service_code"]] += 1
    by_code = {i["code"]: i for i in items}
    reported = [_item_entry(by_code[code], confirmed_reports=n, pending_reports=pending.get(code, 0))
                for code, n in confirmed.most_common()]
    untranslated = [_item_entry(i) for i in items if not has_english(i)]
    return dimension("understandable", [
        indicator("guides_complete", "办事指南要素完整、表述准确的事项占比", "Items whose guide passes the publish gate",
                  value={"complete": len(items) - len(incomplete), "published": len(items)},
                  score=ratio_score(len(items) - len(incomplete), len(items)), worst=incomplete),
        indicator("confirmed_error_reports", "有已确认未整改纠错的事项", "Items with confirmed, unfixed error reports",
                  value={"items": len(confirmed), "confirmed_reports": sum(confirmed.values()),
                         "pending_reports": sum(pending.values())},
                  score=ratio_score(len(items) - len(confirmed), len(items)), worst=reported),
        indicator("english_missing", "缺少英文翻译的事项（参考）", "Items without an English translation (informational)",
                  value={"missing": len(untranslated), "published": len(items)},
                  score=ratio_score(len(items) - len(untranslated), len(items)), weight=0, worst=untranslated),
    ])


async def _doable(ctx: Context, items: list[dict[str, Any]], department: str | None, prefix: str | None,
                  now: datetime.datetime) -> dict[str, Any]:
    online = [i for i in items if i.get("handling_depth", "info_only") != "info_only"]
    info_only = [_item_entry(i) for i in items if i.get("handling_depth", "info_only") == "info_only"]

    since = now - datetime.timedelta(days=ONLINE_WINDOW_DAYS)
    online_codes = {i["code"] for i in online}
    submitted: Counter[str] = Counter()
    query: dict[str, Any] = {"submitted_at": {"$gte": since}}
    if department:
        query["department"] = department
    async for application in ctx.db.applications.find(query, {"service_code": 1}):
        if application.get("service_code") in online_codes:
            submitted[application["service_code"]] += 1
    unused = [_item_entry(i, applications=0) for i in online if not submitted.get(i["code"])]

    halls = await _halls_in_scope(ctx, {i["code"] for i in items}, department, prefix)
    today = workdays.local_date(now)
    last = workdays.add_workdays(today, APPOINTMENT_WORKDAYS - 1) if workdays.is_workday(today) \
        else workdays.add_workdays(today, APPOINTMENT_WORKDAYS)
    without_places = []
    places = 0
    for hall in halls:
        days = await appointments.hall_days(ctx, hall, today, last, now, "zh-CN")
        remaining = sum(d["remaining"] for d in days["days"])
        places += remaining
        if remaining <= 0:
            without_places.append({"kind": "hall", "code": hall["_id"], "name": catalogue.text(hall.get("name")),
                                   "region_code": hall.get("region_code")})
    return dimension("doable", [
        indicator("online_items", "可网上申请的事项占比", "Items that can be applied for online",
                  value={"online": len(online), "published": len(items)},
                  score=ratio_score(len(online), len(items)), worst=info_only),
        indicator("online_application_rate", f"近{ONLINE_WINDOW_DAYS}天有网上申请的在线事项占比",
                  f"Online items that received applications in the last {ONLINE_WINDOW_DAYS} days",
                  value={"applications": sum(submitted.values()), "items_used": len(online) - len(unused),
                         "online_items": len(online),
                         "per_item": round(sum(submitted.values()) / len(online), 2) if online else None},
                  score=ratio_score(len(online) - len(unused), len(online)), worst=unused),
        indicator("appointments_available", f"未来{APPOINTMENT_WORKDAYS}个工作日有可预约号源的大厅占比",
                  f"Halls with bookable places in the next {APPOINTMENT_WORKDAYS} working days",
                  value={"halls": len(halls), "with_places": len(halls) - len(without_places), "places": places,
                         "from": today.isoformat(), "to": last.isoformat()},
                  score=ratio_score(len(halls) - len(without_places), len(halls)), worst=without_places),
    ])


async def _halls_in_scope(ctx: Context, codes: set[str], department: str | None, prefix: str | None) -> list[dict[str, Any]]:
    halls = await ctx.db.halls.find({"active": True}).sort("_id", 1).to_list(None)
    return [h for h in halls if in_region(h.get("region_code"), prefix)
            and (not department or set(h.get("service_codes") or []) & codes)]


async def _fast(ctx: Context, operator: OperatorScope, items: list[dict[str, Any]], codes: set[str],
                department: str | None, prefix: str | None, now: datetime.datetime) -> dict[str, Any]:
    names = {i["code"]: catalogue.text(i.get("name")) for i in items}
    since = now - datetime.timedelta(days=RECENT_WINDOW_DAYS)
    query: dict[str, Any] = {"status": {"$in": list(DECIDED)}, "decided_at": {"$gte": since}}
    if department:
        query["department"] = department
    decided = late = 0
    late_by_service: Counter[str] = Counter()
    async for application in ctx.db.applications.find(query, {"service_code": 1, "region_code": 1, "deadline": 1}):
        if not in_region(application.get("region_code"), prefix) or not application.get("deadline"):
            continue  # items without a promised time limit cannot be late
        decided += 1
        if application["deadline"].get("late"):
            late += 1
            late_by_service[application["service_code"]] += 1

    today = workdays.local_date(now).isoformat()
    running_query: dict[str, Any] = {"status": {"$in": list(RUNNING)}}
    if department:
        running_query["department"] = department
    running = 0
    overdue = []
    async for application in ctx.db.applications.find(
            running_query, {"service_code": 1, "region_code": 1, "department": 1, "deadline": 1}):
        if not in_region(application.get("region_code"), prefix):
            continue
        running += 1
        due = (application.get("deadline") or {}).get("due_date")
        if due and due < today:
            overdue.append({"kind": "application", "code": application["_id"],
                            "name": names.get(application["service_code"], application["service_code"]),
                            "service_code": application["service_code"],
                            "department": application.get("department"), "due_date": due})
    overdue.sort(key=lambda e: e["due_date"])

    stats = await consultations.answer_time_stats(ctx, operator, department=department, since=since)
    rows = stats["items"]
    answered = sum(r["answered"] for r in rows)
    answered_late = sum(r["answered_late"] for r in rows)
    waiting = sum(r["unanswered"] for r in rows)
    waiting_overdue = sum(r["overdue"] for r in rows)
    hours = await _answer_hours(ctx, department, since)
    deflection = await consultations.deflection.figures(ctx, since=since, department=department, region_prefix=prefix)
    scored = dimension("fast", [
        indicator("decided_on_time", f"近{RECENT_WINDOW_DAYS}天在承诺时限内办结的办件占比",
                  f"Applications decided within the promised time limit (last {RECENT_WINDOW_DAYS} days)",
                  value={"decided": decided, "late": late}, score=ratio_score(decided - late, decided),
                  worst=[{"kind": "service", "code": code, "name": names.get(code, code), "late": n}
                         for code, n in late_by_service.most_common()]),
        indicator("overdue_applications", "当前超期未办结的办件", "Open applications past their promised date",
                  value={"overdue": len(overdue), "running": running},
                  score=ratio_score(running - len(overdue), running), worst=overdue),
        # Consultations are counted per department: a region filter does not narrow them.
        indicator("consultations_answered_on_time", f"近{RECENT_WINDOW_DAYS}天按时答复的咨询投诉占比",
                  f"Consultations answered within their deadline (last {RECENT_WINDOW_DAYS} days)",
                  value={"answered": answered, "answered_late": answered_late,
                         "median_working_hours": round(consultations.percentile(hours, 50), 2) if hours else None,
                         "p90_working_hours": round(consultations.percentile(hours, 90), 2) if hours else None,
                         "working_hours_per_day": stats["working_hours_per_day"]},
                  score=ratio_score(answered - answered_late, answered),
                  worst=[{"kind": "department", "code": r["department"], "name": r["department"],
                          "answered_late": r["answered_late"], "p90_working_hours": r["p90_working_hours"]}
                         for r in sorted(rows, key=lambda r: (-r["answered_late"], -(r["p90_working_hours"] or 0)))
                         if r["answered_late"]]),
        indicator("consultations_overdue", "超过答复期限仍未答复的咨询投诉", "Consultations waiting past their deadline",
                  value={"waiting": waiting, "overdue": waiting_overdue},
                  score=ratio_score(waiting - waiting_overdue, waiting),
                  worst=[{"kind": "department", "code": r["department"], "name": r["department"],
                          "overdue": r["overdue"]} for r in sorted(rows, key=lambda r: -r["overdue"]) if r["overdue"]]),
        _deflection_indicator(deflection, names),
    ])
    scored["note"] = _region_note(prefix)
    return scored


def _deflection_indicator(figures: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """Answers opened and the question then not sent (问答分流), informational: a figure to watch,
    not an inspection criterion. The worst are the items whose answers are opened and asked anyway."""
    return indicator(
        "consultations_deflected", f"近{RECENT_WINDOW_DAYS}天看过问答后未再提问的占比（咨询分流，参考）",
        f"Answers opened and the question then not sent (deflection, last {RECENT_WINDOW_DAYS} days, informational)",
        value={key: figures[key] for key in ("opened", "asked", "deflected", "pending", "settled", "rate", "window_minutes")},
        score=ratio_score(figures["deflected"], figures["settled"]), weight=0,
        worst=[{"kind": "service", "code": s["service_code"], "name": names.get(s["service_code"], s["service_code"]),
                "opened": s["opened"], "asked": s["asked"], "rate": s["rate"]} for s in figures["by_service"] if s["asked"]])


async def _answer_hours(ctx: Context, department: str | None, since: datetime.datetime) -> list[float]:
    """First-answer times (working hours) over all departments in scope, for the overall percentiles
    (answer_time_stats gives them per department, and medians do not add up)."""
    query: dict[str, Any] = {"created_at": {"$gte": since}, "first_answer_hours": {"$ne": None}}
    if department:
        query["department"] = department
    return sorted([float(d["first_answer_hours"]) async for d in ctx.db.consultations.find(query, {"first_answer_hours": 1})
                   if d.get("first_answer_hours") is not None])


def _region_note(prefix: str | None) -> dict[str, str] | None:
    if not prefix:
        return None
    return {"zh-CN": "咨询投诉按部门统计，不受行政区划筛选影响",
            "en": "Consultations are counted per department; the region filter does not narrow them"}


async def _satisfied(ctx: Context, operator: OperatorScope, items: list[dict[str, Any]], codes: set[str],
                     department: str | None, prefix: str | None, now: datetime.datetime) -> dict[str, Any]:
    names = {i["code"]: catalogue.text(i.get("name")) for i in items}
    since = now - datetime.timedelta(days=RECENT_WINDOW_DAYS)
    stats = await ratings.rating_stats(ctx, operator, department=department, since=since)
    # With a region filter only the region's items count; otherwise every rated service of the scope.
    services = [s for s in stats["by_service"] if not prefix or s["service_code"] in codes]
    distribution = {str(g): sum(s["grades"][str(g)] for s in services) for g in sorted(ratings.GRADES, reverse=True)}
    total = sum(distribution.values())
    bad = sum(distribution[str(g)] for g in ratings.BAD_GRADES)
    worst_services = sorted((s for s in services if any(s["grades"][str(g)] for g in ratings.BAD_GRADES)),
                            key=lambda s: (s["satisfaction_rate"], -s["total"]))

    open_cases = await ratings.list_cases(ctx, operator, department=department, status="open", page=1, page_size=100)
    overdue_cases = await ratings.list_cases(ctx, operator, department=department, overdue=True, page=1, page_size=100)
    open_items = [c for c in open_cases["items"] if not prefix or c["service_code"] in codes]
    overdue_items = [c for c in overdue_cases["items"] if not prefix or c["service_code"] in codes]
    open_total = len(open_items) if prefix else open_cases["total"]
    overdue_total = len(overdue_items) if prefix else overdue_cases["total"]
    return dimension("satisfied", [
        indicator("ratings", f"近{RECENT_WINDOW_DAYS}天好评率（差评为不满意、非常不满意）",
                  f"Favourable ratings (last {RECENT_WINDOW_DAYS} days; bad = grades 1 and 2)",
                  value={"total": total, "distribution": distribution, "bad": bad,
                         "bad_share": round(bad / total, 4) if total else None},
                  score=ratio_score(total - bad, total),
                  worst=[{"kind": "service", "code": s["service_code"], "name": names.get(s["service_code"], s["service_code"]),
                          "department": s["department"], "ratings": s["total"],
                          "bad": sum(s["grades"][str(g)] for g in ratings.BAD_GRADES),
                          "satisfaction_rate": s["satisfaction_rate"]} for s in worst_services]),
        indicator("rectifications", "差评整改按期推进（未超期）的占比", "Open rectifications of bad ratings not yet overdue",
                  value={"open": open_total, "overdue": overdue_total},
                  score=ratio_score(open_total - overdue_total, open_total),
                  worst=[{"kind": "rectification", "code": c["id"], "name": names.get(c["service_code"], c["service_code"]),
                          "service_code": c["service_code"], "department": c["department"], "due_at": c["due_at"]}
                         for c in overdue_items]),
    ])


def _instant(moment: Any) -> datetime.datetime:
    """A stored time as an aware instant (the datastore may hand it back as naive ISO text)."""
    return as_utc(datetime.datetime.fromisoformat(moment) if isinstance(moment, str) else moment)
