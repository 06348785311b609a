"""The indexes of the appointment collections: halls' exceptions, slot counters, appointments."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase


async def ensure_indexes(db: AsyncDatabase) -> None:
    # No index on halls.service_codes: halls are few, and nx-27017 answers array-membership queries
    # wrongly (no match) when the array field is indexed.
    await db.hall_schedule_exceptions.create_index([("hall_id", ASCENDING), ("date", ASCENDING)], unique=True)
    await db.slot_counters.create_index([("hall_id", ASCENDING), ("date", ASCENDING)])
    # One active booking per citizen, service and day: `active_key` exists only while the booking holds
    # a place (a partial index would say this more directly, but nx-27017 ignores partialFilterExpression).
    await db.appointments.create_index("active_key", unique=True, sparse=True)
    await db.appointments.create_index([("citizen_id", ASCENDING), ("starts_at", DESCENDING)])
    await db.appointments.create_index([("hall_id", ASCENDING), ("date", ASCENDING), ("window", ASCENDING),
                                        ("status", ASCENDING), ("queue_seq", ASCENDING)])
    await db.appointments.create_index([("status", ASCENDING), ("ends_at", ASCENDING)])
    await db.appointments.create_index([("status", ASCENDING), ("date", ASCENDING)])
