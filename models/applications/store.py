"""Writing applications: every change is one conditional update inside a transaction that also
inserts its timeline event and the outbox notice announcing it."""

from __future__ import annotations

import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from models import outbox
from models.applications.caches import cache_generation, changed_everywhere, remember
from models.applications.events import timeline, timeline_event
from models.applications.numbering import new_query_code
from models.applications.prefill import form_meanings, sensitive_paths
from models.applications.states import ACTIONS, STATUS_LABELS, deadline_change, invalid_transition
from models.core import localized
from models.core.context import Context
from models.core.timezone import local_minute
from models.errors import Conflict, NotFound


async def ensure_indexes(db: AsyncDatabase) -> None:
    """The indexes of applications, their events and the number counters."""
    # nx-27017 serves queries only from single-field indexes (a compound index's prefix is not used),
    # so each field queried alone has its own index; the compound ones serve MongoDB's sorted lists.
    await db.applications.create_index("citizen_id")
    await db.applications.create_index("status")
    await db.applications.create_index("idempotency_record", sparse=True)
    await db.applications.create_index("deadline.due_date")
    await db.applications.create_index([("department", ASCENDING), ("status", ASCENDING), ("created_at", DESCENDING)])
    await db.application_events.create_index("application_no")
    await db.application_events.create_index([("application_no", ASCENDING), ("seq", ASCENDING)], unique=True)
    await db.counters.create_index("updated_at")  # also makes sure the collection exists before transactions


def notice(application: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The outbox record telling the applicant about a state change."""
    no, status = application["_id"], event["to"]
    zh_label = STATUS_LABELS[status][0]
    return outbox.outbox_record(event["at"], citizen_id=application["citizen_id"], event=f"application.{status}",
                                dedupe_key=f"application:{no}:{event['seq']}", template="application_status", data={
        "application_no": no, "service_name": localized.text(application.get("service_name"), "zh-CN"),
        "status": status, "status_label": zh_label, "note": event.get("note", "")[:20],
        "at": local_minute(event["at"]),
    })


async def in_transaction(ctx: Context, work) -> Any:
    """`work`'s result, its writes committed together; a conflicting concurrent change is 409 application_changed.

    The driver's `with_transaction` runs `work` again after a transient error (a failover, a dropped
    connection: the aborted attempt left nothing) and retries a commit whose outcome it did not hear,
    so `work` must decide from what it reads and writes in the session, as every caller's conditional
    writes do: a retry after a real conflict finds the changed state and answers it.
    """
    try:
        async with ctx.mongo.start_session() as session:
            return await session.with_transaction(work, max_commit_time_ms=TRANSACTION_COMMIT_MS)
    except DuplicateKeyError:
        raise application_changed() from None
    except OperationFailure as exc:
        if exc.has_error_label("TransientTransactionError"):  # a write conflict with a concurrent change
            raise application_changed() from None
        raise


# How long a commit may wait for a majority before the driver gives up on it (it then retries the commit).
TRANSACTION_COMMIT_MS = 5000


def application_changed() -> Conflict:
    """409 application_changed: someone else changed the application since it was read."""
    return Conflict("application_changed", "办件已被他人处理，请刷新后重试",
                    "The application was changed by someone else; reload and retry")


def new_application(no: str, citizen_id: str, item: dict[str, Any], form: dict[str, Any],
                    attached: dict[str, list[dict[str, Any]]], delivery: dict[str, Any], *, draft: bool,
                    now: datetime.datetime) -> dict[str, Any]:
    """The stored document of a new application (a draft, or submitted)."""
    application = {
        "_id": no, "query_code": new_query_code(), "citizen_id": citizen_id, "service_code": item["code"],
        "service_name": item.get("name"), "department": item.get("department", ""),
        "region_code": item.get("region_code", ""), "status": "draft" if draft else "submitted", "version": 1,
        "form": form, "materials": attached, "delivery": delivery,
        "sensitive_paths": sensitive_paths(item.get("form_schema")),
        "promised_days": (item.get("guide") or {}).get("promised_time_limit_days"),
        "deadline": None, "supplement": None, "decision": None, "result": None,
        "created_at": now, "updated_at": now, "submitted_at": None if draft else now,
    }
    if not draft:
        application["prefill_values"] = form_meanings(item.get("form_schema"), form)
    return application


async def get_owned(db: AsyncDatabase, no: str, citizen_id: str) -> dict[str, Any]:
    """The citizen's own application; 404 for an unknown number or someone else's."""
    application = await db.applications.find_one({"_id": no})
    if application is None or application["citizen_id"] != citizen_id:
        raise NotFound("application_not_found", "未找到该办件", "Application not found")
    return application


async def transition(ctx: Context, application: dict[str, Any], action: str, actor: dict[str, str], *,
                     changes: dict[str, Any] | None = None, note: str = "", expected_version: int | None = None,
                     **event_data: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Apply `action` to `application` atomically with its timeline event and outbox notice; return
    the updated application and its timeline.

    409 invalid_transition when the state does not allow it; 409 application_changed when someone
    else changed the application since it was read (or `expected_version` is stale).
    """
    rule = ACTIONS[action]
    status, version = application["status"], application["version"]
    if status not in rule.sources:
        raise invalid_transition(status, action)
    if expected_version is not None and expected_version != version:
        raise application_changed()
    now = ctx.clock()
    no = application["_id"]
    fields = {"status": rule.target, "updated_at": now, **deadline_change(application, rule.target, now), **(changes or {})}
    event = timeline_event(no, version + 1, now, action, status, rule.target, actor, note, **event_data)

    async def write(session: Any) -> dict[str, Any] | None:
        updated = await ctx.db.applications.find_one_and_update(
            {"_id": no, "status": status, "version": version}, {"$set": fields, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER, session=session)
        if updated is None:
            return None
        await ctx.db.application_events.insert_one(event, session=session)
        await ctx.db.outbox.insert_one(notice(updated, event), session=session)
        return updated

    generation = await cache_generation(ctx, no)
    updated = await in_transaction(ctx, write)
    if updated is None:
        current = await ctx.db.applications.find_one({"_id": no}, {"status": 1})
        if current is not None and current["status"] not in rule.sources:
            raise invalid_transition(current["status"], action)
        raise application_changed()
    events = await timeline(ctx.db, no, up_to=updated["version"])
    await remember(ctx, updated, events, generation)
    await changed_everywhere(ctx, no)
    return updated, events
