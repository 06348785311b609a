"""The timeline: one event per transition in `application_events` (unique per (number, seq)), in a
collection of its own because nx-27017 stores pushed sub-documents as JSON strings."""

from __future__ import annotations

import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase


def actor(kind: str, actor_id: str) -> dict[str, str]:
    """Who took a step, as an event records it: "citizen" or "operator", and their id."""
    return {"kind": kind, "id": actor_id}


def timeline_event(no: str, seq: int, at: datetime.datetime, action: str, source: str | None, target: str,
                   actor: dict[str, str], note: str = "", **data: Any) -> dict[str, Any]:
    """The stored event of step `seq` (the version it made), `source` → `target`; empty `data` values dropped."""
    return {"application_no": no, "seq": seq, "at": at, "action": action, "from": source, "to": target,
            "actor": actor, "note": note, "data": {k: v for k, v in data.items() if v not in (None, "", [])}}


async def timeline(db: AsyncDatabase, no: str, up_to: int | None = None) -> list[dict[str, Any]]:
    """The application's events in order (those up to version `up_to`, when given)."""
    events = await db.application_events.find({"application_no": no}).sort([("seq", ASCENDING)]).to_list(None)
    return [e for e in events if up_to is None or e["seq"] <= up_to]
