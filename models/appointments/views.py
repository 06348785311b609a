"""What operators and citizens see of halls and appointments (one language of localised fields)."""

from __future__ import annotations

import datetime
from typing import Any

from models.core.context import Context
from models.core.localized import text


def hall_view(hall: dict[str, Any]) -> dict[str, Any]:
    """An operator's view of a hall: every field, `id` instead of `_id`."""
    view = {k: v for k, v in hall.items() if k != "_id"}
    view["id"] = hall["_id"]
    return view


def hall_summary(hall: dict[str, Any], locale: str) -> dict[str, Any]:
    """A hall as a citizen choosing where to book sees it."""
    return {"hall_id": hall["_id"], "name": text(hall.get("name"), locale), "address": text(hall.get("address"), locale),
            "hours": text(hall.get("hours"), locale), "phone": hall.get("phone")}


def appointment_view(ctx: Context, doc: dict[str, Any], locale: str) -> dict[str, Any]:
    """What a citizen (or an operator) sees of an appointment."""
    settings = ctx.settings
    view = {
        "id": str(doc["_id"]), "service_code": doc["service_code"], "service_name": text(doc.get("service_name"), locale),
        "hall_id": doc["hall_id"], "hall_name": text(doc.get("hall_name"), locale),
        "hall_address": text(doc.get("hall_address"), locale), "date": doc["date"], "slot_id": doc["slot_id"],
        "start": doc["start"], "end": doc["end"], "starts_at": doc["starts_at"], "status": doc["status"],
        "cancellable_until": doc["starts_at"] - datetime.timedelta(minutes=settings.appointment_cancel_cutoff_minutes),
        "check_in_from": doc["starts_at"] - datetime.timedelta(minutes=settings.appointment_checkin_open_minutes),
        "check_in_until": doc["ends_at"] + datetime.timedelta(minutes=settings.appointment_checkin_grace_minutes),
        "created_at": doc["created_at"],
    }
    for name in ("window", "queue_number", "checked_in_at", "called_at", "cancelled_at", "no_show_at"):
        if doc.get(name) is not None:
            view[name] = doc[name]
    return view
