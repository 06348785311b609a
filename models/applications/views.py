"""Views of an application for its owner, for the handling department and for the public progress
lookup, and the summary rows of lists; JSON-ready, as the idempotency store replays them verbatim."""

from __future__ import annotations

import datetime
from typing import Any

from models import deadlines
from models.applications.prefill import masked_form
from models.applications.states import ACTION_LABELS, STATUS_LABELS, allowed_actions
from models.core import localized
from models.core.masking import mask
from models.core.timezone import shown_time

# The fields a summary row shows (the projection of list queries).
SUMMARY_FIELDS = {"_id": 1, "service_code": 1, "service_name": 1, "department": 1, "status": 1, "version": 1,
                  "deadline": 1, "created_at": 1, "updated_at": 1, "submitted_at": 1, "citizen_id": 1}


def _label(status: str, locale: str) -> str:
    zh, en = STATUS_LABELS.get(status, (status, status))
    return en if locale == "en" else zh


def plain(value: Any) -> Any:
    """`value` with every datetime inside it rendered by `shown_time` (JSON-ready)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return shown_time(value)


def summary_view(application: dict[str, Any], now: datetime.datetime, locale: str, operator: bool = False) -> dict[str, Any]:
    """One row of a list (the operator's rows name the citizen)."""
    shown = {
        "application_no": application["_id"], "service_code": application["service_code"],
        "service_name": localized.text(application.get("service_name"), locale), "department": application.get("department"),
        "status": application["status"], "status_label": _label(application["status"], locale),
        "version": application.get("version"), "deadline": deadlines.view(application.get("deadline"), now),
        "created_at": shown_time(application.get("created_at")), "updated_at": shown_time(application.get("updated_at")),
        "submitted_at": shown_time(application.get("submitted_at")),
    }
    if operator:
        shown["citizen_id"] = application.get("citizen_id")
    return shown


def _event_view(event: dict[str, Any], locale: str, *, internal: bool) -> dict[str, Any]:
    act_zh, act_en = ACTION_LABELS.get(event["action"], (event["action"], event["action"]))
    shown = {"seq": event["seq"], "at": shown_time(event["at"]), "action": event["action"],
             "action_label": act_en if locale == "en" else act_zh, "status": event["to"],
             "status_label": _label(event["to"], locale), "actor": event["actor"]["kind"],
             "note": event.get("note", ""), **plain(event.get("data") or {})}
    if internal:
        shown["actor_id"] = event["actor"]["id"]
    return shown


def citizen_view(application: dict[str, Any], events: list[dict[str, Any]], now: datetime.datetime,
                 locale: str) -> dict[str, Any]:
    """The application as its owner sees it, with the timeline."""
    return {
        **summary_view(application, now, locale),
        "query_code": application.get("query_code"),
        "form": masked_form(application.get("form") or {}, application.get("sensitive_paths") or []),
        "materials": plain(application.get("materials") or {}),
        "licences": plain(application.get("licences") or {}),
        "delivery": _masked_delivery(application.get("delivery")),
        "supplement": plain(application.get("supplement")),
        "decision": plain(application.get("decision")),
        "result": plain(application.get("result")),
        "payment": plain(application.get("payment")),
        "allowed_actions": allowed_actions(application["status"], "citizen"),
        "timeline": [_event_view(e, locale, internal=False) for e in events],
    }


def _masked_delivery(delivery: dict[str, Any] | None) -> dict[str, Any] | None:
    if delivery and isinstance(delivery.get("phone"), str):
        return {**delivery, "phone": mask(delivery["phone"])}
    return delivery


def operator_view(application: dict[str, Any], events: list[dict[str, Any]], now: datetime.datetime,
                  locale: str) -> dict[str, Any]:
    """The application as the handling department sees it (no query code)."""
    shown = citizen_view(application, events, now, locale)
    shown.pop("query_code", None)
    shown.update(form=application.get("form") or {}, delivery=application.get("delivery"))
    shown["citizen_id"] = application.get("citizen_id")
    shown["allowed_actions"] = allowed_actions(application["status"], "operator")
    shown["timeline"] = [_event_view(e, locale, internal=True) for e in events]
    return shown


def public_view(application: dict[str, Any], events: list[dict[str, Any]], now: datetime.datetime,
                locale: str) -> dict[str, Any]:
    """Progress for the public lookup: states and dates only, no notes, names or form values."""
    record = deadlines.view(application.get("deadline"), now)
    return {
        "application_no": application["_id"], "service_name": localized.text(application.get("service_name"), locale),
        "status": application["status"], "status_label": _label(application["status"], locale),
        "submitted_at": shown_time(application.get("submitted_at")),
        "deadline": {k: record[k] for k in ("due_date", "days_left", "overdue", "paused")} if record else None,
        "timeline": [{"at": shown_time(e["at"]), "status": e["to"], "status_label": _label(e["to"], locale)}
                     for e in events if e["action"] != "save_draft"],
    }
